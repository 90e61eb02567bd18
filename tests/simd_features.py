"""Which NumPy SIMD features this machine could switch off (for the SIMD-off test runs).

NumPy picks its loops at import time from the CPU's features: the *baseline* is compiled in
and cannot be disabled; the *dispatched* features (e.g. ``X86_V3``, ``X86_V4``,
``AVX512_ICL`` on x86, ``ASIMDHP``/``ASIMDDP``/``SVE`` on ARM) can be turned off with the
``NPY_DISABLE_CPU_FEATURES`` environment variable. Running with all of them off gives the
results an older CPU would compute, which is how the tests check portability here.

Run as a script it prints the list, space separated (empty when nothing can be disabled).
"""

from __future__ import annotations


def _umath():
    try:
        from numpy._core import _multiarray_umath as m  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import _multiarray_umath as m
    return m


def disableable_features() -> list[str]:
    """The dispatched (non-baseline) SIMD features this CPU has, in NumPy's order.

    Examples
    --------
    >>> set(disableable_features()) <= set(_umath().__cpu_features__)
    True
    """
    m = _umath()
    have = {name for name, on in m.__cpu_features__.items() if on}
    baseline = set(getattr(m, "__cpu_baseline__", ()))
    # NumPy >= 1.25 lists the dispatchable targets; older ones: everything beyond the baseline.
    targets = getattr(m, "__cpu_dispatch__", None)
    if targets is None:  # pragma: no cover - old NumPy
        targets = [n for n in m.__cpu_features__ if n not in baseline]
    return [n for n in targets if n in have and n not in baseline]


if __name__ == "__main__":
    print(" ".join(disableable_features()))

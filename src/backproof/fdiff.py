"""Finite differences with their own error estimate: one step rule, one set of tolerances.

Every finite difference in backproof (the three-way cross-check, the network check of
``net``) goes through this module, so a gradient is judged the same way everywhere.

Step. The base step is ``h = STEP · scale · max(|v|, 1)`` with ``STEP = eps^(1/3)``,
which balances the O(h²) truncation error of a central difference against the
O(eps/h) rounding error of the function values; ``scale`` runs over :data:`SCALES`
(a second, 1000× smaller step for points within reach of a kink, a pole or the edge
of the domain), then :data:`UPSCALE` (a 1000× larger step, which can only confirm an
agreement, for functions whose values are noisy at the default step).

Estimate. Central differences ``D(h)``, ``D(h/2)``, ``D(h/4)`` are combined by
Richardson extrapolation, ``R(h) = (4 D(h/2) − D(h)) / 3``, which cancels the h² term.
Two extrapolations, ``R₁`` from (h, h/2) and ``R₂`` from (h/2, h/4), give the
estimate ``R₂`` and its truncation error ``|R₂ − R₁|`` (conservative: R₂'s own error is
about 1/15 of that for a smooth function). Each function value carries a rounding
error ``noise`` (absolute; the caller bounds it, e.g. ``eps · Σ |∂f/∂w| · |w|`` over
the operations the perturbation passes through), and ``R₂`` amplifies it by at most
``(4 · 4 + 2) / 3 = 6`` over ``h``. The error estimate is the sum of the two.

Verdict (:func:`judge`), with the caller's ``rtol`` and ``atol`` and
``tol = max(atol, rtol · max(|n|, |s|))`` for an estimate ``n`` of a reference ``s``:

* ``AGREE`` when ``|n − s| ≤ tol + error`` and the error is itself small
  (``error ≤ max(tol, RESOLVE · max(|n|, |s|))``);
* ``UNRESOLVED`` when the estimate or its error is not finite, or ``error > RESOLVE · |n|``:
  the finite difference cannot resolve the value at this scale (cancellation, a
  function that oscillates faster than any representable step, subnormal values);
* ``DISAGREE`` otherwise: a resolved estimate that misses the reference by more than
  its tolerance and its error.

Ladder (:func:`combine`): an agreement at any step is final; a disagreement stands only
if every step of :data:`SCALES` that could be taken is resolved, disagrees and gives
the same value within the two errors (a broken derivative does; a function sampled
at a step far beyond its own scale, like ``sin`` at 1e22, does not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "AGREE",
    "DISAGREE",
    "EPS",
    "FRACTIONS",
    "INCONCLUSIVE",
    "NOISE_GAIN",
    "NOT_TAKEN",
    "RESOLVE",
    "SCALES",
    "STEP",
    "UNRESOLVED",
    "UPSCALE",
    "Check",
    "Estimate",
    "RTOL",
    "ATOL",
    "check_derivative",
    "combine",
    "judge",
    "richardson",
    "steps",
    "value_noise",
]

#: Machine epsilon of float64.
EPS = float(np.finfo(np.float64).eps)
#: Base step relative to max(|v|, 1): eps^(1/3) ≈ 6.1e-6.
STEP = EPS ** (1 / 3)
#: The ladder of base steps, tried in order (the smaller one only where the larger one
#: straddles a kink, leaves the domain or cannot resolve the value).
SCALES = (1.0, 1e-3)
#: A larger step, tried last where neither step of :data:`SCALES` agreed: where the
#: function values are noisy at the default step (a large offset, cancellation) but the
#: function is smooth at a larger scale. Only an agreement counts there (its error
#: estimate must be small), never a disagreement.
UPSCALE = 1e3
#: Each estimate uses central differences with these fractions of the base step.
FRACTIONS = (1.0, 0.5, 0.25)
#: An estimate resolves its value when its error estimate is at most this fraction of it.
RESOLVE = 0.05
#: Rounding noise of the function values is amplified by at most this factor over h in
#: the Richardson estimate: (4 · 4/h + 2/h) / 3 for the steps h/4 and h/2.
NOISE_GAIN = 6.0

#: The one set of tolerances a finite difference is judged by (the cross-check's and the
#: network check's defaults): it agrees when within ``ATOL + RTOL·|value|`` plus its own
#: error estimate. Richardson estimates are good to about 1e-10, so these leave a wide
#: margin for real disagreements, which are of order one.
RTOL = 1e-3
ATOL = 1e-5

#: Verdict codes of :func:`judge`.
AGREE, UNRESOLVED, DISAGREE = 0, 1, 2
#: Status of a finite difference that was not taken at all (a kink within every step,
#: or the steps leave the domain).
NOT_TAKEN = -1
#: The words every report prints for UNRESOLVED.
INCONCLUSIVE = "inconclusive (finite differences cannot resolve this scale)"


@dataclass(frozen=True)
class Estimate:
    """A finite-difference estimate with its error estimate (arrays of one shape).

    ``value`` is the Richardson estimate, ``error`` the estimated bound on
    ``|value − true derivative|`` (``inf`` where not finite), ``step`` the base step.
    """

    value: np.ndarray
    error: np.ndarray
    step: np.ndarray


def steps(v, scale: float = 1.0) -> np.ndarray:
    """The base step for values ``v``: ``STEP · scale · max(|v|, 1)``.

    Examples
    --------
    >>> steps([0.0, 1e4]).tolist() == [STEP, STEP * 1e4]
    True
    """
    return STEP * scale * np.maximum(np.abs(np.asarray(v, dtype=float)), 1.0)


def richardson(differences, h, noise=0.0) -> Estimate:
    """Combine central differences at ``h · FRACTIONS`` into an estimate and its error.

    Parameters
    ----------
    differences : sequence of three arrays
        ``(f(v + h_k) − f(v − h_k)) / (2 h_k)`` for ``h_k = h · FRACTIONS[k]`` (divide by
        the step actually taken, ``((v + h_k) − (v − h_k)) / 2``, where ``v + h_k`` rounds).
    h : array
        The base step.
    noise : float or array
        Absolute rounding error of one function value (include at least
        ``EPS · max |f|`` over the values taken: see :func:`value_noise`).

    Returns
    -------
    Estimate

    Examples
    --------
    >>> f = np.exp
    >>> h = steps(1.0)
    >>> d = [(f(1 + h * k) - f(1 - h * k)) / (2 * h * k) for k in FRACTIONS]
    >>> e = richardson(d, h, noise=EPS * f(1.0))
    >>> bool(abs(e.value - np.e) <= e.error), bool(e.error < 1e-9)
    (True, True)
    """
    d1, d2, d3 = (np.asarray(d, dtype=float) for d in differences)
    h = np.asarray(h, dtype=float)
    with np.errstate(all="ignore"):
        r1 = (4 * d2 - d1) / 3
        r2 = (4 * d3 - d2) / 3
        err = np.abs(r2 - r1) + NOISE_GAIN * np.abs(noise) / h
        err = np.where(np.isfinite(r2) & np.isfinite(err), err, np.inf)
    return Estimate(r2, err, np.broadcast_to(h, r2.shape))


def value_noise(*values) -> np.ndarray:
    """``EPS · max |f|`` over function values (elementwise): the least rounding error of one.

    Examples
    --------
    >>> float(value_noise(np.array([2.0]), np.array([-4.0]))[0]) == 4 * EPS
    True
    """
    with np.errstate(all="ignore"):
        return EPS * np.maximum.reduce([np.abs(np.asarray(v, dtype=float)) for v in values])


def judge(estimate: Estimate, reference, rtol: float, atol: float) -> np.ndarray:
    """AGREE, UNRESOLVED or DISAGREE for every element (see the module docstring).

    Examples
    --------
    >>> e = Estimate(np.array([1.0, 1.0, 1e-17]), np.array([1e-9, 1e-9, 1e-17]), np.ones(3))
    >>> judge(e, np.array([1.0, 2.0, 0.52]), 1e-3, 1e-5).tolist() == [AGREE, DISAGREE, UNRESOLVED]
    True
    """
    n, err = estimate.value, estimate.error
    s = np.asarray(reference, dtype=float)
    with np.errstate(all="ignore"):
        big = np.maximum(np.abs(n), np.abs(s))
        tol = np.maximum(atol, rtol * big)
        finite = np.isfinite(n) & np.isfinite(err) & np.isfinite(s)
        agree = finite & (np.abs(n - s) <= tol + err) & (err <= np.maximum(tol, RESOLVE * big))
        resolved = finite & (err <= RESOLVE * np.abs(n))
    return np.where(agree, AGREE, np.where(resolved, DISAGREE, UNRESOLVED))


def combine(status, value, error, code, est: Estimate, taken, scale: float):
    """Fold one step's verdicts into those of the steps before (arrays, elementwise).

    ``status`` holds fdiff codes or ``NOT_TAKEN``; ``taken`` marks the elements this
    step could take (no kink within the step, a finite estimate). An agreement at any
    step is final. Otherwise the first step taken sets the verdict, and a later step of
    :data:`SCALES` can only turn a disagreement into UNRESOLVED (when it is unresolved
    or says something else): a disagreement must be resolved at every step and settle.
    :data:`UPSCALE` can only confirm an agreement. Returns the new
    ``(status, value, error)``.

    Examples
    --------
    >>> st, v, e = combine(np.array([NOT_TAKEN]), np.array([np.nan]), np.array([np.inf]),
    ...                    np.array([DISAGREE]), Estimate(np.array([2.0]), np.array([1e-9]), np.ones(1)),
    ...                    np.array([True]), 1.0)
    >>> int(st[0]) == DISAGREE, float(v[0])
    (True, 2.0)
    """
    agree = taken & (status != AGREE) & (code == AGREE)
    if scale == UPSCALE:
        new = np.where(agree, AGREE, status)
    else:
        first = taken & (status == NOT_TAKEN)
        with np.errstate(all="ignore"):
            consistent = np.abs(est.value - value) <= est.error + error
        later = np.where((status == DISAGREE) & taken,
                         np.where((code == DISAGREE) & consistent, DISAGREE, UNRESOLVED), status)
        new = np.where(agree | first, np.where(agree, AGREE, code), later)
        agree = agree | first
    value = np.where(agree, est.value, value)
    error = np.where(agree, est.error, error)
    return new, value, error


@dataclass(frozen=True)
class Check:
    """A scalar finite-difference check: fdiff's verdict code (or NOT_TAKEN), the estimate
    and its error, and why it was not taken or could not resolve ("" otherwise)."""

    status: int
    value: float
    error: float
    reason: str = ""


def check_derivative(f, v: float, reference: float, *, rtol: float, atol: float,
                     noise_factor: float = 1.0) -> Check:
    """Check ``reference`` against the finite differences of a scalar function ``f`` at ``v``.

    The ladder :data:`SCALES` + (:data:`UPSCALE`,) with :data:`FRACTIONS` of each step,
    Richardson estimates and :func:`judge`, combined by :func:`combine`. The rounding
    noise of a value of ``f`` is ``noise_factor · EPS · max |f|`` over the values taken
    (a caller whose function adds up many terms passes a larger factor). A value of
    ``f`` that is not finite leaves that step out.

    Examples
    --------
    >>> c = check_derivative(np.sin, 1.0, float(np.cos(1.0)), rtol=1e-6, atol=1e-9)
    >>> c.status == AGREE, bool(abs(c.value - np.cos(1.0)) <= c.error)
    (True, True)
    >>> check_derivative(np.sin, 1e22, 0.5232147854, rtol=1e-3, atol=1e-5).status == UNRESOLVED
    True
    """
    status, value, error = np.array([NOT_TAKEN]), np.array([np.nan]), np.array([np.inf])
    for scale in SCALES + (UPSCALE,):
        if status[0] == AGREE:
            break
        h = float(steps(v, scale))
        fs, diffs = [], []
        for fr in FRACTIONS:
            hk = h * fr
            a, b = float(f(v + hk)), float(f(v - hk))
            fs += [a, b]
            with np.errstate(all="ignore"):
                diffs.append(np.float64(a - b) / ((v + hk) - (v - hk)))
        est = richardson(diffs, h, noise_factor * value_noise(*fs))
        code = judge(est, reference, rtol, atol)
        taken = np.array([bool(np.isfinite(est.value)) and all(np.isfinite(fs))])
        status, value, error = combine(status, value, error, np.atleast_1d(code),
                                       Estimate(np.atleast_1d(est.value), np.atleast_1d(est.error),
                                                np.atleast_1d(est.step)), taken, scale)
    st, val, err = int(status[0]), float(value[0]), float(error[0])
    reason = ""
    if st == NOT_TAKEN:
        reason = "finite difference not taken: the function is not finite within the step"
    elif st == UNRESOLVED:
        reason = f"{INCONCLUSIVE}: the finite difference is {val:.4g} ± {err:.0e}"
    return Check(st, val, err, reason)

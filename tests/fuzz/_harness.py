"""Shared by the atheris harnesses: run one reader on fuzzed bytes, let only refusals pass.

A harness calls :func:`run` with a function taking text; an exception that is not a
:class:`~backproof.errors.BackproofError` (a refusal) propagates, and atheris reports it
with the input that caused it. Memory and time per input are bounded by atheris's own
``-rss_limit_mb`` and ``-timeout`` flags (see README.md).
"""

from __future__ import annotations

import sys


def run(reader, modules, argv=None) -> None:
    """Fuzz ``reader(text: str)`` with atheris (exits when the run ends).

    ``modules`` are imported with atheris's coverage instrumentation (only backproof's
    own code is instrumented: instrumenting SymPy would slow every input tenfold).
    """
    try:
        import atheris
    except ImportError:  # atheris is optional: pip install atheris
        sys.exit("atheris is not installed: pip install atheris (see tests/fuzz/README.md)")
    import importlib

    with atheris.instrument_imports(include=["backproof"]):
        for name in modules:
            importlib.import_module(name)

    from backproof.errors import BackproofError

    def one_input(data: bytes) -> None:
        # The bytes as UTF-8 text (what the readers get from a file), so seed files work as-is.
        text = data.decode("utf-8", "replace")
        try:
            reader(text)
        except BackproofError:
            pass  # a refusal: exactly what bad input should get

    atheris.Setup(sys.argv if argv is None else argv, one_input)
    atheris.Fuzz()

"""Every function in ``src/backproof`` stays small: cyclomatic complexity at most 20 and at
most 80 lines (radon's measure; issue 10's bar). A long function is split into stages that
return data, as ``derive`` and ``crosscheck`` are."""

from __future__ import annotations

from pathlib import Path

import radon.complexity as radon_complexity  # a dev dependency (.ci/install installs it)

SRC = Path(__file__).resolve().parents[1] / "src" / "backproof"
MAX_COMPLEXITY = 20
MAX_LINES = 80


def _functions():
    for path in sorted(SRC.rglob("*.py")):
        for block in radon_complexity.cc_visit(path.read_text(encoding="utf-8")):
            for fn in [block, *getattr(block, "methods", [])]:
                if type(fn).__name__ != "Class":
                    yield f"{path.relative_to(SRC)}:{fn.lineno} {fn.name}", fn


def test_there_are_functions_to_measure():
    assert sum(1 for _ in _functions()) > 300


def test_no_function_above_complexity_20():
    assert [f"{where} (complexity {fn.complexity})" for where, fn in _functions()
            if fn.complexity > MAX_COMPLEXITY] == []


def test_no_function_longer_than_80_lines():
    assert [f"{where} ({fn.endline - fn.lineno + 1} lines)" for where, fn in _functions()
            if fn.endline - fn.lineno + 1 > MAX_LINES] == []

"""Start-up of the CLI (issue 13): ``--help`` and argument parsing import no heavy library.

Behavioural, not timed: a fresh interpreter runs ``main([...])`` and reports which modules
it loaded. The timings themselves are in bench/README.md (bench/bench_startup_parse.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("sympy", "numpy", "networkx", "graphviz", "matplotlib", "yaml", "wasmtime", "mpmath")

_PROBE = """
import contextlib, io, json, sys
from backproof.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    status = main({argv!r})
heavy = sorted({{name.split('.')[0] for name in sys.modules}} & set({heavy!r}))
print(json.dumps({{"status": status, "heavy": heavy}}))
"""


def _loaded(argv: list[str]) -> dict:
    """Exit status of ``main(argv)`` in a fresh interpreter and the heavy modules it imported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    # The timeout only guards against a hang; nothing here is a timing assertion.
    out = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv, heavy=HEAVY)],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["--version"], [],
                                  ["explain", "--help"], ["graph", "--help"], ["crosscheck", "--help"],
                                  ["net", "--help"], ["check", "--help"], ["grade", "--help"],
                                  ["assign", "--help"]])
def test_finding_help_imports_no_sympy(argv):
    """``backproof --help`` (and each command's) loads no SymPy, NumPy, networkx or Graphviz."""
    result = _loaded(argv)
    assert result["status"] in (0, 2)
    assert result["heavy"] == []


def test_usage_error_imports_no_sympy():
    """A usage error is found by argparse alone, before any heavy import."""
    result = _loaded(["graph", "y = x", "--view", "sideways"])
    assert result == {"status": 2, "heavy": []}


def test_running_a_command_still_imports_what_it_needs():
    """The probe can fail: a command that derives does load SymPy (lazily, when it runs)."""
    result = _loaded(["explain", "y = 2*x", "--at", "x=3", "--format", "json", "-o", "-"])
    assert result["status"] == 0
    assert "sympy" in result["heavy"]


def test_crosscheck_tolerance_defaults_are_fdiffs(capsys):
    """Read when the command runs, the default tolerances are still fdiff's RTOL and ATOL."""
    from backproof import fdiff
    from backproof.cli import main

    assert main(["crosscheck", "y = 2*x", "--at", "x=1", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["rtol"], out["atol"]) == (fdiff.RTOL, fdiff.ATOL)
    assert main(["crosscheck", "y = 2*x", "--at", "x=1", "--format", "json",
                 "--rtol", "0.5", "--atol", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["rtol"], out["atol"]) == (0.5, 0.0)
    assert main(["crosscheck", "y = 2*x", "--at", "x=1", "--rtol", "nan"]) == 2
    assert "--rtol must be a finite number" in capsys.readouterr().err

"""Limits on expressions checked before work: each finding of issue 9 refused in one line, or working.

Oracles: ``math`` for values (the exact-bits fallback), the closed-form derivative of x**n,
and the limit table itself (messages name the limit and its value). Inputs that used to hang
or exhaust memory run in a subprocess with a safety timeout and an address-space cap: they
guard against a hang, they do not measure speed.
"""

from __future__ import annotations

import math
import os
import resource
import subprocess
import sys

import pytest
import sympy as sp

from backproof import limits
from backproof.cli import main
from backproof.derivation import derive
from backproof.errors import LimitError, ParseError
from backproof.graph import build_graph
from backproof.parse import parse_expression, parse_program, parse_values

#: Safety timeout (seconds) for one CLI run in a subprocess: only guards against a hang.
HANG_GUARD = 60
#: Address-space cap of that subprocess: a refusal must not allocate gigabytes first.
MEMORY_CAP = 2 << 30


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_bounded(tmp_path, *argv: str) -> subprocess.CompletedProcess:
    """``python -m backproof ARGV`` with the hang guard and the memory cap, in ``tmp_path``."""
    # The package under test, whatever the working folder (PYTHONPATH=src is relative).
    src = os.path.dirname(os.path.dirname(os.path.abspath(limits.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "backproof", *argv], cwd=tmp_path, capture_output=True,
                          text=True, timeout=HANG_GUARD, preexec_fn=_cap_memory, env=env, check=False)


def assert_one_line_refusal(proc, *needles: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert lines and lines[0].startswith("backproof"), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    # ParseErrors add the source line and a caret under it; everything else is one line.
    assert len(lines) == 1 or (len(lines) == 3 and lines[2].strip() == "^"), proc.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- number literals -------------------------------------------------------------------------

def test_finding_decimal_exponent_hangs_the_parser(tmp_path):
    proc = run_bounded(tmp_path, "explain", "y = x*1e-100000000")
    assert_one_line_refusal(proc, "line 1, column 7", "literal_exponent = 400")


@pytest.mark.parametrize("text, limit", [
    ("y = x*1e-5000", "literal_exponent"),
    ("y = x*" + "7" * 5000, "literal_digits"),
    ("y = x*0." + "0" * 200 + "1", "literal_digits"),
], ids=["exponent-5000", "integer-5000-digits", "decimal-200-digits"])
def test_finding_literals_past_python_int_digits(text, limit):
    with pytest.raises(LimitError, match=rf"^line 1, column 7: .* over the limit {limit} = ") as info:
        parse_program(text)
    assert info.value.limit == limit


def test_literals_within_the_limits_stay_exact():
    assert parse_expression("1e-400") == sp.Rational(1, 10**400)
    assert parse_expression("1" * 100) == sp.Integer(int("1" * 100))
    assert parse_values("x=4.9e-324")["x"] == sp.Rational(49, 10**325)


# --- powers: the exponent <= 1000 rule, estimated from the text ---------------------------------

@pytest.mark.parametrize("argv, limit", [
    (["explain", "y = x**1000000", "--at", "x=1.1"], "power_exponent"),
    (["explain", "y = (x**100)**100", "--at", "x=1.1"], "power_exponent"),
    (["explain", "y = x*2**exp(exp(exp(100)))"], "constant_digits"),
    (["explain", "y = x*((10**1000)**1000)**1000"], "constant_digits"),
    (["explain", "y = x", "--at", "x=2**exp(exp(exp(100)))"], "constant_digits"),
    (["explain", "y = x", "--at", "x=((10**1000)**1000)**1000"], "constant_digits"),
    (["explain", "f = (2*x)**300", "--at", "x=1.1"], None),
], ids=["symbolic-base", "symbolic-tower", "exp-tower", "nested-constant", "at-exp-tower",
        "at-nested-constant", "power-of-input-at-a-huge-exponent"])
def test_finding_exponent_rule_bypassed(tmp_path, argv, limit):
    proc = run_bounded(tmp_path, *argv)
    if limit is None:  # within the limits: it works, in bounded time and memory
        assert proc.returncode == 0, proc.stderr[-2000:]
        return
    assert_one_line_refusal(proc, f"limit {limit} = {limits.value(limit)}")


def test_symbolic_exponent_at_a_huge_value_is_bounded(tmp_path):
    """x**y at y = 10**6: the forward pass switches to decimals (exact_bits) before computing,
    and the float64 engine then reports its overflow in one line."""
    proc = run_bounded(tmp_path, "explain", "f = x**y", "--at", "x=1.1,y=1000000")
    assert_one_line_refusal(proc, "overflow")
    d = derive("f = x**y", at="x=1.1,y=1000000", verify=False)
    assert any("exact_bits" in note for note in d.limits)
    assert float(sp.log(d.values["f"], 10)) == pytest.approx(1e6 * math.log10(1.1), rel=1e-12)


def test_exponent_over_1000_is_refused_whatever_the_base():
    with pytest.raises(ParseError, match="constant exponent 1001 must be a real number of at most 1000"):
        parse_program("y = x**1001")
    with pytest.raises(ParseError, match=r"constant exponent 10\*\*10 .*limit power_exponent"):
        parse_program("y = x**10**10")


def test_powers_within_the_limits_are_exact():
    d = derive("y = x**1000 + 2**1000", at="x=1.1", verify=False)
    assert d.values["y"] == sp.Rational(11, 10)**1000 + 2**1000
    assert d.gradients["x"] == 1000 * sp.Rational(11, 10)**999


# --- exact values: past exact_bits, decimals (said in the write-up) ---------------------------

def test_finding_exact_rationals_grow_without_bound(tmp_path):
    program = "\n".join(["x1 = x0*x0"] + [f"x{i} = x{i - 1}*x{i - 1}" for i in range(2, 15)])
    proc = run_bounded(tmp_path, "explain", program, "--at", "x0=1.0001", "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exact_bits" in proc.stdout and "30-digit decimals" in proc.stdout
    d = derive(program, at="x0=1.0001", verify=False)
    assert any("limit exact_bits" in note for note in d.limits)
    # Oracle: x14 = x0**(2**14) and ∂x14/∂x0 = 2**14 * x0**(2**14 - 1), in float64 (rel. 1e-12).
    n = 2**14
    assert float(d.values["x14"]) == pytest.approx(1.0001**n, rel=1e-12)
    assert float(d.gradients["x0"]) == pytest.approx(n * 1.0001**(n - 1), rel=1e-12)


def test_small_exact_values_stay_exact():
    d = derive("x1 = x0*x0; x2 = x1*x1", at="x0=1.0001", verify=False)
    assert d.values["x2"] == sp.Rational(10001, 10000)**4
    assert not any("exact_bits" in note for note in d.limits)


# --- recursion: long flat chains work, nesting is refused at a stated depth -----------------

@pytest.mark.parametrize("n", [200, 3000])
def test_finding_long_product_recursion(n):
    d = derive("y = " + "*".join(["x"] * n), at="x=1", symbolic=False, verify=False)
    assert d.gradients["x"] == n  # d/dx x**n at 1
    assert d.values["y"] == 1


def test_long_sum_with_minus_and_division_works():
    # x - x - ... - x/2/2.../2 (3000 x's, 40 halvings of the last): y = -2997 x - x / 2**40.
    d = derive("y = " + "-".join(["x"] * 3000) + "/2" * 40, at="x=3", symbolic=False, verify=False)
    slope = -2997 - sp.Rational(1, 2**40)
    assert d.gradients["x"] == slope and d.values["y"] == 3 * slope


def test_finding_nested_sin_recursion(tmp_path):
    proc = run_bounded(tmp_path, "explain", "y = " + "sin(" * 199 + "x" + ")" * 199, "--at", "x=1")
    assert_one_line_refusal(proc, "line 1, column 208", "nesting_depth = 50")


def test_nesting_within_the_limit_works():
    depth = limits.value("nesting_depth") - 1
    d = derive("y = " + "sin(" * depth + "x" + ")" * depth, at="x=1", expand=False, verify=False)
    want = 1.0
    for _ in range(depth):
        want = math.sin(want)
    assert float(d.values["y"]) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("text", ["y = " + "-" * 60 + "x", "y = " + "**".join(["1"] * 60),
                                  "y = " + "(" * 60 + "x" + ")" * 60])
def test_deep_signs_powers_and_parentheses_are_refused_with_position(text):
    with pytest.raises(LimitError, match=r"^line 1, column \d+: 51 levels is over the limit nesting_depth"):
        parse_program(text)


def test_finding_long_at_value(capsys):
    value = "+".join(["1"] * 3000)
    code, out, err = cli(capsys, "explain", "y = 2*x", "--at", f"x={value}", "--format", "json")
    assert code == 0, err
    assert '"x": "3000"' in out or '"x": 3000' in out


# --- SymPy and NumPy errors escaping -----------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["explain", "y = relu(x + (-1)**0.5)"],
    ["graph", "y = relu(x + (-1)**0.5)"],
    ["explain", "y = relu(x + (-1)**0.5)", "--at", "x=1"],
    ["explain", "y = min(0.1, exp(x))", "--at", "x=1e12"],
    ["crosscheck", "y = min(0.1, exp(x))", "--at", "x=1e12"],
], ids=["relu-complex", "graph-relu-complex", "relu-complex-at", "min-exp-overflow", "crosscheck-overflow"])
def test_finding_sympy_errors_escape(capsys, argv):
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("command", ["explain", "crosscheck", "graph"])
def test_finding_min_of_relu_constant(capsys, command):
    code, _, err = cli(capsys, command, "min(y, relu(2))", "--at", "y=1")
    assert code == 0, err
    d = derive("min(y, relu(2))", at="y=1")
    assert d.named_gradients()["y"] == 1 and d.values["f"] == 1


# --- options: --points, --max-nodes, tolerances ------------------------------------------------

@pytest.mark.parametrize("command", ["explain", "crosscheck"])
def test_finding_points_allocates_gigabytes(tmp_path, command):
    proc = run_bounded(tmp_path, command, "y = x*x", "--at", "x=2", "--points", "10000000")
    assert_one_line_refusal(proc, "--points", "limit points = 100000")


def test_finding_max_nodes_zero_draws_everything(tmp_path):
    program = "\n".join(["s0 = a"] + [f"s{i} = x{i}*w{i} + b{i}*s{i - 1}" for i in range(1, 100)])
    (tmp_path / "big.txt").write_text(program)
    proc = run_bounded(tmp_path, "graph", "@big.txt", "--max-nodes", "0", "-o", "big.svg")
    assert_one_line_refusal(proc, "--max-nodes 0", "limit diagram_nodes = 300")
    assert not (tmp_path / "big.svg").exists()


def test_max_nodes_over_the_limit_is_a_usage_error(capsys):
    code, _, err = cli(capsys, "graph", "y = x", "--max-nodes", "301")
    assert code == 2 and "diagram_nodes = 300" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag, value", [("--rtol", "inf"), ("--atol", "nan"), ("--rtol", "-1")])
def test_finding_infinite_tolerance_refused(capsys, flag, value):
    """The issue's `--timeout inf`: explain, graph and crosscheck have no --timeout; their
    float options are the tolerances, refused unless finite and >= 0."""
    code, _, err = cli(capsys, "crosscheck", "y = x*x", "--at", "x=2", flag, value)
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1


# --- input size: bytes, lines, tokens, statements, graph nodes -------------------------------

@pytest.mark.parametrize("text, limit", [
    ("y = x\n" + "#" * 1_000_001, "input_bytes"),
    ("y = x" + "\n" * 20_001, "input_lines"),
    ("y = " + "+".join(["x"] * 9_999) + "\n" + ("z = " + "+".join(["x"] * 9_999) + "\n") * 10, "tokens"),
    ("".join(f"a{i} = {i}; " for i in range(20_001)), "statements"),
    ("y = " + "+".join(["x"] * 10_001), "chain_terms"),
], ids=["bytes", "lines", "tokens", "statements", "chain"])
def test_finding_input_size_limits(text, limit):
    with pytest.raises(LimitError, match=rf"over the limit {limit} = ") as info:
        parse_program(text)
    assert info.value.limit == limit


def test_finding_graph_nodes_limit(monkeypatch):
    monkeypatch.setitem(limits.LIMITS, "graph_nodes", limits.Limit("graph_nodes", 10, "nodes", "test"))
    assert build_graph(parse_program("y = a*b + c")).number_of_nodes() == 6
    with pytest.raises(LimitError, match="11 nodes is over the limit graph_nodes = 10"):
        build_graph(parse_program("y = a*b + c*d + e*f + g"))


def test_every_expression_limit_is_documented():
    names = {"input_bytes", "input_lines", "tokens", "statements", "nesting_depth", "chain_terms",
             "literal_digits", "literal_exponent", "power_exponent", "constant_digits", "exact_bits",
             "graph_nodes", "points", "diagram_nodes"}
    assert names <= set(limits.LIMITS)
    table = limits.markdown_table()
    assert all(f"| `{n}` | {limits.value(n):,}" in table for n in names)

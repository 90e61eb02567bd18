"""micrograd-style programs (issue 14): updates ``c += …``, reassignment, methods ``x.relu()``.

Oracles: micrograd's published numbers (its README and tests), PyTorch running micrograd's own
PyTorch half of the tests (skipped where PyTorch is absent), and the same program renamed by
hand into single assignments (what users had to do before), derived by the same tool.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backproof import derive
from backproof.cli import main
from backproof.errors import ParseError
from backproof.parse import parse_program

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: micrograd's test_sanity_check and test_more_ops (karpathy/micrograd, test/test_engine.py),
#: their micrograd lines in order, without the `Value(...)` lines that --at replaces.
SANITY_LINES = ["z = 2 * x + 2 + x", "q = z.relu() + z * x", "h = (z * z).relu()", "y = h + q + q * x",
                "y.backward()"]
MORE_OPS_LINES = ["c = a + b", "d = a * b + b**3", "c += c + 1", "c += 1 + c + (-a)",
                  "d += d * 2 + (b + a).relu()", "d += 3 * d + (b - a).relu()", "e = c - d", "f = e**2",
                  "g = f / 2.0", "g += 10.0 / f", "g.backward()"]
#: The PyTorch half of test_more_ops, as micrograd writes it (reassignment instead of +=).
MORE_OPS_TORCH_LINES = ["c = a + b", "d = a * b + b**3", "c = c + c + 1", "c = c + 1 + c + (-a)",
                        "d = d + d * 2 + (b + a).relu()", "d = d + 3 * d + (b - a).relu()", "e = c - d",
                        "f = e**2", "g = f / 2.0", "g = g + 10.0 / f"]


def _code_lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def _grads(text: str, at: str) -> tuple[sp.Expr, dict[str, sp.Expr]]:
    d = derive(text, at, verify=False, expand=False)
    return d.values[d.output], d.named_gradients()


# --- micrograd's own tests, verbatim ------------------------------------------------------------

def test_the_examples_are_micrograds_lines_verbatim():
    assert _code_lines(EXAMPLES / "micrograd_sanity_check.txt") == SANITY_LINES
    assert _code_lines(EXAMPLES / "micrograd_more_ops.txt") == MORE_OPS_LINES


def test_sanity_check_gives_micrograds_values():
    y, grads = _grads("\n".join(SANITY_LINES), "x=-4")
    # micrograd asserts ymg.data == ypt.data and xmg.grad == xpt.grad: y = -20, dy/dx = 46.
    assert y == -20 and grads["x"] == 46


def test_more_ops_gives_the_readme_numbers():
    g, grads = _grads("\n".join(MORE_OPS_LINES), "a=-4, b=2")
    # micrograd's README prints g.data 24.7041, a.grad 138.8338, b.grad 645.5773 (4 decimals).
    assert f"{float(g):.4f}" == "24.7041"
    assert f"{float(grads['a']):.4f}" == "138.8338"
    assert f"{float(grads['b']):.4f}" == "645.5773"
    # Exactly: the values are rationals (every operation here is rational at this point).
    assert g == sp.Rational(2421, 98) and grads["a"].is_Rational and grads["b"].is_Rational


def test_more_ops_reassigned_as_micrograds_pytorch_half_agrees():
    """The PyTorch half writes `c = c + c + 1` where the micrograd half writes `c += c + 1`."""
    g1, grads1 = _grads("\n".join(MORE_OPS_LINES), "a=-4, b=2")
    g2, grads2 = _grads("\n".join(MORE_OPS_TORCH_LINES), "a=-4, b=2")
    assert g1 == g2 and grads1["a"] == grads2["a"] and grads1["b"] == grads2["b"]


def test_micrograds_tests_against_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: micrograd's comparison skipped")
    # test_sanity_check's PyTorch half, as micrograd writes it.
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    mine_y, mine = _grads("\n".join(SANITY_LINES), "x=-4")
    assert float(mine_y) == y.data.item() and float(mine["x"]) == x.grad.item()
    # test_more_ops's PyTorch half.
    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    mine_g, grads = _grads("\n".join(MORE_OPS_LINES), "a=-4, b=2")
    # Different code paths (exact rationals vs float64): within a stated tolerance, not bit for bit.
    assert math.isclose(float(mine_g), g.data.item(), rel_tol=1e-12)
    assert math.isclose(float(grads["a"]), a.grad.item(), rel_tol=1e-12)
    assert math.isclose(float(grads["b"]), b.grad.item(), rel_tol=1e-12)


@pytest.mark.parametrize("method", ["tanh", "exp"])
@pytest.mark.parametrize("x", ["-1", "0.123", "2"])
def test_micrograds_unary_tensor_fns(method, x):
    """micrograd's test_unary_tensor_fns: Value.tanh and Value.exp at -1, .123 and 2 against PyTorch."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: micrograd's comparison skipped")
    xt = torch.Tensor([float(x)]).double()
    xt.requires_grad = True
    yt = getattr(torch.Tensor, method)(xt)
    yt.backward()
    # torch.Tensor([x]) is float32 before .double(), as in micrograd's test: the same number here.
    y, grads = _grads(f"y = x.{method}()", f"x={xt.item()!r}")
    assert abs(float(y) - yt.data.item()) < 1e-12 and abs(float(grads["x"]) - xt.grad.item()) < 1e-12


def test_the_example_through_the_cli(tmp_path, capsys):
    out = tmp_path / "more_ops.json"
    assert main(["explain", f"@{EXAMPLES / 'micrograd_more_ops.txt'}", "--at", "a=-4,b=2", "--format", "json",
                 "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    text = json.dumps(doc)
    # The versions of c are distinct nodes c_1, c_2 and, last, c itself (the value micrograd's c ends with).
    assert "c_1 = a + b" in doc["program"] and "c = c_2 + ((1 + c_2) - a)" in doc["program"]
    assert doc["output"] == "g"
    assert abs(doc["gradients"]["a"] - 138.8338192419825) < 1e-9, text[:300]
    assert abs(doc["gradients"]["b"] - 645.5772594752186) < 1e-9


# --- versions of a name ---------------------------------------------------------------------------

@pytest.mark.parametrize("styled, renamed", [
    ("c = a + b\nc += c + 1\ny = c*a", "c1 = a + b\nc = c1 + (c1 + 1)\ny = c*a"),
    ("c = a\nc -= b\nc *= c\nc /= 2\ny = c", "c1 = a\nc2 = c1 - b\nc3 = c2*c2\nc = c3/2\ny = c"),
    ("c = a\nc = c*c + b\nc **= 2\ny = c", "c1 = a\nc2 = c1*c1 + b\nc = c2**2\ny = c"),
    ("y = a.relu() + b.tanh() + a.exp() + b.sigmoid() + (a + 3).log() + a**3",
     "y = relu(a) + tanh(b) + exp(a) + sigmoid(b) + log(a + 3) + a**3"),
], ids=["plus-equals", "every-update", "reassign-and-power", "methods"])
def test_micrograd_style_equals_the_renamed_program(styled, renamed):
    v1, g1 = _grads(styled, "a=0.75, b=-1.5")
    v2, g2 = _grads(renamed, "a=0.75, b=-1.5")
    assert v1 == v2 and g1["a"] == g2["a"] and g1["b"] == g2["b"]


def test_versions_are_named_after_the_name_and_never_collide():
    p = parse_program("c_1 = a\nc = c_1 + 1\nc += 2\nc += 3")
    assert p.assigned == ("c_1", "c_v1", "c_v2", "c")
    assert str(p.statement("c_v2").expr) == "c_v1 + 2"
    # The last version keeps the name; --wrt and the gradients use it.
    d = derive("c = a*b\nc += a\ny = c*c", "a=1, b=2", verify=False)
    assert d.named_gradients()["c"] == 2 * 3 and d.named_gradients()["c_1"] == 2 * 3


def test_backward_names_the_output():
    p = parse_program("y = a*b\nz = y + 1\ny.backward()")
    assert p.output == "y"
    p = parse_program("y = a*b\ny += 1\ny.backward()")
    assert p.output == "y" and p.assigned == ("y_1", "y")


@pytest.mark.parametrize("text, message", [
    ("c += 1", "which is not assigned before this line"),
    ("y = a\na += 1", "which is not assigned before this line"),
    ("y = x.relu.tanh()", "attribute access"),
    ("y = x.max()", "unknown method"),
    ("y = x.data", "attribute access"),
])
def test_refusals(text, message):
    with pytest.raises(ParseError) as info:
        parse_program(text)
    assert message in str(info.value)


# --- property: random micrograd-style programs -----------------------------------------------------

_VARS = ("c", "d")
_METHODS = ("relu", "tanh", "sigmoid")


@st.composite
def _programs(draw):
    """A random program over inputs a, b and variables c, d: each statement `v = e`, `v += e`,
    `v -= e` or `v *= e`, as a structured list (rendered three ways below)."""
    defined: list[str] = []
    stmts = []
    for _ in range(draw(st.integers(2, 6))):
        names = ["a", "b"] + defined
        leaf = st.one_of(st.sampled_from(names), st.sampled_from(["1", "0.5", "2"]))
        expr = draw(st.recursive(leaf, lambda kids: st.one_of(
            st.tuples(st.sampled_from(["+", "-", "*"]), kids, kids),
            st.tuples(st.sampled_from(_METHODS), kids)), max_leaves=4))
        target = draw(st.sampled_from(_VARS))
        op = draw(st.sampled_from(["=", "+=", "-=", "*="])) if target in defined else "="
        stmts.append((target, op, expr))
        if target not in defined:
            defined.append(target)
    return stmts


def _text(e, rename=lambda n: n) -> str:
    if isinstance(e, str):
        return rename(e)
    if len(e) == 2:
        return f"({_text(e[1], rename)}).{e[0]}()"
    return f"({_text(e[1], rename)} {e[0]} {_text(e[2], rename)})"


def _styled(stmts) -> str:
    return "\n".join(f"{t} {op} {_text(e)}" for t, op, e in stmts) + f"\ny = {stmts[-1][0]}"


def _renamed(stmts) -> str:
    """Single assignments written by hand: every assignment of v makes v_k (k counting up)."""
    count: dict[str, int] = {}
    lines = []
    for t, op, e in stmts:
        rhs = _text(e, lambda n: f"{n}v{count[n]}" if n in count else n)
        if op != "=":
            rhs = f"{t}v{count[t]} {op[0]} ({rhs})"
        count[t] = count.get(t, 0) + 1
        lines.append(f"{t}v{count[t]} = {rhs}")
    last = stmts[-1][0]
    return "\n".join(lines) + f"\ny = {last}v{count[last]}"


def _torch_grads(torch, stmts, a: float, b: float) -> tuple[float, float]:
    env = {"a": torch.tensor(a, dtype=torch.float64, requires_grad=True),
           "b": torch.tensor(b, dtype=torch.float64, requires_grad=True)}

    def ev(e):
        if isinstance(e, str):
            return env[e] if e in env else torch.tensor(float(e), dtype=torch.float64)
        if len(e) == 2:
            return getattr(ev(e[1]), e[0])()
        x, y = ev(e[1]), ev(e[2])
        return x + y if e[0] == "+" else x - y if e[0] == "-" else x * y
    for t, op, e in stmts:
        v = ev(e)
        env[t] = v if op == "=" else env[t] + v if op == "+=" else env[t] - v if op == "-=" else env[t] * v
    out = env[stmts[-1][0]]
    if not out.requires_grad:  # an output of constants only
        return 0.0, 0.0
    out.backward()
    return tuple(env[n].grad.item() if env[n].grad is not None else 0.0 for n in ("a", "b"))


_POINT = st.tuples(st.integers(-8, 8), st.integers(-8, 8)).filter(lambda p: p[0] != p[1])


@settings(max_examples=25, deadline=None)
@given(stmts=_programs(), point=_POINT)
def test_random_micrograd_programs_equal_renamed_and_pytorch(stmts, point):
    # Quarter steps, a ≠ b: ties of relu at 0 are possible (both sides use ReLU′(0) = 0).
    a, b = point[0] / 4 + 0.125, point[1] / 4 - 0.125
    used = parse_program(_styled(stmts)).inputs  # --at names only the inputs the program has
    assume(used)  # a program of constants only has no gradient to compare
    at = ", ".join(f"{n}={v}" for n, v in (("a", a), ("b", b)) if n in used)
    v1, g1 = _grads(_styled(stmts), at)
    v2, g2 = _grads(_renamed(stmts), at)
    assert v1 == v2
    for n in ("a", "b"):
        assert g1.get(n, 0) == g2.get(n, 0), (n, _styled(stmts))
    try:
        import torch
    except ImportError:  # the property against the renamed program stands; PyTorch's part is optional
        return
    want = _torch_grads(torch, stmts, a, b)
    for n, w in zip(("a", "b"), want):
        mine = float(g1.get(n, 0))
        assert math.isclose(mine, w, rel_tol=1e-9, abs_tol=1e-12), (n, mine, w, _styled(stmts))


def test_the_pytorch_part_of_the_property_runs_where_pytorch_is():
    """The property above compares with PyTorch silently when it is installed: say so here."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the property compared only "
                                                "with the renamed program")
    stmts = [("c", "=", ("+", "a", "b")), ("c", "+=", ("relu", ("+", "c", "1"))), ("c", "*=", "c")]
    want = _torch_grads(torch, stmts, 0.5, -0.25)
    _, mine = _grads(_styled(stmts), "a=0.5, b=-0.25")
    assert math.isclose(float(mine["a"]), want[0], rel_tol=1e-12)
    assert math.isclose(float(mine["b"]), want[1], rel_tol=1e-12)

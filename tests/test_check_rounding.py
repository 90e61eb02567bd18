"""Issue 12, item 1: follow-through that understands rounding.

An answer is right when it is the truth rounded to the figures written, or when it follows,
within the rounding the student's own earlier written answers carry, from those answers.
The student here is an independent hand-written backprop (local derivatives by ``sympy.diff``,
the chain rule summed over a name's consumers) that rounds every answer to k figures and
computes each step from the ROUNDED earlier answers, as a student with a pencil does.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproof.check import Problem, diagnose, parse_answers
from backproof.check.compare import Tolerance
from backproof.check.report import render_html, render_latex, render_markdown, render_text, result_dict
from backproof.cli import main

# --- an independent student --------------------------------------------------------------------

PROGRAMS = {
    "two_layer": ("a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2",
                  ("w1", "b1", "w2", "b2")),
    "sigmoid_net": ("z1 = w1*x + b1\nh = sigmoid(z1)\nz2 = w2*h + b2\np = sigmoid(z2)\nJ = 0.5*(p - y)**2",
                    ("w1", "w2")),
    "fork": ("d = a + b\ne = b - c\ny = d*e", ()),
    "tanh_fork": ("u = w*x\nv = tanh(u)\nJ = v*u + v**2", ("w",)),
}


def _statements(text: str) -> list[tuple[str, sp.Expr]]:
    out = []
    for line in text.splitlines():
        name, rhs = (s.strip() for s in line.split("=", 1))
        out.append((name, sp.sympify(rhs, locals={"sigmoid": lambda z: 1 / (1 + sp.exp(-z))})))
    return out


def round_sig(x: float, k: int) -> str:
    """``x`` rounded to ``k`` significant figures, trailing zeros kept (the oracle: Decimal)."""
    if x == 0:
        return "0"
    d = Decimal(repr(float(x)))
    if not 1e-4 <= abs(x) < 1e6:
        return format(d, f".{k - 1}e")
    q = Decimal(1).scaleb(d.adjusted() - k + 1)
    r = d.quantize(q, rounding=ROUND_HALF_EVEN)
    if r.adjusted() > d.adjusted():  # 9.96 -> 10.0: one place fewer
        r = d.quantize(q.scaleb(1), rounding=ROUND_HALF_EVEN)
    text = format(r, "f")
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    return text if len(digits) == k else format(r, f".{k - 1}e")


def student_sheet(program: str, at: dict[str, float], params: tuple[str, ...], eta: float,
                  k: int | None) -> dict[str, str]:
    """Every value, every gradient of the output with respect to every name, and the updates.

    Each is computed from the answers already written (rounded to ``k`` figures, or kept
    exact when ``k`` is None) and then rounded itself.
    """
    stmts = _statements(program)
    out_name = stmts[-1][0]
    held: dict[str, float] = dict(at)          # what the student carries: the numbers written
    sheet: dict[str, str] = {}

    def write(key: str, v: float) -> float:
        if k is None:
            sheet[key] = repr(float(v))
            return float(v)
        text = round_sig(v, k)
        sheet[key] = text
        return float(text)

    def subs(expr: sp.Expr) -> float:
        return float(expr.subs({sp.Symbol(n): sp.Float(v, 30) for n, v in held.items()}))

    for name, expr in stmts:
        held[name] = write(name, subs(expr))
    grads: dict[str, float] = {}
    order = [n for n, _ in reversed(stmts[:-1])] + [n for n in at]
    for n in order:
        # dJ/dn = Σ over statements s reading n: dJ/ds (as written) · ∂s/∂n (sympy.diff, at written values)
        total = 0.0
        for s, expr in stmts:
            if sp.Symbol(n) in expr.free_symbols:
                up = 1.0 if s == out_name else grads[s]
                total += up * subs(sp.diff(expr, sp.Symbol(n)))
        grads[n] = write(f"d{out_name}/d{n}", total)
    for w in params:
        write(f"{w}_new", at[w] - eta * grads[w])
    return sheet


def _yaml(program: str, at: dict, eta: float, sheet: dict[str, str], min_figures: int | None) -> str:
    lines = ["problem:", "  program: |"] + [f"    {ln}" for ln in program.splitlines()]
    lines += ["  at: {" + ", ".join(f"{k}: {v!r}" for k, v in at.items()) + "}", f"  learning_rate: {eta!r}"]
    if min_figures is not None:
        lines += ["tolerance:", f"  min_figures: {min_figures}"]
    lines += ["answers:"] + [f"  {json.dumps(k)}: '{v}'" for k, v in sheet.items()]
    return "\n".join(lines) + "\n"


def _check(tmp_path, capsys, text: str, name: str = "hw.yaml") -> tuple[int, dict]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code = main(["check", str(path), "--format", "json"])
    out, err = capsys.readouterr()
    assert not err, err
    return code, json.loads(out)


POINTS = st.fixed_dictionaries({
    "x": st.sampled_from([0.5, 1.0, 1.5, -0.7, 2.0]), "y": st.sampled_from([0.0, 1.0, 0.25]),
    "w1": st.floats(0.3, 2.5), "b1": st.floats(-0.8, 0.8),
    "w2": st.floats(-2.5, -0.3), "b2": st.floats(0.1, 1.0),
})


def _round_point(at: dict) -> dict:
    return {k: float(round_sig(v, 3)) if v else 0.0 for k, v in at.items()}


# --- generated consistent-rounding chains -----------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("key", ["two_layer", "sigmoid_net"])
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(point=POINTS)
def test_consistent_rounding_chain_gets_full_marks(tmp_path, capsys, key, k, point):
    program, params = PROGRAMS[key]
    at = _round_point(point)   # both networks read x, y, w1, b1, w2, b2
    sheet = student_sheet(program, at, params, 0.1, k)
    # The teacher asks for k figures; the student writes k and carries what they wrote.
    code, report = _check(tmp_path, capsys, _yaml(program, at, 0.1, sheet, min_figures=k))
    bad = [(i["name"], i["given"], i["expected_text"], i["verdict"]) for i in report["items"]
           if i["verdict"] != "correct" or i["note"]]
    assert not bad, (sheet, bad)
    assert code == 0
    assert report["score"] == report["total"] == len(sheet)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("key,at", [
    ("fork", {"a": 2.3, "b": -1.7, "c": 0.45}),
    ("fork", {"a": 0.123, "b": 9.87, "c": 5.55}),
    ("tanh_fork", {"w": 0.7, "x": 1.3}),
    ("tanh_fork", {"w": -1.9, "x": 0.35}),
], ids=["fork-1", "fork-2", "tanh-1", "tanh-2"])
def test_consistent_rounding_at_a_fork_gets_full_marks(tmp_path, capsys, key, at, k):
    """Gradients summed over two paths, each from rounded upstream answers."""
    program, params = PROGRAMS[key]
    sheet = student_sheet(program, at, params, 0.1, k)
    code, report = _check(tmp_path, capsys, _yaml(program, at, 0.1, sheet, min_figures=k))
    assert [i["verdict"] for i in report["items"]] == ["correct"] * len(sheet), (sheet, report["items"])
    assert code == 0


def test_the_student_oracle_agrees_with_backproof():
    """The student without rounding reproduces the derivation (so the chains test rounding only)."""
    program, params = PROGRAMS["sigmoid_net"]
    at = {"x": 1.5, "y": 1.0, "w1": 0.8, "b1": -0.2, "w2": -1.1, "b2": 0.4}
    exact = student_sheet(program, at, params, 0.1, None)
    p = Problem(program.replace("\n", "; "), at=",".join(f"{k}={v}" for k, v in at.items()),
                learning_rate="0.1")
    for key, v in exact.items():
        assert float(p.truth(p.resolve(key))) == pytest.approx(float(v), rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("key", ["two_layer", "sigmoid_net"])
def test_answer_off_by_more_than_its_rounding_is_incorrect(tmp_path, capsys, key, k):
    program, params = PROGRAMS[key]
    at = {"x": 1.5, "y": 1.0, "w1": 0.8, "b1": -0.2, "w2": -1.1, "b2": 0.4}
    sheet = student_sheet(program, at, params, 0.1, k)
    last = list(sheet)[-1]
    sheet[last] = round_sig(float(sheet[last]) * 1.5, k)   # far beyond any rounding the chain carries
    code, report = _check(tmp_path, capsys, _yaml(program, at, 0.1, sheet, min_figures=k))
    verdicts = {i["name"]: i["verdict"] for i in report["items"]}
    assert verdicts.pop(last) == "incorrect"
    assert set(verdicts.values()) == {"correct"}
    assert code == 1


# --- CS231n's sigmoid neuron (cs231n.github.io/optimization-2, "Sigmoid example") ------------------

CS231N_AT = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
#: The circuit gate by gate, as the notes draw it.
CS231N_GATES = "s0 = w0*x0; s1 = w1*x1; s = s0 + s1; z = s + w2; n = -z; ex = exp(n); den = 1 + ex; f = 1/den"
#: The figure's numbers as printed (2 decimals): forward values in green, gradients in red.
CS231N_FIGURE = {
    "s0": "-2.00", "s1": "6.00", "s": "4.00", "z": "1.00", "n": "-1.00",
    "ex": "0.37", "den": "1.37", "f": "0.73",
    "df/dden": "-0.53", "df/dex": "-0.53", "df/dn": "-0.20", "df/dz": "0.20", "df/ds": "0.20",
    "df/ds0": "0.20", "df/ds1": "0.20", "df/dw2": "0.20",
    "df/dw0": "-0.20", "df/dx0": "0.39", "df/dw1": "-0.39", "df/dx1": "-0.59",
}
CS231N_NEURON = "z = w0*x0 + w1*x1 + w2; f = sigmoid(z)"


def _cs231n_oracle() -> dict[str, float]:
    """f and its gradients by sympy.diff of the notes' formula f = 1/(1 + exp(−(w0·x0 + w1·x1 + w2)))."""
    w0, x0, w1, x1, w2 = sp.symbols("w0 x0 w1 x1 w2")
    f = 1 / (1 + sp.exp(-(w0 * x0 + w1 * x1 + w2)))
    at = {w0: 2, x0: -1, w1: -3, x1: -2, w2: -3}
    out = {"f": float(f.subs(at))}
    out.update({f"df/d{v}": float(sp.diff(f, v).subs(at)) for v in (w0, x0, w1, x1, w2)})
    zs = sp.Symbol("z")
    sig = 1 / (1 + sp.exp(-zs))
    out["df/dz"] = float(sp.diff(sig, zs).subs(zs, 1))
    return out


def _cs231n_file(program: str, answers: dict[str, str], min_figures: int | None = None) -> str:
    lines = ["problem:", f"  program: '{program}'",
             "  at: {" + ", ".join(f"{k}: {v}" for k, v in CS231N_AT.items()) + "}"]
    if min_figures is not None:
        lines += ["tolerance:", f"  min_figures: {min_figures}"]
    lines += ["answers:"] + [f"  {json.dumps(k)}: '{v}'" for k, v in answers.items()]
    return "\n".join(lines) + "\n"


def test_cs231n_figure_is_the_truth_rounded():
    """The test data: the figure's printed gradients are sympy.diff's, to 2 decimals."""
    oracle = _cs231n_oracle()
    assert oracle["df/dz"] == pytest.approx(0.196612, abs=1e-6)
    for key in ("f", "df/dz", "df/dw0", "df/dx0", "df/dw1", "df/dx1", "df/dw2"):
        assert f"{oracle[key]:.2f}" == CS231N_FIGURE[key], key


def test_finding_rounding_counts_as_an_error_cs231n_figure_all_correct(tmp_path, capsys):
    """The figure's own rounded numbers: 20 answers, all correct, and no "does not follow" notes."""
    code, report = _check(tmp_path, capsys, _cs231n_file(CS231N_GATES, CS231N_FIGURE))
    assert [(i["name"], i["verdict"]) for i in report["items"] if i["verdict"] != "correct"] == []
    assert [i["note"] for i in report["items"] if i["note"]] == []
    assert report["score"] == report["total"] == 20
    assert code == 0


def test_finding_rounding_counts_as_an_error_carried_020(tmp_path, capsys):
    """A student who carries the local gradient 0.20 forward (2 × 0.20 = 0.40): 7/7, exit 0."""
    sheet = {"f": "0.73", "df/dz": "0.20"}
    dz = float(sheet["df/dz"])
    for w, x in (("w0", "x0"), ("w1", "x1")):
        sheet[f"df/d{w}"] = f"{dz * CS231N_AT[x]:.2f}"
        sheet[f"df/d{x}"] = f"{dz * CS231N_AT[w]:.2f}"
    sheet["df/dw2"] = f"{dz:.2f}"
    assert sheet["df/dx0"] == "0.40" and sheet["df/dx1"] == "-0.60"
    oracle = _cs231n_oracle()
    # Three of them are not the truth rounded to 2 figures: the old checker called them carried errors.
    assert sum(f"{oracle[k]:.2f}" != v for k, v in sheet.items()) == 3
    code, report = _check(tmp_path, capsys, _cs231n_file(CS231N_NEURON, sheet))
    assert {i["name"]: i["verdict"] for i in report["items"]} == {k: "correct" for k in sheet}
    assert {i["name"]: i["match"] for i in report["items"]}["df/dx0"] == "carried rounding"
    assert report["score"] == report["total"] == 7
    assert code == 0


def test_finding_rounding_counts_as_an_error_local_gradient_02(tmp_path, capsys):
    """The notes' "local gradient ≈ 0.2" for 0.196612: right to 1 figure, never "incorrect"."""
    code, report = _check(tmp_path, capsys, _cs231n_file(CS231N_NEURON, {"f": "0.73", "df/dz": "0.2"}))
    item = {i["name"]: i for i in report["items"]}["df/dz"]
    assert item["verdict"] == "too_few_figures"
    assert item["diagnosis"]["explanation"].startswith("right to 1 figure; give at least 2")
    assert "0.20" in item["diagnosis"]["explanation"]
    assert item["points"] == 0.5 and not item["first_wrong"] and report["first_wrong"] is None
    assert report["counts"]["too_few_figures"] == 1 and report["counts"]["incorrect"] == 0
    assert code == 1
    # The teacher who accepts one figure gets it marked correct.
    code, report = _check(tmp_path, capsys, _cs231n_file(CS231N_NEURON, {"f": "0.73", "df/dz": "0.2"},
                                                          min_figures=1), "one.yaml")
    assert [i["verdict"] for i in report["items"]] == ["correct", "correct"] and code == 0


def test_cs231n_wrong_by_more_than_rounding_is_incorrect(tmp_path, capsys):
    sheet = {"df/dz": "0.20", "df/dx0": "0.45", "df/dw0": "-0.21"}
    code, report = _check(tmp_path, capsys, _cs231n_file(CS231N_NEURON, sheet))
    verdicts = {i["name"]: i["verdict"] for i in report["items"]}
    # 0.45 is neither 0.393 to 2 figures nor 2 × (anything that rounds to 0.20 between it and 0.1966);
    # −0.21 is one unit in the last place beyond −0.1966 and −0.20.
    assert verdicts == {"df/dz": "correct", "df/dx0": "incorrect", "df/dw0": "incorrect"}
    assert code == 1


def test_wrong_earlier_answer_still_gives_carried_errors():
    """Rounding does not turn a real slip into a right answer: 0.30 for 0.1966 is wrong, 2 × 0.30 carried."""
    p = Problem(CS231N_NEURON, at=",".join(f"{k}={v}" for k, v in CS231N_AT.items()))
    items = {i.name: i for i in diagnose(p, parse_answers(p, {"df/dz": "0.30", "df/dx0": "0.60",
                                                              "df/dw0": "-0.30"})).items}
    assert items["df/dz"].verdict == "incorrect" and items["df/dz"].first
    assert items["df/dx0"].verdict == items["df/dw0"].verdict == "carried_error"
    assert items["df/dx0"].carried_from == ("df/dz",)


def test_integer_answers_carry_no_rounding():
    """An exact integer (2 for 2) is not read as "anything from 1.5 to 2.5": the seeds' slip stays a slip."""
    p = Problem("a1 = w1*x + b1; a2 = w2*a1 + b2; J = 0.5*(a2 - y)**2", at="x=1,y=5,w1=2,b1=0,w2=3,b2=1")
    items = {i.name: i for i in diagnose(p, parse_answers(p, {"dJ/da2": "2", "dJ/da1": "4"})).items}
    assert items["dJ/da1"].verdict == "incorrect"


def test_min_figures_verdict_in_every_printer():
    p = Problem(CS231N_NEURON, at=",".join(f"{k}={v}" for k, v in CS231N_AT.items()))
    result = diagnose(p, parse_answers(p, {"f": "0.73", "df/dz": "0.2"}))
    assert result.counts()["too_few_figures"] == 1 and not result.all_correct
    assert result.score == 1.5
    for render in (render_text, render_markdown, render_html, render_latex):
        out = render(result)
        assert "too few figures" in out, render.__name__
        assert "give at least 2" in out, render.__name__
    assert result_dict(result)["items"][1]["verdict"] == "too_few_figures"
    # The points are the caller's choice.
    assert diagnose(p, parse_answers(p, {"df/dz": "0.2"}), figures_credit=0.0).score == 0


def test_too_few_figures_that_are_wrong_is_incorrect():
    """0.3 for 0.1966 is wrong to its one figure: incorrect, not "too few figures"."""
    p = Problem(CS231N_NEURON, at=",".join(f"{k}={v}" for k, v in CS231N_AT.items()))
    item = diagnose(p, parse_answers(p, {"df/dz": "0.3"})).items[0]
    assert item.verdict == "incorrect"


def test_tolerance_still_decides_before_figures():
    """An exact or within-tolerance answer is correct however few figures it has (2 for 2.0004)."""
    from backproof.check.compare import numbers_match, right_to_figures
    assert numbers_match(2.0, "2", 2.0004) == "tolerance"
    assert right_to_figures(0.2, "0.2", 0.196612) == 1
    assert right_to_figures(0.2, "0.2", 0.196612, Tolerance(min_figures=3)) == 1
    assert right_to_figures(0.3, "0.3", 0.196612) is None


@pytest.mark.parametrize("written,mistake", [("2.20", "learning_rate_missing"),    # 2 + 0.20, the rounded g
                                             ("2.197", "learning_rate_missing"),   # 2 + 0.1966, the full g
                                             ("1.980", "update_sign")],            # 2 − 0.1·0.20
                         ids=["rounded", "full", "sign"])
def test_slip_on_rounded_numbers_is_still_named(written, mistake):
    """A named slip made on the numbers the student held (rounded or not) is found and named."""
    p = Problem(CS231N_NEURON, at=",".join(f"{k}={v}" for k, v in CS231N_AT.items()), learning_rate="0.1")
    items = {i.name: i for i in diagnose(p, parse_answers(p, {"df/dz": "0.20", "df/dw0": "-0.20",
                                                              "w0_new": written})).items}
    assert items["w0_new"].verdict == "incorrect"
    assert items["w0_new"].diagnosis.mistake == mistake


@pytest.mark.parametrize("key,flipped", [("df/dx0", "-0.39"), ("df/dz", "-0.20"), ("df/dn", "0.20"),
                                         ("df/dx1", "0.59")])
def test_cs231n_flipped_sign_among_rounded_numbers_is_named(key, flipped):
    """The figure's numbers with one sign flipped: only that one is wrong, named a sign slip
    (−0.39 is the flip of 2 × 0.1966, not of 2 × 0.20 = 0.40: the rounding carried is allowed)."""
    p = Problem(CS231N_GATES, at=",".join(f"{k}={v}" for k, v in CS231N_AT.items()))
    sheet = dict(CS231N_FIGURE, **{key: flipped})
    wrong = [(i.name, i.verdict, i.diagnosis.mistake) for i in diagnose(p, parse_answers(p, sheet)).items
             if i.verdict != "correct"]
    assert wrong == [(key, "incorrect", "sign_flip")]

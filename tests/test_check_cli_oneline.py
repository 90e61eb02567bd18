"""One-line student checks (issue 12, "student friction"): ``check PROGRAM --answer``, ``check -``,
``at: a=2,b=1``, ``½ ²`` and implied multiplication, missing-input messages, δ terms.

Every truth value comes from ``sympy.diff`` of the program, written out here independently
of the checker; every bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
import sympy as sp

from backproof.cli import main
from backproof.parse import parse_expression, parse_program

FORK = "d = a + b; e = b - c; y = d*e"
FORK_AT = {"a": 2, "b": 1, "c": 0}
A, B, C = sp.symbols("a b c", real=True)
FORK_Y = (A + B) * (B - C)   # y written out by hand: the oracle

NET = "z1 = w1*x + b1; a1 = sigmoid(z1); z2 = w2*a1 + b2; a2 = sigmoid(z2); J = 0.5*(a2 - y)**2"
NET_AT = {"x": 1, "y": 1, "w1": sp.Rational(1, 2), "b1": 0, "w2": -1, "b2": sp.Rational(1, 4)}
NET_AT_TEXT = "x=1,y=1,w1=0.5,b1=0,w2=-1,b2=0.25"
X, Y, W1, B1, W2, B2, Z1, Z2, A1 = sp.symbols("x y w1 b1 w2 b2 z1 z2 a1", real=True)


def _sig(t):
    return 1 / (1 + sp.exp(-t))


def _at(expr, point) -> float:
    return float(expr.subs({sp.Symbol(k, real=True): v for k, v in point.items()}))


def _net_value(name: str) -> float:
    """A named node's value at NET_AT, from the formulas written out here."""
    z1 = W1 * X + B1
    z2 = W2 * _sig(z1) + B2
    return _at({"z1": z1, "a1": _sig(z1), "z2": z2, "a2": _sig(z2)}[name], NET_AT)


def run(capsys, argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def items(out: str) -> dict:
    return {i["quantity"]: i for i in json.loads(out)["items"]}


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("backproof:")]
    assert len(lines) == 1, err
    return lines[0]


# --- 1. check PROGRAM --at ... --answer Q=V ------------------------------------------------------

def test_finding_one_answer_needs_no_yaml_file(capsys):
    """The issue's command: program text, --at and two --answer options."""
    code, out, err = run(capsys, ["check", FORK, "--at", "a=2,b=1,c=0", "--answer", "dy/db=3",
                                  "--answer", "dy/da=1", "--format", "json"])
    assert code == 1, err  # dy/db = 3 is wrong: the path through d is missing
    got = items(out)
    assert got["dy/db"]["expected"] == pytest.approx(_at(sp.diff(FORK_Y, B), FORK_AT), rel=1e-12)
    assert got["dy/da"]["expected"] == pytest.approx(_at(sp.diff(FORK_Y, A), FORK_AT), rel=1e-12)
    assert got["dy/db"]["verdict"] == "incorrect" and got["dy/da"]["verdict"] == "correct"
    assert got["dy/db"]["diagnosis"]["mistake"] == "fork_path_missing"


def test_one_line_check_of_right_answers_exits_0(capsys):
    truth = {f"dy/d{n}": _at(sp.diff(FORK_Y, s), FORK_AT) for n, s in (("a", A), ("b", B), ("c", C))}
    argv = ["check", FORK, "--at", "a=2,b=1,c=0"]
    for q, v in truth.items():
        argv += ["--answer", f"{q}={v:g}"]
    code, out, err = run(capsys, argv)
    assert code == 0, err + out
    assert "Score: 3/3" in out


def test_one_line_symbolic_answers_need_no_point(capsys):
    # dy/db as a formula: the oracle's own expression, written differently.
    code, out, err = run(capsys, ["check", FORK, "--answer", "dy/db = a - c + 2*b", "--answer", "dy/dd=b - c",
                                  "--format", "json"])
    assert code == 0, err
    assert sp.simplify(parse_expression("a - c + 2*b") - sp.diff(FORK_Y, B)) == 0
    assert {i["verdict"] for i in items(out).values()} == {"correct"}


def test_one_line_update_with_learning_rate(capsys):
    prog = "a = w*x; J = (a - t)**2"
    w, x, t = sp.symbols("w x t", real=True)
    point = {"w": 3, "x": 2, "t": 1}
    new_w = _at(w - sp.Rational(1, 10) * sp.diff((w * x - t) ** 2, w), point)
    code, out, err = run(capsys, ["check", prog, "--at", "w=3,x=2,t=1", "--learning-rate", "0.1",
                                  "--answer", f"w_new={new_w:g}", "--format", "json"])
    assert code == 0, err
    assert items(out)["w_new"]["expected"] == pytest.approx(new_w, rel=1e-12)


def test_one_line_program_from_stdin_and_from_a_file(capsys, monkeypatch, tmp_path):
    want = _at(sp.diff(FORK_Y, B), FORK_AT)
    code, _out, err = run(capsys, ["check", "-", "--at", "a=2,b=1,c=0", "--answer", f"dy/db={want:g}"],
                         stdin=FORK.replace("; ", "\n"), monkeypatch=monkeypatch)
    assert code == 0, err
    path = tmp_path / "fork.txt"
    path.write_text(FORK)
    code, _out, err = run(capsys, ["check", f"@{path}", "--at", "a=2,b=1,c=0", "--answer", f"dy/db={want:g}"])
    assert code == 0, err


def test_answer_files_still_work(capsys, tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(f'problem:\n  program: "{FORK}"\n  at: {{a: 2, b: 1, c: 0}}\nanswers:\n  dy/db: 4\n')
    code, out, err = run(capsys, ["check", str(path)])
    assert code == 0, err
    assert "File: hw.yaml." in out


# --- 2. check - reads the answer file from standard input ---------------------------------------

STDIN_FILES = {
    "yaml": f'problem:\n  program: "{FORK}"\n  at: {{a: 2, b: 1, c: 0}}\nanswers:\n  dy/db: 4\n  dy/dc: -3\n',
    "json": json.dumps({"problem": {"program": FORK, "at": {"a": 2, "b": 1, "c": 0}},
                        "answers": {"dy/db": 4, "dy/dc": -3}}),
    "toml": f'[problem]\nprogram = "{FORK}"\nat = {{ a = 2, b = 1, c = 0 }}\n\n[answers]\n'
            f'"dy/db" = 4\n"dy/dc" = -3\n',
}


@pytest.mark.parametrize("fmt", sorted(STDIN_FILES))
def test_finding_check_dash_reads_standard_input(capsys, monkeypatch, fmt):
    assert _at(sp.diff(FORK_Y, B), FORK_AT) == 4 and _at(sp.diff(FORK_Y, C), FORK_AT) == -3
    code, out, err = run(capsys, ["check", "-", "--format", "json"], stdin=STDIN_FILES[fmt],
                         monkeypatch=monkeypatch)
    assert code == 0, err
    assert "file not found" not in err
    assert json.loads(out)["file"] == "standard input"


def test_check_dash_errors_name_standard_input(capsys, monkeypatch):
    code, _out, err = run(capsys, ["check", "-"], stdin="answers: [1, 2]\n", monkeypatch=monkeypatch)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("backproof: error: standard input:")


# --- 3. at: "a=2,b=1" --------------------------------------------------------------------------

@pytest.mark.parametrize("at", ['"a=2,b=1,c=0"', "a=2, b=1, c=0", "'a = 2, b = 1, c = 0'"])
def test_finding_at_accepts_the_command_line_form(capsys, tmp_path, at):
    path = tmp_path / "hw.yaml"
    want = _at(sp.diff(FORK_Y, A), FORK_AT)
    path.write_text(f'problem:\n  program: "{FORK}"\n  at: {at}\nanswers:\n  dy/da: {want:g}\n')
    code, out, err = run(capsys, ["check", str(path), "--format", "json"])
    assert code == 0, err
    assert items(out)["dy/da"]["expected"] == pytest.approx(want, rel=1e-12)


def test_at_text_error_points_into_the_text(capsys, tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(f'problem:\n  program: "{FORK}"\n  at: "a=2,b=1,c"\nanswers:\n  dy/db: 4\n')
    line = one_line_error(*run(capsys, ["check", str(path)])[::2])
    # column 7 of line 3 opens the quoted text; 'c' is its 9th character
    assert f"{path}:3:16: problem.at: expected NAME=VALUE, got 'c'" in line


# --- 4. ½, ², ·, ×, −, superscripts; implied multiplication ----------------------------------------

UNICODE = [
    ("½(a2 − y)²", "0.5*(a2 - y)**2"),
    ("½·(a2 − y)²", "(1/2)*(a2 - y)**2"),
    ("a2×y − ¼", "a2*y - 1/4"),
    ("y⁻¹ + a2³", "y**(-1) + a2**3"),
    ("10⁻² · y", "y/100"),
    ("a₂ − y", "a2 - y"),
]


@pytest.mark.parametrize("text, plain", UNICODE, ids=[u for u, _ in UNICODE])
def test_finding_unicode_answers_read_as_written(text, plain):
    got, want = parse_expression(text), parse_expression(plain)
    assert sp.simplify(got.doit() - want.doit()) == 0
    # The program parser reads the same characters the same way.
    prog = parse_program(f"q = {text}")
    assert sp.simplify(prog.statement("q").expr.doit() - want.doit()) == 0


def test_unicode_answers_are_graded(capsys):
    prog = "a2 = w*x; J = 0.5*(a2 - y)**2"
    w, x, y = sp.symbols("w x y", real=True)
    point = {"w": 3, "x": 1, "y": 5}
    j = _at(sp.Rational(1, 2) * (w * x - y) ** 2, point)
    # numbers worked with Unicode operators: ½·(3 − 5)² is 2
    code, out, err = run(capsys, ["check", prog, "--at", "w=3,x=1,y=5", "--answer", "J = ½(3 − 5)²",
                                  "--answer", "dJ/da2 = 3 − 5", "--answer", "a2 = 3×1", "--format", "json"])
    assert code == 0, err
    assert items(out)["J"]["expected"] == pytest.approx(j, rel=1e-12)
    assert items(out)["dJ/da2"]["expected"] == pytest.approx(_at(w * x - y, point), rel=1e-12)


def test_finding_implied_multiplication_gets_a_hint(capsys):
    code, _out, err = run(capsys, ["check", "a2 = w*x; J = 0.5*(a2 - y)**2", "--answer", "dJ/da2=0.5(a2 - y)"])
    line = one_line_error(code, err)
    # the value starts at column 8 of the option's text; its bracket is at column 11
    assert line == ("backproof: error: --answer 'dJ/da2=0.5(a2 - y)', column 11: cannot read '0.5(a2 - y)': "
                    "a missing * (implied multiplication is not allowed); did you mean 0.5*(a2 - y)?")


def test_implied_multiplication_in_an_answer_file_names_line_and_column(capsys, tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text('problem:\n  program: "a2 = w*x; J = 0.5*(a2 - y)**2"\nanswers:\n'
                    '  dJ/da2: 0.5(a2 - y)\n')
    line = one_line_error(*run(capsys, ["check", str(path)])[::2])
    assert f"{path}:4:14: " in line and "did you mean 0.5*(a2 - y)?" in line


@pytest.mark.parametrize("text, hint", [
    ("2x", "did you mean 2*x?"),
    ("(a+b)(b-c)", "did you mean (a+b)*(b-c)?"),
    ("sigmoid(z)(1 - sigmoid(z))", "did you mean sigmoid(z)*(1 - sigmoid(z))?"),
    ("a + 3 (b - c)", "did you mean 3*(b - c)?"),
])
def test_implied_multiplication_hints(text, hint):
    from backproof.errors import ParseError
    with pytest.raises(ParseError) as info:
        parse_expression(text)
    assert hint in str(info.value)
    with pytest.raises(ParseError) as info:
        parse_program(f"y = {text}")
    assert hint in str(info.value)


def test_a_mixed_number_is_refused_not_misread():
    from backproof.errors import ParseError
    with pytest.raises(ParseError, match="mixed number"):
        parse_expression("2½")


# --- 5. a missing input names what this command accepts ------------------------------------------

def test_finding_missing_input_names_the_answer_files_field(capsys, tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(f'problem:\n  program: "{FORK}"\n  at: {{a: 2, b: 1}}\nanswers:\n  dy/db: 4\n')
    line = one_line_error(*run(capsys, ["check", str(path)])[::2])
    assert "--at" not in line
    assert "no value given for input c (add c: … to problem.at)" in line


def test_missing_input_on_the_command_line_names_at(capsys):
    line = one_line_error(*run(capsys, ["check", FORK, "--at", "a=2,b=1", "--answer", "dy/db=4"])[::2])
    assert line == "backproof: error: --at: no value given for input c (give --at c=…)"


# --- 6. δ terms and local derivatives -------------------------------------------------------------

def _net_oracles() -> dict[str, float]:
    """∂J/∂(a named node) by sympy.diff of J written in that node, and ∂a2/∂a1."""
    j_of_z2 = sp.Rational(1, 2) * (_sig(Z2) - Y) ** 2
    j_of_z1 = sp.Rational(1, 2) * (_sig(W2 * _sig(Z1) + B2) - Y) ** 2
    a2_of_a1 = _sig(W2 * A1 + B2)
    point = dict(NET_AT, z1=_net_value("z1"), z2=_net_value("z2"), a1=_net_value("a1"))
    return {"delta_z2": _at(sp.diff(j_of_z2, Z2), point), "δ_z1": _at(sp.diff(j_of_z1, Z1), point),
            "da2/da1": _at(sp.diff(a2_of_a1, A1), point)}


@pytest.mark.parametrize("key", ["delta_z2", "δ_z1", "da2/da1"])
def test_finding_delta_terms_and_local_derivatives_are_answerable(capsys, key):
    truth = _net_oracles()[key]
    code, out, err = run(capsys, ["check", NET, "--at", NET_AT_TEXT, "--answer", f"{key}={truth!r}",
                                  "--format", "json"])
    assert code == 0, err
    (item,) = items(out).values()
    assert item["expected"] == pytest.approx(truth, rel=1e-9)
    assert item["verdict"] == "correct"


@pytest.mark.parametrize("key", ["δ_{z2}", "δz2", "delta_z2"])
def test_delta_spellings_name_the_same_gradient(capsys, key):
    code, out, err = run(capsys, ["check", NET, "--answer", f"{key} = (a2 - y)·a2·(1 − a2)",
                                  "--format", "json"])
    assert code == 0, err
    assert list(items(out)) == ["dJ/dz2"]


def test_delta_and_gradient_of_the_same_node_are_one_quantity(capsys):
    line = one_line_error(*run(capsys, ["check", NET, "--at", NET_AT_TEXT, "--answer", "delta_z2=1",
                                        "--answer", "dJ/dz2=1"])[::2])
    assert line.startswith("backproof: error: --answer 'dJ/dz2=1': names the same quantity as 'delta_z2=1'")


# --- a network spec checked on one line -----------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _mazur_by_hand() -> dict[str, float]:
    """Mazur's 2-2-2 network written out in plain Python (one shared bias per layer, as the post):
    the oracle for the one-line check of examples/mazur.yaml."""
    import math
    i1, i2, t1, t2, b1, b2, eta = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60, 0.5
    w1, w2, w3, w4, w5, w6, w7, w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55

    def s(v):
        return 1 / (1 + math.exp(-v))
    h1, h2 = s(w1 * i1 + w2 * i2 + b1), s(w3 * i1 + w4 * i2 + b1)
    o1, o2 = s(w5 * h1 + w6 * h2 + b2), s(w7 * h1 + w8 * h2 + b2)
    d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)   # δ of net_o1, net_o2
    return {"E_total": 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2, "out_o1": o1, "dE_total/dw5": d1 * h1,
            "w5_new": w5 - eta * d1 * h1, "dE_total/dout_h1": d1 * w5 + d2 * w7,
            "through_o1_only": d1 * w5}


def test_finding_a_network_spec_is_checked_on_one_line(capsys):
    """Mazur's post's own quantities, by the spec's names; a student who follows only the path
    through o1 to out_h1 is told so; the right numbers are the hand computation's."""
    truth = _mazur_by_hand()
    answers = [f"{q}={truth[q]:.9g}" for q in ("E_total", "out_o1", "dE_total/dw5", "w5_new")]
    answers.append(f"dE_total/dout_h1={truth['through_o1_only']:.9g}")
    argv = ["check", str(EXAMPLES / "mazur.yaml"), "--format", "json"]
    code, out, err = run(capsys, argv + [a for x in answers for a in ("--answer", x)])
    assert code == 1, err
    got = items(out)
    for q in ("E_total", "out_o1", "dE_total/dw5", "w5_new"):
        assert got[q]["verdict"] == "correct", q
        # JSON numbers carry 12 significant figures: compared to a relative 1e-11.
        assert abs(float(got[q]["expected"]) - truth[q]) <= 1e-11 * abs(truth[q]), q
    fork = got["dE_total/dout_h1"]
    assert fork["verdict"] == "incorrect" and fork["diagnosis"]["mistake"] == "fork_path_missing", fork
    assert abs(float(fork["expected"]) - truth["dE_total/dout_h1"]) <= 1e-11 * truth["dE_total/dout_h1"]
    assert "the path through net_o2 is missing" in fork["diagnosis"]["explanation"]


def test_a_network_spec_on_one_line_takes_at_and_learning_rate(capsys):
    """--at overrides a value of the spec by name and --learning-rate its η."""
    truth = _mazur_by_hand()
    code, out, err = run(capsys, ["check", str(EXAMPLES / "mazur.yaml"), "--learning-rate", "0.1",
                                  "--answer", f"w5_new={0.4 - 0.1 * truth['dE_total/dw5']:.9g}",
                                  "--format", "json"])
    assert code == 0, err
    code, out, err = run(capsys, ["check", str(EXAMPLES / "mazur.yaml"), "--at", "w5=0.5",
                                  "--answer", f"w5_new={truth['w5_new']:.9g}", "--format", "json"])
    assert code == 1 and items(out)["w5_new"]["verdict"] != "correct", out


# --- bad input: one line, exit 2 -------------------------------------------------------------------

BAD = [
    (["check", FORK, "--answer", "dy/db"], "expected QUANTITY=VALUE"),
    (["check", FORK, "--answer", "=3"], "expected QUANTITY=VALUE"),
    (["check", FORK, "--answer", "dy/dq=3", "--at", "a=1,b=2,c=3"], "unknown quantity 'dy/dq'"),
    (["check", FORK, "--answer", "δ_y=1"], "δ of the output 'y'"),
    (["check", FORK, "--answer", "a_new=1", "--at", "a=1,b=2,c=3"], "needs --learning-rate"),
    (["check", FORK, "--answer", "dy/da=1", "--learning-rate", "-1"], "--learning-rate must be a positive"),
    (["check", FORK, "--answer", "dy/da=1", "--learning-rate", "eta"], "--learning-rate must be a positive"),
    (["check", FORK, "--answer", "dy/da=3"], "a number needs values for the inputs (give --at"),
    (["check", FORK, "--answer", "dy/da=1", "--at", "a=1,b=2,c=3,q=4"], "q"),
    (["check", FORK, "--at", "a=1,b=2,c=3"], "is program text, not an answer file"),
    (["check", "no-such-file.yaml", "--at", "a=1"], "--at goes with --answer"),
    (["check", "y = (a+b", "--answer", "dy/da=1"], "line 1"),
    (["check", FORK, "--answer", "dy/da=2½"], "mixed number"),
    (["check", "a=b.yaml"], "a=b.yaml: file not found"),
    (["check", "@net.yaml", "--answer", "dJ/dw=1"], "net.yaml: file not found"),
    (["check", "hw.yaml", "--answer", "dJ/dw=1"], "hw.yaml: file not found"),
    (["check", str(EXAMPLES / "homework" / "seed.yaml"), "--answer", "dJ/dw=1"], "this is an answer file"),
    (["check", str(EXAMPLES / "mazur.yaml"), "--answer", "b1_new=1"], "'b1' is frozen"),
    (["check", str(EXAMPLES / "mazur.yaml"), "--answer", "E_o3=1"], "unknown quantity 'E_o3'"),
    (["check", FORK, *["--answer", "dy/da=1"] * 1001], "cli_arguments"),
    (["check", FORK, *[a for i in range(501) for a in ("--answer", f"dy/da{i}=1")]], "answer_count"),
]


@pytest.mark.parametrize("argv, fragment", BAD, ids=[" ".join(a[2:])[:40] for a, _ in BAD])
def test_bad_one_line_input_is_one_line(capsys, argv, fragment):
    line = one_line_error(*run(capsys, argv)[::2])
    assert fragment in line


def test_program_text_on_standard_input_without_answers_points_to_answer(capsys, monkeypatch):
    line = one_line_error(*run(capsys, ["check", "-"], stdin=FORK + "\n", monkeypatch=monkeypatch)[::2])
    assert line.startswith("backproof: error: standard input:1:1: the file must be a mapping")
    assert "give the answers with --answer" in line


def test_docs_one_line_example_runs(capsys):
    """docs/homework.md's second one-line example, right answers: exit 0 (truths by sympy.diff)."""
    x, y, w1, b1, w2, b2 = sp.symbols("x y w1 b1 w2 b2", real=True)
    point = {"x": 1, "y": 5, "w1": 2, "b1": 0, "w2": 3, "b2": 1}
    a1 = w1 * x + b1
    j = (w2 * a1 + b2 - y) ** 2 / 2
    a2_sym = sp.Symbol("a2", real=True)
    delta_a2 = _at(sp.diff((a2_sym - y) ** 2 / 2, a2_sym).subs(a2_sym, w2 * a1 + b2), point)
    w1_new = _at(w1 - sp.Rational(1, 10) * sp.diff(j, w1), point)
    assert (delta_a2, w1_new) == (2, pytest.approx(1.4))
    example = Path(__file__).resolve().parent.parent / "examples" / "seed_two_layer.txt"
    code, out, err = run(capsys, ["check", f"@{example}", "--at", "x=1,y=5,w1=2,b1=0,w2=3,b2=1",
                                  "--learning-rate", "0.1", "--answer", "delta_a2=2", "--answer", "da2/da1 = w2",
                                  "--answer", "w1_new=1.4"])
    assert code == 0, err
    assert "Score: 3/3" in out


@pytest.mark.parametrize("suffix, text", [
    ("json", json.dumps({"problem": {"program": FORK, "at": "a=2,b=1,c=0"}, "answers": {"dy/dc": "-3"}})),
    ("toml", f'[problem]\nprogram = "{FORK}"\nat = "a=2,b=1,c=0"\n[answers]\n"dy/dc" = -3\n'),
])
def test_at_text_in_json_and_toml(capsys, tmp_path, suffix, text):
    assert _at(sp.diff(FORK_Y, C), FORK_AT) == -3
    path = tmp_path / f"hw.{suffix}"
    path.write_text(text)
    code, out, err = run(capsys, ["check", str(path)])
    assert code == 0, err
    assert "Score: 1/1" in out

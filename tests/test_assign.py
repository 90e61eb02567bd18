"""`backproof assign`: per-student variants drawn from the id, proven, and graded against their own key."""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backproof
from backproof.check import assign as A
from backproof.check import grade as g
from backproof.check.answers import parse_document
from backproof.cli import main
from backproof.errors import BackproofError

SRC = Path(__file__).resolve().parents[1] / "src"

PROGRAM = "z1 = w1*x + b1\na1 = sigmoid(z1)\nz2 = w2*a1 + b2\na2 = sigmoid(z2)\nJ = 0.5*(a2 - y)**2"
VARY = {"x": (-1, 1, 0.25), "y": (0, 1, 1), "w1": (-1, 1, 0.1), "w2": (-1, 1, 0.1)}
ASKED = ["z1", "a1", "a2", "J", "dJ/dz2", "dJ/dw2", "dJ/da1", "dJ/dw1", "w1_new"]
LR = 0.5


def key_text(program=PROGRAM, at="{x: 0.5, y: 1, w1: 0.3, b1: -0.1, w2: 0.8, b2: 0.2}", vary=None,
             asked=ASKED, seed=2026, lr=LR):
    vary = VARY if vary is None else vary
    lines = "".join(f"    {line}\n" for line in program.splitlines())
    ranges = "".join(f"  {k}: [{lo}, {hi}, {st}]\n" for k, (lo, hi, st) in vary.items())
    answers = "".join(f"  {k!r}:\n" for k in asked)
    lr_line = f"  learning_rate: {lr}\n" if lr is not None else ""
    return (f"title: Homework 3\nproblem:\n  program: |\n{lines}  at: {at}\n{lr_line}"
            f"vary:\n  seed: {seed}\n{ranges}answers:\n{answers}")


def hand_backprop(at):
    """The oracle: the two-layer sigmoid network's backprop written out by hand, in floats."""
    def sig(t):
        return 1 / (1 + math.exp(-t))
    z1 = at["w1"] * at["x"] + at["b1"]
    a1 = sig(z1)
    z2 = at["w2"] * a1 + at["b2"]
    a2 = sig(z2)
    d_z2 = (a2 - at["y"]) * a2 * (1 - a2)
    d_a1 = d_z2 * at["w2"]
    d_w1 = d_a1 * a1 * (1 - a1) * at["x"]
    return {"z1": z1, "a1": a1, "a2": a2, "J": 0.5 * (a2 - at["y"]) ** 2, "dJ/dz2": d_z2,
            "dJ/dw2": d_z2 * a1, "dJ/da1": d_a1, "dJ/dw1": d_w1, "w1_new": at["w1"] - LR * d_w1}


def submission(answers: dict, student: str | None = None) -> str:
    head = f"student: {student}\n" if student else ""
    return head + "answers:\n" + "".join(f"  {k!r}: {v:.6g}\n" for k, v in answers.items())


def assignment(tmp_path, text=None, name="key.yaml"):
    p = tmp_path / name
    p.write_text(key_text() if text is None else text)
    return A.load_assignment(p)


def roster(n):
    return "id,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(1, n + 1))


def run_assign(tmp_path, key=None, roster_text=None, out="hw", extra=()):
    (tmp_path / "key.yaml").write_text(key_text() if key is None else key)
    r = tmp_path / "roster.csv"
    if isinstance(roster_text, bytes):
        r.write_bytes(roster_text)
    else:
        r.write_text(roster(3) if roster_text is None else roster_text, encoding="utf-8")
    return main(["assign", str(tmp_path / "key.yaml"), "--students", str(r), "-o", str(tmp_path / out),
                 *extra])


# --- drawing -----------------------------------------------------------------------------------

def test_same_id_same_numbers_different_ids_differ(tmp_path):
    a = assignment(tmp_path)
    ids = [f"s{i:03d}" for i in range(1, 31)]
    first = [A.draw(a.ranges, a.seed, s, 0) for s in ids]
    assert first == [A.draw(a.ranges, a.seed, s, 0) for s in ids]
    assert A.draw(a.ranges, a.seed, "s001", 0) != A.draw(a.ranges, a.seed, "s002", 0)
    # 7938 grid points: 30 students share a point only by a rare coincidence.
    assert len({tuple(sorted(d.items())) for d in first}) >= 29
    # Another key-level seed gives another class its own numbers.
    assert [A.draw(a.ranges, "other", s, 0) for s in ids] != first


def test_draws_do_not_depend_on_the_process(tmp_path):
    """SHA-256, not Python's salted hash(): another interpreter with another hash seed draws the same."""
    a = assignment(tmp_path)
    here = {s: A.draw(a.ranges, a.seed, s, 0) for s in ("s001", "ada", "x-9")}
    code = ("import sys; from backproof.check import assign as A; "
            "a = A.load_assignment(sys.argv[1]); "
            "print({s: {k: str(v) for k, v in A.draw(a.ranges, a.seed, s, 0).items()} "
            "for s in ('s001', 'ada', 'x-9')})")
    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "key.yaml")], env=env,
                         capture_output=True, text=True, timeout=120, check=True)  # a hang guard only
    assert out.stdout.strip() == str({s: {k: str(v) for k, v in d.items()} for s, d in here.items()})


@pytest.mark.parametrize("low, high, step", [(-2, 2, 0.5), (1, 3, 1), (0.1, 0.35, 0.05), (-1, -1, 1),
                                             (0, 1, 0.3)], ids=["halves", "ints", "tenths", "one", "ragged"])
def test_values_stay_on_the_grid(low, high, step):
    r = A.Range("x", sp.Rational(str(low)), sp.Rational(str(high)), sp.Rational(str(step)))
    seen = set()
    for i in range(300):
        v = Fraction(str(A.draw((r,), "0", f"s{i}", 0)["x"]))
        k = (v - Fraction(str(low))) / Fraction(str(step))
        assert Fraction(str(low)) <= v <= Fraction(str(high)) and k.denominator == 1, v
        seen.add(v)
    # Every grid value is reachable (and nothing else): 300 draws cover a grid of at most 9.
    n = int((Fraction(str(high)) - Fraction(str(low))) // Fraction(str(step))) + 1
    assert len(seen) == n


def test_a_draw_on_a_kink_is_redrawn(tmp_path):
    text = key_text(program="u = w*x\ny = relu(u)", at="{x: 1, w: 1}", vary={"x": (-1, 1, 1)},
                    asked=["y", "dy/dx"], lr=None)
    a = assignment(tmp_path, text)
    on_kink = [s for s in (f"s{i}" for i in range(60)) if A.draw(a.ranges, a.seed, s, 0)["x"] == 0]
    assert on_kink, "no first draw at x = 0 among 60 ids (the test needs one)"
    for sid in on_kink[:3]:
        v = A.make_variant(a, A.Student(sid, sid, 2))
        assert v.values["x"] != 0 and v.attempts >= 2
        # The kept point is smooth: the three-way check has no "not differentiable" row there.
        check = backproof.crosscheck("u = w*x\ny = relu(u)", at={"x": v.values["x"], "w": 1})
        assert check.ok and all(r.verdict == "agree" for r in check.rows)


def test_a_draw_where_the_problem_is_undefined_is_redrawn(tmp_path):
    a = assignment(tmp_path, key_text(program="y = log(x)", at="{x: 1}", vary={"x": (-1, 1, 1)},
                                      asked=["y", "dy/dx"], lr=None))
    for i in range(20):
        assert A.make_variant(a, A.Student(f"s{i}", "", 2)).values["x"] == 1


def test_no_valid_draw_is_one_clear_error(tmp_path, capsys):
    text = key_text(program="y = log(x)", at="{x: 1}", vary={"x": (-2, 0, 1)}, asked=["y"], lr=None)
    a = assignment(tmp_path, text)
    with pytest.raises(BackproofError, match=r"no valid draw for student s1 in 50 attempts .*log"):
        A.make_variant(a, A.Student("s1", "", 2))
    assert run_assign(tmp_path, key=text) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no valid draw" in err
    assert not (tmp_path / "hw").exists()  # all or nothing: not one sheet written


@pytest.mark.parametrize("vary, message", [
    ({"q": (0, 1, 1)}, "vary.q: not an input of the problem"),
    ({"x": (1, 0, 1)}, "needs low <= high and step > 0"),
    ({"x": (0, 1, 0)}, "needs low <= high and step > 0"),
    ({"x": (0, 1, "1e400")}, "must be a plain decimal number"),
    ({"x": (0, 1, "__import__('os')")}, "must be a plain decimal number"),
], ids=["unknown", "reversed", "zero-step", "exponent", "code"])
def test_bad_vary_is_one_line_with_its_position(tmp_path, capsys, vary, message):
    assert run_assign(tmp_path, key=key_text(vary=vary)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "key.yaml:" in err


def test_missing_vary_is_one_line(tmp_path, capsys):
    text = key_text().split("vary:")[0] + "answers:\n  J:\n"
    assert run_assign(tmp_path, key=text) == 2
    assert "missing field 'vary'" in capsys.readouterr().err


# --- the round trip ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """30 students assigned; each hands in the hand-computed answers of their own variant."""
    root = tmp_path_factory.mktemp("assign")
    assert run_assign(root, roster_text=roster(30), extra=("--latex",)) == 0
    subs = root / "subs"
    subs.mkdir()
    points = {}
    for key in sorted((root / "hw" / "keys").glob("*.yaml")):
        at = {k: float(v) for k, v in yaml.safe_load(key.read_text())["problem"]["at"].items()}
        points[key.stem] = at
        (subs / f"{key.stem}.yaml").write_text(submission(hand_backprop(at)))
    return root, points


def test_every_variant_key_is_proven_by_the_three_way_check(klass):
    root, points = klass
    assert len(points) == 30
    for sid, at in points.items():
        key = yaml.safe_load((root / "hw" / "keys" / f"{sid}.yaml").read_text())
        assert key["student"] == sid and "vary" not in key
        assert backproof.crosscheck(PROGRAM, at=at).ok
        # The key's own answers are the hand-written backprop's, to the 6 figures written.
        oracle = hand_backprop(at)
        for q in ASKED:
            assert float(key["answers"][q]) == pytest.approx(oracle[q], rel=1e-5, abs=1e-12), (sid, q)
        # And `grade` finds nothing wrong in it.
        assert g.load_key(root / "hw" / "keys" / f"{sid}.yaml").key_problems == ()


def test_finding_a_different_problem_for_every_student(klass):
    """assign -> grade for 30 students: each correct sheet is all correct against its own variant."""
    root, points = klass
    report = g.grade(root / "hw", root / "subs", workers=2)
    assert [r.student for r in report.results] == sorted(points)
    wrong = [(r.student, r.error, r.score) for r in report.results
             if not (r.error is None and r.all_correct and r.score == r.total == len(ASKED))]
    assert wrong == []
    assert len({tuple(sorted(p.items())) for p in points.values()}) >= 29


def test_a_correct_sheet_for_a_is_wrong_for_b(klass, tmp_path):
    root, points = klass
    a, b = "s001", "s002"
    assert points[a] != points[b]
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / f"{b}.yaml").write_text(submission(hand_backprop(points[a])))  # A's answers handed in as B
    (subs / "named.yaml").write_text(submission(hand_backprop(points[a]), student=b))  # via student:
    (subs / "own.yaml").write_text(submission(hand_backprop(points[a]), student=a))
    report = g.grade(root / "hw", subs, in_process=True)
    by_file = {r.file: r for r in report.results}
    assert not by_file[f"{b}.yaml"].all_correct and by_file[f"{b}.yaml"].error is None
    assert not by_file["named.yaml"].all_correct
    assert by_file["own.yaml"].all_correct


def test_a_submission_of_no_student_is_an_error_row(klass, tmp_path, capsys):
    root, _ = klass
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "zed.yaml").write_text("answers:\n  J: 1\n")
    assert main(["grade", str(root / "hw"), str(subs), "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "no variant for student 'zed'" in out


def test_sheets_and_students_csv(klass):
    root, points = klass
    sheets = root / "hw" / "sheets"
    expected = sorted(f"{s}.{e}" for s in points for e in ("md", "html", "tex"))
    assert sorted(p.name for p in sheets.iterdir()) == expected
    md = (sheets / "s007.md").read_text()
    at = points["s007"]
    assert "Student 7" in md and "s007.yaml" in md and all(f"`{q}`" in md for q in ASKED)
    assert all(f"`{k}` | {v:g} |" in md for k, v in at.items()), md
    assert "<html" in (sheets / "s007.html").read_text().lower()
    assert "\\begin{document}" in (sheets / "s007.tex").read_text()
    rows = list(csv.DictReader(io.StringIO((root / "hw" / "students.csv").read_text())))
    assert [r["id"] for r in rows] == sorted(points) and rows[6]["key"] == "keys/s007.yaml"
    assert float(rows[6]["w1"]) == at["w1"]


# --- hostile rosters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("id,name\n../evil,x\n", "roster.csv:2: id '../evil' is not a valid student id"),
    ("id,name\na/b,x\n", "roster.csv:2: id 'a/b' is not a valid student id"),
    ("id,name\n.hidden,x\n", "not a valid student id"),
    ("id,name\n,x\n", "roster.csv:2: id '' is not a valid student id"),
    ("id,name\nCON\x00,x\n", "not a valid student id"),
    ("id,name\ns1,a\ns1,b\n", "roster.csv:3: id s1 appears twice (first on line 2"),
    ("id,name\nAb,a\naB,b\n", "roster.csv:3: id aB appears twice (first on line 2"),
    ("name\nAda\n", "roster.csv:1: no 'id' column"),
    ("", "empty roster"),
    ("id,name\n", "no students"),
    ("id,name\n" + "s" * 65 + ",x\n", "not a valid student id"),
    ('id,name\n"s1,x\n', "roster.csv: not a valid CSV file"),
], ids=["dotdot", "slash", "dot", "empty-id", "nul", "duplicate", "case-duplicate", "no-id-column", "empty",
        "header-only", "long-id", "unclosed-quote"])
def test_bad_roster_is_one_line(tmp_path, capsys, text, message):
    assert run_assign(tmp_path, roster_text=text) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "hw").exists()
    assert not (tmp_path / "evil").exists()


def test_roster_not_utf8_is_one_line(tmp_path, capsys):
    assert run_assign(tmp_path, roster_text=b"id,name\ns1,Andr\xe9\n") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8 text (byte 15)" in err


def test_huge_roster_is_refused_before_any_draw(tmp_path, capsys):
    n = int(backproof.limits.value("roster_students")) + 1
    assert run_assign(tmp_path, roster_text=roster(n)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "roster_students" in err


def test_hostile_names_are_neutralised(tmp_path):
    text = ('id,name\ns1,"=HYPERLINK(""http://evil"",""x"")"\ns2,<script>alert(1)</script>\n'
            's3,"a\x1b[31mred\nline"\n')
    assert run_assign(tmp_path, roster_text=text) == 0
    out = tmp_path / "hw"
    rows = list(csv.reader(io.StringIO((out / "students.csv").read_text())))
    assert rows[1][1].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    html = (out / "sheets" / "s2.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    md = (out / "sheets" / "s3.md").read_text()
    assert "\x1b" not in md and "a \\[31mred line" in md  # control character dropped, [ escaped


def test_parse_roster_reads_ids_and_optional_names():
    students = A.parse_roster("ID,Name,email\ns001,Ada,a@x\n\ns002\n", "r.csv")
    assert [(s.id, s.name, s.line) for s in students] == [("s001", "Ada", 2), ("s002", "s002", 4)]


def test_vary_in_a_key_is_accepted_by_check(tmp_path, capsys):
    """A key with a vary section is still a key: `check` and `grade` read it at its own point."""
    p = tmp_path / "key.yaml"
    p.write_text(key_text())
    doc = parse_document(p.read_text(), str(p))
    assert "vary" in doc.root.value
    assert g.load_key(p).quantities is not None


NET_KEY = """problem:
  network:
    inputs: [1]
    targets: [2]
    layers:
      - {units: 1, activation: sigmoid, weights: [[0.5]], bias: 0}
    loss: half_sse
    learning_rate: 0.5
    names: {w: "W1[0][0]", b: "b1[0]"}
vary:
  w: [-1, 1, 0.5]
  x_0: [1, 3, 1]
answers:
  J:
  dJ/dw:
  w_new:
"""


def test_network_key_variants_round_trip(tmp_path):
    """A network key varies the spec's scalar names; each student's hand answers grade all correct."""
    assert run_assign(tmp_path, key=NET_KEY, roster_text=roster(4)) == 0
    subs = tmp_path / "subs"
    subs.mkdir()
    for key in sorted((tmp_path / "hw" / "keys").glob("*.yaml")):
        at = yaml.safe_load(key.read_text())["problem"]["at"]
        w, x = float(at["w"]), float(at["x_0"])
        a = 1 / (1 + math.exp(-w * x))
        d_w = (a - 2) * a * (1 - a) * x
        answers = {"J": 0.5 * (a - 2) ** 2, "dJ/dw": d_w, "w_new": w - 0.5 * d_w}
        (subs / key.name).write_text(submission(answers))
        assert backproof.crosscheck("z = w*x + b\na = sigmoid(z)\nJ = 0.5*(a - y)**2",
                                    at={"w": w, "x": x, "b": 0, "y": 2}).ok
    report = g.grade(tmp_path / "hw", subs, in_process=True)
    assert len(report.results) == 4 and all(r.all_correct for r in report.results)


def test_output_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "key.yaml").write_text(key_text())
    (tmp_path / "r.csv").write_text(roster(2))
    assert main(["assign", str(tmp_path / "key.yaml"), "--students", str(tmp_path / "r.csv"), "-o", "-"]) == 2
    assert "-o must name a folder" in capsys.readouterr().err


def test_same_key_and_roster_give_the_same_files_byte_for_byte(tmp_path):
    assert run_assign(tmp_path, out="one") == 0
    assert run_assign(tmp_path, out="two") == 0
    def files(d):
        return {p.relative_to(d): p.read_bytes() for p in d.rglob("*") if p.is_file()}
    one, two = files(tmp_path / "one"), files(tmp_path / "two")
    assert one == two and len(one) == 3 * 3 + 1


def test_a_variant_key_keeps_the_teachers_tolerance(tmp_path):
    text = key_text() + "tolerance:\n  rtol: 0.01\n  min_figures: 3\n  J: {atol: 0.5}\n"
    assert run_assign(tmp_path, key=text) == 0
    key = g.load_key(tmp_path / "hw" / "keys" / "s001.yaml")
    assert key.tolerances.default.rtol == 0.01 and key.tolerances.default.min_figures == 3
    assert dict(key.tolerances.per_key)["J"].atol == 0.5
    assert key.key_problems == ()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("id,name\n\r\"'=+-@./\\ \t\x00\x1bs01é")), max_size=120))
def test_fuzzed_roster_is_students_or_one_line(text):
    """Any roster text gives valid students (ids safe as file names) or one BackproofError line."""
    try:
        students = A.parse_roster(text, "r.csv")
    except BackproofError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("r.csv")
        return
    for s in students:
        assert A.STUDENT_ID.fullmatch(s.id) and "/" not in s.id and not s.id.startswith(".")
        assert s.name.isprintable() and len(s.name) <= 120


def test_the_example_assigns(tmp_path):
    root = Path(__file__).resolve().parents[1] / "examples" / "homework" / "assign"
    assert main(["assign", str(root / "key.yaml"), "--students", str(root / "roster.csv"),
                 "-o", str(tmp_path / "hw")]) == 0
    assert len(list((tmp_path / "hw" / "keys").iterdir())) == 5


def test_a_draw_that_zeroes_an_answer_gives_way_to_one_that_does_not(tmp_path):
    """x = 0 makes dy/dw = x zero (a slip times 0 is still right): a non-zero draw is preferred."""
    a = assignment(tmp_path, key_text(program="y = w*x", at="{x: 1, w: 1}", vary={"x": (0, 1, 1),
                                      "w": (1, 3, 1)}, asked=["y", "dy/dw"], lr=None))
    zero_first = [s for s in (f"s{i}" for i in range(40)) if A.draw(a.ranges, a.seed, s, 0)["x"] == 0]
    assert zero_first
    for sid in zero_first[:5]:
        v = A.make_variant(a, A.Student(sid, sid, 2))
        assert v.values["x"] == 1 and v.attempts >= 2


def test_an_answer_zero_whatever_the_numbers_still_gets_a_variant(tmp_path):
    a = assignment(tmp_path, key_text(program="u = 0*z\ny = w*x + u", at="{x: 1, w: 1, z: 1}",
                                      vary={"x": (1, 3, 1)}, asked=["y", "dy/dz"], lr=None))
    v = A.make_variant(a, A.Student("s1", "s1", 2))
    assert v.values["x"] == A.draw(a.ranges, a.seed, "s1", 0)["x"] and v.attempts == 1


def test_a_folder_that_is_not_an_assign_output_is_not_a_key(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "s1.yaml").write_text("answers: {J: 1}\n")
    assert main(["grade", str(tmp_path), str(tmp_path / "subs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must be an 'assign' output folder (with keys/<id>.yaml)" in err

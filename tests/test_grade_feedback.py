"""Feedback for every student (issue 12, "What to build" 4): ``grade --feedback OUTDIR``, the gradebook
an LMS imports, the class summary and its mistake histogram, ``check SUBMISSION --key KEY``, and
partial credit set in the key.

Oracles: the scores are recomputed here by hand from plain arithmetic (the seed's two-layer
network, its gradients written out below, and one known slip); the gradebook is read back with
the ``csv`` module; ``check SUB --key KEY`` is compared with ``check`` of the full answer file
written by hand; images are checked for pixels (tools.image_not_blank) and the SVG parsed as XML.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from backproof.check import grade as g
from backproof.check.mistakes import MISTAKES
from backproof.cli import main
from tools import image_not_blank

PROGRAM = "a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2"
AT = {"x": 1, "y": 5, "w1": 2, "b1": 0, "w2": 3, "b2": 1}
LR = 0.1
ASKED = ["a2", "dJ/da2", "dJ/da1", "dJ/dw1", "w1_new"]


def truth(slip: bool = False) -> dict[str, float]:
    """The oracle: the forward pass and the chain rule by hand; ``slip``: w2 taken as 2 in ∂J/∂a1."""
    a1 = AT["w1"] * AT["x"] + AT["b1"]
    a2 = AT["w2"] * a1 + AT["b2"]
    g_a2 = a2 - AT["y"]
    g_a1 = g_a2 * (2 if slip else AT["w2"])
    g_w1 = g_a1 * AT["x"]
    return {"a2": a2, "dJ/da2": g_a2, "dJ/da1": g_a1, "dJ/dw1": g_w1, "w1_new": AT["w1"] - LR * g_w1}


def key_text(extra: str = "") -> str:
    at = ", ".join(f"{k}: {v}" for k, v in AT.items())
    body = "".join(f"  {json.dumps(k)}: ~\n" for k in ASKED)
    return ("problem:\n  program: |\n" + "".join(f"    {line}\n" for line in PROGRAM.splitlines())
            + f"  at: {{{at}}}\n  learning_rate: {LR}\nanswers:\n{body}{extra}")


def submission(student: str, answers: dict) -> str:
    return "student: " + json.dumps(student) + "\nanswers:\n" + "".join(
        f"  {json.dumps(k)}: {v:g}\n" for k, v in answers.items())


#: Ben: the slip in ∂J/∂a1 (new), carried into ∂J/∂w1 and w1′. Cy: w1_new left out.
#: Points per question by the oracle, with full follow-through credit.
EXPECTED = {"ada": {"a2": 1, "dJ/da2": 1, "dJ/da1": 1, "dJ/dw1": 1, "w1_new": 1},
            "ben": {"a2": 1, "dJ/da2": 1, "dJ/da1": 0, "dJ/dw1": 1, "w1_new": 1},
            "cy": {"a2": 1, "dJ/da2": 1, "dJ/da1": 1, "dJ/dw1": 1, "w1_new": 0}}


def make_class(root: Path, key_extra: str = "") -> tuple[Path, Path]:
    (root / "key.yaml").write_text(key_text(key_extra))
    subs = root / "subs"
    subs.mkdir()
    (subs / "ada.yaml").write_text(submission("Ada", truth()))
    (subs / "ben.yaml").write_text(submission("Ben", truth(slip=True)))
    (subs / "cy.yaml").write_text(submission("Cy", {k: v for k, v in truth().items() if k != "w1_new"}))
    (subs / "dee.yaml").write_text("student: Dee\nanswers: {a2: [7\n")
    return root / "key.yaml", subs


def run_grade(key, subs, out, *extra) -> int:
    return main(["grade", str(key), str(subs), "--feedback", str(out), "--jobs", "1", "--no-progress", *extra])


def gradebook(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("klass")
    key, subs = make_class(root)
    out = root / "feedback"
    assert run_grade(key, subs, out) == 1
    return key, subs, out


def test_finding_grade_writes_feedback_for_every_student(graded):
    """Teacher friction: `grade` wrote only the class table. Now: one page per submission (the
    one that could not be read too), the summary, the histogram and the gradebook."""
    _, _, out = graded
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["gradebook.csv", "mistakes.png", "mistakes.svg", "students/ada.html", "students/ben.html",
                     "students/cy.html", "students/dee.html", "summary.html"]
    ben = (out / "students/ben.html").read_text()
    assert "Student: Ben." in ben and "Score: 4/5" in ben and "the first wrong step" in ben
    assert "default-src 'none'" in ben
    cy = (out / "students/cy.html").read_text()
    assert "Score: 4/5" in cy and "missing" in cy
    dee = (out / "students/dee.html").read_text()
    assert "could not be graded" in dee and "not valid YAML" in dee and "dee.yaml" in dee


def test_feedback_page_is_the_check_page(graded, tmp_path, capsys):
    """A student's page is the page `check` prints for the same answers against the same problem."""
    key, subs, out = graded
    assert main(["check", str(subs / "ben.yaml"), "--key", str(key), "--format", "html",
                 "-o", str(tmp_path / "ben.html")]) == 1
    assert (tmp_path / "ben.html").read_text() == (out / "students/ben.html").read_text()


def test_finding_no_mistake_codes_in_feedback_pages(graded):
    """Mistake codes (``wrong_value``) stay in the CSV/JSON; pages a student or teacher reads show titles."""
    _, _, out = graded
    titles = {m.name: m.title for m in MISTAKES}
    pages = [p.read_text() for p in (out / "students").iterdir()] + [(out / "summary.html").read_text()]
    assert titles["wrong_value"] in (out / "students/ben.html").read_text().lower()
    for page in pages:
        for code in titles:
            assert code not in page


def test_gradebook_matches_grade_and_the_oracle(graded):
    key, subs, out = graded
    rows = gradebook(out / "gradebook.csv")
    assert list(rows[0]) == ["student_id", "score", "max", *ASKED]
    report = g.grade(key, subs, in_process=True)
    by_id = {r.file.rsplit(".", 1)[0]: r for r in report.results}
    assert [r["student_id"] for r in rows] == ["ada", "ben", "cy", "dee"]
    for r in rows:
        if r["student_id"] == "dee":  # not graded: empty cells, never a silent 0
            assert all(r[c] == "" for c in list(r)[1:])
            continue
        want = EXPECTED[r["student_id"]]
        assert {q: float(r[q]) for q in ASKED} == want
        assert float(r["score"]) == sum(want.values()) == by_id[r["student_id"]].score
        assert float(r["max"]) == len(ASKED) == by_id[r["student_id"]].total


def test_summary_has_the_per_question_table(graded):
    _, _, out = graded
    page = (out / "summary.html").read_text()
    head = re.search(r"<tr><th>quantity</th><th>points</th><th>missed</th><th>correct</th><th>carried errors</th>"
                     r"<th>incorrect</th><th>missing</th></tr>", page)
    assert head, "the per-question table's header"
    # dJ/da1: Ada and Cy right, Ben wrong; w1_new: Ben carried, Cy missing (the oracle above).
    assert re.search(r"<tr><td>dJ/da1</td><td>1</td><td>1/3</td><td>2</td><td>0</td><td>1</td><td>0</td></tr>",
                     page)
    assert re.search(r"<tr><td>w1_new</td><td>1</td><td>1/3</td><td>1</td><td>1</td><td>0</td><td>1</td></tr>",
                     page)
    assert "<svg" in page and "How often each mistake was made" in page


def test_histogram_png_and_svg(graded, tmp_path):
    key, subs, out = graded
    png, svg = (out / "mistakes.png").read_bytes(), (out / "mistakes.svg").read_bytes()
    assert png.startswith(b"\x89PNG") and image_not_blank(png, min_pixels=2000)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = svg.decode()
    title = {m.name: m.title for m in MISTAKES}["wrong_value"]
    assert title.replace("'", "&#39;") in text or title in text
    assert "Mistakes in the class (3 graded submissions)" in text
    # Deterministic: a second run writes the same bytes.
    assert run_grade(key, subs, tmp_path / "again") == 1
    assert (tmp_path / "again/mistakes.png").read_bytes() == png
    assert (tmp_path / "again/mistakes.svg").read_bytes() == svg


def test_feedback_formats(tmp_path):
    key, subs = make_class(tmp_path)
    assert run_grade(key, subs, tmp_path / "md", "--feedback-format", "md") == 1
    assert (tmp_path / "md/students/ben.md").read_text().startswith("# Homework feedback")
    summary = (tmp_path / "md/summary.md").read_text()
    assert "](mistakes.svg)" in summary and "| quantity | points | missed |" in summary
    assert run_grade(key, subs, tmp_path / "txt", "--feedback-format", "text") == 1
    assert "Score: 4/5" in (tmp_path / "txt/students/ben.txt").read_text()
    assert (tmp_path / "txt/summary.txt").exists()


# --- check SUBMISSION --key KEY ---------------------------------------------------------------------

def test_finding_bare_submission_checks_against_key(tmp_path, capsys):
    """A bare submission (no `problem`) said "missing field 'problem'"; with --key it is checked against
    the key's problem, and equals checking the full answer file (problem + the same answers)."""
    key, subs = make_class(tmp_path)
    assert main(["check", str(subs / "ben.yaml")]) == 2
    assert "missing field 'problem'" in capsys.readouterr().err
    full = tmp_path / "full"
    full.mkdir()
    at = ", ".join(f"{k}: {v}" for k, v in AT.items())
    (full / "ben.yaml").write_text(submission("Ben", truth(slip=True)) + "problem:\n  program: |\n"
                                   + "".join(f"    {line}\n" for line in PROGRAM.splitlines())
                                   + f"  at: {{{at}}}\n  learning_rate: {LR}\n")
    for fmt in ("text", "json", "md", "html"):
        assert main(["check", str(subs / "ben.yaml"), "--key", str(key), "--format", fmt]) == 1
        bare = capsys.readouterr().out
        assert main(["check", str(full / "ben.yaml"), "--format", fmt]) == 1
        whole = capsys.readouterr().out
        if fmt == "json":
            bare, whole = json.loads(bare), json.loads(whole)
            assert bare.pop("file").endswith("subs/ben.yaml") and whole.pop("file").endswith("full/ben.yaml")
        assert bare == whole, fmt
    assert main(["check", str(subs / "ada.yaml"), "--key", str(key)]) == 0
    capsys.readouterr()
    # A submission that carries its own problem has it ignored, as grade does: the key decides.
    (full / "ben.yaml").write_text((full / "ben.yaml").read_text().replace("w2: 3", "w2: 30"))
    assert main(["check", str(full / "ben.yaml"), "--key", str(key), "--format", "json"]) == 1
    mine = json.loads(capsys.readouterr().out)
    assert main(["check", str(subs / "ben.yaml"), "--key", str(key), "--format", "json"]) == 1
    theirs = json.loads(capsys.readouterr().out)
    assert mine["items"] == theirs["items"] and mine["score"] == 4


def test_check_key_reports_missing_and_bad_files(tmp_path, capsys):
    key, subs = make_class(tmp_path)
    assert main(["check", str(subs / "cy.yaml"), "--key", str(key), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {i["quantity"]: i["verdict"] for i in data["items"]}["w1_new"] == "missing"
    assert main(["check", str(subs / "dee.yaml"), "--key", str(key)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid YAML" in err and "Traceback" not in err
    (tmp_path / "bad.yaml").write_text("problem: {program: 'y = +'}\n")
    assert main(["check", str(subs / "ada.yaml"), "--key", str(tmp_path / "bad.yaml")]) == 2
    assert capsys.readouterr().err.startswith("backproof: error: key: ")
    (tmp_path / "tol.yaml").write_text("tolerance: {rtol: 0.5}\nanswers: {a2: 7}\n")
    assert main(["check", str(tmp_path / "tol.yaml"), "--key", str(key)]) == 2
    assert "a submission cannot set tolerances" in capsys.readouterr().err


# --- partial credit ------------------------------------------------------------------------------------

POINTS = """points:
  "dJ/da1": 3
  "dJ/dw1": {points: 2, carried_credit: 0.5}
  w1_new: 0.5
carried_credit: 0.25
"""


def test_partial_credit_arithmetic(tmp_path, capsys):
    """Ben: a2 and dJ/da2 right (1 + 1), dJ/da1 wrong (0 of 3), dJ/dw1 carried (2 × its own 0.5),
    w1_new carried (0.5 × the key's 0.25): 3.125 of 7.5. --carried-credit 1 replaces both shares."""
    key, subs = make_class(tmp_path, POINTS)
    out = tmp_path / "fb"
    assert run_grade(key, subs, out) == 1
    rows = {r["student_id"]: r for r in gradebook(out / "gradebook.csv")}
    ben = rows["ben"]
    assert (float(ben["a2"]), float(ben["dJ/da2"]), float(ben["dJ/da1"]), float(ben["dJ/dw1"]),
            float(ben["w1_new"])) == (1, 1, 0, 2 * 0.5, 0.5 * 0.25)
    assert float(ben["score"]) == 3.125 and float(ben["max"]) == 1 + 1 + 3 + 2 + 0.5
    assert float(rows["ada"]["score"]) == 7.5
    assert float(rows["cy"]["score"]) == 7.5 - 0.5
    page = (out / "students/ben.html").read_text()
    assert "Score: 3.125/7.5" in page and "<td>1/2</td>" in page and "<td>0.125/0.5</td>" in page
    assert "<tr><td>dJ/dw1</td><td>2</td>" in (out / "summary.html").read_text()
    capsys.readouterr()
    assert main(["check", str(subs / "ben.yaml"), "--key", str(key), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["score"] == 3.125 and data["total"] == 7.5
    assert {i["quantity"]: i["points"] for i in data["items"]}["dJ/dw1"] == 1
    assert run_grade(key, subs, tmp_path / "fb1", "--carried-credit", "1") == 1
    ben1 = {r["student_id"]: r for r in gradebook(tmp_path / "fb1/gradebook.csv")}["ben"]
    assert float(ben1["score"]) == 1 + 1 + 0 + 2 + 0.5


@pytest.mark.parametrize("extra,message", [
    ("points: {dJ/dw9: 2}\n", "unknown quantity"),
    ("points: {a2: -1}\n", "points must be between 0 and"),
    ("points: {a2: {points: 1, carried_credit: 2}}\n", "carried_credit must be between 0 and 1"),
    ("points: {a2: {pionts: 1}}\n", "did you mean 'points'"),
    ("points: [1, 2]\n", "must be a mapping from question to points"),
    ("carried_credit: half\n", "carried_credit"),
])
def test_bad_points_are_one_line_errors(tmp_path, capsys, extra, message):
    key, subs = make_class(tmp_path, extra)
    assert run_grade(key, subs, tmp_path / "fb") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("backproof: error: key: ")
    assert not (tmp_path / "fb").exists()


def test_points_belong_in_a_key(tmp_path, capsys):
    key, subs = make_class(tmp_path)
    (subs / "ada.yaml").write_text(submission("Ada", truth()) + "points: {a2: 5}\n")
    report = g.grade(key, subs, in_process=True)
    ada = next(r for r in report.results if r.file == "ada.yaml")
    assert ada.error and "a submission cannot set points" in ada.error
    (tmp_path / "hw.yaml").write_text(key_text().replace(": ~", ": 1") + "points: {a2: 5}\n")
    assert main(["check", str(tmp_path / "hw.yaml")]) == 2
    assert "points belongs in a grading key" in capsys.readouterr().err


# --- writing: all or nothing, and names that cannot escape -------------------------------------------

def test_failing_write_leaves_no_files(tmp_path, monkeypatch, capsys):
    """The disk fills up while the last page is staged: nothing of the feedback folder (nor -o) is left."""
    import backproof.io as bio
    key, subs = make_class(tmp_path)
    out = tmp_path / "fb"
    real = bio._stage

    def stage(m):
        if m.target.name == "gradebook.csv":
            raise bio.output_error(m.shown, OSError(errno.ENOSPC, "No space left on device"))
        real(m)

    monkeypatch.setattr(bio, "_stage", stage)
    assert main(["grade", str(key), str(subs), "--feedback", str(out), "-o", str(tmp_path / "g.csv"),
                 "--jobs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no space left on device" in err and err.count("backproof: error") == 1
    assert not out.exists() and not (tmp_path / "g.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.yaml", "subs"]


def test_feedback_into_a_file_is_an_error(tmp_path, capsys):
    key, subs = make_class(tmp_path)
    (tmp_path / "fb").write_text("keep me")
    assert run_grade(key, subs, tmp_path / "fb") == 2
    assert (tmp_path / "fb").read_text() == "keep me"
    assert run_grade(key, subs, "-") == 2
    assert "--feedback needs a folder" in capsys.readouterr().err


HOSTILE = ["=HYPERLINK(1).yaml", "-rf.yaml", "..%2f.yaml", "a b;rm -rf ~.yaml", "CON.yaml", "ADA.yaml", "ada.yaml",
           "x\\y.yaml", "ünï.yaml", "%2e%2e.yaml", "n" * 200 + ".yaml", ".hidden.yaml"]


def test_hostile_submission_names(tmp_path):
    root = tmp_path / "klass"
    root.mkdir()
    (root / "key.yaml").write_text(key_text())
    subs = root / "subs"
    subs.mkdir()
    for name in HOSTILE:
        (subs / name).write_text(submission("S", truth()))
    (subs / "line\nbreak.yaml").write_text(submission("S", truth()))  # an error row (control character)
    out = tmp_path / "out"
    assert run_grade(root / "key.yaml", subs, out) == 1
    written = [p for p in out.rglob("*") if p.is_file()]
    pages = [p for p in written if p.parent == out / "students"]
    assert len(pages) == len(HOSTILE) + 1
    assert all(p.resolve().is_relative_to(out.resolve()) for p in written)
    names = [p.name for p in pages]
    assert len({n.casefold() for n in names}) == len(names)
    for n in names:
        assert re.fullmatch(r"[\w.-]+\.html", n) and not n.startswith((".", "-")) and len(n.encode()) < 255, n
        assert n.split(".")[0].upper() not in ("CON", "NUL", "PRN", "AUX")
    assert "ünï.html" in names
    rows = gradebook(out / "gradebook.csv")
    assert len(rows) == len(HOSTILE) + 1
    ids = {r["student_id"] for r in rows}
    assert "'=HYPERLINK(1)" in ids and "'-rf" in ids
    for r in rows:
        for cell in r.values():
            assert not cell or cell[0] not in "=+-@\t\r" or g._PLAIN_NUMBER.fullmatch(cell), cell
    assert not list(tmp_path.glob("**/.*tmp"))


def test_feedback_names_are_stable_and_unique():
    names = g.feedback_names(["b.yaml", "B.json", "b-2.yaml", "nul.toml", "\u202eevil.yaml"], ".md")
    assert names == {"b.yaml": "b.md", "B.json": "B-2.md", "b-2.yaml": "b-2-2.md", "nul.toml": "_nul.md",
                     "\u202eevil.yaml": "u202eevil.md"}
    assert os.sep not in "".join(names.values())


def test_shared_student_id_is_warned(tmp_path, capsys):
    """ada.yaml and ada.json: two gradebook rows an LMS would read as one student; both graded, one warning."""
    key, subs = make_class(tmp_path)
    (subs / "ada.json").write_text(json.dumps({"student": "Ada", "answers": {"a2": "7"}}))
    assert run_grade(key, subs, tmp_path / "fb") == 1
    err = capsys.readouterr().err
    assert "2 submissions share the student id ada (ada.json, ada.yaml)" in err
    assert [r["student_id"] for r in gradebook(tmp_path / "fb/gradebook.csv")].count("ada") == 2
    assert {p.name for p in (tmp_path / "fb/students").iterdir()} >= {"ada.html", "ada-2.html"}


def test_a_page_that_fails_to_print_still_leaves_the_grade(tmp_path, monkeypatch):
    """The page is printed after grading: if printing fails, the sheet keeps its score and the
    student still gets a page (the verdicts as a plain table)."""
    from backproof.check import report

    def broken(result, *, title=None):
        raise RuntimeError("printer broke")

    key, subs = make_class(tmp_path)
    monkeypatch.setattr(report, "feedback_document", broken)
    assert run_grade(key, subs, tmp_path / "fb") == 1
    rows = {r["student_id"]: r for r in gradebook(tmp_path / "fb/gradebook.csv")}
    assert float(rows["ben"]["score"]) == sum(EXPECTED["ben"].values())
    page = (tmp_path / "fb/students/ben.html").read_text()
    assert "Score: 4/5" in page and "carried error" in page and "could not be graded" not in page


@pytest.mark.parametrize("share", [None, 0.0, 0.25, 1.0])
def test_key_sets_the_credit_of_too_few_figures(tmp_path, share):
    """A right answer with too few figures earns the key's figures_credit (diagnose's ½ when the
    key says nothing), times the question's points; the grade sheet gives it its own column."""
    from backproof.check.diagnose import FIGURES_CREDIT
    extra = "" if share is None else f"figures_credit: {share}\n"
    key_path, subs = make_class(tmp_path, "points: {w1_new: 2}\n" + extra)
    t = truth()
    rough = dict(t, w1_new=float(f"{t['w1_new']:.1g}"))   # 1 for 1.4: right to 1 figure only
    assert rough["w1_new"] != t["w1_new"]
    (subs / "eve.yaml").write_text(submission("Eve", rough))
    key = g.load_key(key_path)
    result = g.check_against_key(key, subs / "eve.yaml")
    item = next(i for i in result.items if i.name == "w1_new")
    assert item.verdict == "too_few_figures"
    want = 2 * (FIGURES_CREDIT if share is None else share)
    assert math.isclose(item.points, want), (item.points, want)
    out = tmp_path / "grades.md"
    main(["grade", str(key_path), str(subs), "-o", str(out), "--jobs", "1", "--no-progress"])
    assert "too few figures" in out.read_text(encoding="utf-8")


def test_check_key_takes_an_assign_folder(tmp_path):
    """`check SUBMISSION --key DIR` with an assign output folder uses the student's own variant."""
    root = Path(__file__).resolve().parents[1] / "examples" / "homework" / "assign"
    out = tmp_path / "hw"
    assert main(["assign", str(root / "key.yaml"), "--students", str(root / "roster.csv"), "-o", str(out)]) == 0
    own = yaml.safe_load((out / "keys" / "s001.yaml").read_text(encoding="utf-8"))
    sub = tmp_path / "s001.yaml"
    sub.write_text("answers:\n" + "".join(f"  {json.dumps(k)}: {v}\n" for k, v in own["answers"].items()),
                   encoding="utf-8")
    assert main(["check", str(sub), "--key", str(out), "--format", "json", "-o", str(tmp_path / "r.json")]) == 0
    other = tmp_path / "s002.yaml"
    other.write_text(sub.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["check", str(other), "--key", str(out), "--format", "json", "-o", str(tmp_path / "o.json")]) == 1

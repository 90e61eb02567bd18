"""Batch grading: a corrupted file, a hanging submission and a CSV-injection answer do not hurt the others."""

from __future__ import annotations

import csv
import io
import json

import pytest

from backproof.check import grade as g
from backproof.cli import main

PROGRAM = "a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2"
AT = {"x": 1, "y": 5, "w1": 2, "b1": 0, "w2": 3, "b2": 1}
LR = 0.1
ASKED = ["a2", "dJ/da2", "dJ/da1", "dJ/dw1", "w1_new"]


def truth(slip=None):
    """The oracle: plain arithmetic, with the seed's slip (w2 taken as 2) if asked."""
    a1 = AT["w1"] * AT["x"] + AT["b1"]
    a2 = AT["w2"] * a1 + AT["b2"]
    g_a2 = a2 - AT["y"]
    g_a1 = g_a2 * (2 if slip else AT["w2"])
    g_w1 = g_a1 * AT["x"]
    return {"a2": a2, "dJ/da2": g_a2, "dJ/da1": g_a1, "dJ/dw1": g_w1, "w1_new": AT["w1"] - LR * g_w1}


def key_text(answers=None):
    at = ", ".join(f"{k}: {v}" for k, v in AT.items())
    body = "".join(f"  {json.dumps(k)}: {v:g}\n" for k, v in (answers or truth()).items())
    return (f"problem:\n  program: |\n" + "".join(f"    {line}\n" for line in PROGRAM.splitlines())
            + f"  at: {{{at}}}\n  learning_rate: {LR}\nanswers:\n{body}")


def submission(student, answers):
    return json.dumps({"student": student, "answers": {k: (f"{v:g}" if isinstance(v, float | int) else v)
                                                       for k, v in answers.items()}})


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    (root / "key.yaml").write_text(key_text())
    subs = root / "subs"
    subs.mkdir()
    (subs / "a_right.json").write_text(submission("Ada", truth()))
    (subs / "b_slip.json").write_text(submission("Ben", truth(slip=True)))
    evil = dict(truth(), **{"dJ/da2": "=1+1"})
    (subs / "c_inject.json").write_text(submission("=HYPERLINK(\"http://x\",\"y\")", evil))
    (subs / "d_corrupt.yaml").write_text("student: Dee\nanswers: {a2: [7\n")
    (subs / "e_hang.json").write_text(submission("Eve", truth()))
    (subs / "f_right.yaml").write_text("student: Fay\nanswers:\n" +
                                       "".join(f"  {json.dumps(k)}: {v:g}\n" for k, v in truth().items()))
    (subs / "notes.txt").write_text("not a submission")
    report = g.grade(root / "key.yaml", subs, workers=2, timeout=4.0, _hang="e_hang")
    import multiprocessing
    assert multiprocessing.active_children() == []  # the hung worker was really stopped
    return root, subs, report


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_batch_completes_with_error_rows_for_the_broken_ones(klass):
    _, _, report = klass
    by_file = {r.file: r for r in report.results}
    assert [r.file for r in report.results] == sorted(by_file)
    assert "notes.txt" not in by_file
    assert "not valid YAML" in by_file["d_corrupt.yaml"].error
    assert "longer than" in by_file["e_hang.json"].error
    expected = truth()
    for f in ("a_right.json", "f_right.yaml"):
        r = by_file[f]
        assert r.error is None and r.all_correct and r.score == r.total == len(ASKED)
    ben = {row.quantity: row for row in by_file["b_slip.json"].rows}
    assert ben["dJ/da1"].verdict == "incorrect" and ben["dJ/da1"].mistake == "wrong_value"
    assert ben["dJ/dw1"].verdict == "carried_error"
    assert ben["w1_new"].verdict == "carried_error"
    assert [row.quantity for row in by_file["a_right.json"].rows] == ASKED
    assert by_file["a_right.json"].rows[2].expected == f"{expected['dJ/da1']:g}"


def test_csv_cells_are_neutralised(klass):
    _, _, report = klass
    rows = _rows(g.render_csv(report))
    inj = [r for r in rows if r["file"] == "c_inject.json"]
    assert inj and all(r["student"].startswith("'=") for r in inj)
    given = {r["quantity"]: r["given"] for r in inj}
    assert given["dJ/da2"] == "'=1+1"
    verdicts = {r["quantity"]: r["verdict"] for r in inj}
    assert verdicts == {"a2": "correct", "dJ/da2": "invalid", "dJ/da1": "correct", "dJ/dw1": "correct",
                        "w1_new": "correct"}
    for r in rows:
        for cell in r.values():
            if cell and cell[0] in "=+-@\t\r":
                assert g._PLAIN_NUMBER.match(cell), cell


@pytest.mark.parametrize("cell,safe", [("=1+1", "'=1+1"), ("+A1", "'+A1"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"),
                                       ("\tx", "'\tx"), ("\rx", "'\rx"), ("-0.6", "-0.6"), ("1e-3", "1e-3"),
                                       ("Ada", "Ada")], ids=repr)
def test_neutralize(cell, safe):
    assert g.neutralize(cell) == safe


def test_results_are_deterministic_and_match_in_process_grading(klass):
    root, subs, report = klass
    again = g.grade(root / "key.yaml", subs, in_process=True)
    pool_rows = [r for r in _rows(g.render_csv(report)) if r["file"] != "e_hang.json"]
    here_rows = [r for r in _rows(g.render_csv(again)) if r["file"] != "e_hang.json"]
    assert pool_rows == here_rows


def test_class_summary(klass):
    _, _, report = klass
    s = report.summary
    assert s["submissions"] == 6 and s["errors"] == 2 and s["graded"] == 4
    assert {q["quantity"]: q["invalid"] for q in s["most_missed"]}["dJ/da2"] == 1
    top = s["most_missed"][0]
    assert top["quantity"] in ("dJ/da1", "dJ/da2", "dJ/dw1") and top["missed"] == 1
    assert {m["mistake"] for m in s["common_mistakes"]} >= {"wrong_value"}


def test_wrong_key_is_reported_not_used(tmp_path):
    bad = dict(truth(), **{"dJ/da1": 4.0})
    (tmp_path / "key.yaml").write_text(key_text(bad))
    key = g.load_key(tmp_path / "key.yaml")
    assert len(key.key_problems) == 1 and "dJ/da1" in key.key_problems[0]
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s.json").write_text(submission("S", truth()))
    report = g.grade(tmp_path / "key.yaml", subs, in_process=True)
    assert report.results[0].all_correct


def test_missing_answers_and_outputs(tmp_path, capsys):
    (tmp_path / "key.yaml").write_text(key_text())
    subs = tmp_path / "subs"
    subs.mkdir()
    partial = {k: v for k, v in truth().items() if k != "w1_new"}
    (subs / "p.json").write_text(submission("Pat", partial))
    assert main(["grade", str(tmp_path / "key.yaml"), str(subs), "-o", str(tmp_path / "g.json"),
                 "--jobs", "1", "--no-progress"]) == 1
    data = json.loads((tmp_path / "g.json").read_text())
    items = {i["quantity"]: i for i in data["students"][0]["items"]}
    assert items["w1_new"]["verdict"] == "missing" and data["students"][0]["score"] == 4
    assert main(["grade", str(tmp_path / "key.yaml"), str(subs), "-o", str(tmp_path / "g.md"),
                 "--jobs", "1", "--no-progress"]) == 1
    assert "## Class summary" in (tmp_path / "g.md").read_text()
    assert main(["grade", str(tmp_path / "key.yaml"), str(subs), "-o", str(tmp_path / "g.xlsx")]) == 2
    (tmp_path / "bad_key.yaml").write_text("problem: {program: 'y = +'}\n")
    assert main(["grade", str(tmp_path / "bad_key.yaml"), str(subs)]) == 2
    assert not (tmp_path / "g.xlsx").exists()

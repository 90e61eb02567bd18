"""Batch grading: a corrupted file, a hanging submission and a CSV-injection answer do not hurt the others."""

from __future__ import annotations

import csv
import io
import json
import re

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
    return ("problem:\n  program: |\n" + "".join(f"    {line}\n" for line in PROGRAM.splitlines())
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
    import multiprocessing
    # Children started earlier in this process (another test's SymPy worker) are not ours.
    before = {p.pid for p in multiprocessing.active_children()}
    report = g.grade(root / "key.yaml", subs, workers=2, timeout=4.0, _hang="e_hang")
    left = [p for p in multiprocessing.active_children() if p.pid not in before]
    assert left == []  # the hung worker was really stopped
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
                assert g._PLAIN_NUMBER.fullmatch(cell), cell


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


# --- issue 9: budgets that cannot be lost, grading processes, folders read safely ---------------------

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from backproof import limits  # noqa: E402

SRC = str(Path(__file__).resolve().parent.parent / "src")


def _env():
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _class(tmp_path, files):
    (tmp_path / "key.yaml").write_text(key_text())
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, text in files.items():
        (subs / name).write_text(text)
    return tmp_path / "key.yaml", subs


def test_finding_nested_budgets_charge_time_used(tmp_path, capsys):
    # 14 symbolic answers, each proved in milliseconds: with the default time limit every
    # one is correct (each answer's 2 s budget used to be charged in full to the sheet's).
    n = 7
    program = " + ".join(f"a{i}*b{i}" for i in range(n))
    at = ", ".join(f"a{i}: {i + 1}, b{i}: {i + 2}" for i in range(n))
    asked = {**{f"dy/da{i}": f"b{i}" for i in range(n)}, **{f"dy/db{i}": f"a{i}" for i in range(n)}}
    (tmp_path / "key.yaml").write_text(f"problem:\n  program: 'y = {program}'\n  at: {{{at}}}\nanswers:\n"
                                       + "".join(f"  {json.dumps(k)}: {v}\n" for k, v in asked.items()))
    subs = tmp_path / "subs"
    subs.mkdir()
    given = {k: f"({v})*1 + 0*{v}" for k, v in asked.items()}  # written differently: needs the proof
    (subs / "s.json").write_text(json.dumps({"student": "Sym", "answers": given}))
    # The default limit (30 s), and 10 s: under the old charging 2 s per answer used up
    # 10 s after five answers (in well under a second of real time) and the sheet was lost.
    for limit in ([], ["--timeout", "10"]):
        assert main(["grade", str(tmp_path / "key.yaml"), str(subs), "-o", str(tmp_path / "g.csv"),
                     "--jobs", "1", "--no-progress", *limit]) == 0
        rows = _rows((tmp_path / "g.csv").read_text())
        assert len(rows) == 2 * n and {r["verdict"] for r in rows} == {"correct"}
        assert all(r["error"] == "" for r in rows)


def test_finding_symlink_is_not_followed(tmp_path, capsys):
    secret = tmp_path / "outside.txt"
    secret.write_text("root:x:0:0:TOPSECRETLINE:/root:/bin/bash\n")
    key, subs = _class(tmp_path, {"a.json": submission("Ada", truth())})
    os.symlink(secret, subs / "x.yaml")
    os.symlink(tmp_path / "key.yaml", subs / "k.yaml")  # a link to a readable sheet is refused too
    assert main(["grade", str(key), str(subs), "-o", str(tmp_path / "g.csv"), "--no-progress"]) == 1
    out = capsys.readouterr()
    text = (tmp_path / "g.csv").read_text()
    assert "TOPSECRET" not in text + out.out + out.err
    rows = {r["file"]: r for r in _rows(text)}
    assert "symbolic link; not followed" in rows["x.yaml"]["error"]
    assert "symbolic link; not followed" in rows["k.yaml"]["error"]
    assert rows["a.json"]["verdict"] == "correct"
    # read_submission refuses a link even when handed one directly (the file may change after the scan).
    with pytest.raises(Exception, match="symbolic link"):
        g.read_submission(subs / "x.yaml")


def test_finding_non_utf8_name_is_an_error_row(tmp_path, capsys):
    key, subs = _class(tmp_path, {"a.json": submission("Ada", truth())})
    bad = os.path.join(os.fsencode(subs), b"caf\xe9\n.yaml")
    with open(bad, "wb") as f:
        f.write(submission("Eve", truth()).encode())
    for out in ("g.csv", "g.json", "g.md"):
        assert main(["grade", str(key), str(subs), "-o", str(tmp_path / out), "--no-progress"]) == 1
        text = (tmp_path / out).read_text(encoding="utf-8")
        if out == "g.json":
            text = " ".join(s["file"] for s in json.loads(text)["students"])
        if out == "g.md":
            text = text.replace("\\\\", "\\")  # Markdown escapes each backslash
        assert "caf\\xe9\\n.yaml" in text
    rows = {r["file"]: r for r in _rows((tmp_path / "g.csv").read_text(encoding="utf-8"))}
    assert "not UTF-8" in rows["caf\\xe9\\n.yaml"]["error"]
    assert rows["a.json"]["verdict"] == "correct"
    assert main(["grade", str(key), str(subs), "--no-progress"]) == 1  # printed safely too
    assert "caf\\xe9\\n.yaml" in capsys.readouterr().out


def test_finding_file_content_is_never_echoed(tmp_path, capsys):
    secret = "S3CRET" * 2000
    key, subs = _class(tmp_path, {
        "plain.yaml": secret,                                    # not a mapping
        "field.yaml": f"student: Bo\nanswers: {secret}\n",       # a field of the wrong kind
        "bad.toml": f"student = 1\n{secret}\n",                  # not TOML
        "big.yaml": "student: Big\n# " + "x" * (limits.value("submission_bytes") + 10) + "\n",
    })
    assert main(["grade", str(key), str(subs), "-o", str(tmp_path / "g.csv"), "--no-progress"]) == 1
    out = capsys.readouterr()
    everything = (tmp_path / "g.csv").read_text() + out.out + out.err
    assert "S3CRET" * 14 not in everything  # at most 80 characters of a value are quoted
    rows = {r["file"]: r for r in _rows((tmp_path / "g.csv").read_text())}
    assert all(rows[f]["error"] for f in ("plain.yaml", "field.yaml", "bad.toml", "big.yaml"))
    assert "submission_bytes" in rows["big.yaml"]["error"] and "xxxxxxxx" not in rows["big.yaml"]["error"]


def test_finding_submission_count_is_bounded(tmp_path, capsys, monkeypatch):
    key, subs = _class(tmp_path, {f"s{i}.json": submission("S", truth()) for i in range(4)})
    monkeypatch.setitem(limits.LIMITS, "submission_files",
                        limits.Limit("submission_files", 3, "files", "test"))
    assert main(["grade", str(key), str(subs), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "submission_files = 3" in err


def test_finding_neutraliser_is_linear(tmp_path):
    # A 200 KB cell: the old pattern backtracked quadratically (a 20 KB cell took 100 s).
    # The subprocess timeout is only a guard against a hang, not a timing assertion.
    code = ("from backproof.check.grade import neutralize\n"
            "n = '-' + '1' * 200_000\n"
            "print(neutralize(n) == n, neutralize(n + 'x')[:2], neutralize('-1.' + '5' * 200_000 + 'e') [:2])\n")
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "'-", "'-"], done.stderr


# The parent process for the process tests: `backproof grade` with one submission that
# never finishes (the test hook), so its workers are alive when it is killed.
_PARENT = """
import functools, sys
from backproof.check import grade as g
g.grade = functools.partial(g.grade, _hang="h_hang")
from backproof.cli import main
sys.exit(main(["grade", sys.argv[1], sys.argv[2], "--jobs", "2", "--timeout", "600", "--no-progress"]))
"""


def _proc_table():
    """pid -> (ppid, state, start time) of every process, from /proc."""
    table = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(d)] = (int(fields[1]), fields[0], fields[19])
    return table


def _descendants(pid):
    table = _proc_table()
    out, todo = {}, [pid]
    while todo:
        p = todo.pop()
        for child, (ppid, _state, start) in table.items():
            if ppid == p and child not in out:
                out[child] = start
                todo.append(child)
    return out


def _alive(procs):
    table = _proc_table()
    return [p for p, start in procs.items() if p in table and table[p][2] == start and table[p][1] != "Z"]


def _start_parent(tmp_path):
    key, subs = _class(tmp_path, {
        "a_sym.json": json.dumps({"student": "Sym", "answers": {"a2": "w2*(w1*x + b1) + b2"}}),
        "h_hang.json": submission("Hal", truth()),
    })
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(key), str(subs)], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait (a guard of 120 s, not a timing assertion) for both workers and the SymPy
    # helper of the one that graded the symbolic answer.
    deadline = time.monotonic() + 120
    procs = {}
    while time.monotonic() < deadline and parent.poll() is None:
        procs = _descendants(parent.pid)
        if len(procs) >= 3:
            break
        time.sleep(0.1)
    assert len(procs) >= 3, (procs, parent.poll())
    return parent, procs


def _wait_gone(procs):
    deadline = time.monotonic() + 30  # a guard against a hang; they go within milliseconds
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(procs)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and PR_SET_PDEATHSIG")
def test_finding_kill_9_leaves_no_orphans(tmp_path):
    parent, procs = _start_parent(tmp_path)
    parent.kill()  # SIGKILL: no handler, no cleanup in the parent
    parent.communicate(timeout=60)
    assert _wait_gone(procs) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_finding_ctrl_c_is_one_line(tmp_path):
    parent, procs = _start_parent(tmp_path)
    parent.send_signal(signal.SIGINT)
    _out, err = parent.communicate(timeout=60)
    assert parent.returncode == 130
    assert err == "backproof: interrupted\n"
    assert _wait_gone(procs) == []


def test_finding_worker_timeout_kills_only_that_worker(klass):
    _, _, report = klass
    by_file = {r.file: r for r in report.results}
    assert "given up (the worker was stopped)" in by_file["e_hang.json"].error
    graded = [r for r in report.results if r.file != "e_hang.json" and r.file != "d_corrupt.yaml"]
    assert len(graded) == 4 and all(r.error is None for r in graded)


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1"])
def test_finding_timeout_must_be_finite(tmp_path, capsys, value):
    key, subs = _class(tmp_path, {"a.json": submission("Ada", truth())})
    assert main(["grade", str(key), str(subs), "--timeout", value, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--timeout must be a positive, finite number" in err


def test_finding_grade_sheets_are_documents_of_the_shared_printers(tmp_path, capsys):
    """The grade sheet's Markdown and HTML come from one document and the shared printers (issue 11,
    finding 8): counts in the right number ("1 could not be graded", never "1 errors"), mistakes
    by their titles (the codes stay in the CSV and JSON), and an HTML page that fetches nothing."""
    from backproof.check.mistakes import MISTAKES
    (tmp_path / "key.yaml").write_text(key_text())
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.json").write_text(submission("Ada", truth()))
    (subs / "b.json").write_text(submission("Ben", truth(slip=True)))
    (subs / "c.yaml").write_text("student: Cy\nanswers: {a2: [7\n")
    for out in ("g.md", "g.html", "g.csv"):
        assert main(["grade", str(tmp_path / "key.yaml"), str(subs), "-o", str(tmp_path / out), "--jobs", "1",
                     "--no-progress"]) == 1
    summary = capsys.readouterr().out
    md, page = (tmp_path / "g.md").read_text(), (tmp_path / "g.html").read_text()
    assert "(1 errors)" not in summary + md + page
    assert "Graded 2 of 3 submissions (1 could not be graded)" in summary and summary.count("Graded") == 3
    assert "## Class summary" in md and "| student | quantity | given | expected | verdict | mistake |" in md
    # The oracle for Ben's mistake: his dJ/da1 used w2 = 2 (truth(slip=True)), a wrong value.
    title = {m.name: m.title for m in MISTAKES}["wrong_value"]
    assert title in md and "wrong_value" not in md and "wrong_value" not in page
    assert "wrong_value" in (tmp_path / "g.csv").read_text()
    assert "<table>" in page and "default-src 'none'" in page
    assert not re.search(r"https?:", page.replace("http://www.w3.org/1998/Math/MathML", ""))

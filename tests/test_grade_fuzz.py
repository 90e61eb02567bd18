"""Fuzzed submission folders and keys: ``grade`` and ``check --key`` answer in one-line messages.

Hypothesis builds folders of hostile entries (random bytes, garbage YAML/JSON/TOML, empty and
binary files, folders, symbolic links to /dev/null, to a missing path and in a loop, huge and
unknown quantity names, deeply nested YAML) next to a valid submission, and hostile keys. The
documented contract (docs/homework.md): a bad submission is an error row in the class sheet and
makes the exit status 1; a bad key is exit status 2; every message is one line, no traceback;
nothing is written outside the test's folder. The CLI runs in this process (``main``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproof.cli import main

PROGRAM = "a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2"
KEY = ("problem:\n  program: |\n" + "".join(f"    {line}\n" for line in PROGRAM.splitlines())
       + "  at: {x: 1, y: 5, w1: 2, b1: 0, w2: 3, b2: 1}\n  learning_rate: 0.1\n"
       "answers:\n  a2: 7\n  dJ/da2: 2\n  dJ/dw1: 6\n  w1_new: 1.4\n")
RIGHT = {"a2": "7", "dJ/da2": "2", "dJ/dw1": "6", "w1_new": "1.4"}
SUFFIXES = (".yaml", ".yml", ".json", ".toml")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


def _valid(student: str = "Ada", fmt: str = ".yaml") -> str:
    if fmt == ".json":
        return json.dumps({"student": student, "answers": RIGHT})
    if fmt == ".toml":
        return f"student = {json.dumps(student)}\n[answers]\n" + "".join(f"{json.dumps(k)} = {json.dumps(v)}\n"
                                                                     for k, v in RIGHT.items())
    return f"student: {json.dumps(student)}\nanswers:\n" + "".join(f"  {json.dumps(k)}: {v}\n"
                                                                   for k, v in RIGHT.items())


# --- hostile entries ----------------------------------------------------------------------------------
# Each entry is (kind, suffix, payload); kinds other than "valid" and "mutated" can never be an
# all-correct sheet.

_json_scalars = st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20)
_json_values = st.recursive(_json_scalars,
                            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4),
                            max_leaves=12)


@st.composite
def _mutated(draw) -> str:
    """A valid submission with a few characters inserted, deleted or replaced."""
    text = _valid()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "replace"]))
        c = draw(st.sampled_from(list(":{}[]-'\"\n\t #&*!|>%@`,?=") + ["\x00", "é", "1e999", "nan"]))
        text = text[:i] + (c if how != "delete" else "") + text[i + (how != "insert"):]
    return text


ENTRIES = st.one_of(
    st.tuples(st.just("bytes"), st.sampled_from(SUFFIXES), st.binary(max_size=300)),
    st.tuples(st.just("text"), st.sampled_from(SUFFIXES), st.text(max_size=200)),
    st.tuples(st.just("json"), st.just(".json"), _json_values.map(json.dumps)),
    st.tuples(st.just("json-answers"), st.just(".json"),
              _json_values.map(lambda v: json.dumps({"student": "Jo", "answers": v}))),
    st.tuples(st.just("toml"), st.just(".toml"),
              st.sampled_from(["[answers\n", "answers = 3\n", "[answers]\na2 = [1, {x = 2}]\n",
                               "student = 1\n[answers]\n'dJ/da2' = 1979-05-27T07:32:00Z\n", "= = =\n",
                               "[answers]\n\"a2\" = \"\"\"\n7\n\"\"\"\n", "[[answers]]\na2 = 7\n"])),
    st.tuples(st.just("mutated"), st.sampled_from((".yaml", ".yml")), _mutated()),
    st.tuples(st.just("nested"), st.sampled_from((".yaml", ".json")),
              st.sampled_from(["[", "{a: ", "- "]).flatmap(
                  lambda open_: st.integers(40, 3000).map(lambda n: "answers: " + open_ * n))),
    st.tuples(st.just("nested"), st.just(".json"),
              st.integers(40, 3000).map(lambda n: '{"answers": ' + "[" * n + "]" * n + "}")),
    st.tuples(st.just("nested"), st.just(".toml"),
              st.integers(40, 3000).map(lambda n: "[answers]\na2 = " + "[" * n + "]" * n + "\n")),
    st.tuples(st.just("huge-key"), st.just(".yaml"),
              st.integers(81, 50_000).map(lambda n: f"answers:\n  {'d' * n}: 1\n")),
    st.tuples(st.just("unknown"), st.just(".yaml"),
              st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(lambda s: s not in RIGHT).map(
                  lambda k: f"answers:\n  {k}: 1\n  a2: 7\n")),
    st.tuples(st.just("empty"), st.sampled_from(SUFFIXES), st.just("")),
    st.tuples(st.just("dir"), st.sampled_from(SUFFIXES), st.just("")),
    st.tuples(st.just("link-null"), st.sampled_from(SUFFIXES), st.just("")),
    st.tuples(st.just("link-missing"), st.sampled_from(SUFFIXES), st.just("")),
    st.tuples(st.just("link-loop"), st.sampled_from(SUFFIXES), st.just("")),
    st.tuples(st.just("valid"), st.sampled_from(SUFFIXES), st.just("")),
)


def _make(folder: Path, i: int, entry) -> str:
    kind, suffix, payload = entry
    name = f"s{i:02d}{suffix}"
    path = folder / name
    if kind == "dir":
        path.mkdir()
        (path / "inside.yaml").write_text(_valid())
    elif kind == "link-null":
        os.symlink("/dev/null", path)
    elif kind == "link-missing":
        os.symlink(folder.parent / "missing-target", path)
    elif kind == "link-loop":
        os.symlink(path, path)
    elif kind == "valid":
        path.write_text(_valid(f"Student {i}", suffix))
    elif isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        path.write_text(payload, encoding="utf-8", errors="surrogatepass")
    return name


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _one_line_messages(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    for line in err.splitlines():
        assert line.startswith("backproof: "), line


_RUN = [0]


def _fresh(tmp_path: Path) -> Path:
    """A new folder for one example (Hypothesis runs many in one test's tmp_path)."""
    _RUN[0] += 1
    d = tmp_path / f"run{_RUN[0]}"
    d.mkdir()
    return d


@FUZZ
@given(entries=st.lists(ENTRIES, min_size=1, max_size=4))
def test_fuzzed_submission_folder_gives_error_rows_not_tracebacks(tmp_path, capsys, monkeypatch, entries):
    root = _fresh(tmp_path)
    monkeypatch.chdir(root)
    (root / "key.yaml").write_text(KEY)
    subs = root / "subs"
    subs.mkdir()
    names = {_make(subs, i, e): e[0] for i, e in enumerate(entries)}
    before = _tree(root)
    rc = main(["grade", str(root / "key.yaml"), str(subs), "-o", str(root / "grades.csv"), "--jobs", "1",
               "--no-progress"])
    out, err = capsys.readouterr()
    _one_line_messages(err)
    assert "Traceback" not in out
    bad = [n for n, kind in names.items() if kind not in ("valid", "mutated")]
    assert rc == 1 if bad else rc in (0, 1), (rc, err)
    # Nothing written but the sheet asked for; a dangling link's target is not created.
    assert _tree(root) == before | {"grades.csv"}
    assert not (root / "missing-target").exists()
    rows = list(csv.DictReader(io.StringIO((root / "grades.csv").read_text())))
    for r in rows:
        assert "\n" not in r["error"] and "internal error" not in r["error"], r["error"]
    files = {r["file"] for r in rows}
    assert set(names) <= files
    for n in bad:
        mine = [r for r in rows if r["file"] == n]
        assert any(r["error"] or r["verdict"] not in ("correct",) for r in mine), (n, mine)


# --- hostile keys ---------------------------------------------------------------------------------

KEYS = st.one_of(
    st.binary(max_size=300).map(lambda b: ("bytes", b)),
    st.text(max_size=200).map(lambda t: ("text", t)),
    _json_values.map(lambda v: ("json", json.dumps(v))),
    st.integers(40, 3000).map(lambda n: ("nested", "problem: " + "[" * n)),
    st.integers(81, 50_000).map(lambda n: ("huge-key", KEY.replace("  a2: 7\n", f"  {'d' * n}: 7\n"))),
    st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(lambda s: s not in ("a1", "a2", "J", "x", "y")).map(
        lambda k: ("unknown", KEY.replace("  a2: 7\n", f"  {k}zz: 7\n"))),
    st.sampled_from(["empty", "dir", "link-null", "link-missing", "link-loop", "no-at", "no-program"]).map(
        lambda k: (k, "")),
)


def _key(root: Path, kind: str, payload) -> Path:
    path = root / "key.yaml"
    if kind == "dir":
        path.mkdir()
    elif kind == "link-null":
        os.symlink("/dev/null", path)
    elif kind == "link-missing":
        os.symlink(root / "missing-target", path)
    elif kind == "link-loop":
        os.symlink(path, path)
    elif kind == "no-at":
        path.write_text(KEY.replace("  at: {x: 1, y: 5, w1: 2, b1: 0, w2: 3, b2: 1}\n", ""))
    elif kind == "no-program":
        path.write_text(KEY.replace("  program: |\n", "  programme: |\n"))
    elif isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        path.write_text(payload, encoding="utf-8", errors="surrogatepass")
    return path


@FUZZ
@given(key=KEYS)
def test_fuzzed_key_is_exit_2_in_one_line(tmp_path, capsys, monkeypatch, key):
    root = _fresh(tmp_path)
    monkeypatch.chdir(root)
    kpath = _key(root, *key)
    subs = root / "subs"
    subs.mkdir()
    (subs / "ada.yaml").write_text(_valid())
    before = _tree(root)
    for argv in (["grade", str(kpath), str(subs), "-o", str(root / "grades.csv"), "--jobs", "1", "--no-progress"],
                 ["check", str(subs / "ada.yaml"), "--key", str(kpath)]):
        rc = main(argv)
        out, err = capsys.readouterr()
        assert rc == 2, (argv[0], key[0], err)
        _one_line_messages(err)
        assert err.strip(), "an invalid key is reported"
        assert "Traceback" not in out
    assert _tree(root) == before   # no half-written sheet
    assert not (root / "missing-target").exists()


@FUZZ
@given(entry=ENTRIES)
def test_fuzzed_submission_checked_against_the_key(tmp_path, capsys, monkeypatch, entry):
    """``check SUBMISSION --key KEY``: a bad submission is exit 2 in one-line messages; a valid one 0 or 1."""
    root = _fresh(tmp_path)
    monkeypatch.chdir(root)
    (root / "key.yaml").write_text(KEY)
    folder = root / "subs"
    folder.mkdir()
    name = _make(folder, 0, entry)
    before = _tree(root)
    rc = main(["check", str(folder / name), "--key", str(root / "key.yaml")])
    out, err = capsys.readouterr()
    _one_line_messages(err)
    assert "Traceback" not in out
    if entry[0] == "valid":
        assert rc == 0, err
    elif entry[0] in ("mutated", "json-answers"):
        assert rc in (0, 1, 2), err   # still a readable sheet, perhaps with wrong or missing answers
    else:
        assert rc == 2, (entry[0], err)
    if rc == 2:
        assert err.strip()
    assert _tree(root) == before
    assert not (root / "missing-target").exists()


@pytest.mark.parametrize("kind", ["dir", "link-null", "link-missing", "link-loop", "empty"])
def test_special_entries_are_error_rows_with_their_reason(tmp_path, capsys, kind):
    """Each special entry gets its row and a reason a teacher understands."""
    (tmp_path / "key.yaml").write_text(KEY)
    subs = tmp_path / "subs"
    subs.mkdir()
    name = _make(subs, 0, (kind, ".yaml", ""))
    (subs / "ada.yaml").write_text(_valid())
    assert main(["grade", str(tmp_path / "key.yaml"), str(subs), "-o", str(tmp_path / "g.csv"), "--jobs", "1",
                 "--no-progress"]) == 1
    rows = {r["file"]: r for r in csv.DictReader(io.StringIO((tmp_path / "g.csv").read_text()))}
    why = {"dir": "not a regular file", "link-null": "symbolic link", "link-missing": "symbolic link",
           "link-loop": "symbolic link", "empty": "answers"}[kind]
    assert why in rows[name]["error"], rows[name]
    assert rows["ada.yaml"]["verdict"] == "correct"

"""Answer files: formats, quantity names, validation errors, and the ``check`` command."""

from __future__ import annotations

import json

import pytest

from backproof.check import Problem
from backproof.check.answers import AnswerFileError, load_check
from backproof.check.diagnose import check
from backproof.cli import main

PROGRAM = "a1 = w1*x + b1\na2 = w2*a1 + b2\nJ = 0.5*(a2 - y)**2"
AT = {"x": 1, "y": 5, "w1": 2, "b1": 0, "w2": 3, "b2": 1}


def _truth(name):
    p = Problem(PROGRAM, at={k: str(v) for k, v in AT.items()}, learning_rate="0.1")
    return p.truth(p.resolve(name))


def yaml_text(answers: dict, extra: str = "") -> str:
    at = ", ".join(f"{k}: {v}" for k, v in AT.items())
    body = "\n".join(f"  {json.dumps(k)}: {v}" for k, v in answers.items())
    return ("problem:\n  program: |\n" + "".join(f"    {line}\n" for line in PROGRAM.splitlines())
            + f"  at: {{{at}}}\n  learning_rate: 0.1\n{extra}answers:\n{body}\n")


def json_text(answers: dict) -> str:
    return json.dumps({"problem": {"program": PROGRAM, "at": AT, "learning_rate": 0.1}, "answers": answers})


def toml_text(answers: dict) -> str:
    at = ", ".join(f"{k} = {v}" for k, v in AT.items())
    body = "\n".join(f"{json.dumps(k)} = {json.dumps(v) if isinstance(v, str) else v}" for k, v in answers.items())
    return (f'[problem]\nprogram = """\n{PROGRAM}\n"""\nat = {{ {at} }}\nlearning_rate = 0.1\n\n'
            f"[answers]\n{body}\n")


FORMATS = {"yaml": yaml_text, "json": json_text, "toml": toml_text}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_reads_the_same(tmp_path, fmt):
    answers = {"a2": float(_truth("a2")), "dJ/dw1": float(_truth("dJ/dw1")), "w1_new": 1.4}
    path = tmp_path / f"hw.{fmt}"
    path.write_text(FORMATS[fmt](answers))
    result = check(load_check(path))
    assert [i.verdict for i in result.items] == ["correct"] * 3


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_written_figures_survive_every_format(tmp_path, fmt):
    # 2.60 has three figures; a loader that made it a float would lose the trailing zero.
    path = tmp_path / f"hw.{fmt}"
    path.write_text(FORMATS[fmt]({"w2_new": "2.60"}))
    item = check(load_check(path)).items[0]
    assert item.given == "2.60" and item.verdict == "correct"


NAMES = [("a1", "a1"), ("J", "J"), ("dJ/dw1", "dJ/dw1"), ("∂J/∂w1", "dJ/dw1"), ("dJ_dw1", "dJ/dw1"),
         ("d J / d w1", "dJ/dw1"), ("da2/da1", "da2/da1"), ("w1_new", "w1_new"), ("w1'", "w1_new"),
         ("w1+", "w1_new"), ("w1′", "w1_new")]


@pytest.mark.parametrize("text,canonical", NAMES, ids=[n for n, _ in NAMES])
def test_quantity_names(text, canonical):
    p = Problem(PROGRAM)
    assert str(p.resolve(text)) == canonical


def test_local_derivative_of_intermediates_uses_of():
    p = Problem(PROGRAM, at={k: str(v) for k, v in AT.items()})
    assert p.truth(p.resolve("da2/da1")) == AT["w2"]
    assert p.truth(p.resolve("da2/dw1")) == AT["w2"] * AT["x"]


BAD = [
    ({"dJ/dw3": 4}, "did you mean 'dJ/dw2' or 'dJ/dw1'", 9),
    ({"a2": "7 +* 1"}, "cannot read", 9),
    ({"J": "w1 + q"}, "unknown name q", 9),
    ({"dJ/dw1": 6, "dJ_dw1": 6}, "names the same quantity", 10),
    ({"dx/dw1": 1}, "is an input", 9),
    ({"a1_new": 1}, "only inputs", 9),
    ({"a1": True}, "must be a number", 9),
]


@pytest.mark.parametrize("answers,message,line", BAD, ids=[b[1] for b in BAD])
def test_bad_answers_are_reported_with_position(tmp_path, answers, message, line):
    path = tmp_path / "hw.yaml"
    path.write_text(yaml_text({k: ("true" if v is True else v) for k, v in answers.items()}))
    with pytest.raises(AnswerFileError) as exc:
        load_check(path)
    text = "\n".join(exc.value.problems)
    assert message in text
    assert f"hw.yaml:{line}:" in text


def test_parse_error_column_points_into_the_answer(tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(yaml_text({"a2": '"7 +* 1"'}))
    with pytest.raises(AnswerFileError) as exc:
        load_check(path)
    line = path.read_text().splitlines()[8]
    col = int(exc.value.problems[0].split(":")[2])
    assert line[col - 1] == "*"


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(yaml_text({"dJ/dw3": 4, "J": "w1 + q"}, extra="tolerence: {rtol: 1}\n"))
    with pytest.raises(AnswerFileError) as exc:
        load_check(path)
    assert len(exc.value.problems) == 3
    assert "did you mean 'tolerance'" in exc.value.problems[0]


def test_program_error_maps_to_the_file_line(tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(yaml_text({"J": 2}).replace("a2 = w2*a1 + b2", "a2 = w2*a1 +* b2"))
    with pytest.raises(AnswerFileError) as exc:
        load_check(path)
    assert exc.value.problems[0].startswith(f"{path}:4:")


def test_update_needs_learning_rate(tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(yaml_text({"w1_new": 1.4}).replace("  learning_rate: 0.1\n", ""))
    with pytest.raises(AnswerFileError, match="learning_rate"):
        load_check(path)


def test_yaml_aliases_and_duplicates_are_refused(tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(yaml_text({"J": 2, "a1": 2}).replace('"a1": 2', '"J": 3'))
    with pytest.raises(AnswerFileError, match="appears twice"):
        load_check(path)
    path.write_text("a: &x [1, 2]\nb: *x\n")
    with pytest.raises(AnswerFileError, match="aliases"):
        load_check(path)


def test_tolerance_section_overrides_per_answer(tmp_path):
    path = tmp_path / "hw.yaml"
    extra = "tolerance:\n  rtol: 0.001\n  J: {rtol: 0.1}\n"
    path.write_text(yaml_text({"J": 2.15, "a2": 7.05}, extra=extra))
    items = {i.name: i.verdict for i in check(load_check(path)).items}
    assert items == {"J": "correct", "a2": "incorrect"}


# --- the command ------------------------------------------------------------------------------

def test_cli_exit_codes_and_formats(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml_text({"a2": 7, "dJ/da1": 6}))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml_text({"a2": 7, "dJ/da1": 4, "dJ/dw1": 4}))
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(yaml_text({"dJ/dw9": 1}))
    assert main(["check", str(good)]) == 0
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "✗" in out and "↪" in out and "first wrong step" in out
    assert main(["check", str(invalid)]) == 2
    err = capsys.readouterr().err
    assert "did you mean" in err and err.count("\n") == 1
    for ext in ("md", "html", "json"):
        out_path = tmp_path / "out" / f"feedback.{ext}"
        assert main(["check", str(bad), "-o", str(out_path)]) == 1
        assert out_path.exists()
    data = json.loads((tmp_path / "out" / "feedback.json").read_text())
    assert {"name", "given", "expected", "verdict", "diagnosis", "read_as"} <= set(data["items"][0])
    assert data["score"] == 2 and data["first_wrong"] == "dJ/da1"  # carried dJ/dw1 keeps its point
    # No partial output for an invalid file.
    assert main(["check", str(invalid), "-o", str(tmp_path / "none.md")]) == 2
    assert not (tmp_path / "none.md").exists()


def test_html_escapes_every_user_string(tmp_path):
    path = tmp_path / "hw.json"
    evil = "<script>alert(1)</script>"
    path.write_text(json.dumps({"problem": {"program": PROGRAM, "at": AT}, "student": evil,
                                "answers": {"a2": "7", "J": "nan"}}))
    from backproof.check.report import render_html, render_markdown
    result = check(load_check(path))
    page = render_html(result)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<script>alert" not in render_markdown(result)


# --- network problems (backproof.nn's interface, faked here so this side is tested alone) ---------

class _FakeNet:
    def __init__(self):
        from backproof.parse import parse_program
        self.program = parse_program("z = W1_0_0*x0 + W1_0_1*x1 + b1_0\na = sigmoid(z)\nJ = 0.5*(a - t)**2")
        self.at = {"x0": "1", "x1": "-2", "t": "1", "W1_0_0": "0.5", "W1_0_1": "0.25", "b1_0": "0.1"}
        self.params = ("W1_0_0", "W1_0_1", "b1_0")
        self.learning_rate = "0.5"
        self.matrix_names = {"W1[0][0]": "W1_0_0", "W1[0][1]": "W1_0_1", "b1[0]": "b1_0", "bias": "b1_0"}


def _fake_nn(monkeypatch, with_function=True):
    import sys
    import types
    mod = types.ModuleType("backproof.nn")
    if with_function:
        mod.program_from_spec = lambda data, path: _FakeNet()
    monkeypatch.setitem(sys.modules, "backproof.nn", mod)


def test_network_problem_entries_and_aliases(tmp_path, monkeypatch):
    _fake_nn(monkeypatch)
    import math
    z = 0.5 * 1 + 0.25 * -2 + 0.1
    a = 1 / (1 + math.exp(-z))
    g_z = (a - 1) * a * (1 - a)
    path = tmp_path / "net.yaml"
    path.write_text("problem:\n  network: {layers: []}\nanswers:\n"
                    f"  a: {a:.6g}\n  dJ/dW1[0][1]: {g_z * -2:.6g}\n  'W1[0, 0]_new': {0.5 - 0.5 * g_z:.6g}\n"
                    f"  dJ/dbias: {g_z:.6g}\n")
    result = check(load_check(path))
    assert [i.verdict for i in result.items] == ["correct"] * 4
    assert [i.display for i in result.items][1:] == ["dJ/dW1[0][1]", "W1[0][0]_new", "dJ/db1[0]"]


def test_network_problem_without_nn_is_a_clear_error(tmp_path, monkeypatch):
    _fake_nn(monkeypatch, with_function=False)
    path = tmp_path / "net.yaml"
    path.write_text("problem:\n  network: {layers: []}\nanswers:\n  J: 1\n")
    with pytest.raises(AnswerFileError, match="network problems need backproof.nn"):
        load_check(path)

"""Issue 13, grading throughput: answer files are composed by libyaml where PyYAML has it.

Oracle: the pure-Python composer. Every node (kind, value, line, column, scalar style) must be
the same, and every error must keep its words and line/column.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backproof.check import answers
from backproof.check.answers import AnswerFileError, parse_document

yaml = pytest.importorskip("yaml")
if getattr(yaml, "CSafeLoader", None) is None:  # pragma: no cover - depends on the PyYAML build
    pytest.skip("PyYAML without libyaml: nothing to compare", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "examples").rglob("*.yaml"))


def _tree(text: str, loader):
    answers_compose = answers._compose
    try:
        answers._compose = lambda t: yaml.compose(t, Loader=loader)
        return parse_document(text, "f.yaml", "yaml").root
    finally:
        answers._compose = answers_compose


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_libyaml_composes_the_same_tree_as_pure_python(path):
    text = path.read_text(encoding="utf-8")
    got = []
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        try:
            got.append(_tree(text, loader))
        except AnswerFileError as exc:  # a broken file of the class example: the same message
            got.append(str(exc))
    assert got[0] == got[1]


def test_styles_numbers_and_positions_agree():
    text = ('answers:\n  a: 0.5\n  b: "0.5"\n  c: \'x\'\n  d: |\n    multi\n  e: >\n    folded\n'
            '  f: [1, 2.5e-3, null, true]\n  g: {h: ~}\n')
    fast, slow = _tree(text, yaml.CSafeLoader), _tree(text, yaml.SafeLoader)
    assert fast == slow
    assert fast.value["answers"].value["b"].style == '"' and fast.value["answers"].value["a"].kind == "num"
    assert (fast.value["answers"].value["f"].line, fast.value["answers"].value["f"].col) == (9, 6)


@pytest.mark.parametrize("text, where", [
    ("answers:\n  a: [1, 2\n  b: 3\n", "f.yaml:3:"),
    ("a: 1\n b: 2\n", "f.yaml:2:"),
    ("a: 'unterminated\n", "f.yaml:"),
    ("answers:\n  a: 1\n  a: 2\n", "f.yaml:3:3: 'a' appears twice"),
])
def test_errors_keep_their_words_and_positions(text, where):
    with pytest.raises(AnswerFileError) as fast:
        parse_document(text, "f.yaml", "yaml")
    with pytest.raises(AnswerFileError) as slow:
        _tree(text, yaml.SafeLoader)
    assert str(fast.value) == str(slow.value) and where in str(fast.value)

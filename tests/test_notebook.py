"""Jupyter display (issue 11, finding 7): records show one-line reprs, results display themselves,
and the tour notebook in examples/ runs.

Oracles: the numbers of the seeds' fork y = (a+b)(b-c) at a=2, b=1, c=0 worked by hand
(∂y/∂b = (b−c) + (a+b) = 4, ∂y/∂c = −(a+b) = −3) and Matt Mazur's published total error for
his 2-2-2 network (0.298371109); the notebook is executed by nbclient in a real IPython kernel
(the one a student's Jupyter starts), from a copy in tmp_path with every Jupyter and IPython
directory pointed into tmp_path, so nothing is written elsewhere.

Without nbclient, nbformat or ipykernel the notebook tests are skipped with that reason;
with ``BACKPROOF_REQUIRE_NOTEBOOK=1`` (CI) they fail instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest

import backproof
from backproof.errors import BackproofError
from backproof.report.embed import NOTEBOOK_CSS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
EXAMPLES = ROOT / "examples"
FORK = "d = a + b; e = b - c; y = d*e"
AT = {"a": 2, "b": 1, "c": 0}
#: The only URLs a self-contained fragment may hold: XML namespaces, which are names, not requests.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/1998/Math/MathML"}
URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def _urls(html: str) -> set[str]:
    return {u for u in URL.findall(html) if u.startswith(("http", "//"))} - NAMESPACES


def _notebook_modules():
    """nbclient and nbformat (and ipykernel importable), or skip/fail with the reason."""
    missing = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing:
        why = f"needs {', '.join(missing)} (pip install -e '.[dev]')"
        if os.environ.get("BACKPROOF_REQUIRE_NOTEBOOK") == "1":
            pytest.fail(f"BACKPROOF_REQUIRE_NOTEBOOK=1 but the notebook tests cannot run: {why}")
        pytest.skip(why)
    return importlib.import_module("nbclient"), importlib.import_module("nbformat")


# --- one-line reprs ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fork():
    return backproof.explain(FORK, at=AT)


@pytest.fixture(scope="module")
def mazur():
    return backproof.network(EXAMPLES / "mazur.yaml")


def _one_line(r: object) -> str:
    text = repr(r)
    assert "\n" not in text and len(text) <= 200, text
    assert text.startswith("<") and text.endswith(">"), text
    return text


def test_finding_derivation_repr_is_not_a_dump(fork):
    """A Derivation printed in a notebook was a 7 KB dataclass dump; now one line with its numbers."""
    text = _one_line(fork.derivation)
    assert text.startswith("<Derivation of y at a=2, b=1, c=0: ")
    assert "a=1, b=4, c=-3" in text  # ∂y/∂a = b − c, ∂y/∂b = (b − c) + (a + b), ∂y/∂c = −(a + b)
    symbolic = backproof.derive(FORK)
    assert "symbolic gradients of a, b, c" in _one_line(symbolic)


def test_finding_network_result_repr_is_not_a_dump(mazur):
    """A network result printed 14-57 KB; now one line: the network, J, the update, the checks."""
    result = mazur.result
    text = _one_line(result)
    # 10 parameters: w1 … w8 and one shared bias per layer (issue 14; it was 12).
    assert text.startswith("<NetResult mazur: 2-2-2 sigmoid/sigmoid, loss half_sse, 1 sample, 10 parameters")
    assert "J=0.298371" in text and "η=1/2" in text and "checks agree" in text  # Mazur: E_total = 0.298371109
    assert _one_line(mazur) == "<NetworkExplanation" + text[len("<NetResult"):]
    assert _one_line(result.net).startswith("<NetProgram mazur: 2-2-2")
    assert _one_line(result.net.spec).startswith("<NetSpec mazur: 2-2-2")


@pytest.mark.parametrize("name", ["proof", "crosscheck"])
def test_oracle_records_repr_is_one_line(fork, name):
    text = _one_line(getattr(fork, name))
    assert "5 gradients" in text  # a, b, c, d, e


def test_train_history_repr_is_one_line():
    history = backproof.Network.from_spec(EXAMPLES / "mazur.yaml").train(steps=3)
    text = _one_line(history)
    assert text.startswith("<TrainHistory: 3 steps (simultaneous, η=0.5), loss 0.298371 → ")


def test_check_records_repr_is_one_line():
    fb = backproof.check_answers(FORK, {"d": 3, "dy/db": 1}, at="a=2,b=1,c=0")
    text = _one_line(fb.result)
    assert text == "<CheckResult of y: score 1/2; 1 correct, 1 incorrect; first wrong step dy/db>"
    assert _one_line(fb) == "<Feedback" + text[len("<CheckResult"):]
    assert _one_line(fb.result.problem) == "<Problem y: 3 statements, inputs a, b, c; at a=2, b=1, c=0>"


# --- rich display -----------------------------------------------------------------------------

def _assert_fragment(html: str) -> None:
    """A notebook fragment: scoped, no page tags, no script, nothing to fetch."""
    assert html.startswith('<div class="backproof">') and html.rstrip().endswith("</div>")
    for tag in ("<html", "<head", "<body", "<script", "<meta", "<link", "<iframe", "<img"):
        assert tag not in html, tag
    assert not _urls(html), _urls(html)


@pytest.mark.needs_dot
def test_explanation_displays_a_scoped_fragment_with_mathml(fork):
    html = fork._repr_html_()
    _assert_fragment(html)
    assert "<math" in html and "<svg" in html
    plain = fork.writeup(notation="cs231n", compact=True, diagram=False)._repr_html_()
    _assert_fragment(plain)
    assert "<svg" not in plain and "<math" in plain
    assert r"\mathrm{d}b" in fork.writeup(notation="cs231n")._repr_markdown_()
    assert r"\mathrm{d}b" not in fork._repr_markdown_()  # the default is Leibniz's ∂y/∂b


def test_notebook_css_changes_nothing_outside_the_fragment():
    """Every rule of the notebook stylesheet is scoped to ``.backproof`` (a page's ``body`` or
    ``table`` rule would restyle the whole notebook)."""
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", NOTEBOOK_CSS) for s in block.split(",")]
    assert selectors
    assert all(s.startswith(".backproof") for s in selectors), selectors


def test_network_displays_markdown(mazur):
    md = mazur._repr_markdown_()
    assert "0.298371" in md and "\\delta" in md  # J, and the δ view of the backward pass
    assert len(md) < len(backproof.network(EXAMPLES / "mazur.yaml", appendix=True)._repr_markdown_())


def test_feedback_displays_the_first_wrong_step():
    fb = backproof.check_answers(FORK, {"d": 3, "dy/db": 1}, at="a=2,b=1,c=0", title="The fork")
    html = fb._repr_html_()
    _assert_fragment(html)
    assert "<h1>The fork</h1>" in html and "dy/db" in html and "first wrong step" in html
    assert "dy/db" in fb._repr_markdown_()
    assert not fb.all_correct


def test_check_answers_reads_an_answer_file():
    fb = backproof.check_answers(EXAMPLES / "homework" / "correct.yaml")
    assert fb.all_correct and fb.result.total > 0


@pytest.mark.parametrize("call, words", [
    (lambda: backproof.network(EXAMPLES / "mazur.yaml", view="tensor"), "view: expected one of scalar"),
    (lambda: backproof.network(42), "expected a spec file path, a spec mapping or a Network, got int"),
    (lambda: backproof.check_answers(EXAMPLES / "homework" / "correct.yaml", {"a1": 2}), "answer file holds"),
    (lambda: backproof.check_answers(FORK), "expected the answers as a mapping"),
    (lambda: backproof.check_answers(FORK, {"d": 3}, at="a=2,b=1,c=0", carried_credit=2), "from 0 to 1"),
])
def test_notebook_entry_points_reject_bad_arguments_in_one_line(call, words):
    with pytest.raises(BackproofError) as exc:
        call()
    assert words in str(exc.value) and "\n" not in str(exc.value)


# --- the tour notebook ------------------------------------------------------------------------

def _make_tour():
    spec = importlib.util.spec_from_file_location("make_tour", EXAMPLES / "make_tour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tour_is_made_by_make_tour_and_has_no_outputs():
    _, nbformat = _notebook_modules()
    committed = (EXAMPLES / "tour.ipynb").read_text(encoding="utf-8")
    assert committed == _make_tour().text(), "examples/tour.ipynb is stale: run python examples/make_tour.py"
    nb = nbformat.reads(committed, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")


@pytest.fixture(scope="module")
def executed_tour(tmp_path_factory):
    """The tour, executed from a copy in tmp_path by a fresh IPython kernel running these sources."""
    nbclient, nbformat = _notebook_modules()
    work = tmp_path_factory.mktemp("tour")
    shutil.copy(EXAMPLES / "tour.ipynb", work / "tour.ipynb")
    shutil.copy(EXAMPLES / "mazur.yaml", work / "mazur.yaml")
    nb = nbformat.read(work / "tour.ipynb", as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        # The kernel imports these sources, and every Jupyter/IPython file lands in tmp_path.
        mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
        for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_CONFIG_DIR", "config"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl")):
            mp.setenv(var, str(work / sub))
        # timeout: per cell, only a guard against a hung kernel (the tour takes seconds).
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(work)}})
        client.execute()
    return nb


@pytest.mark.needs_dot
@pytest.mark.slow
def test_finding_notebook_cells_display_themselves(executed_tour):
    """Every code cell runs, and each shows what its tag says: HTML, Markdown, SVG or text."""
    want = {"html": "text/html", "markdown": "text/markdown", "svg": "image/svg+xml"}
    code = [c for c in executed_tour.cells if c.cell_type == "code"]
    assert len(code) >= 6
    for cell in code:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        (tag,) = cell.metadata["tags"]
        if tag == "text":
            assert any(o.output_type == "stream" and o.text.startswith("<") for o in cell.outputs)
            continue
        data = [o.data for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
        assert data and want[tag] in data[-1], (cell.source, [sorted(d) for d in data])
        if tag == "html":
            assert "text/markdown" in data[-1]  # front ends without HTML show the Markdown


@pytest.mark.needs_dot
@pytest.mark.slow
def test_notebook_html_outputs_are_mathml_and_load_nothing(executed_tour):
    htmls = [o.data["text/html"] for c in executed_tour.cells if c.cell_type == "code"
             for o in c.outputs if "text/html" in o.get("data", {})]
    assert len(htmls) == 4  # the fork, its CS231n compact form, the network, the homework feedback
    for html in htmls:
        _assert_fragment(html)
        assert "<math" in html
    assert "<svg" in htmls[0]


@pytest.mark.parametrize("make", [
    lambda: backproof.derive("y = (a+b)*(b-c)", at={"a": 2, "b": 1, "c": 0}, verify=False),
    lambda: backproof.network(EXAMPLES / "mazur.yaml").result,
    lambda: backproof.check_answers("d = a + b; e = b - c; y = d*e", {"dy/db": 3}, at="a=2,b=1,c=0").result,
], ids=["Derivation", "NetResult", "CheckResult"])
def test_finding_plain_records_display_themselves_in_ipython(make):
    """The records of the lower layers display as HTML and Markdown once the face layer has
    registered them with IPython (as importing backproof inside Jupyter does)."""
    from types import SimpleNamespace

    from IPython.core.formatters import DisplayFormatter

    from backproof.notebook import register_display
    shell = SimpleNamespace(display_formatter=DisplayFormatter())
    register_display(shell)
    data, _ = shell.display_formatter.format(make())
    assert "<math" in data["text/html"] and "<script" not in data["text/html"]
    assert data["text/markdown"].startswith("# ") and len(data["text/plain"]) < 200

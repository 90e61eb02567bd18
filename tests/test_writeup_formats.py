"""Every write-up format of every example program, opened as a reader opens it (issue 11).

- LaTeX: the standalone article compiles with pdflatex and its first page is not blank; the
  ``--fragment`` output compiles inside a minimal document.
- HTML: the page opens in headless Chromium with zero network requests, shows MathML (not raw
  LaTeX), and clicking a derivation step highlights that step's nodes in the inline diagram.
- Markdown: display maths in ``aligned`` blocks that GitHub renders.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backproof import explain
from backproof.cli import main
from tools import compile_latex, image_not_blank, open_html, pdf_page_not_blank

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.txt"))


def _at(path: Path) -> str | None:
    m = re.search(r"^#\s*at:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)
    return m.group(1).replace(" ", "") if m else None


def _explained(path: Path):
    from backproof.parse import parse_program
    return explain(parse_program(path.read_text(encoding="utf-8")), _at(path))


@pytest.mark.needs_tex
@pytest.mark.needs_dot
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_latex_article_of_every_example_compiles(example, tmp_path):
    tex = tmp_path / f"{example.stem}.tex"
    args = ["explain", f"@{example}", "-o", str(tex)] + (["--at", _at(example)] if _at(example) else [])
    assert main(args) == 0
    assert (tmp_path / f"{example.stem}-graph.pdf").exists()  # the diagram beside it
    text = tex.read_text(encoding="utf-8")
    assert r"\includegraphics" in text and f"{{{example.stem}-graph.pdf}}" in text
    (tmp_path / "latex").mkdir()
    (tmp_path / "latex" / f"{example.stem}-graph.pdf").write_bytes((tmp_path / f"{example.stem}-graph.pdf")
                                                                    .read_bytes())
    pdf = compile_latex(text, tmp_path, name=example.stem)
    assert pdf_page_not_blank(pdf, tmp_path)


@pytest.mark.needs_tex
@pytest.mark.parametrize("compact", [False, True], ids=["full", "compact"])
@pytest.mark.parametrize("notation", ["leibniz", "delta", "cs231n"])
def test_latex_fragment_compiles_inside_a_document(compact, notation, tmp_path):
    x = _explained(ROOT / "examples" / "cs231n_circuit.txt")
    fragment = x.to_latex(fragment=True, compact=compact, notation=notation)
    assert fragment.lstrip().startswith(r"\begin{align*}") and r"\documentclass" not in fragment
    doc = "\n".join([r"\documentclass{article}", r"\usepackage{amsmath,amssymb}", r"\allowdisplaybreaks",
                     r"\begin{document}", fragment, r"\end{document}"])
    assert pdf_page_not_blank(compile_latex(doc, tmp_path, name="fragment"), tmp_path)


@pytest.mark.needs_dot
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_html_page_in_a_browser(example, browser, tmp_path):
    page_text = _explained(example).to_html()
    page, requests = open_html(browser, page_text, tmp_path, name=f"{example.stem}.html")
    try:
        assert requests == []
        assert page.locator("math").count() > 10
        assert page.locator("figure svg").count() == 1
        assert "\\frac" not in page.inner_text("body")  # MathML, not raw LaTeX
        shot = page.screenshot(full_page=True)
        assert image_not_blank(shot)
        # Clicking a chain-rule step highlights the nodes it is about in the diagram.
        step = page.locator("li.chain[data-nodes]").first
        step.click()
        ids = step.get_attribute("data-nodes").split()
        highlighted = page.eval_on_selector_all("figure svg g.hl", "els => els.map(e => e.id)")
        assert highlighted and all(h.split(":", 1)[1].split("|")[0] in ids for h in highlighted)
        assert any(h.startswith("bp:") for h in highlighted)
    finally:
        page.close()


def test_html_is_self_contained_and_escapes_user_text():
    x = explain("y = a*b", at={"a": 2, "b": 3})
    page = x.to_html(diagram=False, title="<script>alert(1)</script>")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    urls = re.findall(r"(?:src|href)\s*=\s*\"([^\"]+)\"", page)
    assert urls == []
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_markdown_uses_aligned_display_maths():
    md = _explained(ROOT / "examples" / "seed_fork.txt").to_markdown()
    blocks = re.findall(r"\$\$\n(.*?)\n\$\$", md, flags=re.S)
    assert blocks and all(b.startswith(r"\begin{aligned}") and b.endswith(r"\end{aligned}") for b in blocks)
    assert "**" not in md.split("```")[2]  # outside the program's own code block


def test_jupyter_display_of_an_explanation():
    x = explain("y = (a+b)*(b-c)", at={"a": 2, "b": 1, "c": 0})
    assert len(repr(x)) < 200 and repr(x).startswith("<Explanation of y")
    assert "<math" in x._repr_html_() and x._repr_markdown_().startswith("# The gradients of y")

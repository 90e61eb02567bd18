"""The tools other tests use to look at output (tests/tools.py): they must be able to fail.

A LaTeX document compiles and its page is not blank, a broken one raises with TeX's error
line; a blank page is seen as blank; a page that loads an image from the network is seen
making that one request, a plain page makes none; a screenshot of text is not blank and a
screenshot of an empty page is.
"""

from __future__ import annotations

import pytest

from tools import LatexError, compile_latex, image_not_blank, open_html, pdf_page_not_blank

DOC = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb,graphicx}
\usepackage{breqn}
\usepackage{hyperref}
\begin{document}
\section{Backward pass}
\begin{align*}
\frac{\partial J}{\partial a_{2}} &= a_{2} - y = 7 - 5 = 2\\
\frac{\partial J}{\partial w_{2}} &= \frac{\partial J}{\partial a_{2}} \cdot a_{1} = 2 \cdot 2 = 4
\end{align*}
\begin{dmath*}
J = a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + q + r + s + t + u + v + w
  + a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + q + r + s + t + u + v + w
\end{dmath*}
$\mathbb{R}$ \href{https://example.org}{a link}
\end{document}
"""


@pytest.mark.needs_tex
def test_a_small_document_compiles_and_its_page_is_not_blank(tmp_path):
    pdf = compile_latex(DOC, tmp_path)
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    assert pdf.parent.parent == tmp_path  # everything pdflatex writes stays inside tmp_path
    assert pdf_page_not_blank(pdf, tmp_path)


@pytest.mark.needs_tex
def test_an_empty_page_is_blank(tmp_path):
    # \null puts an empty box on the page, so pdflatex writes a page with nothing visible on it.
    pdf = compile_latex("\\documentclass{article}\\pagestyle{empty}\\begin{document}\\null\\end{document}\n",
                        tmp_path)
    assert not pdf_page_not_blank(pdf, tmp_path)


@pytest.mark.needs_tex
def test_a_broken_document_raises_with_the_error_line(tmp_path):
    broken = DOC.replace(r"\section{Backward pass}", r"\section{Backward pass} \notacommand{x}")
    with pytest.raises(LatexError) as err:
        compile_latex(broken, tmp_path)
    message = str(err.value)
    assert "! Undefined control sequence." in message
    assert "\\notacommand" in message  # the l.N line TeX prints under the error
    # A double superscript (one of the LaTeX faults) is reported the same way.
    with pytest.raises(LatexError, match="Double superscript"):
        compile_latex(DOC.replace("a_{2} - y", "a_{2}^2^2 - y"), tmp_path, name="double")


def test_a_page_that_loads_an_image_records_one_request(browser, tmp_path):
    page, requests = open_html(browser, '<!DOCTYPE html><p>x</p><img src="http://example.com/x.png">',
                               tmp_path)
    try:
        assert requests == ["http://example.com/x.png"]
    finally:
        page.close()


def test_a_plain_page_records_no_request_and_its_screenshot_is_not_blank(browser, tmp_path):
    page, requests = open_html(browser, "<!DOCTYPE html><title>t</title><h1>Backward pass</h1>"
                                        "<p>∂J/∂w2 = 4</p>", tmp_path)
    try:
        assert requests == []
        assert image_not_blank(page.screenshot(full_page=True))
    finally:
        page.close()


def test_an_empty_page_screenshot_is_blank(browser, tmp_path):
    page, requests = open_html(browser, "<!DOCTYPE html><title>t</title>", tmp_path)
    try:
        assert requests == []
        assert not image_not_blank(page.screenshot())
    finally:
        page.close()

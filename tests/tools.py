"""Tools the tests use to look at what backproof writes: pdflatex, pdftoppm and headless Chromium.

- :func:`compile_latex` compiles a LaTeX document in a temporary folder and raises
  :class:`LatexError` with the log's first error lines when TeX refuses it.
- :func:`pdf_page_not_blank` renders one page with ``pdftoppm`` and counts non-white pixels;
  :func:`image_not_blank` does the same for a PNG (a browser screenshot).
- :func:`launch_browser` starts the SYSTEM Chromium through Playwright's Python package
  (``executable_path``; Playwright's own browser download is never used), and
  :func:`open_html` loads a page from a ``file://`` URL, recording every request the page
  makes besides itself. Network requests are aborted, so a test never touches the network
  even when a page tries to.

The markers ``needs_tex`` and ``needs_browser`` (see ``conftest.py``) skip a test, with the
reason shown, when :func:`tex_missing` / :func:`browser_missing` names a missing tool, and fail
it instead when ``BACKPROOF_REQUIRE_TEX=1`` / ``BACKPROOF_REQUIRE_BROWSER=1`` (set by ``.ci/test``).
Pillow, used to count pixels, comes with matplotlib (a backproof dependency).
"""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["LatexError", "tex_missing", "browser_missing", "compile_latex", "pdf_page_not_blank",
           "image_not_blank", "non_white_pixels", "launch_browser", "open_html", "BROWSER_ARGS"]

# Safety timeouts that only guard against a hang (a small document compiles in well under a second).
LATEX_TIMEOUT_S = 120
PDFTOPPM_TIMEOUT_S = 60

# The flags the issue asks for; Playwright adds its own (it runs headless without a sandbox too).
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# What LaTeX writes to its log when a second pass would change the output (cross-references,
# hyperref's outline file).
_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|Rerun LaTeX")


class LatexError(AssertionError):
    """pdflatex refused a document; the message holds the log's first error lines."""


def tex_missing() -> str | None:
    """What the ``needs_tex`` tests lack (pdflatex, pdftoppm), or None when both are on PATH."""
    missing = [tool for tool in ("pdflatex", "pdftoppm") if shutil.which(tool) is None]
    return " and ".join(f"`{tool}`" for tool in missing) or None


def browser_missing() -> str | None:
    """What the ``needs_browser`` tests lack (system chromium, Playwright), or None."""
    missing = []
    if shutil.which("chromium") is None:
        missing.append("the system `chromium` (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright's Python package (pip install playwright)")
    return " and ".join(missing) or None


def _first_errors(log: str, lines: int = 8) -> str:
    """The first TeX error of a log (``! ...`` and the lines after it, up to ``l.N``), else its tail."""
    rows = log.splitlines()
    for i, row in enumerate(rows):
        if row.startswith("!"):
            block = rows[i:i + lines]
            return "\n".join(block)
    return "\n".join(rows[-lines:])


def compile_latex(tex: str, tmp_path: Path, *, name: str = "document") -> Path:
    """Compile ``tex`` with pdflatex inside ``tmp_path``; return the PDF's path.

    pdflatex runs with ``-interaction=nonstopmode -halt-on-error -no-shell-escape``, its
    output folder inside ``tmp_path``, a second time only when the log asks for a rerun.

    Raises
    ------
    LatexError
        When pdflatex fails, times out or writes no PDF; the message quotes the log's first
        error (``! Undefined control sequence.`` and the ``l.N`` line after it).
    """
    out = Path(tmp_path) / "latex"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.tex").write_text(tex, encoding="utf-8")
    pdf, log_path = out / f"{name}.pdf", out / f"{name}.log"
    cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
           f"-output-directory={out}", f"{name}.tex"]
    for _ in range(2):
        try:
            proc = subprocess.run(cmd, cwd=out, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=LATEX_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise LatexError(f"pdflatex did not finish within {LATEX_TIMEOUT_S} s") from exc
        # TeX writes its log in the input's bytes (UTF-8 here), but may split a character.
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else \
            proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0 or not pdf.exists():
            raise LatexError(f"pdflatex failed (exit {proc.returncode}) on {name}.tex:\n{_first_errors(log)}")
        if not _RERUN.search(log):
            break
    return pdf


def non_white_pixels(png: bytes | Path, *, below: int = 240) -> int:
    """Pixels of a PNG (bytes or a path) with any RGB channel darker than ``below``."""
    import numpy as np
    from PIL import Image

    data = png.read_bytes() if isinstance(png, Path) else png
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(img.convert("RGB"))
    return int((rgb.min(axis=2) < below).sum())


def image_not_blank(png: bytes | Path, *, min_pixels: int = 50) -> bool:
    """True when a PNG has at least ``min_pixels`` non-white pixels (a line of text has hundreds)."""
    return non_white_pixels(png) >= min_pixels


def pdf_page_not_blank(pdf: Path, tmp_path: Path, *, page: int = 1, min_pixels: int = 50) -> bool:
    """Render page ``page`` of ``pdf`` at 50 dpi with pdftoppm and check it is not blank."""
    stem = Path(tmp_path) / f"{Path(pdf).stem}-page{page}"
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], stdin=subprocess.DEVNULL, capture_output=True,
                   timeout=PDFTOPPM_TIMEOUT_S, check=True)
    return image_not_blank(stem.with_suffix(".png"), min_pixels=min_pixels)


def launch_browser(playwright):
    """The system Chromium, headless, started through a running Playwright instance."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                      args=BROWSER_ARGS)


def open_html(browser, html_text: str, tmp_path: Path, *, name: str = "page.html",
              width: int = 880, height: int = 1000):
    """Open ``html_text`` from a ``file://`` URL in a fresh page; return ``(page, requests)``.

    ``requests`` lists the URL of every request the page made other than its own load,
    recorded as the page makes them (it keeps growing while the page is used, e.g. after a
    click). Every request other than the page itself is aborted, so a page that tries to load
    something from the network is seen doing so without the test touching the network. The
    page has its own browser context; close it with ``page.close()`` (or let the session end).
    """
    path = Path(tmp_path) / name
    path.write_text(html_text, encoding="utf-8")
    url = path.as_uri()
    page = browser.new_page(viewport={"width": width, "height": height})
    requests: list[str] = []
    page.on("request", lambda request: None if request.url == url else requests.append(request.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
    page.goto(url, wait_until="load")
    return page, requests

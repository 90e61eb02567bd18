"""Shared test configuration: hypothesis profiles, the tool markers and the browser fixture.

- Hypothesis: the ``ci`` profile (default) is derandomized, so CI runs are
  reproducible; ``HYPOTHESIS_PROFILE=thorough`` runs many more examples locally.
- Tool markers: ``@pytest.mark.needs_dot`` (the Graphviz binary), ``needs_tex`` (pdflatex
  and pdftoppm) and ``needs_browser`` (the system chromium and Playwright) skip a test, with
  the reason shown, when the tool is missing, except when ``BACKPROOF_REQUIRE_DOT=1``,
  ``BACKPROOF_REQUIRE_TEX=1`` or ``BACKPROOF_REQUIRE_BROWSER=1`` (set by ``.ci/test``): then
  they fail, so CI can never report a skipped test as passing. A test that uses the
  ``browser`` fixture is marked ``needs_browser`` automatically.
- ``browser``: one headless system Chromium per session (see ``tools.py``, which also holds
  ``compile_latex``, ``pdf_page_not_blank`` and ``open_html``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings

import tools

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _dot_missing() -> str | None:
    return None if shutil.which("dot") else "the Graphviz `dot` binary"


# marker: (the variable that makes a missing tool a failure, what is missing or None)
_TOOL_MARKERS: dict[str, tuple[str, Callable[[], str | None]]] = {
    "needs_dot": ("BACKPROOF_REQUIRE_DOT", _dot_missing),
    "needs_tex": ("BACKPROOF_REQUIRE_TEX", tools.tex_missing),
    "needs_browser": ("BACKPROOF_REQUIRE_BROWSER", tools.browser_missing),
}


def _required(variable: str) -> bool:
    return os.environ.get(variable) == "1"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("needs_browser"):
            item.add_marker(pytest.mark.needs_browser)
    for marker, (variable, missing) in _TOOL_MARKERS.items():
        what = missing()
        if what is None or _required(variable):
            continue
        for item in items:
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"needs {what} (or set {variable}=1 to fail instead)"))


def pytest_runtest_setup(item):
    for marker, (variable, missing) in _TOOL_MARKERS.items():
        if item.get_closest_marker(marker) and _required(variable):
            what = missing()
            if what is not None:
                pytest.fail(f"{what} is required here ({variable}=1) but is missing", pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """backproof's compilation cache (``$XDG_CACHE_HOME/backproof``) goes to the session's
    temporary folder, never the user's home; CLI subprocesses inherit the variable."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def browser():
    """The system Chromium, headless, driven by Playwright (one per test session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = tools.launch_browser(playwright)
        yield chromium
        chromium.close()

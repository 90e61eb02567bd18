"""Shared test configuration: hypothesis profiles and the `needs_dot` marker policy.

- Hypothesis: the ``ci`` profile (default) is derandomized, so CI runs are
  reproducible; ``HYPOTHESIS_PROFILE=thorough`` runs many more examples locally.
- ``@pytest.mark.needs_dot`` tests are skipped when the Graphviz binary is missing,
  except when ``BACKPROOF_REQUIRE_DOT=1`` (set by ``.ci/test``): then they fail, so CI
  can never report a skipped diagram test as passing.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _require_dot() -> bool:
    return os.environ.get("BACKPROOF_REQUIRE_DOT") == "1"


def pytest_collection_modifyitems(config, items):
    if shutil.which("dot") or _require_dot():
        return
    for item in items:
        if item.get_closest_marker("needs_dot"):
            item.add_marker(pytest.mark.skip(reason="needs the Graphviz `dot` binary"))


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_dot") and not shutil.which("dot") and _require_dot():
        pytest.fail("Graphviz `dot` is required here (BACKPROOF_REQUIRE_DOT=1) but is not on PATH")

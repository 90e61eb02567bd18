"""The README's "Limits and safety" table is exactly the one generated from ``limits.LIMITS``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from backproof import limits

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- limits:start -->", "<!-- limits:end -->"


def test_readme_table_is_generated_from_the_limits():
    text = README.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1
    between = text.split(START, 1)[1].split(END, 1)[0]
    assert between.strip("\n") == limits.markdown_table().strip("\n"), \
        "regenerate with: python -m backproof.limits --markdown"
    assert "## Limits and safety" in text.split(START, 1)[0]


def test_table_has_one_row_per_limit_with_its_value():
    rows = [r for r in limits.markdown_table().splitlines() if r.startswith("| `")]
    assert [re.match(r"\| `(\w+)`", r).group(1) for r in rows] == list(limits.LIMITS)
    for row, lim in zip(rows, limits.LIMITS.values()):
        assert f"{lim.value:,}" in row.split("|")[2]


def test_the_regeneration_command_prints_the_table(tmp_path):
    src = str(Path(limits.__file__).resolve().parent.parent)
    proc = subprocess.run([sys.executable, "-m", "backproof.limits", "--markdown"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,  # guards against a hang only
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0 and proc.stdout == limits.markdown_table()

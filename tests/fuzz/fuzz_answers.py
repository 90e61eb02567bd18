"""atheris harness: the answer-file loader refuses or returns a checked file, nothing else.

The first byte chooses the format (YAML, JSON or TOML); the rest is the file's text.
Run (from the repository root): python tests/fuzz/fuzz_answers.py -max_total_time=60
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SUFFIXES = (".yaml", ".json", ".toml")
_DIR = tempfile.mkdtemp(prefix="backproof-fuzz-")


def reader(text: str) -> None:
    from backproof.check.answers import load_check
    suffix = SUFFIXES[ord(text[0]) % 3] if text else ".yaml"
    path = Path(_DIR, "hw" + suffix)
    path.write_text(text[1:], encoding="utf-8")
    load_check(path)


if __name__ == "__main__":
    from _harness import run
    run(reader, ["backproof.check.answers", "backproof.check.quantities", "backproof.parse"])

"""atheris harness: the answer-file loader refuses or returns a checked file, nothing else.

The format follows the text (JSON if it starts with ``{``, TOML if it has a ``[section]``
line, else YAML). Seed it with the homework examples (new inputs go to the first folder):
    python tests/fuzz/fuzz_answers.py /tmp/fuzz/answers-corpus examples/homework -max_total_time=60
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_DIR = tempfile.mkdtemp(prefix="backproof-fuzz-")


def reader(text: str) -> None:
    from backproof.check.answers import load_check

    if text.lstrip().startswith("{"):
        suffix = ".json"
    elif any(line.startswith("[") and line.rstrip().endswith("]") for line in text.splitlines()):
        suffix = ".toml"
    else:
        suffix = ".yaml"
    path = Path(_DIR, "hw" + suffix)
    path.write_text(text, encoding="utf-8")
    load_check(path)


if __name__ == "__main__":
    from _harness import run

    run(reader, ["backproof.check.answers", "backproof.check.quantities", "backproof.parse"])

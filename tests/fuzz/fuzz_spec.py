"""atheris harness: the network-spec loader refuses or returns a spec, nothing else.

The first byte chooses the format (YAML, JSON or TOML); the rest is the text.
Run (from the repository root): python tests/fuzz/fuzz_spec.py -max_total_time=60
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FORMATS = ("yaml", "json", "toml")


def reader(text: str) -> None:
    from backproof.errors import SpecError
    from backproof.nn.spec import parse_spec_text, validate_spec
    fmt = FORMATS[ord(text[0]) % 3] if text else "yaml"
    data = parse_spec_text(text[1:], fmt, "fuzz")
    if isinstance(data, dict):
        validate_spec(data, "fuzz")
    elif data is not None and not isinstance(data, (str, int, float, list)):
        raise SpecError("unexpected document")


if __name__ == "__main__":
    from _harness import run
    run(reader, ["backproof.nn.spec"])

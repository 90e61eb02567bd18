"""atheris harness: the network-spec loader refuses or returns a spec, nothing else.

Every input is read as YAML, JSON and TOML in turn. Seed it with the examples (new inputs
go to the first folder only):
    python tests/fuzz/fuzz_spec.py /tmp/fuzz/spec-corpus examples -max_total_time=60
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FORMATS = ("yaml", "json", "toml")


def reader(text: str) -> None:
    from backproof.errors import SpecError
    from backproof.nn.spec import parse_spec_text, validate_spec

    for fmt in FORMATS:
        try:
            data = parse_spec_text(text, fmt, "fuzz")
        except SpecError:
            continue
        if isinstance(data, dict):
            try:
                validate_spec(data, "fuzz")
            except SpecError:
                pass


if __name__ == "__main__":
    from _harness import run

    run(reader, ["backproof.nn.spec"])

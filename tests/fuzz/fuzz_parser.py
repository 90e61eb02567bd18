"""atheris harness: the expression parser refuses or returns a Program, nothing else.

Run (from the repository root): python tests/fuzz/fuzz_parser.py -max_total_time=60
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def reader(text: str) -> None:
    from backproof.parse import parse_program, parse_values

    parse_program(text)
    if "=" in text and len(text) < 2000:
        parse_values(text)


if __name__ == "__main__":
    from _harness import run

    run(reader, ["backproof.parse"])

"""``backproof assign``: a different variant of the problem for every student of a roster."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import BackproofError

__all__ = ["register", "run"]

EPILOG = """examples:
  backproof assign key.yaml --students roster.csv -o hw3/
  backproof assign examples/homework/assign/key.yaml --students examples/homework/assign/roster.csv -o out/
  backproof grade hw3/ submissions/            # each submission against its own student's key

The key declares what varies: `vary: {x: [-2, 2, 0.5], w1: [1, 3, 1]}` (low, high, step;
an optional `seed: 7`); the roster is CSV with an `id` column and an optional `name` column.
DIR gets keys/<id>.yaml, sheets/<id>.md and sheets/<id>.html (and .tex with --latex) and
students.csv, all written or none (see docs/homework.md).
exit status: 0 written, 2 the key or roster is invalid or some student has no valid draw.
"""


def register(sub) -> None:
    p = sub.add_parser("assign", help="a different variant of the problem for every student",
                       description="Draw each student's numbers reproducibly from their id within the ranges "
                                   "the key's `vary` section declares, prove every variant by the three-way "
                                   "check (redrawing points on a kink or where the problem is undefined), "
                                   "and write each student's problem sheet and key.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("key", metavar="KEY", help="the key with a `vary` section, e.g. key.yaml")
    p.add_argument("--students", metavar="ROSTER", required=True,
                   help="roster CSV with an id column (and optionally name), e.g. --students roster.csv")
    p.add_argument("-o", "--output", metavar="DIR", required=True,
                   help="folder to write keys/, sheets/ and students.csv into, e.g. -o hw3/")
    p.add_argument("--latex", action="store_true", help="also write each sheet as LaTeX (sheets/<id>.tex)")
    p.set_defaults(func=run)


def run(args) -> int:
    # Imported here: `backproof --help` must not load SymPy.
    from ..check.answers import AnswerFileError
    from ..check.assign import (
        KEYS_FOLDER,
        load_assignment,
        make_variant,
        parse_roster,
        students_csv,
        variant_key_text,
    )
    from ..check.sheet import render_sheet
    from ..io import read_text_file, write_group

    if args.output is None:  # `-o -`: a folder of files cannot go to standard output
        raise BackproofError("-o must name a folder, not standard output (e.g. -o hw3/)")
    try:
        assignment = load_assignment(args.key)
    except AnswerFileError as exc:
        for line in exc.problems:
            print(f"backproof: error: {line}", file=sys.stderr)
        return 2
    students = parse_roster(read_text_file(args.students, what="a roster CSV file"), args.students)
    variants = [make_variant(assignment, s) for s in students]
    asked = [ra.key for ra in assignment.raw]
    title = _title(assignment)
    out = Path(args.output)
    files: dict[str | os.PathLike, str | bytes] = {}
    for v in variants:
        files[out / KEYS_FOLDER / f"{v.student.id}.yaml"] = variant_key_text(assignment, v)
        for fmt in ("md", "html") + (("tex",) if args.latex else ()):
            files[out / "sheets" / f"{v.student.id}.{fmt}"] = render_sheet(v, asked, fmt, title=title)
    files[out / "students.csv"] = students_csv(variants)
    write_group(files)
    checked = sum(v.checked for v in variants)
    redrawn = sum(v.attempts - 1 for v in variants)
    print(f"backproof: {len(variants)} variants written to {out} ({checked} gradients proven by the "
          f"three-way check; {redrawn} draws redrawn: on a kink, where the problem is undefined, "
          f"or giving an answer of 0)", file=sys.stderr)
    return 0


def _title(assignment) -> str | None:
    node = assignment.doc.root.value.get("title")
    if node is not None and node.kind in ("str", "num"):
        return str(node.value)[:200]
    return assignment.spec.title

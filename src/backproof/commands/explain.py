"""``backproof explain``: a step-by-step derivation of every gradient, proved."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import limits
from ..errors import BackproofError
from ..io import is_special_file, read_source, write_group
from .graph import add_diagram_arguments

__all__ = ["register", "run"]

EPILOG = """examples:
  backproof explain "d = a + b; e = b - c; y = d*e" --at a=2,b=1,c=0
  backproof explain "y = (a+b)*(b-c)" --format json
  backproof explain @examples/seed_two_layer.txt --at x=1,y=5,w1=2,b1=0,w2=3,b2=1 --format md -o output/seed.md
  echo "f = (x + y)*z" | backproof explain - --at x=-2,y=5,z=-4
"""


def add_program_arguments(p: argparse.ArgumentParser) -> None:
    """PROGRAM, --at, --of and --wrt, shared by explain, graph and crosscheck."""
    p.add_argument("program", metavar="PROGRAM",
                   help='the program text ("y = (a+b)*(b-c)"), - for standard input, or @path for a file')
    p.add_argument("--at", metavar="NAME=VALUE[,...]", default=None,
                   help="values of the inputs, e.g. --at a=2,b=1,c=0 (numbers or constants such as pi/2)")
    p.add_argument("--of", metavar="NAME", default=None,
                   help="the output to differentiate (default: the last assigned name), e.g. --of e")
    p.add_argument("--wrt", metavar="NAMES", default=None,
                   help="report gradients only for these names, e.g. --wrt a,b")


def register(sub) -> None:
    p = sub.add_parser("explain", help="derive every gradient step by step, with proof",
                       description="Derive every gradient of a program's output by the chain rule, "
                                   "step by step, symbolically and with numbers, and prove each result.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_program_arguments(p)
    p.add_argument("--format", choices=("text", "md", "json"), default=None,
                   help="write-up format (default: from the -o extension, else text), e.g. --format md")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write to FILE (atomically, creating folders; - for standard output) instead of "
                        "standard output, e.g. -o output/seed.md; a Markdown file gets an SVG diagram "
                        "beside it")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the proof against sympy.diff and the numeric cross-check "
                        "(for very large graphs); the write-up says it was skipped")
    p.add_argument("--points", type=int, default=1, metavar="N",
                   help="check the gradients numerically at N random points around --at, e.g. --points 20")
    p.add_argument("--no-diagram", action="store_true",
                   help="with -o FILE.md, do not write the SVG diagram beside it")
    add_diagram_arguments(p, "the diagram")
    p.set_defaults(func=run)


def parse_wrt(text: str | None):
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise BackproofError("--wrt needs at least one name, e.g. --wrt a,b")
    return names


def load_program(arg: str):
    """Read and parse PROGRAM (text, -, @path)."""
    from ..parse import parse_program
    text, _ = read_source(arg)
    return parse_program(text)


def run(args) -> int:
    from ..api import explain
    from ..parse import parse_values
    from ..verify import Skipped

    if args.points < 1:
        raise BackproofError(f"--points must be at least 1, got {args.points}")
    limits.check("points", args.points, "--points")  # 10,000,000 points once took 2.9 GiB
    program = load_program(args.program)
    at = parse_values(args.at) if args.at is not None else None
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output else ""
        fmt = {".md": "md", ".markdown": "md", ".json": "json"}.get(suffix, "text")
    result = explain(program, at, of=args.of, wrt=parse_wrt(args.wrt), verify=not args.no_verify,
                     points=args.points)
    files: dict = {}   # every output file, published together or not at all
    diagram_rel = None
    if fmt == "md" and args.output and not args.no_diagram and not is_special_file(args.output):
        svg = _diagram_svg(result, args)
        if svg is not None:
            svg_path = Path(args.output).with_suffix(".svg")
            files[svg_path] = svg
            diagram_rel = svg_path.name
    if fmt == "json":
        text = result.to_json()
    elif fmt == "md":
        text = result.to_markdown(diagram=diagram_rel)
    else:
        color = args.output is None and sys.stdout.isatty()
        text = result.to_text(color=color)
    if args.output:
        files[args.output] = text
        write_group(files)
    else:
        sys.stdout.write(text)
    check = result.crosscheck
    if not isinstance(check, Skipped) and not check.ok:
        bad = ", ".join(r.name for r in check.failures)
        print(f"backproof: cross-check disagrees for {bad}", file=sys.stderr)
        return 1
    return 0


def _diagram_svg(result, args) -> bytes | None:
    """The diagram for the Markdown write-up as SVG bytes (None without the render module)."""
    try:
        from ..render import render_bytes
    except ImportError:  # the diagram module is optional for text write-ups
        return None
    diagram = result.diagram(view="backward" if result.at is not None else "symbolic",
                             legend=not args.no_legend, title=not args.no_title, dpi=args.dpi)
    return render_bytes(diagram, "svg")

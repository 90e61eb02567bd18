"""``backproof explain``: a step-by-step derivation of every gradient, proved."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import limits
from ..errors import BackproofError
from ..io import is_special_file, read_source, write_group
from .graph import add_diagram_arguments, add_tie_argument

__all__ = ["register", "run"]

EPILOG = """examples:
  backproof explain "d = a + b; e = b - c; y = d*e" --at a=2,b=1,c=0
  backproof explain "y = (a+b)*(b-c)" --format json
  backproof explain @examples/seed_two_layer.txt --at x=1,y=5,w1=2,b1=0,w2=3,b2=1 --format md -o output/seed.md
  echo "f = (x + y)*z" | backproof explain - --at x=-2,y=5,z=-4
  backproof explain "y = (a+b)*(b-c)" --at a=2,b=1,c=0 --compact --notation cs231n
  backproof explain "y = (a+b)*(b-c)" --at a=2,b=1,c=0 -o fork.html   # one self-contained page
  backproof explain "y = (a+b)*(b-c)" --at a=2,b=1,c=0 -o fork.tex    # pdflatex fork.tex
"""

#: Write-up formats and the file extensions that choose them.
FORMATS = ("text", "md", "tex", "html", "json")
SUFFIXES = {".md": "md", ".markdown": "md", ".json": "json", ".tex": "tex", ".html": "html", ".htm": "html"}
NOTATIONS = ("leibniz", "delta", "cs231n")  # backproof.report.notation.NOTATIONS, without importing SymPy


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
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="write-up format (default: from the -o extension, else text): text, md (GitHub "
                        "Markdown), tex (a LaTeX article for pdflatex), html (one self-contained page), "
                        "json; e.g. --format html")
    p.add_argument("--notation", choices=NOTATIONS, default="leibniz",
                   help="how gradients are written: leibniz (∂y/∂w), delta (δ_w) or cs231n (dw); "
                        "e.g. --notation delta")
    p.add_argument("--compact", action="store_true",
                   help="one line per edge, the ×1 edges of + and − gates folded (default: a local-"
                        "derivative line and a chain-rule line per edge)")
    p.add_argument("--fragment", action="store_true",
                   help="with --format tex: only the align* blocks, to paste into your own document")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write to FILE (atomically, creating folders; - for standard output) instead of "
                        "standard output, e.g. -o output/seed.md; a Markdown file gets an SVG diagram "
                        "beside it, a LaTeX file a PDF diagram (with Graphviz's dot)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the proof against sympy.diff and the numeric cross-check "
                        "(for very large graphs); the write-up says it was skipped")
    p.add_argument("--points", type=int, default=1, metavar="N",
                   help="check the gradients numerically at N random points around --at, e.g. --points 20")
    p.add_argument("--no-diagram", action="store_true",
                   help="no diagram: none beside -o FILE.md or FILE.tex, none inside the HTML page")
    add_diagram_arguments(p, "the diagram")
    add_tie_argument(p)
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
        fmt = SUFFIXES.get(suffix, "text")
    if args.fragment and fmt != "tex":
        raise BackproofError(f"--fragment applies to --format tex only, not {fmt}")
    result = explain(program, at, of=args.of, wrt=parse_wrt(args.wrt), verify=not args.no_verify,
                     points=args.points)
    files: dict = {}   # every output file, published together or not at all
    text = _write_up(result, fmt, args, files)
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


def _write_up(result, fmt: str, args, files: dict) -> str:
    """The write-up in ``fmt``; a diagram file it links to is added to ``files``."""
    opts = dict(notation=args.notation, compact=args.compact)
    beside = bool(args.output) and not args.no_diagram and not is_special_file(args.output)
    if fmt == "json":
        return result.to_json()
    drawn = _diagram_options(args)
    if fmt == "md":
        svg = _beside(result, args.output, "svg", files, drawn) if beside else None
        return result.to_markdown(diagram=svg, **opts)
    if fmt == "tex":
        pdf = _beside(result, args.output, "pdf", files, drawn) if beside and not args.fragment else None
        return result.to_latex(fragment=args.fragment, diagram=pdf, **opts)
    if fmt == "html":
        return result.to_html(diagram=_diagram_options(args) if not args.no_diagram else False, **opts)
    return result.to_text(color=args.output is None and sys.stdout.isatty(), **opts)


def _diagram_options(args) -> dict:
    """The diagram flags (--no-legend, --no-title, --dpi) as build_diagram's keywords."""
    return dict(legend=not args.no_legend, title=not args.no_title, dpi=args.dpi)


def _beside(result, output: str, fmt: str, files: dict, options: dict) -> str | None:
    """Add the diagram as OUTPUT's sibling file in ``fmt`` to ``files``; its relative name.

    ``None`` when it cannot be made here (a PDF needs Graphviz's ``dot``): the write-up then
    has no figure, and says nothing false.
    """
    from ..errors import RenderError
    from ..render import render_bytes
    view = "backward" if result.at is not None else "symbolic"
    try:
        data = render_bytes(result.diagram(view=view, **options), fmt)
    except RenderError:
        print(f"backproof: note: no {fmt.upper()} diagram (Graphviz's dot is needed for it)", file=sys.stderr)
        return None
    # pdflatex writes FILE.pdf itself: the diagram of a LaTeX write-up is FILE-graph.pdf.
    path = Path(output).with_suffix(f".{fmt}") if fmt == "svg" else Path(output).with_name(
        Path(output).stem + f"-graph.{fmt}")
    files[path] = data
    return path.name

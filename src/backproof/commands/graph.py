"""``backproof graph``: draw a program's computational graph (DOT, SVG, PNG or PDF)."""

from __future__ import annotations

import argparse
import os
import re
import sys

from .. import limits
from ..errors import ProgramError
from ..io import read_source
from ..render.options import DEFAULT_DPI, DEFAULT_MAX_NODES, RANKDIRS, VIEWS

#: A network spec's `layers` key (YAML/JSON) or table (TOML); no program can contain
#: either, since `:`, quotes and brackets are not in the expression language.
_SPEC_KEY = re.compile(r'^[ \t]*layers[ \t]*:|"layers"[ \t]*:|^[ \t]*\[\[[ \t]*layers[ \t]*\]\]', re.M)
_SPEC_SUFFIXES = (".yaml", ".yml", ".json", ".toml")

EPILOG = """\
examples:
  backproof graph "d = a + b; e = b - c; y = d*e" --at a=2,b=1,c=0 -o output/fork.svg
  backproof graph @net.txt --at x=1,y=5,w1=2,b1=0,w2=3,b2=1 -o net.png --rankdir TB
  backproof graph "y = (a + b)*(b - c)" --highlight b -o fork.pdf
  backproof graph "y = (a + b)*(b - c)" --at a=1,b=2,c=3 -o fork.png --dpi 200 --no-legend
  backproof graph "d = a + b; y = d*d" --at a=1,b=2 --view forward     # DOT on stdout
  backproof graph "yhat = w*x + b; L = (yhat - y)**2/2" > linreg.dot   # symbolic view

The format comes from the extension of -o: .dot/.gv (DOT source), .svg, .png, .pdf.
SVG works everywhere (the system Graphviz `dot` when it is on PATH, else an embedded
WebAssembly Graphviz); PNG and PDF need the system Graphviz
(`apt-get install graphviz` on Debian/Ubuntu, `brew install graphviz` on macOS).
Without --at the diagram is symbolic (gradients in node names, no numbers).
"""

TIES = ("half", "first", "all")  # backproof.ops.TIES, without importing NumPy


def add_tie_argument(p: argparse.ArgumentParser) -> None:
    """--tie, shared by explain, graph, crosscheck and check (the CLI runs the command under it)."""
    p.add_argument("--tie", choices=TIES, default="half",
                   help="who gets the gradient of max/min where operands tie: half (shared equally, as "
                        "PyTorch's maximum; the default), first (the first of them, as PyTorch's max over "
                        "a dimension) or all (each of them, CS231n's 1(x >= y) and 1(y >= x)); e.g. --tie first")


def register(subparsers) -> None:
    """Add the ``graph`` subcommand."""
    p = subparsers.add_parser(
        "graph",
        help="draw the computational graph with values, gradients and local derivatives",
        description="Draw the computational graph of a program: each node is one box holding its "
                    "name, forward value and gradient; edges carry the local derivatives (blue).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("program", metavar="PROGRAM",
                   help='program text, "-" for standard input or @FILE, e.g. "d = a + b; y = d*c"')
    p.add_argument("--at", metavar="VALUES",
                   help="input values, e.g. --at a=2,b=1,c=0 (without it: the symbolic view)")
    p.add_argument("--of", metavar="NAME",
                   help="the output to differentiate (default: the last assigned name), e.g. --of e")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write FILE.dot, .gv, .svg, .png or .pdf (default: DOT on stdout), "
                        "e.g. -o output/fork.svg")
    p.add_argument("--view", choices=VIEWS, default="backward",
                   help="forward: values only; backward: values, gradients and local derivatives; "
                        "symbolic: in node names, no numbers (default: backward), e.g. --view forward")
    p.add_argument("--highlight", metavar="NAME", action="append",
                   help="mark the paths from NAME to the output, whose products of local derivatives "
                        "sum to its gradient; repeatable, e.g. --highlight b")
    p.add_argument("--rankdir", choices=RANKDIRS, default="auto",
                   help="LR: left to right; TB: top to bottom; auto: LR unless the graph is too deep "
                        "to read at a page's width (default: auto), e.g. --rankdir TB")
    p.add_argument("--max-nodes", type=_positive_int, default=DEFAULT_MAX_NODES, metavar="N",
                   help=f"fold the diagram above N nodes (default: {DEFAULT_MAX_NODES}; 0: never fold, "
                        f"for graphs of at most {limits.value('diagram_nodes')} nodes), e.g. --max-nodes 400")
    add_diagram_arguments(p)
    add_tie_argument(p)
    p.set_defaults(func=run)


def add_diagram_arguments(p: argparse.ArgumentParser, what: str = "the diagram") -> None:
    """--dpi, --no-legend and --no-title, shared by graph, explain and net."""
    p.add_argument("--dpi", type=_dpi, default=None, metavar="N",
                   help=f"resolution of {what} when drawn as PNG, in dots per inch (default: {DEFAULT_DPI}; "
                        f"at most {limits.value('diagram_dpi')}), e.g. --dpi 200")
    p.add_argument("--no-legend", action="store_true",
                   help=f"leave out the one-line key of {what}")
    p.add_argument("--no-title", action="store_true",
                   help=f"leave out the title line of {what}")


def _dpi(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of dots per inch, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {n}")
    limit = limits.value("diagram_dpi")
    if n > limit:
        raise argparse.ArgumentTypeError(f"{n} is over the limit diagram_dpi = {limit} "
                                         f"(the PNG's pixels grow with the square of the dpi)")
    return n


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {n}")
    limit = limits.value("diagram_nodes")
    if n > limit:
        raise argparse.ArgumentTypeError(f"{n} is over the limit diagram_nodes = {limit} "
                                         f"(a larger diagram takes Graphviz gigabytes)")
    return n


def _refuse_network_spec(arg: str, *, force: bool = False) -> None:
    """One clear line when PROGRAM names a network spec file: ``graph`` draws programs."""
    # `@FILE` is judged by its content (by the caller); a bare existing file name with a
    # spec suffix can only be a spec given without `@`, never a program.
    path = arg[1:] if arg.startswith("@") else arg
    bare_spec = (not arg.startswith("@") and arg.lower().endswith(_SPEC_SUFFIXES)
                 and len(arg) < 4096 and os.path.isfile(arg))
    if force or bare_spec:
        raise ProgramError(f"{path}: this is a network spec; `backproof graph` takes a program "
                           f"(text, - or @FILE); for a network use `backproof net {path}` "
                           f"(--format md also draws its graph)")


def run(args) -> int:
    """Derive, draw, then write the file (or print the DOT source)."""
    from ..derivation import derive
    from ..render import build_diagram, format_for, render_bytes, write_diagram
    fmt = format_for(args.output) if args.output else "dot"
    if fmt in ("png", "pdf"):
        render_bytes("digraph {}", fmt)  # fails now, before any work, when `dot` is missing
    _refuse_network_spec(args.program)
    text, _ = read_source(args.program)
    if args.program.startswith("@") and _SPEC_KEY.search(text):
        _refuse_network_spec(args.program, force=True)
    # The diagram shows values, gradients in node names and local derivatives; the
    # expanded forms and their proof against sympy.diff (`backproof explain`) are not
    # drawn, and expanding a network's gradients can take minutes.
    deriv = derive(text, at=args.at, of=args.of, expand=False)
    if not args.max_nodes:  # "never fold": checked before anything is drawn (dot once took 23 GiB)
        limits.check("diagram_nodes", len(deriv.units),
                     "--max-nodes 0 (draw every node, never fold)")
    diagram = build_diagram(deriv, view=args.view, highlight=args.highlight, rankdir=args.rankdir,
                            max_nodes=args.max_nodes or None, legend=not args.no_legend,
                            title=not args.no_title, dpi=args.dpi)
    if args.output:
        path = write_diagram(diagram, args.output)
        print(f"wrote {path}")
    else:
        sys.stdout.write(diagram.source)
    return 0

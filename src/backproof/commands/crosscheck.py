"""``backproof crosscheck``: every gradient three ways, as a table, with exit status 0/1/2.

Exit status: 0 when no gradient disagrees (a "not differentiable" verdict at a kink and
an "inconclusive" one, where finite differences cannot resolve the value, are not
failures), 1 when any disagrees (one line per disagreeing gradient on stderr,
naming it), 2 on bad input (through :func:`backproof.cli.main`).
"""

from __future__ import annotations

import argparse
import math
import sys

from ..errors import ProgramError
from .graph import add_tie_argument

__all__ = ["register", "run", "render_text", "crosscheck_document", "SPEC_SUFFIXES"]

#: A PROGRAM given as ``@path`` with one of these suffixes is a network spec.
SPEC_SUFFIXES = (".yaml", ".yml", ".json", ".toml")

_EPILOG = """examples:
  backproof crosscheck "h = tanh(w*x + b); y = h*h + h" --at w=0.3,x=2,b=-1
  backproof crosscheck @examples/staged.txt --points 100     # the given point + 99 around it
  backproof crosscheck "y = log(x)*sin(x)" --points 50        # 50 points in the box [-2, 2]
  backproof crosscheck "y = relu(w*x)" --at w=1,x=0           # "not differentiable" at the kink
  backproof crosscheck @net.yaml --format json                # a network spec (backproof.nn)

exit status: 0 all agree, 1 a gradient disagrees (named on stderr), 2 bad input.
"not differentiable" (at a kink) and "inconclusive" (finite differences cannot resolve
this scale, while symbolic and engine agree) are not failures: exit status 0.
"""


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``crosscheck`` subcommand."""
    p = subparsers.add_parser(
        "crosscheck",
        help="check every gradient: symbolic vs NumPy engine vs finite differences",
        description=("Compute every gradient three independent ways - the symbolic chain "
                     "rule (exact), the NumPy engine, and central finite differences - and "
                     "compare them, with relative errors and a verdict per gradient."),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("program", metavar="PROGRAM",
                   help='program text, "-" for stdin, or @path (a .yaml/.yml/.json/.toml '
                        'path is a network spec), e.g. "y = (a+b)*(b-c)" or @model.txt')
    p.add_argument("--at", metavar="VALUES", default=None,
                   help="the point, e.g. --at a=2,b=1,c=0 (default: random points in "
                        "[-2, 2]; with a network spec, overrides its values)")
    p.add_argument("--of", metavar="NAME", default=None,
                   help="the output to differentiate, e.g. --of e (default: the last name)")
    p.add_argument("--wrt", metavar="NAMES", default=None,
                   help="names to check, comma-separated, e.g. --wrt a,b (default: every "
                        "input and intermediate)")
    p.add_argument("--points", metavar="N", type=int, default=1,
                   help="number of points: the given one plus N-1 random points around it, "
                        "e.g. --points 100 (default: 1)")
    p.add_argument("--seed", metavar="S", type=int, default=0,
                   help="seed of the random points, e.g. --seed 7 (default: 0)")
    # Tolerance defaults (None) are fdiff's, read when the command runs: registering a
    # command imports nothing heavier than argparse, so --help needs no NumPy (issue 13).
    p.add_argument("--rtol", metavar="R", type=float, default=None,
                   help="relative tolerance of the finite differences, e.g. --rtol 1e-4 "
                        "(default: 1e-3)")
    p.add_argument("--atol", metavar="A", type=float, default=None,
                   help="absolute tolerance of the finite differences, e.g. --atol 1e-6 "
                        "(default: 1e-5)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format, e.g. --format json (default: text)")
    add_tie_argument(p)
    p.set_defaults(func=run)
    return p


def _load(program_arg: str, at_arg: str | None):
    """(program, at) from the PROGRAM argument: text, stdin, a file, or a network spec."""
    from ..io import read_source
    if program_arg.startswith("@") and program_arg.lower().endswith(SPEC_SUFFIXES):
        try:
            from ..nn import program_from_spec_file
        except ImportError:
            raise ProgramError(f"{program_arg}: network specs need backproof.nn, which this "
                               f"installation lacks (pass the program as text instead)") from None
        spec = program_from_spec_file(program_arg[1:])
        at = dict(spec.at or {})
        if at_arg:
            from ..parse import parse_values
            at.update(parse_values(at_arg))
        return spec.program, at or None
    text, _origin = read_source(program_arg)
    if not text.strip():
        raise ProgramError(f"{program_arg}: the program is empty")
    return text, at_arg


def _number(x: float, digits: int = 10) -> str:
    """A table cell: ten significant figures (the columns are compared digit by digit), — when not finite."""
    from ..printing import format_number
    return format_number(x, digits) if math.isfinite(x) else "—"


def _relative(x: float) -> str:
    """A relative error as an order of magnitude (``3.1e-11``); 0 exactly when the values are equal."""
    return "—" if not math.isfinite(x) else ("0" if x == 0 else f"{x:.1e}")


_VERDICT_STYLES = {"agree": "good", "disagree": "bad"}


def crosscheck_document(cc, *, where: str = ""):
    """The cross-check as a document: a table of every gradient three ways, notes, the summary.

    Examples
    --------
    >>> from backproof.threeway import crosscheck
    >>> doc = crosscheck_document(crosscheck("y = a*b", at="a=2,b=3"))
    >>> doc.title, len(doc.blocks[0].rows)
    ('Cross-check of ∂y/∂·', 2)
    """
    import sympy as sp

    from ..report.document import Bullets, Document, Math, Paragraph, Table, Text
    from ..report.notation import Grad

    out = sp.Symbol(cc.output)
    header = tuple((Text(h),) for h in ("gradient", "symbolic", "engine", "finite difference", "rel. engine",
                                        "rel. f.d.", "verdict"))
    rows, notes = [], []
    for r in cc.rows:
        grad = Math((Grad(out, sp.Symbol(r.name)),))
        rows.append(((grad,), (Text(_number(r.symbolic)),), (Text(_number(r.engine)),),
                     (Text(_number(r.numeric)),), (Text(_relative(r.rel_engine)),),
                     (Text(_relative(r.rel_numeric)),), (Text(r.verdict, _VERDICT_STYLES.get(r.verdict, "")),)))
        if r.note:
            notes.append((grad, Text(f": {r.note}")))
        if r.point is not None and r.verdict != "agree":
            pt = ", ".join(f"{k} = {_number(v)}" for k, v in r.point.items())
            notes.append((grad, Text(f": worst at {pt}")))
    blocks: list = [Table(header, tuple(rows))]
    if notes:
        blocks.append(Bullets(tuple(notes)))
    blocks.append(Paragraph((Text(cc.summary),)))
    return Document(f"Cross-check of ∂{cc.output}/∂·{where}", tuple(blocks))


def render_text(cc, *, where: str = "", terminal: bool = False) -> str:
    """The cross-check as text (coloured verdicts on a terminal).

    Examples
    --------
    >>> from backproof.threeway import crosscheck
    >>> print(render_text(crosscheck("y = a*b", at="a=2,b=3")))  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    backproof — cross-check of ∂y/∂·
      gradient  symbolic  engine  finite difference  rel. engine  rel. f.d.  verdict
      ∂y/∂a     3         3       3                  0            ...        agree
      ∂y/∂b     2         2       2                  0            ...        agree
      2 gradients × 1 point: all agree (engine ≤ 0, finite differences ≤ ...)
    <BLANKLINE>
    """
    from ..report.text import print_text
    return print_text(crosscheck_document(cc, where=where), color=terminal)


def _where(cc, at) -> str:
    if isinstance(at, str):
        given = " at " + ", ".join(part.strip().replace("=", " = ") for part in at.split(","))
    elif at:
        given = " at " + ", ".join(f"{k} = {v}" for k, v in at.items())
    else:
        given = ""
    if cc.points > 1:
        return (f"{given} and {cc.points - 1} random points around it (worst point per row)"
                if at else f" at {cc.points} random points (worst point per row)")
    if not at and cc.rows and cc.rows[0].point:
        return " at the random point " + ", ".join(f"{k} = {_number(v)}" for k, v in cc.rows[0].point.items())
    return given


def _check_arguments(args) -> tuple[float, float]:
    """Numeric options, refused before any work: the point count and finite tolerances.

    Returns the (rtol, atol) to use: the given ones, or fdiff's defaults.
    """
    from .. import fdiff
    from ..limits import check
    check("points", args.points, "--points")  # 10,000,000 points once took 2.9 GiB
    rtol = fdiff.RTOL if args.rtol is None else args.rtol
    atol = fdiff.ATOL if args.atol is None else args.atol
    for flag, value in (("--rtol", rtol), ("--atol", atol)):
        if not (math.isfinite(value) and value >= 0):
            raise ProgramError(f"{flag} must be a finite number ≥ 0, got {value!r}")
    return rtol, atol


def run(args) -> int:
    """Run the cross-check; 0 all agree, 1 a gradient disagrees."""
    from ..printing import to_json_text
    from ..threeway import crosscheck
    rtol, atol = _check_arguments(args)
    program, at = _load(args.program, args.at)
    cc = crosscheck(program, at, of=args.of, wrt=args.wrt, points=args.points, seed=args.seed,
                    rtol=rtol, atol=atol)
    if args.format == "json":
        sys.stdout.write(to_json_text(cc.to_dict()))
    else:
        sys.stdout.write(render_text(cc, where=_where(cc, at), terminal=sys.stdout.isatty()))
    for r in cc.failures:
        where = ""
        if r.point is not None:
            where = " at " + ", ".join(f"{k}={v!r}" for k, v in r.point.items())
        print(f"backproof: cross-check failed: ∂{cc.output}/∂{r.name} disagrees{where}: "
              f"symbolic {r.symbolic!r}, engine {r.engine!r}, finite difference {r.numeric!r}",
              file=sys.stderr)
    return 0 if cc.ok else 1

"""``backproof check``: verdicts on a student's answers, the first wrong step explained."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import BackproofError, quote
from ..io import write_atomic
from .graph import add_tie_argument

__all__ = ["register", "run"]

EPILOG = """examples:
  backproof check my-homework.yaml
  backproof check - < my-homework.yaml                        # the answer file from standard input
  backproof check "d = a + b; e = b - c; y = d*e" --at a=2,b=1,c=0 --answer "dy/db=3" --answer "dy/da=1"
  backproof check @examples/seed_two_layer.txt --at x=1,y=5,w1=2,b1=0,w2=3,b2=1 --learning-rate 0.1 \\
      --answer "delta_a2=2" --answer "da2/da1 = w2" --answer "w1_new=1.4"
  backproof check examples/mazur.yaml --answer "E_total=0.298371109" --answer "dE_total/dw5=0.082167041"
  backproof check my-homework.yaml --format md -o feedback.md
  backproof check my-homework.json --format html -o feedback.html
  backproof check my-homework.yaml -o feedback.tex            # a LaTeX article for pdflatex
  backproof check examples/homework/seed.yaml --format json
  backproof check ada.yaml --key key.yaml        # a bare submission (answers only) against the key

With --answer, the first argument is the program (text, - for standard input, @path for a file)
or a network spec (.yaml, .json, .toml: its weights, inputs and targets give the point);
without, it is an answer file (- for standard input).

exit status: 0 every answer correct, 1 some answer is not, 2 the file is invalid.
The answer-file format is described in docs/homework.md.
"""

FORMATS = ("text", "md", "tex", "html", "json")


def register(sub) -> None:
    p = sub.add_parser("check", help="check a student's answers and explain the first wrong step",
                       description="Check every number (or expression) in an answer file against the "
                                   "derivation, tell new mistakes from ones carried forward, and name the "
                                   "likely mistake.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE|PROGRAM",
                   help="the answer file (.yaml, .json or .toml; - for standard input), e.g. my-homework.yaml; "
                        "with --answer, the program instead (text, - or @path), e.g. \"y = (a+b)*(b-c)\", or a network "
                        "spec, e.g. examples/mazur.yaml")
    p.add_argument("--answer", action="append", metavar="QUANTITY=VALUE", default=None,
                   help="one answer, checked against PROGRAM (repeat for more): a number or a formula, "
                        "e.g. --answer \"dy/db=3\" --answer \"dy/dd=b - c\"")
    p.add_argument("--at", metavar="NAME=VALUE[,...]", default=None,
                   help="with --answer: values of the inputs, e.g. --at a=2,b=1,c=0")
    p.add_argument("--learning-rate", metavar="ETA", default=None,
                   help="with --answer: η for updated weights (w_new), e.g. --learning-rate 0.1")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="report format (default: from the -o extension, else text): text, md (GitHub "
                        "Markdown), tex (a LaTeX article for pdflatex), html (one self-contained page), "
                        "json; e.g. --format md")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the report to FILE (atomically; - for standard output) instead of standard "
                        "output, e.g. -o feedback.html")
    p.add_argument("--key", metavar="KEY", default=None,
                   help="check FILE, a submission with answers only (as handed in for `grade`), against "
                        "KEY's problem, tolerances and points, e.g. --key key.yaml")
    p.add_argument("--carried-credit", type=float, default=None, metavar="X",
                   help="points for an answer that is wrong only because an earlier one was "
                        "(default 1: full follow-through credit; with --key, the key's), e.g. --carried-credit 0.5")
    add_tie_argument(p)
    p.set_defaults(func=run)


def format_for(output: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(output).suffix.lower() if output else ""
    return {".md": "md", ".markdown": "md", ".tex": "tex", ".html": "html", ".htm": "html",
            ".json": "json"}.get(suffix, "text")


def _load(args):
    """The check to run: an answer file, or (with --answer) a program and one-line answers."""
    from ..check.answers import command_line_check, command_line_network_check, load_check
    from ..io import read_source
    if args.answer is None:
        if _looks_like_program(args.file):
            raise BackproofError(f"{quote(args.file)} is program text, not an answer file: give the answers "
                                 f"with --answer, e.g. --answer \"dy/db=3\"")
        given = {flag: field for flag, field, v in (("--at", "problem.at", args.at),
                                                     ("--learning-rate", "problem.learning_rate",
                                                      args.learning_rate)) if v is not None}
        if given:
            one = len(given) == 1
            raise BackproofError(f"{' and '.join(given)} go{'es' if one else ''} with --answer (a one-line "
                                 f"check); an answer file gives {'it' if one else 'them'} as "
                                 f"{' and '.join(given.values())}")
        return load_check(args.file)
    if args.file.lower().endswith(_FILE_SUFFIXES):  # a file name, never an assignment
        # A network spec, checked on one line: its weights, inputs and targets give the point.
        return command_line_network_check(args.file.removeprefix("@"), args.at, args.answer, args.learning_rate)
    text, _ = read_source(args.file)
    return command_line_check(text, args.at, args.answer, args.learning_rate)


#: Answer files and network specs: never program text.
_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


def _looks_like_program(arg: str) -> bool:
    """Program text given where an answer file was expected: an assignment that names no file."""
    return "=" in arg and arg != "-" and not arg.startswith("@") and len(arg) < 4096 \
        and not arg.lower().endswith(_FILE_SUFFIXES) and not Path(arg).exists()


def _against_key(args):
    """``check FILE --key KEY``: the bare submission FILE checked against the key's problem."""
    from ..check.answers import AnswerFileError
    from ..check.grade import check_against_key, load_key

    try:
        key = load_key(args.key)
    except AnswerFileError as exc:
        raise AnswerFileError([f"key: {line}" for line in exc.problems]) from None
    for problem in key.key_problems:
        print(f"backproof: warning: {problem}", file=sys.stderr)
    return check_against_key(key, args.file, carried_credit=args.carried_credit)


def _credit(args) -> float:
    return 1.0 if args.carried_credit is None else args.carried_credit


def run(args) -> int:
    from ..check import report
    from ..check.answers import AnswerFileError
    from ..check.diagnose import check

    if args.carried_credit is not None and not 0 <= args.carried_credit <= 1:
        raise BackproofError(f"--carried-credit must be between 0 and 1, got {args.carried_credit}")
    try:
        if args.key and args.answer is not None:
            raise BackproofError("--key checks a submission file against a grading key; --answer checks "
                                 "a program given on the command line: use one or the other")
        result = _against_key(args) if args.key else check(_load(args), carried_credit=_credit(args))
    except AnswerFileError as exc:
        for line in exc.problems:
            print(f"backproof: error: {line}", file=sys.stderr)
        return 2
    fmt = format_for(args.output, args.format)
    printers = {"json": report.render_json, "md": report.render_markdown, "tex": report.render_latex,
                "html": report.render_html}
    if fmt in printers:
        text = printers[fmt](result)
    else:
        text = report.render_text(result, color=args.output is None and sys.stdout.isatty())
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0 if result.all_correct else 1

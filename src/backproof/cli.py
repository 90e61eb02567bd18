"""The command-line interface: ``main(argv) -> int``, one subcommand per module.

Each subcommand lives in :mod:`backproof.commands` and exposes ``register(subparsers)``
which adds its parser and sets ``func(args) -> int``. Every
:class:`~backproof.errors.BackproofError` becomes one line on stderr (plus a caret
under the source line for parse errors) and exit status 2, never a traceback. Any other
exception is a bug in backproof: one line ``backproof: internal error: ...`` and exit
status 3 (``--debug`` prints the traceback too). Ctrl-C is one line and exit status 130.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from importlib import import_module

from . import __version__, limits
from .errors import BackproofError, ParseError, quote
from .io import is_stdout

__all__ = ["main", "build_parser", "COMMANDS"]

#: A quoted value, or an unquoted word, in an argparse message longer than a message may echo.
_LONG_QUOTED = re.compile(r"'([^'\n]{79,})'|\"([^\"\n]{79,})\"")
_LONG_WORD = re.compile(r"[^\s'\"]{79,}")
#: Longest argparse message kept (``unrecognized arguments:`` lists every one).
_MAX_USAGE_MESSAGE = 400

#: Subcommand modules under ``backproof.commands``, in the order ``--help`` lists them.
COMMANDS = ("explain", "graph", "crosscheck", "net", "check", "grade", "assign")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit status 2."""

    def error(self, message):
        # argparse quotes the offending value whole; cut a long one like every other message.
        message = _cut_quoted(message)
        message = _LONG_WORD.sub(lambda m: quote(m.group(0)), message)
        if len(message) > _MAX_USAGE_MESSAGE:
            message = message[: _MAX_USAGE_MESSAGE - 1] + "…"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand."""
    parser = _Parser(
        prog="backproof",
        description="Backpropagation one chain-rule step at a time, with every step proved.",
        epilog='example: backproof explain "d = a + b; e = b - c; y = d*e" --at a=2,b=1,c=0',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"backproof {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an internal error, print the Python traceback too (for bug reports), "
                             "e.g. backproof --debug explain ...")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        import_module(f"backproof.commands.{name}").register(sub)
    for p in sub.choices.values():
        # Also accepted after the subcommand; SUPPRESS keeps a --debug given before it.
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="on an internal error, print the Python traceback too")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 check failed, 2 bad input, 3 internal error).

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "y.json")
    >>> main(["explain", "y = 2*x", "--at", "x=3", "--format", "json", "-o", out])
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("backproof: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except Exception as exc:
        if _wants_debug(argv):
            traceback.print_exc(file=sys.stderr)
        print(f"backproof: internal error: {type(exc).__name__}: {quote(str(exc))} "
              f"(run with --debug for the traceback)", file=sys.stderr)
        return 3


def _run(argv: list[str]) -> int:
    try:
        limits.check("cli_arguments", len(argv), "the command line")
    except BackproofError as exc:
        print(f"backproof: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: a status, not an exit
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    if is_stdout(getattr(args, "output", None)):
        args.output = None  # -o - : standard output, exactly as without -o
    try:
        return _call(args)
    except ParseError as exc:
        print(f"backproof: error: {_cut_quoted(str(exc))}", file=sys.stderr)
        caret = exc.caret()
        if caret:
            print(caret, file=sys.stderr)
        return 2
    except BackproofError as exc:
        print(f"backproof: error: {_cut_quoted(str(exc))}", file=sys.stderr)
        return 2


def _call(args: argparse.Namespace) -> int:
    """Run the command, under its --tie convention for max/min where it has one."""
    tie = getattr(args, "tie", None)
    if tie is None:
        return int(args.func(args) or 0)
    from .ops import tie_convention  # NumPy: only for the commands that derive
    with tie_convention(tie):
        return int(args.func(args) or 0)


def _cut_quoted(message: str) -> str:
    """``message`` with every quoted value longer than a message may quote cut by :func:`quote`.

    The last line of defence: messages quote user values with ``quote``, but one written
    with ``!r`` would otherwise echo a 3000-character name whole.

    Examples
    --------
    >>> _cut_quoted("unknown output 'y' for --of")
    "unknown output 'y' for --of"
    >>> len(_cut_quoted("unknown output '" + "a" * 3000 + "' for --of")) < 150
    True
    """
    return _LONG_QUOTED.sub(lambda m: quote(m.group(1) if m.group(1) is not None else m.group(2)), message)


def _wants_debug(argv: list[str]) -> bool:
    # Read from argv, not from parsed args: the error may come before or during parsing.
    # Options after "--" are operands, never --debug.
    head = argv[: argv.index("--")] if "--" in argv else argv
    return "--debug" in head


def _quiet_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush stays quiet."""
    out = sys.stdout
    if out is not sys.__stdout__ or out is None:  # captured or replaced (tests, embedding): leave it
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests)
        pass

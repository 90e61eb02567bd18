"""The command-line interface: ``main(argv) -> int``, one subcommand per module.

Each subcommand lives in :mod:`backproof.commands` and exposes ``register(subparsers)``
which adds its parser and sets ``func(args) -> int``. Every
:class:`~backproof.errors.BackproofError` becomes one line on stderr (plus a caret
under the source line for parse errors) and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from . import __version__
from .errors import BackproofError, ParseError

__all__ = ["main", "build_parser", "COMMANDS"]

#: Subcommand modules under ``backproof.commands``, in the order ``--help`` lists them.
COMMANDS = ("explain", "graph", "crosscheck", "net", "check", "grade")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        import_module(f"backproof.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 check failed, 2 bad input).

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "y.json")
    >>> main(["explain", "y = 2*x", "--at", "x=3", "--format", "json", "-o", out])
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: a status, not an exit
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except ParseError as exc:
        print(f"backproof: error: {exc}", file=sys.stderr)
        caret = exc.caret()
        if caret:
            print(caret, file=sys.stderr)
        return 2
    except BackproofError as exc:
        print(f"backproof: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backproof: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0

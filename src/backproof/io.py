"""The one small I/O layer: reading program sources and writing files atomically.

Builders elsewhere return strings or bytes; only this module touches the file system,
so a failure can never leave a half-written output file behind.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .errors import BackproofError

__all__ = ["read_source", "read_text_file", "write_atomic"]


def read_source(arg: str, *, stdin=None) -> tuple[str, str]:
    """Resolve a PROGRAM argument: the text itself, ``-`` for stdin, ``@path`` for a file.

    Returns
    -------
    (text, origin)
        The program text and a description of where it came from.

    Examples
    --------
    >>> read_source("y = a*b")
    ('y = a*b', 'the command line')
    """
    if arg == "-":
        stream = stdin if stdin is not None else sys.stdin
        return stream.read(), "standard input"
    if arg.startswith("@"):
        return read_text_file(arg[1:], what="a program file"), arg[1:]
    return arg, "the command line"


def read_text_file(path: str | os.PathLike, *, what: str = "a text file",
                   error: type[BackproofError] = BackproofError) -> str:
    """Read a UTF-8 file (a byte-order mark is dropped); every failure is one ``error`` line.

    Examples
    --------
    >>> read_text_file("/nonexistent")
    Traceback (most recent call last):
    ...
    backproof.errors.BackproofError: /nonexistent: file not found
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise error(f"{p}: file not found") from None
    except IsADirectoryError:
        raise error(f"{p}: is a directory, expected {what}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 text (byte {exc.start})") from None


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The parent folder is created. Readers never see a partial file, and a failure
    leaves no file behind.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> write_atomic(pathlib.Path(d, "sub", "x.txt"), "hi").read_text()
    'hi'
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackproofError(f"cannot create folder {path.parent}: {exc.strerror}") from None
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path

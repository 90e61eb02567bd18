"""The one small I/O layer: reading program sources and writing output files safely.

Builders elsewhere return strings or bytes; only this module touches the file system.

Writing follows four rules, so that ``-o PATH`` can never destroy what is at PATH:

* a **regular file** or a **new path** is replaced atomically: the data goes to a
  temporary file in the same folder, which is renamed over the target only when it is
  complete. A new file gets the mode ``0666 & ~umask`` (the kernel applies the umask
  when the temporary file is created); an existing file keeps its permission bits.
* a **device, FIFO or socket** is written through: opened for writing, never replaced,
  unlinked or chmod-ed (``-o /dev/null`` stays a device); ``-`` is standard output.
* a **symbolic link** is followed: its final target is written with the same rules and
  the link itself stays a link (a dangling link's target is created; its folder is not).
  A link naming one of this process's open descriptors (``/dev/stdout``, ``/dev/fd/3``)
  writes to that descriptor, as a shell redirection would.
* a **group** of outputs (a Markdown report with its SVG diagram, ``net``'s plots) is
  published all or none (:func:`write_group`, :class:`OutputGroup`): every member is
  written to a temporary file first, and renamed into place only when all succeeded.

Every ``OSError`` becomes one :class:`~backproof.errors.BackproofError` line naming the
path and the reason (permission denied, read-only file system, is a directory, ...).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import limits
from .errors import BackproofError, LimitError, quote

__all__ = ["OutputGroup", "is_special_file", "is_stdout", "output_error", "read_source", "read_stdin",
           "read_text_file", "write_atomic", "write_group"]

#: The ``-o`` value meaning standard output.
STDOUT = "-"

# Reasons shown for the errors a user can meet when writing; anything else shows strerror.
_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "is a directory (give a file name, e.g. out/report.md)",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOTDIR: "a parent of the path is a file, not a folder",
    errno.EEXIST: "a parent of the path is a file, not a folder",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENXIO: "cannot be opened for writing (a socket, or a FIFO with no reader)",
    errno.EPIPE: "the reader closed the pipe",
    errno.EFBIG: "file too large",
    errno.EIO: "input/output error",
}


def output_error(path: str | os.PathLike, exc: OSError, action: str = "cannot write") -> BackproofError:
    """One-line :class:`~backproof.errors.BackproofError` for an ``OSError`` on ``path``.

    Any module that writes a file should let :func:`write_atomic` or :func:`write_group`
    do it; this is for the rare caller that must open a path itself.

    Examples
    --------
    >>> import errno
    >>> str(output_error("out/r.md", OSError(errno.EROFS, "Read-only file system")))
    "cannot write 'out/r.md': read-only file system"
    """
    reason = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc) or type(exc).__name__).lower()
    return BackproofError(f"{action} {quote(os.fspath(path))}: {reason}")


def is_special_file(path) -> bool:
    """Whether ``path`` (links followed) is a device, FIFO or socket, which is written through.

    A command whose main output is special writes no side file beside it (no
    ``/dev/null.svg`` next to ``-o /dev/null``).

    Examples
    --------
    >>> is_special_file("/nonexistent/x.md")
    False
    """
    if path is None or is_stdout(path):
        return False
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def is_stdout(path) -> bool:
    """Whether an ``-o`` value means standard output (the string ``-``; a ``Path`` never does).

    Examples
    --------
    >>> is_stdout("-"), is_stdout("out.md"), is_stdout(None)
    (True, False, False)
    """
    return isinstance(path, str) and path == STDOUT


# --- reading ---------------------------------------------------------------------------------------

def read_stdin(stream=None, *, what: str = "standard input") -> str:
    """Read standard input (or ``stream``) as text, at most the ``input_bytes`` limit.

    Examples
    --------
    >>> import io
    >>> read_stdin(io.StringIO("y = a"))
    'y = a'
    """
    stream = stream if stream is not None else sys.stdin
    cap = int(limits.value("input_bytes"))
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        data = raw.read(cap + 1)
        _check_read_size(len(data), what, more=True)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BackproofError(f"{what}: not UTF-8 text (byte {exc.start})") from None
    text = stream.read(cap + 1)
    # Characters never outnumber UTF-8 bytes, so cap + 1 characters already prove "too big".
    _check_read_size(max(len(text), len(text.encode("utf-8", "surrogatepass"))), what, more=True)
    return text


def _check_read_size(size: int, where: str, *, more: bool) -> None:
    cap = limits.value("input_bytes")
    if size > cap:
        lim = limits.LIMITS["input_bytes"]
        amount = f"more than {cap}" if more else str(size)
        raise LimitError("input_bytes", f"{where}: {amount} {lim.unit} is over the limit input_bytes = "
                                        f"{lim.value} {lim.unit} ({lim.what})")


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
        return read_stdin(stdin), "standard input"
    if arg.startswith("@"):
        return read_text_file(arg[1:], what="a program file"), arg[1:]
    return arg, "the command line"


def read_text_file(path: str | os.PathLike, *, what: str = "a text file",
                   error: type[BackproofError] = BackproofError) -> str:
    """Read a UTF-8 file (a byte-order mark is dropped); every failure is one ``error`` line.

    At most the ``input_bytes`` limit is read: a larger regular file is refused from its
    size before reading, and a stream (a FIFO, ``/dev/stdin``, ``/dev/zero``) after
    ``limit + 1`` bytes, so memory stays bounded. Folders, block devices and sockets are
    refused.

    Examples
    --------
    >>> read_text_file("/nonexistent")
    Traceback (most recent call last):
    ...
    backproof.errors.BackproofError: /nonexistent: file not found
    """
    p = Path(path)
    cap = int(limits.value("input_bytes"))
    # The name as typed, or quoted and cut when long: a message never echoes a whole value.
    shown = str(p) if len(str(p)) <= int(limits.value("message_quote")) else quote(str(p))
    if "\0" in str(p):
        raise error(f"{shown}: not a valid file name (it contains a NUL byte)")

    def refuse_kind(mode: int) -> None:
        if stat.S_ISDIR(mode):
            raise error(f"{shown}: is a directory, expected {what}")
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            raise error(f"{shown}: is a {_kind_name(mode)}, expected {what} (a regular file, a pipe "
                        f"or standard input)")

    try:
        refuse_kind(os.stat(p).st_mode)   # before open: a socket cannot even be opened
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{shown}: file not found") from None
    except OSError as exc:
        raise error(f"{shown}: cannot read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)   # what was opened, which may differ from what was stat-ed
        refuse_kind(st.st_mode)
        if stat.S_ISREG(st.st_mode):
            _check_read_size(st.st_size, shown, more=False)
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            data = fh.read(cap + 1)
    except OSError as exc:
        raise error(f"{shown}: cannot read ({exc.strerror})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    _check_read_size(len(data), shown, more=True)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{shown}: not UTF-8 text (byte {exc.start})") from None


def _kind_name(mode: int) -> str:
    for test, name in ((stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "symbolic link")):
        if test(mode):
            return name
    return "special file"


# --- writing ---------------------------------------------------------------------------------------

@dataclass
class _Member:
    """One planned output: where the data finally goes and how."""

    shown: str            # the path as the user gave it (for messages)
    target: Path          # the file actually written (a symlink's final target)
    data: bytes
    through: bool         # write through (device, FIFO, socket) instead of replacing
    mode: int | None      # permission bits to keep (existing regular file), None for a new file
    owner: tuple[int, int] | None
    tmp: Path | None = None
    fd: int | None = None  # an open descriptor of this process to write to (/dev/stdout, /dev/fd/N)


def _encode(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")


def _plan(path: str | os.PathLike, data: str | bytes, made: list[Path]) -> _Member:
    """Classify what is at ``path`` and create missing folders (recorded in ``made``)."""
    shown = os.fspath(path)
    if "\0" in shown:  # os.lstat would raise ValueError, which is not bad input's one line
        raise BackproofError(f"cannot write {quote(shown)}: a file name cannot contain a NUL byte")
    target = Path(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise output_error(shown, exc) from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        fd = _own_descriptor(shown)
        if fd is not None:
            # /dev/stdout, /dev/fd/N: write to the open descriptor itself, as the shell would,
            # so `-o /dev/stdout >> log` appends instead of replacing or overwriting the log.
            return _Member(shown, target, _encode(data), through=True, mode=None, owner=None, fd=fd)
        # Follow the link to its final target; the link itself is never replaced.
        target = Path(os.path.realpath(target))
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            st = None
            if not os.path.isdir(target.parent):
                raise BackproofError(f"cannot write {quote(shown)}: it is a symbolic link to "
                                     f"{quote(str(target))}, whose folder does not exist") from None
        except OSError as exc:
            raise output_error(shown, exc) from None
        if st is not None and stat.S_ISLNK(st.st_mode):  # realpath gave up: a loop
            raise output_error(shown, OSError(errno.ELOOP, "loop"))
    if st is None:
        _make_parents(target.parent, shown, made)
        return _Member(shown, target, _encode(data), through=False, mode=None, owner=None)
    if stat.S_ISDIR(st.st_mode):
        raise output_error(shown, IsADirectoryError(errno.EISDIR, "is a directory"))
    if stat.S_ISREG(st.st_mode):
        return _Member(shown, target, _encode(data), through=False, mode=stat.S_IMODE(st.st_mode) & 0o777,
                       owner=(st.st_uid, st.st_gid))
    if stat.S_ISSOCK(st.st_mode):
        raise BackproofError(f"cannot write {quote(shown)}: it is a socket, not a file")
    return _Member(shown, target, _encode(data), through=True, mode=None, owner=None)


# A link naming one of this process's open descriptors.
_FD_LINK = re.compile(r"/(?:proc/(self|thread-self|\d+)|dev)/fd/(\d+)|/dev/std(out|err)")


def _own_descriptor(path: str) -> int | None:
    """The descriptor that ``path`` names through a chain of links (``/dev/stdout`` -> 1), if any."""
    p = os.path.abspath(path)
    for _ in range(40):
        m = _FD_LINK.fullmatch(p)
        if m and m.group(3):
            return 1 if m.group(3) == "out" else 2
        if m and m.group(1) in (None, "self", "thread-self", str(os.getpid())):
            return int(m.group(2))
        try:
            link = os.readlink(p)
        except OSError:   # not a link any more: an ordinary path
            return None
        p = os.path.normpath(os.path.join(os.path.dirname(p), link))
    return None


def _make_parents(folder: Path, shown: str, made: list[Path]) -> None:
    missing = []
    p = folder
    while not os.path.exists(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            if not os.path.isdir(d):
                raise output_error(shown, OSError(errno.ENOTDIR, "not a directory")) from None
            continue  # made meanwhile by someone else: not ours to remove
        except OSError as exc:
            raise output_error(shown, exc) from None
        made.append(d)
    if not os.path.isdir(folder):
        raise output_error(shown, OSError(errno.ENOTDIR, "not a directory"))


def _stage(m: _Member) -> None:
    """Write ``m.data`` to a new temporary file beside ``m.target``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = m.target.with_name(f".{m.target.name[:200]}.{secrets.token_hex(4)}.tmp")
        try:
            # Mode 0666: the kernel applies the umask (and a folder's default ACL), which
            # is exactly what a new file written by any other program would get.
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise output_error(m.shown, exc) from None
    else:  # pragma: no cover - 100 random names all taken
        raise output_error(m.shown, OSError(errno.EEXIST, "no free temporary name"))
    m.tmp = tmp
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(m.data)
            fh.flush()
            if m.mode is not None:
                os.fchmod(fh.fileno(), m.mode)
                if m.owner is not None and hasattr(os, "fchown") and os.geteuid() == 0:
                    # root replacing someone's file: the new file stays theirs (best effort).
                    try:
                        os.fchown(fh.fileno(), *m.owner)
                    except OSError:
                        pass
    except OSError as exc:
        raise output_error(m.shown, exc) from None


def _write_through(m: _Member) -> None:
    if m.fd is not None:
        for stream in (sys.stdout, sys.stderr):   # keep what was printed before in order
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        try:
            view = memoryview(m.data)
            while view:
                view = view[os.write(m.fd, view):]
        except OSError as exc:
            raise output_error(m.shown, exc) from None
        return
    try:
        fd = os.open(m.target, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise output_error(m.shown, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(m.data)
    except OSError as exc:
        raise output_error(m.shown, exc) from None


def _discard(members: list[_Member], made: list[Path]) -> None:
    for m in members:
        if m.tmp is not None:
            try:
                os.unlink(m.tmp)
            except OSError:
                pass
            m.tmp = None
    for d in reversed(made):   # folders this run created, deepest first, if still empty
        try:
            d.rmdir()
        except OSError:
            pass


def write_group(files: Mapping[str | os.PathLike, str | bytes]) -> list[Path]:
    """Write several outputs all or none; return their paths in the order given.

    Every regular or new member is first written to a temporary file beside it; only
    when all of them are complete are they renamed into place (devices and FIFOs are
    written through just before). On any failure the temporary files and the folders
    this call created are removed, and every file that existed before is untouched.
    ``-`` as a path means standard output, written last.

    Parameters
    ----------
    files : mapping of path to str or bytes
        Text is written as UTF-8.

    Raises
    ------
    BackproofError
        One line naming the path and the reason, for any failure to write.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in write_group({d / "r.md": "# r", d / "r.svg": b"<svg/>"})]
    ['r.md', 'r.svg']
    """
    made: list[Path] = []
    members: list[_Member] = []
    out: list[Path] = []
    to_stdout: list[str | bytes] = []
    try:
        for path, data in files.items():
            if is_stdout(path):
                to_stdout.append(data)
                out.append(Path(STDOUT))
                continue
            m = _plan(path, data, made)
            members.append(m)
            out.append(Path(path))
        for m in members:
            if not m.through:
                _stage(m)
        for m in members:
            if m.through:
                _write_through(m)
        for m in members:
            if not m.through:
                assert m.tmp is not None   # staged above
                try:
                    os.replace(m.tmp, m.target)
                except OSError as exc:
                    raise output_error(m.shown, exc) from None
                m.tmp = None
    except BaseException:
        _discard(members, made)
        raise
    for data in to_stdout:
        _write_stdout(data)
    return out


def _write_stdout(data: str | bytes) -> None:
    if isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data)


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` safely: replace a regular file atomically, never a device.

    The parent folder is created. A regular file or new path is written through a
    temporary file and a rename (readers never see a partial file, a failure leaves no
    file behind, an existing file keeps its mode, a new one gets ``0666 & ~umask``); a
    device or FIFO is written through; a symbolic link is followed; ``-`` is standard
    output. Every failure is one :class:`~backproof.errors.BackproofError` line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> write_atomic(pathlib.Path(d, "sub", "x.txt"), "hi").read_text()
    'hi'
    """
    return write_group({path: data})[0]


class OutputGroup:
    """Collect outputs, then publish them all or none when the ``with`` block succeeds.

    Nothing touches the disk until the block ends without an exception; then the group
    is written with :func:`write_group`. If the block raises, nothing is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with OutputGroup() as out:
    ...     out.add(d / "a.txt", "A")
    ...     out.add(d / "b.txt", "B")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt', 'b.txt']
    """

    def __init__(self) -> None:
        self.files: dict[str | os.PathLike, str | bytes] = {}
        self.written: list[Path] = []

    def add(self, path: str | os.PathLike, data: str | bytes) -> None:
        """Add one member; a second ``add`` of the same path replaces the first."""
        self.files[path] = data

    def __enter__(self) -> OutputGroup:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self.files:
            self.written = write_group(self.files)

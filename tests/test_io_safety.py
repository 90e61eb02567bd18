"""Output files are never destroyed, input reads are bounded, and every failure is one line.

Everything here happens inside ``tmp_path``: devices are stood in for by FIFOs (read by a
thread) or by a regular file that a monkeypatched ``os.lstat``/``os.stat`` reports as a
character device; full disks, read-only file systems and permission errors are
simulated by monkeypatching ``os.open`` / ``os.fdopen`` (root ignores permission bits).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from backproof import io as bio
from backproof import limits
from backproof.cli import main
from backproof.errors import BackproofError, LimitError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MAZUR = str(EXAMPLES / "mazur.yaml")
PROGRAM = ["explain", "d = a + b; e = b - c; y = d*e", "--at", "a=2,b=1,c=0"]
# Guards a FIFO reader thread against a hang only; never a timing assertion.
SAFETY_TIMEOUT = 60


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


class FifoReader:
    """Read everything written to a FIFO in a thread (a stand-in for /dev/null or a pipe)."""

    def __init__(self, path: Path):
        self.path, self.data = path, b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        with open(self.path, "rb") as fh:
            self.data = fh.read()

    def result(self) -> bytes:
        self.thread.join(SAFETY_TIMEOUT)
        assert not self.thread.is_alive(), "the FIFO reader never saw its writer close"
        return self.data


def fake_device(monkeypatch, path: Path, kind=stat.S_IFCHR):
    """Make ``os.lstat``/``os.stat`` report ``path`` (a regular file) as a device."""
    real_lstat, real_stat = os.lstat, os.stat

    def faked(real):
        def call(p, *args, **kwargs):
            st = real(p, *args, **kwargs)
            if isinstance(p, (str, os.PathLike)) and os.path.abspath(p) == str(path):
                fields = list(st)
                fields[0] = kind | 0o666
                return os.stat_result(fields)
            return st
        return call

    monkeypatch.setattr(os, "lstat", faked(real_lstat))
    monkeypatch.setattr(os, "stat", faked(real_stat))


def fail_open(monkeypatch, match, err: int):
    """``os.open`` of a path whose name contains ``match`` fails with ``err``."""
    real = os.open

    def fake(path, flags, *args, **kwargs):
        if match in os.fspath(path) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(err, os.strerror(err), os.fspath(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake)


@pytest.fixture
def umask():
    """Set the process umask inside a test, restoring it afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


# --- devices, FIFOs, standard output -------------------------------------------------------

def test_finding_dev_null_is_not_replaced(tmp_path, capsys):
    """A FIFO (like /dev/null, not a regular file) is written through, never renamed over."""
    fifo = tmp_path / "sink"
    os.mkfifo(fifo)
    code, expected, _ = run(PROGRAM + ["--format", "json"], capsys)   # the same run on stdout
    reader = FifoReader(fifo)
    code, out, err = run(PROGRAM + ["--format", "json", "-o", str(fifo)], capsys)
    data = reader.result()
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert data.decode("utf-8") == expected and out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sink"]


def test_finding_dev_null_char_device_is_written_through(tmp_path, monkeypatch):
    """A character device keeps its inode and mode: opened for writing, not replaced."""
    dev = tmp_path / "null"
    dev.write_bytes(b"")
    os.chmod(dev, 0o666)
    before = os.lstat(dev)
    fake_device(monkeypatch, dev)
    bio.write_atomic(str(dev), "hello")
    monkeypatch.undo()
    after = os.lstat(dev)
    assert after.st_ino == before.st_ino and stat.S_IMODE(after.st_mode) == 0o666
    assert dev.read_bytes() == b"hello"
    assert leftovers(tmp_path) == []


def test_finding_markdown_to_a_device_writes_no_side_file(tmp_path, capsys):
    fifo = tmp_path / "out.md"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    code, _, err = run(PROGRAM + ["--format", "md", "-o", str(fifo)], capsys)
    assert code == 0, err
    assert reader.result().startswith(b"# The gradients of y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.md"]   # no out.svg beside a device


def test_dash_means_standard_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(PROGRAM + ["--format", "json", "-o", "-"], capsys)
    assert code == 0, err
    assert json.loads(out)["gradients"]["b"] == 4.0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="needs /dev/fd")
def test_finding_dev_fd_link_writes_to_the_open_descriptor(tmp_path):
    """/dev/stdout and /dev/fd/N name an open descriptor: write to it (an append stays an
    append), never rename over or truncate what it points at. Here N is a log in tmp_path."""
    log = tmp_path / "log.txt"
    log.write_text("before\n")
    ino = log.stat().st_ino
    with open(log, "ab") as fh:
        bio.write_atomic(f"/dev/fd/{fh.fileno()}", "after\n")
    assert log.read_text() == "before\nafter\n" and log.stat().st_ino == ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt"]


def test_a_path_object_named_dash_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bio.write_atomic(Path("-"), "x")
    assert (tmp_path / "-").read_text() == "x"


def test_socket_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # a short relative name: socket paths are limited to ~100 bytes
    with socket.socket(socket.AF_UNIX) as s:
        s.bind("s.sock")
        with pytest.raises(BackproofError, match=r"'s.sock': it is a socket, not a file"):
            bio.write_atomic("s.sock", "x")
        with pytest.raises(BackproofError, match=r"is a socket, expected a text file"):
            bio.read_text_file("s.sock")
        assert stat.S_ISSOCK(os.lstat("s.sock").st_mode)


# --- symbolic links --------------------------------------------------------------------------

def test_finding_symlink_is_written_through_to_its_target(tmp_path, capsys):
    target = tmp_path / "real" / "report.json"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(Path("real") / "report.json")
    code, _, err = run(PROGRAM + ["-o", str(link)], capsys)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "report.json")
    assert json.loads(target.read_text())["gradients"]["c"] == -3.0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_finding_symlink_to_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    reader = FifoReader(fifo)
    bio.write_atomic(link, "through")
    assert reader.result() == b"through"
    assert link.is_symlink() and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_finding_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to("made.txt")
    bio.write_atomic(link, "new")
    assert link.is_symlink() and (tmp_path / "made.txt").read_text() == "new"


def test_finding_symlink_loop_is_one_line(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.symlink_to(b)
    b.symlink_to(a)
    code, _, err = run(PROGRAM + ["-o", str(a)], capsys)
    assert code == 2 and "symbolic links" in one_line(err)
    assert a.is_symlink() and b.is_symlink()


# --- modes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_finding_new_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    group = bio.write_group({tmp_path / "r.md": "# r", tmp_path / "sub" / "r.svg": b"<svg/>"})
    for p in group:
        assert stat.S_IMODE(p.stat().st_mode) == mode, p


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o600, 0o664, 0o444])
def test_finding_existing_files_keep_their_mode(tmp_path, umask, mode):
    umask(0o077)   # the umask must not matter for a file that exists
    p = tmp_path / "grades.csv"
    p.write_text("old")
    os.chmod(p, mode)
    bio.write_atomic(p, "new")
    assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == mode


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can chown")
def test_root_replacing_a_users_file_keeps_its_owner(tmp_path):
    p = tmp_path / "feedback.html"
    p.write_text("old")
    os.chown(p, 4242, 4343)
    bio.write_atomic(p, "new")
    st = p.stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343) and p.read_text() == "new"


# --- groups: all or none ---------------------------------------------------------------------

def test_finding_markdown_side_svg_not_left_when_main_write_fails(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "seed.svg").write_text("OLD SVG")
    fail_open(monkeypatch, ".seed.md.", errno.ENOSPC)     # the Markdown's temporary file
    code, _, err = run(PROGRAM + ["--format", "md", "-o", str(out / "seed.md")], capsys)
    assert code == 2
    assert one_line(err).endswith("seed.md': no space left on device")
    assert sorted(p.name for p in out.iterdir()) == ["seed.svg"]
    assert (out / "seed.svg").read_text() == "OLD SVG"


def test_markdown_and_svg_are_published_together(tmp_path, capsys):
    code, _, err = run(PROGRAM + ["--format", "md", "-o", str(tmp_path / "w" / "seed.md")], capsys)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "w").iterdir())
    assert names == ["seed.md", "seed.svg"]
    assert "](seed.svg)" in (tmp_path / "w" / "seed.md").read_text()


def test_finding_net_plots_not_left_when_main_write_fails(tmp_path, capsys, monkeypatch):
    plots, md = tmp_path / "plots", tmp_path / "report" / "mazur.md"
    fail_open(monkeypatch, ".mazur.md.", errno.EROFS)
    code, _, err = run(["net", MAZUR, "--steps", "2", "--plot", str(plots), "--format", "md",
                        "-o", str(md)], capsys)
    assert code == 2
    assert one_line(err).endswith("mazur.md': read-only file system")
    assert not plots.exists() and not md.parent.exists()   # folders made by the run are gone too


def test_group_failure_leaves_earlier_files_untouched(tmp_path):
    keep = tmp_path / "a.txt"
    keep.write_text("before")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(BackproofError, match="a parent of the path is a file, not a folder"):
        bio.write_group({keep: "after", tmp_path / "new" / "b.txt": "b", blocker / "c.txt": "c"})
    assert keep.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "file"]


def test_finding_disk_full_is_one_line_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    keep = tmp_path / "grades.csv"
    keep.write_text("before")
    real = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))
    with pytest.raises(BackproofError, match=r"'.*grades.csv': no space left on device$"):
        bio.write_atomic(keep, "after")
    monkeypatch.undo()
    assert keep.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]


def test_output_group_writes_nothing_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError), bio.OutputGroup() as out:
        out.add(tmp_path / "a.txt", "A")
        raise RuntimeError("built only half")
    assert list(tmp_path.iterdir()) == []


def test_plots_are_written_all_or_none(tmp_path, monkeypatch):
    from backproof.nn.plots import write_plots
    fail_open(monkeypatch, ".z_last.svg.", errno.EACCES)
    with pytest.raises(BackproofError, match="permission denied"):
        write_plots({"a_loss.png": b"png", "a_loss.svg": b"svg", "z_last.svg": b"svg"}, tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


# --- every OSError on output is one line, exit 2 ----------------------------------------------

def test_finding_output_to_an_existing_folder_is_one_line(tmp_path, capsys):
    code, _, err = run(PROGRAM + ["-o", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_finding_over_long_name_is_one_line(tmp_path, capsys):
    name = "n" * 300 + ".json"
    code, _, err = run(PROGRAM + ["-o", str(tmp_path / name)], capsys)
    line = one_line(err)
    assert code == 2 and line.endswith("file name too long")
    assert len(line) < 200   # the path is quoted, at most 80 characters
    assert list(tmp_path.iterdir()) == []


def test_finding_unwritable_folder_is_one_line(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    if os.geteuid() == 0:   # root ignores permission bits: simulate what a user would meet
        fail_open(monkeypatch, str(locked), errno.EACCES)
    try:
        code, _, err = run(PROGRAM + ["-o", str(locked / "y.json")], capsys)
    finally:
        os.chmod(locked, 0o700)
    assert code == 2 and one_line(err).endswith("y.json': permission denied")
    assert list(locked.iterdir()) == []


def test_finding_read_only_file_system_is_one_line(tmp_path, capsys, monkeypatch):
    fail_open(monkeypatch, str(tmp_path), errno.EROFS)
    code, _, err = run(["check", str(EXAMPLES / "homework" / "seed.yaml"), "-o", str(tmp_path / "f.md")],
                       capsys)
    assert code == 2 and one_line(err).endswith("f.md': read-only file system")


def test_finding_parent_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    code, _, err = run(PROGRAM + ["-o", str(tmp_path / "notes.txt" / "y.json")], capsys)
    assert code == 2 and "a parent of the path is a file, not a folder" in one_line(err)
    assert (tmp_path / "notes.txt").read_text() == "x"


def test_graph_output_error_is_one_line(tmp_path, capsys):
    code, _, err = run(["graph", "y = a*b", "-o", str(tmp_path / ("g" * 300 + ".svg"))], capsys)
    assert code == 2 and one_line(err).endswith("file name too long")


# --- bounded reads ---------------------------------------------------------------------------

@pytest.fixture
def small_input_limit(monkeypatch):
    row = limits.LIMITS["input_bytes"]
    monkeypatch.setitem(limits.LIMITS, "input_bytes", limits.Limit(row.name, 1000, row.unit, row.what))
    return 1000


def test_finding_dev_zero_is_refused_by_the_input_limit(capsys):
    # Reading (never writing) the real /dev/zero: bounded by input_bytes, then refused.
    code, _, err = run(["check", "/dev/zero"], capsys)
    line = one_line(err)
    assert code == 2 and "input_bytes" in line and "more than" in line


def test_huge_regular_file_is_refused_from_its_size(tmp_path, small_input_limit):
    p = tmp_path / "big.txt"
    with open(p, "wb") as fh:
        fh.truncate(10**9)   # sparse: no real disk use
    with pytest.raises(LimitError, match=r"1000000000 bytes is over the limit input_bytes = 1000 bytes"):
        bio.read_text_file(p)


def test_endless_fifo_is_read_in_bounded_memory(tmp_path, small_input_limit):
    fifo = tmp_path / "stream"
    os.mkfifo(fifo)

    def writer():
        try:
            with open(fifo, "wb") as fh:
                fh.writelines(b"y = x\n" * 100 for _ in range(10_000))
        except BrokenPipeError:   # the reader stopped at the limit, as it should
            pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with pytest.raises(LimitError, match="more than 1000 bytes is over the limit input_bytes"):
        bio.read_text_file(fifo)
    t.join(SAFETY_TIMEOUT)


def test_small_fifo_is_read(tmp_path):
    fifo = tmp_path / "prog"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as fh:
            fh.write(b"y = 2*x\n")

    threading.Thread(target=writer, daemon=True).start()
    assert bio.read_text_file(fifo) == "y = 2*x\n"


def test_stdin_is_bounded(small_input_limit):
    import io
    with pytest.raises(LimitError, match="standard input: more than 1000 bytes"):
        bio.read_source("-", stdin=io.StringIO("y = x\n" * 1000))
    assert bio.read_source("-", stdin=io.StringIO("y = x\n")) == ("y = x\n", "standard input")


def test_block_device_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "disk"
    p.write_text("y = x")
    real = os.fstat

    def fstat(fd):
        st = real(fd)
        fields = list(st)
        fields[0] = stat.S_IFBLK | 0o660
        return os.stat_result(fields)

    monkeypatch.setattr(os, "fstat", fstat)
    with pytest.raises(BackproofError, match=r"is a block device, expected a program file"):
        bio.read_text_file(p, what="a program file")


def test_folder_is_refused_for_reading(tmp_path):
    with pytest.raises(BackproofError, match=r"is a directory, expected a spec file"):
        bio.read_text_file(tmp_path, what="a spec file")


# --- unexpected errors are bugs --------------------------------------------------------------

def _explode(monkeypatch, exc):
    import backproof.commands.explain as cmd

    def run_(args):
        raise exc

    monkeypatch.setattr(cmd, "run", run_)


def test_finding_internal_error_is_one_line_exit_3(monkeypatch, capsys):
    _explode(monkeypatch, ZeroDivisionError("x" * 500 + "\nsecond line"))
    code, out, err = run(PROGRAM, capsys)
    line = one_line(err)
    assert code == 3 and out == ""
    assert line.startswith("backproof: internal error: ZeroDivisionError: 'xxx")
    assert line.endswith("(run with --debug for the traceback)")
    assert len(line) < 200


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_prints_the_traceback(monkeypatch, capsys, where):
    _explode(monkeypatch, KeyError("boom"))
    argv = ["--debug"] + PROGRAM if where == "before" else PROGRAM + ["--debug"]
    code, _, err = run(argv, capsys)
    assert code == 3
    assert "Traceback (most recent call last)" in err and "KeyError" in err
    assert err.splitlines()[-1].startswith("backproof: internal error: KeyError")


def test_debug_flag_is_accepted_when_nothing_fails(capsys):
    code, out, _ = run(["--debug"] + PROGRAM + ["--format", "json", "--debug"], capsys)
    assert code == 0 and json.loads(out)["gradients"]["a"] == 1.0


def test_backproof_errors_stay_exit_2(monkeypatch, capsys):
    _explode(monkeypatch, BackproofError("bad thing"))
    code, _, err = run(PROGRAM, capsys)
    assert code == 2 and one_line(err) == "backproof: error: bad thing"


def test_keyboard_interrupt_is_one_line_exit_130(monkeypatch, capsys):
    _explode(monkeypatch, KeyboardInterrupt())
    code, _, err = run(PROGRAM, capsys)
    assert code == 130 and one_line(err) == "backproof: interrupted"


def test_broken_pipe_is_quiet(monkeypatch, capsys):
    _explode(monkeypatch, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    code, out, err = run(PROGRAM, capsys)
    assert code == 0 and out == "" and err == ""

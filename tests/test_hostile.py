"""The hostile-input catalogue (tests/hostile_cases.py), run entry by entry.

Every entry runs ``backproof.cli.main(argv)`` in a child process forked from this one
(imports are shared, so an entry costs a fork, not an interpreter start), with:

- its own fresh folder as the working directory, its standard input from a file, and
  its standard output and error captured to files (stdout strict UTF-8, stderr with
  backslash escapes, as Python's own streams under a UTF-8 locale);
- bounded memory: ``resource.RLIMIT_AS`` at what this process already maps plus 2 GiB,
  so an attempt to allocate without bound fails inside the child instead of taking the
  machine down;
- a hang guard of :data:`HANG_GUARD` seconds of wall-clock time, after which the child's
  whole process group (graphviz, grade workers) is killed and the entry fails. It is a
  guard against a run that never ends, not a performance assertion: a bounded run takes
  a few seconds;
- the code-execution guards (:func:`_install_guards`).

Then the rules every entry shares are checked: the exit status is one the entry allows
(never 3, an internal error, nor a signal); standard error has no traceback, and on a
refusal (exit 2) it is exactly one line starting with ``backproof: error:`` (for a parse
error, plus a two-line caret block); no line of standard error is longer than
:data:`MAX_LINE` characters (messages quote values, never echo them); a refusal leaves
the folder exactly as it was (no new, changed or half-written file); the entry's own
substrings and forbidden strings; and its post-condition.

Usage errors found by argparse itself start with ``backproof COMMAND: error:`` (the
prog of the sub-parser); both forms are accepted.

On the code-execution guards: SymPy, NumPy, networkx, mpmath and the standard library
legitimately call ``eval``/``exec``/``compile`` while importing lazily and building
classes (``namedtuple``, ``typing``, SymPy's unit prefixes via ``sympify``), and graphviz
runs ``dot`` through ``subprocess.Popen``; measured on the normal path of every
subcommand. So the guards do not refuse every call: they refuse (raise and record) a
call whose argument contains user text, recognised by the canary every hostile input
carries (``hostile_cases.CANARY``: a name, so that even ``sympify`` of user text, which
evaluates ``Symbol('zqv')``, is caught).
``compile(..., ast.PyCF_ONLY_AST)`` (what ``ast.parse`` does) only parses and is allowed:
the parser is built on it. Hits are recorded in a file, so hits inside grade worker
processes count too.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib
import io
import json
import os
import pkgutil
import re
import signal
import stat
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

import backproof
import hostile_cases as hc
from backproof import cli, limits
from hostile_cases import CANARY, CASES, LIMIT, Case

# Every backproof module imported here, once (main() imports lazily): the children share
# them, and the guards then see (almost) no import-time eval/exec.
for _module in pkgutil.walk_packages(backproof.__path__, "backproof."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)

resource = pytest.importorskip("resource")  # POSIX only: RLIMIT_AS and fork
if not hasattr(os, "fork"):
    pytest.skip("the catalogue forks a child per entry (POSIX)", allow_module_level=True)

#: Seconds of wall-clock time before an entry is called hung (a guard, not a timing test).
HANG_GUARD = float(os.environ.get("BACKPROOF_HOSTILE_GUARD", "60"))
#: Memory an entry may map beyond what the warmed-up test process already maps.
HEADROOM = 2 * 1024**3
#: Longest line of standard error: messages quote user values (80 characters), never echo them.
MAX_LINE = 1000
ERROR_LINE = re.compile(r"^backproof(?: [a-z]+)?: error: ")


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1024**3


# --- the guards -----------------------------------------------------------------------------------


def _markers(argv) -> tuple[str, ...]:
    # Only the canary: whole argv elements were tried too, but words such as "backward"
    # occur in backproof's own sources, which importlib compiles on a lazy import.
    return (CANARY,)


def _contains_user_text(value, markers) -> bool:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return any(_contains_user_text(v, markers) for v in value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, type(_contains_user_text.__code__)):
        value = " ".join(map(str, value.co_consts)) + value.co_filename
    return isinstance(value, str) and any(m in value for m in markers)


def _install_guards(argv, hits_file: Path) -> None:
    """Patch the code-running functions to refuse (and record) any call carrying user text."""
    markers = _markers(argv)

    def guard(name, original, *, ast_ok=False):
        def guarded(*args, **kwargs):
            if ast_ok:
                flags = args[3] if len(args) > 3 else kwargs.get("flags", 0)
                if flags & ast.PyCF_ONLY_AST:
                    return original(*args, **kwargs)
            if any(_contains_user_text(a, markers) for a in list(args) + list(kwargs.values())):
                with open(hits_file, "a") as fh:
                    fh.write(f"{name}({str(args[:1])[:200]})\n")
                raise RuntimeError(f"hostile-input guard: {name} called with user text")
            return original(*args, **kwargs)

        return guarded

    builtins.eval = guard("eval", builtins.eval)
    builtins.exec = guard("exec", builtins.exec)
    builtins.compile = guard("compile", builtins.compile, ast_ok=True)
    os.system = guard("os.system", os.system)
    os.popen = guard("os.popen", os.popen)
    subprocess.Popen = guard("subprocess.Popen", subprocess.Popen)


# --- running one entry ----------------------------------------------------------------------------


def _materialize(c: Case, root: Path) -> Path:
    d = root / "case"
    d.mkdir()
    for rel, content in c.files.items():
        if callable(content):
            content = content()
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    if c.setup is not None:
        c.setup(d)
    return d


def _snapshot(d: Path) -> dict[bytes, tuple]:
    """Every entry under ``d`` (links not followed): type, mode and a digest of regular files."""
    out = {}
    base = os.fsencode(d)
    for top, dirs, files in os.walk(base):
        for name in dirs + files:
            p = os.path.join(top, name)
            st = os.lstat(p)
            digest = None
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o444:
                try:
                    with open(p, "rb") as fh:
                        digest = hashlib.sha256(fh.read()).hexdigest()
                except OSError:
                    digest = "unreadable"
            elif stat.S_ISLNK(st.st_mode):
                digest = os.readlink(p)
            out[os.path.relpath(p, base)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), digest)
    return out


def _child(c: Case, d: Path, run: Path, limit: int) -> None:
    """The forked child: never returns (os._exit), whatever happens."""
    status = 99
    try:
        os.setpgid(0, 0)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.umask(0o022)
        os.chdir(d)
        fd_in = os.open(run / "stdin", os.O_RDONLY)
        fd_out = os.open(run / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fd_err = os.open(run / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, target in ((fd_in, 0), (fd_out, 1), (fd_err, 2)):
            os.dup2(fd, target)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", write_through=True)
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
        )
        if c.child_setup is not None:
            c.child_setup(d)
        _install_guards(c.argv, run / "hits")
        try:
            rc = cli.main(list(c.argv))
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            rc = "uncaught"
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        (run / "rc").write_text(json.dumps(rc))
        status = 0
    except BaseException:
        try:
            (run / "child-error").write_text(traceback.format_exc())
        except BaseException:
            pass
    finally:
        os._exit(status)


def run_case(c: Case, root: Path) -> dict:
    """Run one entry; return its folder, snapshots, exit status, streams and guard hits."""
    d = _materialize(c, root)
    run = root / "run"
    run.mkdir()
    (run / "stdin").write_bytes(c.stdin if isinstance(c.stdin, bytes) else c.stdin.encode("utf-8"))
    before = _snapshot(d)
    limit = _vm_size() + HEADROOM
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(c, d, run, limit)
    deadline = time.monotonic() + HANG_GUARD
    hung = False
    while True:
        done, wstatus = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            hung = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            break
        time.sleep(0.02)
    # Reap anything left in the child's process group (grade workers): no orphans.
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

    def read(name: str) -> str:
        path = run / name
        return path.read_bytes().decode("utf-8", "replace") if path.exists() else ""

    rc = json.loads(read("rc")) if read("rc") else None
    return {
        "dir": d,
        "before": before,
        "after": _snapshot(d),
        "hung": hung,
        "rc": rc,
        "signal": os.WTERMSIG(wstatus) if not hung and os.WIFSIGNALED(wstatus) else None,
        "stdout": read("stdout"),
        "stderr": read("stderr"),
        "hits": read("hits"),
        "child_error": read("child-error"),
    }


def _written(result) -> list[tuple[str, str]]:
    """(name, text) of every regular file the run created or changed."""
    out = []
    for rel, info in result["after"].items():
        if result["before"].get(rel) != info and info[0] == stat.S_IFREG:
            path = os.path.join(os.fsencode(result["dir"]), rel)
            try:
                with open(path, "rb") as fh:
                    out.append((os.fsdecode(rel), fh.read().decode("utf-8", "replace")))
            except OSError:
                pass
    return out


def check_case(c: Case, r: dict, *, max_error_lines: int = 1) -> None:
    """Assert the rules every entry shares, then the entry's own.

    ``max_error_lines``: a refusal prints one line (plus a caret block for a parse error).
    The fuzzer allows a few, each a ``backproof: error:`` line, because ``check`` lists every
    problem of an answer file at once (docs/homework.md); a catalogue entry has one problem.
    """
    assert not r["child_error"], f"the test harness failed in the child:\n{r['child_error']}"
    assert not r["hung"], f"no result after {HANG_GUARD:g} s (hang guard); stderr: {r['stderr'][-500:]!r}"
    assert r["signal"] is None, f"the run died of signal {r['signal']} (memory limit?)"
    err, out = r["stderr"], r["stdout"]
    assert not r["hits"], f"user text reached a code-running function: {r['hits']}"
    assert "Traceback" not in err and "Traceback" not in out, f"a traceback:\n{err[-3000:]}"
    assert r["rc"] != 3, f"internal error (exit 3), a bug: {err[:500]!r}"
    assert r["rc"] in c.exit, f"exit status {r['rc']!r}, expected {c.exit}; stderr: {err[:800]!r}"
    long_lines = [len(line) for line in err.splitlines() if len(line) > MAX_LINE]
    assert not long_lines, f"stderr lines of {long_lines[:3]} characters (at most {MAX_LINE})"
    if r["rc"] == 2:
        lines = err.splitlines()
        caret = len(lines) == 3 and lines[2].strip() == "^"
        several = 1 < len(lines) <= max_error_lines and all(ERROR_LINE.match(line) for line in lines)
        assert len(lines) == 1 or caret or several, (
            f"expected one error line (or one plus a caret block), got:\n{err[:1500]}"
        )
        assert ERROR_LINE.match(lines[0]), f"the error line must start with 'backproof: error:': {lines[0]!r}"
        changed = {os.fsdecode(k) for k in set(r["before"]) ^ set(r["after"])}
        changed |= {
            os.fsdecode(k) for k in set(r["before"]) & set(r["after"]) if r["before"][k] != r["after"][k]
        }
        assert not changed, f"a refused run changed the folder: {sorted(changed)[:10]}"
    for want in c.contains if r["rc"] == 2 else ():  # what the error line must say
        if want == LIMIT:
            names = [n for n in limits.LIMITS if n != "message_quote"]
            assert any(n in err for n in names), (
                f"the error must name a limit (one of {names}): {err[:500]!r}"
            )
        else:
            assert want.lower() in err.lower(), f"the error must mention {want!r}: {err[:500]!r}"
    texts = [("stdout", out), ("stderr", err)] + _written(r)
    for bad in c.forbid:
        for name, text in texts:
            assert bad not in text, f"{bad[:40]!r} appears in {name}"
    if c.post is not None:
        c.post(r["dir"])


def _case_id(c: Case) -> str:
    """The entry's id, with the finding it reproduces (``pytest -k finding_dev_zero`` runs them)."""
    return c.id + (f"-finding_{c.finding}" if c.finding else "")


@pytest.mark.parametrize("c", CASES, ids=[_case_id(c) for c in CASES])
def test_hostile(c: Case, tmp_path):
    if c.needs_non_root and hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root can write anywhere: a permission-based attack means nothing to it")
    check_case(c, run_case(c, tmp_path))


def test_catalogue_covers_every_surface():
    """At least 80 entries, across every surface the issue names."""
    surfaces = {c.surface for c in CASES}
    assert len(CASES) >= 80
    assert surfaces == {"expression", "at", "spec", "answers", "grade", "cli", "output"}
    assert all(3 not in c.exit for c in CASES)


#: Every finding of issue 9 that is an input, with the entries that reproduce it.
FINDINGS = {
    "output_replaces_devices_and_links",
    "output_mode_0600",
    "grade_follows_symlinks",
    "messages_echo_whole_values",
    "nested_budgets_charge_whole_inner_budget",
    "non_utf8_name_loses_grades",
    "failed_write_leaves_side_files",
    "decimal_exponent_hangs_parser",
    "integers_past_4300_digits",
    "exponent_rule_bypassed",
    "exact_rationals_grow",
    "network_units_unbounded",
    "network_features_unbounded",
    "training_steps_unbounded",
    "points_unbounded",
    "diagram_nodes_unbounded",
    "csv_neutraliser_quadratic",
    "answer_key_pattern_cubic",
    "dev_zero",
    "recursion_error_tracebacks",
    "sympy_errors_escape",
    "numpy_errors_escape",
    "timeout_inf_traceback",
    "output_oserror_traceback",
    "false_alarm_cancellation",
    "false_alarm_large_offset",
    "false_alarm_net_zero_error",
    "false_alarm_sin_1e22",
    "false_alarm_subnormal",
    "proof_samples_outside_domain",
    "graph_given_a_spec",
    "net_says_skipped_on_request",
    "input_bytes",
}


def test_every_finding_is_in_the_catalogue():
    found = {c.finding for c in CASES if c.finding}
    assert found >= FINDINGS, f"findings without an entry: {sorted(FINDINGS - found)}"
    assert found <= FINDINGS, f"entries naming unknown findings: {sorted(found - FINDINGS)}"


#: Entries whose only input is /dev/zero or a shipped example: no user text to mark.
NO_TEXT = {
    "expr_program_file_is_dev_zero",
    "spec_is_dev_zero",
    "answers_file_is_dev_zero",
    "cli_net_not_skipped_on_request",
}


def _user_texts(c: Case) -> list[str]:
    texts = list(c.argv) + [c.stdin if isinstance(c.stdin, str) else c.stdin.decode("utf-8", "replace")]
    for content in c.files.values():
        content = content() if callable(content) else content
        texts.append(content if isinstance(content, str) else content.decode("utf-8", "replace"))
    return texts


def test_every_hostile_input_carries_the_canary():
    """The guards recognise user text by the canary, so every entry with user text carries it."""
    unmarked = {c.id for c in CASES if not any(CANARY in t for t in _user_texts(c))}
    assert unmarked == NO_TEXT


def test_guards_refuse_user_text_and_allow_library_calls(tmp_path):
    """The guards themselves: user text is refused, the library's own calls pass."""
    saved = (builtins.eval, builtins.exec, builtins.compile, os.system, os.popen, subprocess.Popen)
    try:
        _install_guards(["explain", f"y = {CANARY}"], tmp_path / "hits")
        with pytest.raises(RuntimeError):
            eval(f"{CANARY} + 1", {CANARY: 1})
        with pytest.raises(RuntimeError):
            exec(f"y = {CANARY}")
        with pytest.raises(RuntimeError):
            compile(f"{CANARY}", "<s>", "eval")
        with pytest.raises(RuntimeError):
            subprocess.Popen(["echo", CANARY])
        assert eval("1 + 1") == 2
        assert isinstance(ast.parse(f"y = {CANARY}"), ast.Module)
        assert (tmp_path / "hits").read_text().count("\n") == 4
    finally:
        (builtins.eval, builtins.exec, builtins.compile, os.system, os.popen, subprocess.Popen) = saved


def test_harness_catches_a_traceback_and_a_leftover_file(tmp_path):
    """The checks can fail: a run that prints a traceback, or leaves a file, is caught."""
    c = Case(
        "probe",
        "output",
        ("explain", f"y = {CANARY}*2", "--at", f"{CANARY}=1", "-o", "out/x.json"),
        exit=(2,),
    )
    r = run_case(c, tmp_path)
    assert r["rc"] == 0  # a fine input: written, exit 0
    with pytest.raises(AssertionError, match="exit status 0"):
        check_case(c, r)
    r2 = dict(r, rc=2, stderr="backproof: error: x\n")
    with pytest.raises(AssertionError, match="changed the folder"):
        check_case(c, r2)
    r3 = dict(r, rc=2, stderr="Traceback (most recent call last):\n")
    with pytest.raises(AssertionError, match="traceback"):
        check_case(c, r3)


_ = hc  # the module is data; imported under its own name for readers of failures

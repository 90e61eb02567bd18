"""Grading a class: one key, a folder of submissions, worker processes with a time limit, a summary.

The key's problem is derived once, in this process, and shipped to each worker once;
a worker grades one submission at a time. A submission that runs past the time limit
is given up on and its worker process is terminated (then killed) and replaced, so
one pathological answer cannot stall the class; a file that cannot be read becomes an
error row and the batch goes on. Results are sorted by file name, so the output does
not depend on which worker finished first.
"""

from __future__ import annotations

import csv
import io
import multiprocessing as mp
import os
import pickle
import re
import signal
import stat
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from .. import limits
from ..errors import BackproofError, LimitError
from ..printing import format_number, to_json_text
from ..timeout import BudgetExceeded, budget, set_parent_death_signal
from .answers import (
    Answer,
    AnswerFileError,
    Document,
    Points,
    RawAnswer,
    Tolerances,
    load_document,
    load_sections,
    parse_document,
    read_answers,
    read_points,
    read_sections,
)
from .diagnose import VERDICTS, CheckResult, Item, diagnose
from .keyfolder import KeyFolder, key_folder
from .quantities import Problem, Quantity

__all__ = ["Key", "Row", "SubmissionResult", "ClassReport", "ScoredResult", "load_key", "grade",
           "grade_submission", "check_against_key", "render_csv", "render_json", "render_gradebook", "neutralize",
           "feedback_names",
           "submission_files", "scan_folder", "safe_name", "SUBMISSION_SUFFIXES", "DEFAULT_TIMEOUT"]

SUBMISSION_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
#: Seconds one submission may take before its worker is stopped.
DEFAULT_TIMEOUT = 30.0
#: The share of the time limit a submission's own budget gets: past it, the symbolic
#: answers still open are "undecided" and the sheet is returned before the worker is killed.
SOFT_SHARE = 0.9


@dataclass(frozen=True)
class Key:
    """The derived problem, the quantities asked, the tolerances and what was wrong in the key."""

    path: str
    problem: Problem
    quantities: tuple[Quantity, ...] | None
    tolerances: Tolerances
    key_problems: tuple[str, ...] = ()
    folder: KeyFolder | None = None     # an `assign` folder: one key per student
    points: Points = field(default_factory=Points)

    def weight(self, q: Quantity) -> float:
        """The points question ``q`` is worth (1 unless the key's ``points`` say otherwise)."""
        return self.points.weight(q)

    def figures(self) -> dict[str, float]:
        """``diagnose``'s ``figures_credit`` when the key sets one (else diagnose's default)."""
        share = self.points.figures_credit
        return {} if share is None else {"figures_credit": share}

    def carried_share(self, q: Quantity, override: float | None) -> float:
        """The share of ``q``'s points a carried error earns: ``override`` (``--carried-credit``)
        when given, else the key's own for ``q``, else the key's ``carried_credit``, else 1."""
        if override is not None:
            return override
        default = self.points.carried_credit if self.points.carried_credit is not None else 1.0
        return self.points.carried(q, default)


@dataclass(frozen=True)
class Row:
    """One student's answer to one quantity (plain data: it crosses process boundaries)."""

    quantity: str
    given: str | None
    expected: str
    verdict: str
    mistake: str | None = None
    explanation: str = ""
    points: float = 0.0
    counted: bool = True


@dataclass(frozen=True)
class SubmissionResult:
    file: str
    student: str
    rows: tuple[Row, ...] = ()
    score: float = 0.0
    total: float = 0
    error: str | None = None
    seconds: float = 0.0
    #: The student's feedback page, when grading was asked to print one (see :func:`grade`).
    feedback: str | None = field(default=None, compare=False, repr=False)

    @property
    def all_correct(self) -> bool:
        return self.error is None and all(r.verdict == "correct" for r in self.rows if r.counted)


@dataclass(frozen=True)
class ClassReport:
    key: Key
    results: tuple[SubmissionResult, ...]
    summary: dict = field(default_factory=dict)

    @property
    def all_correct(self) -> bool:
        return all(r.all_correct for r in self.results)


# --- the key -----------------------------------------------------------------------------------

def load_key(path: str | Path) -> Key:
    """Load the key, derive its problem once, and check its own answers against the truth.

    A key answer that disagrees with the derivation is reported in ``key_problems``
    and the derivation's value is used instead.
    """
    folder = key_folder(path)
    if folder is not None:  # an `assign` output folder: each submission is graded by its student's own key
        return replace(load_key(folder.first), path=str(path), folder=folder)
    doc, problem, answers, tol, _ = load_sections(path, allow_blank=True)
    if problem.at is None:
        raise AnswerFileError([f"{doc.path}: problem.at: a key needs values for the inputs"])
    points = read_points(doc, problem)
    quantities = tuple(a.quantity for a in answers) or None
    problems: list[str] = []
    filled = [a for a in answers if a.kind != "blank"]
    if filled:
        own = diagnose(problem, filled, tol)
        for item in own.items:
            if item.verdict != "correct":
                problems.append(f"key answer {item.name} = {item.given} is wrong: the derivation gives "
                                f"{item.expected_text} ({item.formula}); the derivation's value is used")
    problem.prepare(quantities or ())
    return Key(str(path), problem, quantities, tol, tuple(problems), points=points)


# --- one submission --------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class ScoredResult(CheckResult):
    """A :class:`CheckResult` scored with the key's points: ``score`` sums each answer's points
    (question points × its verdict's share) and ``total`` is the points the key asks for."""

    max_score: float = 0.0
    unreadable: tuple[tuple[str, str], ...] = ()   # (answer key, why it could not be read)
    weighted: bool = False   # the key sets points or a carried-error share: pages show each answer's points
    weights: tuple[float, ...] = ()   # each item's question's points, in the order of ``items``

    @property
    def total(self):
        return _whole(self.max_score)


def _whole(x: float) -> float:
    """``x`` as an int when it is whole (scores read 7/8, never 7.0/8.0)."""
    return int(x) if float(x).is_integer() else x


def _scored(key: Key, result: CheckResult, carried_credit: float | None,
            invalid: Sequence[tuple[RawAnswer, str]] = ()) -> ScoredResult:
    """``result`` with every answer's points weighted by the key (and its carried-error share)."""
    asked = set(key.quantities) if key.quantities is not None else None
    items = []
    weights = []
    for i in result.items:
        w = key.weight(i.quantity) if asked is None or i.quantity in asked else 0.0
        share = key.carried_share(i.quantity, carried_credit) if i.verdict == "carried_error" else i.points
        items.append(replace(i, points=_whole(round(w * share, 9))))
        weights.append(_whole(w))
    if key.quantities is not None:
        counted = list(key.quantities)
    else:  # every answer counts, a readable one or not
        unread = [_resolve(key, ra.key) for ra, _ in invalid]
        counted = [i.quantity for i in result.items] + [q for q in unread if q is not None]
    return ScoredResult(tuple(items), result.problem, result.student, result.path, result.extra,
                        max_score=sum(key.weight(q) for q in set(counted)),
                        weighted=bool(key.points.per) or key.points.carried_credit is not None,
                        weights=tuple(weights),
                        unreadable=tuple((ra.key, why) for ra, why in invalid))


def _resolve(key: Key, name: str) -> Quantity | None:
    try:
        return key.problem.resolve(name)
    except BackproofError:
        return None


def grade_submission(key: Key, path: str | Path, *, carried_credit: float | None = None,
                     feedback: Callable[[ScoredResult | None, SubmissionResult], str] | None = None
                     ) -> SubmissionResult:
    """Grade one submission file against ``key`` (errors become an error result, never raise).

    Parameters
    ----------
    carried_credit : float, optional
        The share of a question's points a carried error earns, for every question
        (default: the key's ``carried_credit`` settings, else 1).
    feedback : callable, optional
        ``feedback(scored result or None, submission result) -> text``: the student's
        feedback page, printed here (in the worker) and kept in ``SubmissionResult.feedback``.
    """
    return _with_page(*_grade_one(key, path, carried_credit), feedback)


def _grade_one(key: Key, path: str | Path, carried_credit: float | None
               ) -> tuple[SubmissionResult, ScoredResult | None]:
    """The submission's result, and its scored check result (None when the file could not be graded)."""
    start = time.perf_counter()
    path = Path(path)
    file_name = safe_name(path.name)
    student: str | None = safe_name(path.stem)
    try:
        doc = parse_document(read_submission(path), file_name)
        _, raw, _, student = read_sections(doc, need_problem=False, submission=True)
        key = _own_key(key, student, safe_name(path.stem))
        answers, invalid = _read_each_answer(doc, key.problem, raw)
        result = diagnose(key.problem, answers, key.tolerances, expected=_expected(key, answers, invalid),
                          student=student, path=str(path), **key.figures())
    except BackproofError as exc:
        return SubmissionResult(file_name, student or "", error=_one_line(exc),
                                seconds=time.perf_counter() - start), None
    scored = _scored(key, result, carried_credit, invalid)
    asked = set(key.quantities) if key.quantities is not None else None
    rows = _order_rows(key, _invalid_rows(key, invalid, asked) + _item_rows(scored.items, asked))
    counted = [r for r in rows if r.counted]
    return SubmissionResult(file_name, student or "", tuple(rows), _whole(round(sum(r.points for r in counted), 9)),
                            scored.total, seconds=time.perf_counter() - start), scored


def _with_page(res: SubmissionResult, scored: ScoredResult | None,
               feedback: Callable[[ScoredResult | None, SubmissionResult], str] | None) -> SubmissionResult:
    """``res`` with its feedback page printed (when asked for)."""
    return replace(res, feedback=feedback(scored, res)) if feedback is not None else res


def check_against_key(key: Key, path: str | Path, *, carried_credit: float | None = None) -> ScoredResult:
    """Check one bare submission (answers, no ``problem``) against the key's problem, as ``check`` does.

    The whole file is validated first (every problem is reported at once, as for a
    ``check`` file); the key's tolerances and points apply, and a question the key asks
    that the submission leaves out is ``missing``.

    Raises
    ------
    AnswerFileError
        The submission is invalid.
    """
    doc = load_document(path)
    _, raw, _, student = read_sections(doc, need_problem=False, submission=True)
    answers = read_answers(doc, key.problem, raw)
    key = _own_key(key, student, safe_name(Path(path).stem))   # an assign folder: the student's own key
    result = diagnose(key.problem, answers, key.tolerances, expected=key.quantities or (),
                      student=student, path=str(path), **key.figures())
    return _scored(key, result, carried_credit)


def _own_key(key: Key, student: str | None, stem: str) -> Key:
    """The key of the submission's own student when ``key`` is an ``assign`` folder, else ``key``."""
    return key if key.folder is None else load_key(key.folder.key_path(student, stem))


def _read_each_answer(doc: Document, problem: Problem, raw: Sequence[RawAnswer]
                      ) -> tuple[list[Answer], list[tuple[RawAnswer, str]]]:
    """The answers that can be read, and (answer, why) for the rest: one unreadable answer
    costs that answer, not the whole sheet."""
    answers: list[Answer] = []
    invalid: list[tuple[RawAnswer, str]] = []
    for ra in raw:
        try:
            answers += read_answers(doc, problem, [ra])
        except AnswerFileError as exc:
            invalid.append((ra, _one_line(exc)))
    return answers, invalid


def _expected(key: Key, answers: Sequence[Answer], invalid: Sequence[tuple[RawAnswer, str]]
              ) -> list[Quantity] | None:
    """The key's quantities a submission must answer (one it answered unreadably is not also missing)."""
    if key.quantities is None:
        return None
    answered = {a.quantity for a in answers}
    taken = set(answered)
    for ra, _ in invalid:
        try:
            taken.add(key.problem.resolve(ra.key))
        except BackproofError:
            pass
    return [q for q in key.quantities if q not in taken or q in answered]


def _invalid_rows(key: Key, invalid: Sequence[tuple[RawAnswer, str]], asked: set[Quantity] | None) -> list[Row]:
    rows = []
    for ra, message in invalid:
        try:
            q = key.problem.resolve(ra.key)
            name, counted = key.problem.display(q), asked is None or q in asked
            expected_text = format_number(key.problem.truth(q))
        except BackproofError:
            name, counted, expected_text = ra.key, False, ""
        given = None if ra.node.value is None else str(ra.node.value)
        rows.append(Row(name, given, expected_text, "invalid", None, message, 0.0, counted))
    return rows


def _item_rows(items: Sequence[Item], asked: set[Quantity] | None) -> list[Row]:
    rows = []
    for item in items:
        d = item.diagnosis
        rows.append(Row(item.display, item.given, item.expected_text, item.verdict,
                        d.mistake if d else None, d.explanation if d and item.verdict != "correct" else "",
                        item.points, asked is None or item.quantity in asked))
    return rows


def _order_rows(key: Key, rows: list[Row]) -> list[Row]:
    """The key's order first; anything else after, by name."""
    if key.quantities is None:
        return rows
    order = {key.problem.display(q): i for i, q in enumerate(key.quantities)}
    return sorted(rows, key=lambda r: (0, order[r.quantity], "") if r.quantity in order else (1, 0, r.quantity))


#: Longest error text kept in a row: messages quote values briefly, and this is the
#: backstop that keeps a submission's content out of the grade sheet whatever it holds.
_MAX_ERROR = 600


def _one_line(exc: BaseException) -> str:
    problems = getattr(exc, "problems", None)
    text = " ".join(("; ".join(problems) if problems else str(exc)).split())
    return text if len(text) <= _MAX_ERROR else f"{text[:_MAX_ERROR - 1]}… ({len(text)} characters)"


# --- reading the folder safely ------------------------------------------------------------------------------

def safe_name(name: str | bytes) -> str:
    """A file name as printable text: undecodable bytes and control characters escaped.

    Names come from ``os.fsdecode`` (undecodable bytes kept as surrogates); written as
    they are, they would crash the final UTF-8 write of the whole class's grades.

    Examples
    --------
    >>> safe_name(b"caf\\xe9.yaml"), safe_name("a\\nb.yaml"), safe_name("é.yaml")
    ('caf\\\\xe9.yaml', 'a\\\\nb.yaml', 'é.yaml')
    """
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def read_submission(path: str | Path) -> str:
    """The text of one submission: a regular file (never through a symbolic link), at most
    the ``submission_bytes`` limit, UTF-8; every failure is one :class:`BackproofError` line."""
    name = safe_name(Path(path).name)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if Path(path).is_symlink():
            raise BackproofError(f"{name}: a symbolic link; not followed (only regular files are graded)") from None
        raise BackproofError(f"{name}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise BackproofError(f"{name}: not a regular file (only regular files are graded)")
        cap = int(limits.value("submission_bytes"))
        data = f.read(cap + 1)
    limits.check("submission_bytes", len(data) if len(data) <= cap else st.st_size, name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BackproofError(f"{name}: not UTF-8 text (byte {exc.start})") from None


def scan_folder(folder: str | Path, key_path: str | Path | None = None
                ) -> tuple[list[Path], list[SubmissionResult]]:
    """The submission files of a folder to grade, sorted by name, and error rows for the rest.

    Only regular files directly in the folder are graded. A symbolic link (never
    followed), a non-regular file, a name that is not UTF-8 or a file over the
    ``submission_bytes`` limit becomes an error row; the key itself is skipped. More
    files than the ``submission_files`` limit are refused as a whole.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BackproofError(f"{folder}: not a folder (expected a folder of submission files)")
    key_id = None
    if key_path is not None:
        try:
            st = os.stat(key_path)
            key_id = (st.st_dev, st.st_ino)
        except OSError:
            pass
    try:
        with os.scandir(folder) as it:
            entries = [e for e in it if os.path.splitext(e.name)[1].lower() in SUBMISSION_SUFFIXES]
    except OSError as exc:
        raise BackproofError(f"{folder}: cannot list the folder ({exc.strerror})") from None
    limits.check("submission_files", len(entries), str(folder))
    files: list[Path] = []
    errors: list[SubmissionResult] = []
    for e in sorted(entries, key=lambda e: os.fsencode(e.name)):
        name, stem = safe_name(e.name), safe_name(os.path.splitext(e.name)[0])
        problem = None
        try:
            st = e.stat(follow_symlinks=False)
        except OSError as exc:
            problem = f"cannot read ({exc.strerror})"
        else:
            if key_id == (st.st_dev, st.st_ino):
                continue
            if stat.S_ISLNK(st.st_mode):
                problem = "a symbolic link; not followed (only regular files in the folder are graded)"
            elif not stat.S_ISREG(st.st_mode):
                problem = "not a regular file (only regular files in the folder are graded)"
            elif name != e.name:
                problem = "the file name is not UTF-8 text (or holds control characters); rename it"
            elif st.st_size > limits.value("submission_bytes"):
                try:
                    limits.check("submission_bytes", st.st_size, name)
                except LimitError as exc:
                    problem = str(exc).removeprefix(f"{name}: ")
        if problem is None:
            files.append(Path(e.path))
        else:
            errors.append(SubmissionResult(name, stem, error=f"{name}: {problem}"))
    if not files and not errors:
        raise BackproofError(f"{folder}: no submissions ({', '.join('*' + s for s in SUBMISSION_SUFFIXES)})")
    return files, errors


def submission_files(folder: str | Path, key_path: str | Path | None = None) -> list[Path]:
    """The submission files of a folder that can be graded, sorted by name (see :func:`scan_folder`)."""
    return scan_folder(folder, key_path)[0]


# --- worker processes ---------------------------------------------------------------------------------

def _worker_main(conn, key_bytes: bytes, carried_credit: float | None, feedback, soft_limit: float,
                 hang: str | None, parent: int | None) -> None:
    """Grade submissions sent over ``conn`` until it closes.

    The worker leads its own process group (so the parent can kill it together with
    its SymPy helper by ``killpg``) in its own session (so a Ctrl-C at the terminal goes
    to the parent alone, which stops the workers: no worker tracebacks), and the kernel
    kills it when the parent dies, even by ``kill -9``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        os.setsid()
    except (OSError, AttributeError):  # AttributeError: not POSIX
        pass
    set_parent_death_signal(signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        return  # the parent died before the death signal was set
    _limit_memory(int(limits.value("worker_memory")))
    key = pickle.loads(key_bytes)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, path = task
        if hang is not None and Path(path).stem == hang:
            # Test hook: a submission that never finishes (as C code stuck in a loop can).
            while True:
                time.sleep(3600)
        start = time.perf_counter()
        try:
            # The sheet's own budget: symbolic answers share it and are charged the time
            # they take; what is still open when it runs out is "undecided".
            with budget(soft_limit):
                res, scored = _grade_one(key, path, carried_credit)
            # The page is printed outside the sheet's budget (still within the hard time limit):
            # a slow page must not turn a graded sheet into an error row.
            try:
                res = _with_page(res, scored, feedback)
            except Exception:  # a page that fails to print: the parent writes a plain one from the rows
                pass
        except BudgetExceeded:
            res = SubmissionResult(safe_name(Path(path).name), safe_name(Path(path).stem),
                                   error=f"grading took longer than {format_number(soft_limit)} s; given up",
                                   seconds=time.perf_counter() - start)
        except Exception as exc:
            res = SubmissionResult(safe_name(Path(path).name), safe_name(Path(path).stem),
                                   error=f"internal error while grading: {type(exc).__name__}",
                                   seconds=time.perf_counter() - start)
        try:
            conn.send((index, res))
        except (BrokenPipeError, OSError):
            return


def _limit_memory(extra: int) -> None:
    """Cap this process's address space at what it uses now plus ``extra`` bytes."""
    try:
        import resource
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = used + extra if hard == resource.RLIM_INFINITY else min(used + extra, hard)
        if soft == resource.RLIM_INFINITY or soft > want:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (OSError, ValueError, ImportError):
        pass  # not Linux: the wall-clock limit still holds


class _Worker:
    def __init__(self, ctx, args):
        self.conn, child = ctx.Pipe()
        parent = os.getpid() if ctx.get_start_method() == "fork" else None
        self.proc = ctx.Process(target=_worker_main, args=(child,) + args + (parent,), daemon=True)
        # SIGINT blocked across the start: a Ctrl-C then reaches the worker only after it
        # has left the terminal's process group and set itself to ignore it.
        mask = getattr(signal, "pthread_sigmask", None)
        old = mask(signal.SIG_BLOCK, {signal.SIGINT}) if mask else None
        try:
            self.proc.start()
        finally:
            if mask:
                mask(signal.SIG_SETMASK, old)
        child.close()
        self.task: tuple[int, str] | None = None
        self.deadline = 0.0

    def kill(self) -> None:
        """Kill the worker and its process group (its SymPy helper) at once."""
        if hasattr(os, "killpg"):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass  # already gone, or not (yet) a group leader: killed below
        self.proc.kill()
        self.proc.join()
        self.conn.close()

    def stop(self, *, force: bool) -> None:
        if force:
            self.kill()
            return
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(5)
        self.kill()


def _context():
    methods = mp.get_all_start_methods()
    # fork: fast, and it never re-imports the caller's __main__ (which may be stdin or a
    # notebook); safe only while this process runs a single thread (the progress bar
    # is drawn without one for that reason).
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["backproof.check.grade"])
        return ctx
    return mp.get_context("spawn")


def _run_pool(key: Key, files: Sequence[Path], *, workers: int, timeout: float, carried_credit: float | None,
              feedback, on_done: Callable[[SubmissionResult], None] | None, hang: str | None
              ) -> list[SubmissionResult]:
    ctx = _context()
    args = (pickle.dumps(key), carried_credit, feedback, max(timeout * SOFT_SHARE, 0.05), hang)
    pending = deque(enumerate(str(f) for f in files))
    results: dict[int, SubmissionResult] = {}
    pool: list[_Worker] = []
    try:
        pool += [_Worker(ctx, args) for _ in range(max(1, min(workers, len(files))))]
        while len(results) < len(files):
            _hand_out(pool, pending, timeout)
            ready = _wait_for_any(pool)
            now = time.monotonic()
            for i, w in enumerate(pool):
                if w.task is None:
                    continue
                index = w.task[0]
                res, replace = _outcome(w, ready, now, timeout)
                if res is None:
                    continue
                results[index] = res
                w.task = None
                if on_done is not None:
                    on_done(res)
                if replace:
                    # Only this worker (and its process group) is killed; the others go on.
                    w.kill()
                    pool[i] = _Worker(ctx, args) if pending else w
    finally:
        # Normal end, an error or Ctrl-C: no worker outlives the batch.
        for w in pool:
            if w.proc.is_alive():
                w.stop(force=w.task is not None or len(results) < len(files))
    return [results[i] for i in range(len(files))]


def _hand_out(pool: list[_Worker], pending: deque, timeout: float) -> None:
    """Give every idle worker the next file, with its deadline."""
    for w in pool:
        if w.task is None and pending:
            w.task = pending.popleft()
            w.deadline = time.monotonic() + timeout
            try:
                w.conn.send(w.task)
            except (BrokenPipeError, OSError):
                pass  # the dead worker is noticed when its outcome is read


def _wait_for_any(pool: list[_Worker]) -> list:
    """Wait until a busy worker answers or dies, or the earliest deadline passes."""
    busy = [w for w in pool if w.task is not None]
    wait_for = max(0.0, min(w.deadline for w in busy) - time.monotonic())
    return wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=wait_for)


def _outcome(w: _Worker, ready: list, now: float, timeout: float) -> tuple[SubmissionResult | None, bool]:
    """A busy worker's result (None while it is still working) and whether it must be replaced."""
    assert w.task is not None
    index, path = w.task
    name, stem = safe_name(Path(path).name), safe_name(Path(path).stem)
    if w.conn in ready:
        try:
            got_index, res = w.conn.recv()
            assert got_index == index
            return res, False
        except (EOFError, OSError):
            return SubmissionResult(name, stem, error="the grading process ended unexpectedly"), True
    if w.proc.sentinel in ready or not w.proc.is_alive():
        return SubmissionResult(name, stem, error=f"the grading process ended unexpectedly "
                                                  f"(exit code {w.proc.exitcode})"), True
    if now >= w.deadline:
        return SubmissionResult(name, stem, error=f"grading took longer than {format_number(timeout)} s; "
                                                  f"given up (the worker was stopped)", seconds=timeout), True
    return None, False


def grade(key_path: str | Path, folder: str | Path, *, workers: int = 2, timeout: float = DEFAULT_TIMEOUT,
          carried_credit: float | None = None, progress: bool = False, in_process: bool = False,
          feedback: Callable[[ScoredResult | None, SubmissionResult], str] | None = None,
          _hang: str | None = None) -> ClassReport:
    """Grade every submission in ``folder`` against the key.

    Parameters
    ----------
    workers : int
        Worker processes (each grades one submission at a time, in its own process
        group with a memory limit; all die with this process).
    timeout : float
        Seconds one submission may take; past it the worker is stopped and the row says so.
    in_process : bool
        Grade here, one after another, without workers or a hard time limit (for
        debugging and benchmarks of the grading itself).
    progress : bool
        Show a progress bar (on a terminal).
    carried_credit : float, optional
        The share of a question's points a carried error earns (default: the key's
        ``carried_credit`` settings, else 1).
    feedback : callable, optional
        ``feedback(scored result or None, submission result) -> text`` prints each
        student's feedback page in the worker that graded it (a module-level function or
        a ``functools.partial`` of one, so it can be sent to the workers); a submission
        given up on gets no page here (``SubmissionResult.feedback`` is None).
    """
    key = load_key(key_path)
    files, refused = scan_folder(folder, key_path)
    bar = None
    task = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        # No refresh thread (auto_refresh=False): worker processes are forked from here.
        bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=Console(stderr=True), transient=True, auto_refresh=False)
        task = bar.add_task("grading", total=len(files))

    def done(_res):
        if bar is not None and task is not None:
            bar.advance(task)
            bar.refresh()

    if bar is not None:
        bar.start()
    try:
        if in_process:
            results = []
            for f in files:
                with budget(timeout * SOFT_SHARE):
                    results.append(grade_submission(key, f, carried_credit=carried_credit, feedback=feedback))
                done(results[-1])
        elif files:
            results = _run_pool(key, files, workers=workers, timeout=timeout, carried_credit=carried_credit,
                                feedback=feedback, on_done=done, hang=_hang)
        else:
            results = []
    finally:
        if bar is not None:
            bar.stop()
    results = list(results) + refused
    results.sort(key=lambda r: r.file)
    return ClassReport(key, tuple(results), summarize(key, results))


# --- the class summary ---------------------------------------------------------------------------------

def summarize(key: Key, results: Sequence[SubmissionResult]) -> dict:
    """Scores, which quantities were missed most, and which mistakes were most common."""
    graded = [r for r in results if r.error is None]
    per_q: dict[str, Counter] = {}
    order: list[str] = []
    mistakes: Counter = Counter()
    where: dict[str, Counter] = {}
    for r in graded:
        for row in r.rows:
            if not row.counted:
                continue
            if row.quantity not in per_q:
                per_q[row.quantity] = Counter()
                order.append(row.quantity)
            per_q[row.quantity][row.verdict] += 1
            if row.verdict == "incorrect" and row.mistake:
                mistakes[row.mistake] += 1
                where.setdefault(row.mistake, Counter())[row.quantity] += 1
    quantities = _per_question(key, per_q, order)
    common = [{"mistake": m, "count": n, "quantities": [q for q, _ in sorted(where[m].items(),
                                                                             key=lambda kv: (-kv[1], kv[0]))]}
              for m, n in sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))]
    scores = [r.score for r in graded]
    total = graded[0].total if graded else _whole(sum(key.weight(q) for q in key.quantities or ()))
    return {
        "submissions": len(results),
        "graded": len(graded),
        "errors": len(results) - len(graded),
        "all_correct": sum(1 for r in graded if r.all_correct),
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
        "total": total,
        "most_missed": quantities,
        "common_mistakes": common,
        "key_problems": list(key.key_problems),
    }


def _per_question(key: Key, per_q: dict[str, Counter], order: list[str]) -> list[dict[str, Any]]:
    """Per question: its points and how many got each verdict, the most missed first."""
    quantities: list[dict[str, Any]] = []
    for q in order:
        c = per_q[q]
        n = sum(c.values())
        missed = c["incorrect"] + c["missing"] + c["undecided"] + c["invalid"]
        found = _resolve(key, q)
        quantities.append({"quantity": q, "points": _whole(key.weight(found)) if found is not None else 1,
                           "answered": n, **{v: c[v] for v in VERDICTS + ("invalid",)},
                           "missed": missed, "missed_share": round(missed / n, 4) if n else 0.0})
    quantities.sort(key=lambda d: (-d["missed"], order.index(d["quantity"])))
    return quantities


# --- output -----------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# No two quantifiers compete for the same digits (the old ``\d+\.?\d*`` could split a
# run of digits in n ways: a 20 KB cell took 100 s), so a match takes linear time.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralize(cell) -> str:
    """A CSV cell a spreadsheet will not run as a formula.

    Text beginning with ``= + - @``, a tab or a carriage return gets a leading ``'``
    (OWASP's advice); plain numbers such as ``-0.6`` are left alone (they are not
    formulas, and stay numbers).

    Examples
    --------
    >>> neutralize("=HYPERLINK(\\"http://x\\")"), neutralize("-0.6"), neutralize("-1+2")
    ('\\'=HYPERLINK("http://x")', '-0.6', "'-1+2")
    """
    text = "" if cell is None else str(cell)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


CSV_COLUMNS = ("student", "file", "quantity", "given", "expected", "verdict", "mistake", "explanation",
               "points", "counted", "score", "total", "error")


def render_csv(report: ClassReport) -> str:
    """One row per student per quantity (an error row for a submission that could not be graded)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in report.results:
        base = {"student": r.student, "file": r.file, "score": format_number(r.score), "total": r.total}
        if r.error is not None:
            w.writerow([neutralize(v) for v in _csv_row({**base, "score": "", "total": "", "error": r.error})])
            continue
        for row in r.rows:
            w.writerow([neutralize(v) for v in _csv_row({
                **base, "quantity": row.quantity, "given": row.given, "expected": row.expected,
                "verdict": row.verdict, "mistake": row.mistake, "explanation": row.explanation,
                "points": format_number(row.points), "counted": "yes" if row.counted else "no"})])
    return buf.getvalue()


def _plain_points(x) -> str:
    """Points as a plain decimal an LMS reads (``2``, ``0.5``; never ``1e-05``)."""
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def render_gradebook(report: ClassReport) -> str:
    """The gradebook an LMS imports: ``student_id,score,max`` and one column of points per question.

    One header row, one row per submission (sorted by file name), plain UTF-8 CSV;
    ``student_id`` is the submission's file name without its extension. A submission
    that could not be graded has empty cells (an import then leaves that grade alone; the
    summary lists it). Every cell is neutralised against formula injection.
    """
    key = report.key
    columns: list[str] = [key.problem.display(q) for q in key.quantities] if key.quantities is not None else []
    if key.quantities is None:  # every question someone answered, in the order first met
        for r in report.results:
            columns += [row.quantity for row in r.rows if row.counted and row.quantity not in columns]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([neutralize(c) for c in ("student_id", "score", "max", *columns)])
    for r in report.results:
        if r.error is not None:
            w.writerow([neutralize(r.file.rsplit(".", 1)[0])] + [""] * (2 + len(columns)))
            continue
        got = {row.quantity: row.points for row in r.rows if row.counted}
        w.writerow([neutralize(r.file.rsplit(".", 1)[0]), _plain_points(r.score), _plain_points(r.total),
                    *(_plain_points(got.get(c, 0.0)) for c in columns)])
    return buf.getvalue()


#: Names a file may not have on Windows, whatever its extension (a class folder is often shared).
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
#: Longest feedback file stem, in characters (a name is at most 255 bytes on common file systems;
#: a character is at most 4 bytes in UTF-8, and the suffix and a ``-N`` need room).
_MAX_STEM = 60


def _file_stem(name: str) -> str:
    """A submission's name without its extension, as a plain, harmless file stem."""
    stem = os.path.splitext(safe_name(name))[0]
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
    stem = stem.lstrip(".-_")[:_MAX_STEM] or "submission"
    return "_" + stem if stem.split(".")[0].upper() in _RESERVED else stem


def feedback_names(files: Sequence[str], suffix: str) -> dict[str, str]:
    """A file name for each submission's feedback page: its stem made harmless, unique.

    Only letters, digits, ``-``, ``_`` and ``.`` are kept (anything else becomes ``_``), a
    leading dot or dash is dropped (no hidden files, nothing read as an option), Windows'
    reserved names get a ``_``, and names equal up to case get ``-2``, ``-3`` … so no page
    overwrites another on a case-insensitive file system.

    Examples
    --------
    >>> feedback_names(["ada.yaml", "ADA.json", "../x.yaml", "-rf.yaml", "con.yaml"], ".html")
    {'ada.yaml': 'ada.html', 'ADA.json': 'ADA-2.html', '../x.yaml': 'x.html', '-rf.yaml': 'rf.html', \
'con.yaml': '_con.html'}
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for f in files:
        stem = _file_stem(f)
        name, n = stem, 1
        while name.casefold() in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.casefold())
        out[f] = name + suffix
    return out


def _csv_row(d: dict) -> list:
    return [d.get(c, "") if d.get(c) is not None else "" for c in CSV_COLUMNS]


def report_dict(report: ClassReport) -> dict:
    return {
        "key": Path(report.key.path).name,
        "students": [{"student": r.student, "file": r.file, "score": r.score, "total": r.total,
                      "error": r.error, "items": [asdict(row) for row in r.rows]} for r in report.results],
        "summary": report.summary,
    }


def render_json(report: ClassReport) -> str:
    return to_json_text(report_dict(report))


def cpu_workers(requested: int | None) -> int:
    n = os.cpu_count() or 1
    return max(1, min(requested or 2, n))

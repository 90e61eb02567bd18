"""Time budgets that cannot be lost: deadlines carried explicitly, and a worker process for SymPy.

SymPy has no timeouts of its own, and an interval timer (SIGALRM) is not a safe way to
add one: its exception can fire inside a garbage-collector or weakref callback, where
Python prints "Exception ignored in …" and the budget is silently lost. So budgets
here never interrupt anything:

- a :class:`Budget` is a deadline. :func:`budget` opens a nested one, which ends at
  its own deadline or its caller's, whichever is first; a step that finishes early
  leaves the rest of the time to its caller (nested budgets charge the time actually
  used). Loops check :meth:`Budget.expired` between steps.
- one call that may run for minutes (``sympy.simplify`` on untrusted material) goes
  through :func:`run_limited`: it runs in a worker process with a wall-clock limit
  and a memory limit (``resource.RLIMIT_AS``); past the deadline the worker is killed
  (and replaced on the next call) and :class:`BudgetExceeded` is raised. The worker is
  forked from this process, so it starts warm (SymPy already imported); it lives on
  between calls, and it dies with its parent (``PR_SET_PDEATHSIG`` on Linux).

With other Python threads running (a notebook kernel), forking is unsafe, so the
worker comes from multiprocessing's fork server instead. Where no worker can be
started at all (no ``fork``), :func:`run_limited` raises :class:`BudgetExceeded` at
once and callers take their cheaper path (the unsimplified form, a numeric check).
"""

from __future__ import annotations

import contextvars
import gc
import math
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from typing import Any

from .errors import BackproofError
from .limits import value

__all__ = ["BudgetExceeded", "Budget", "budget", "current", "run_limited", "isolation_available",
           "set_parent_death_signal", "time_scale", "paused_gc"]

#: Extra address space a SymPy worker may map beyond what it inherited (bytes).
WORKER_MEMORY = int(value("worker_memory"))
#: Largest reply a worker may send back (a pickled expression), bytes.
MAX_REPLY = 64 << 20


def time_scale() -> float:
    """The factor every time budget is multiplied by: ``BACKPROOF_TIME_SCALE`` (1 to 100,
    default 1).

    A budget decides whether SymPy finishes a simplification or a proof, so on a busy or slow
    machine a borderline step can fall back to its cheaper path and a write-up changes.
    The gallery (``examples/render_all.py``) is rendered with a generous scale so that what
    it proves does not depend on the machine's load.

    Examples
    --------
    >>> time_scale()
    1.0
    """
    text = os.environ.get("BACKPROOF_TIME_SCALE", "").strip()
    if not text:
        return 1.0
    try:
        scale = float(text)
    except ValueError:
        scale = math.nan
    if not 1.0 <= scale <= 100.0:
        raise BackproofError(f"BACKPROOF_TIME_SCALE must be a number from 1 to 100, got {text[:40]!r}")
    return scale


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one block, restoring the caller's setting.

    Parsing a program and deriving it allocate many long-lived objects (syntax tree, graph,
    SymPy values, steps) and no cycles worth reclaiming; every full collection walks each live
    object, which made the parse grow as n^1.14 and taxed the sweep by about a third on large
    graphs (issue 13). Reference counting still frees everything, and the limits bound the
    memory. Never hold it while :func:`run_limited` forks a worker: the worker would inherit it.

    Examples
    --------
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class BudgetExceeded(Exception):
    """The computation ran past its time budget (or could not be run within one here)."""


@dataclass(frozen=True)
class Budget:
    """A deadline on :func:`time.monotonic`'s clock (``inf``: no limit).

    Examples
    --------
    >>> b = Budget.of(10.0)
    >>> 9.0 < b.remaining() <= 10.0, b.expired()
    (True, False)
    >>> Budget.of(0).expired()
    True
    """

    deadline: float = math.inf

    @classmethod
    def of(cls, seconds: float) -> Budget:
        """A budget of ``seconds`` (times :func:`time_scale`) from now."""
        return cls(time.monotonic() + max(seconds, 0.0) * time_scale())

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(self.deadline - time.monotonic(), 0.0)

    def expired(self) -> bool:
        """True when no time is left."""
        return time.monotonic() >= self.deadline

    def check(self) -> None:
        """Raise :class:`BudgetExceeded` when no time is left (call it between steps)."""
        if self.expired():
            raise BudgetExceeded("the time budget is used up")


# The default is a frozen Budget (no limit), never mutated.
_CURRENT: contextvars.ContextVar[Budget] = contextvars.ContextVar(
    "backproof_budget", default=Budget())  # noqa: B039


def current() -> Budget:
    """The innermost budget opened with :func:`budget` (no limit outside any)."""
    return _CURRENT.get()


@contextmanager
def budget(seconds: float) -> Iterator[Budget]:
    """Open a nested budget of at most ``seconds`` (times :func:`time_scale`), ending no later
    than the enclosing one.

    Nothing is interrupted: the block checks the yielded budget between steps, and
    :func:`run_limited` inside it never runs past it. Leaving the block early charges
    the enclosing budget only the time used.

    Examples
    --------
    >>> with budget(30) as outer:
    ...     with budget(2) as inner:
    ...         pass
    ...     outer.remaining() > 29
    True
    """
    outer = _CURRENT.get()
    inner = Budget(min(outer.deadline, time.monotonic() + max(seconds, 0.0) * time_scale()))
    token = _CURRENT.set(inner)
    try:
        yield inner
    finally:
        _CURRENT.reset(token)


# --- the worker process --------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only).

    Returns False where that is not available. Call it first thing in a forked child,
    then check that the parent is still the one expected (it may have died before).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def isolation_available() -> bool:
    """True when :func:`run_limited` can start a worker process here."""
    if not hasattr(os, "fork"):
        return False
    return threading.active_count() == 1 or "forkserver" in mp.get_all_start_methods()


#: Modules a worker started by the fork server imports first: SymPy's own, and those its
#: ``simplify`` imports on first use (which would otherwise take each worker ~0.5 s).
_PRELOAD = ["sympy", "sympy.physics.units", "sympy.combinatorics", "sympy.tensor.tensor",
            "sympy.sets.setexpr", "backproof.timeout", "backproof.verify", "backproof.check.compare"]


class _Worker:
    """One worker: a pid and a duplex connection.

    Forked from this process when it runs a single thread (the worker starts warm);
    with other threads running (a notebook kernel), forking is unsafe, so the worker
    comes from multiprocessing's fork server instead.
    """

    def __init__(self, memory: int):
        self.proc: Any = None  # a multiprocessing Process on the fork-server path
        self.pid: int = 0
        self.conn: Connection
        if threading.active_count() > 1:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            ours, theirs = ctx.Pipe(duplex=True)
            self.proc = ctx.Process(target=_child, args=(theirs, memory), daemon=True)
            self.proc.start()
            theirs.close()
            self.pid, self.owner, self.conn = int(self.proc.pid), os.getpid(), ours
            return
        _warm_up()
        parent_pid = os.getpid()
        ours, theirs = Pipe(duplex=True)
        # SIGINT is blocked across the fork so the child never sees a Ctrl-C meant for
        # the parent before it has set itself to ignore it (no worker tracebacks).
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
            if pid == 0:  # the child: never returns into the caller's stack
                code = 1
                try:
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    signal.pthread_sigmask(signal.SIG_SETMASK, old)
                    set_parent_death_signal()
                    if os.getppid() == parent_pid:  # else the parent died before the line above
                        ours.close()
                        _child(theirs, memory)
                        code = 0
                finally:
                    os._exit(code)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        theirs.close()
        self.pid = pid
        self.owner = parent_pid
        self.conn = ours

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
        else:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        self.conn.close()


_WARM = False


def _warm_up() -> None:
    """Run one small ``simplify`` here, once, before the first fork.

    SymPy imports about 30 modules (units, combinatorics) the first time ``simplify``
    runs, which takes about half a second. Done in each fresh worker, that start-up alone
    would use up a 0.5 s budget, the worker would be killed, and its replacement would
    start cold again; done once here, every worker forked later starts warm.
    """
    global _WARM
    if _WARM or "sympy" not in sys.modules:
        return
    _WARM = True
    import sympy as sp
    t = sp.Dummy("t", real=True)
    sp.simplify(sp.sin(t) ** 2 + sp.cos(t) ** 2 + sp.exp(t) / (t**2 - 1))
    sp.cancel((t**2 - 1) / (t - 1))


def _limit_memory(extra: int) -> None:
    try:
        import resource
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, ImportError):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = used + extra
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft > want:
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def _child(conn: Connection, memory: int) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills us
    set_parent_death_signal()
    _limit_memory(memory)
    _serve(conn)


def _serve(conn: Connection) -> None:
    """The worker's loop: ``(fn, args)`` in, ``("ok", result)`` or ``("error", text)`` out."""
    while True:
        try:
            fn, args = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            reply = pickle.dumps(("ok", fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            reply = pickle.dumps(("error", "out of memory"))
        except Exception as exc:
            reply = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"[:300]))
        conn.send_bytes(reply)


_WORKER: _Worker | None = None
_LOCK = threading.Lock()
#: True in a worker process itself: calls there run directly, within the worker's limits.
_IN_WORKER = False


def _drop_inherited() -> None:
    # A forked child (a grade worker) must not talk to its parent's worker, and the
    # lock may have been held by the forking call.
    global _WORKER, _LOCK
    if _WORKER is not None:
        try:
            _WORKER.conn.close()
        except OSError:
            pass
    _WORKER = None
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited)


def _stop_worker() -> None:
    global _WORKER
    if _WORKER is not None and _WORKER.owner == os.getpid():
        _WORKER.stop()
    _WORKER = None


def run_limited(fn: Callable[..., Any], *args: Any, seconds: float = math.inf,
                memory: int = WORKER_MEMORY) -> Any:
    """``fn(*args)`` in a worker process, within ``seconds`` (times :func:`time_scale`) and the
    current :func:`budget`.

    ``fn`` and the arguments must be picklable (a module-level function, SymPy
    expressions); the result comes back pickled.

    Raises
    ------
    BudgetExceeded
        When the time ran out (the worker is killed), or no worker can run here.
    RuntimeError
        When ``fn`` raised in the worker, ran out of memory, or the worker died.

    Examples
    --------
    >>> import operator
    >>> run_limited(operator.add, 2, 3, seconds=10)
    5
    """
    global _WORKER
    limit = min(seconds * time_scale(), current().remaining())
    if limit <= 0:
        raise BudgetExceeded("the time budget is used up")
    if _IN_WORKER:
        return fn(*args)
    if not isolation_available():
        raise BudgetExceeded("no worker process can be started here")
    payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
    with _LOCK:
        if _WORKER is None or _WORKER.owner != os.getpid():
            _WORKER = _Worker(memory)
        w = _WORKER
        try:
            w.conn.send_bytes(payload)
            if not w.conn.poll(None if math.isinf(limit) else limit):
                _stop_worker()
                raise BudgetExceeded(f"took longer than {limit:.3g} s")
            status, value = pickle.loads(w.conn.recv_bytes(MAX_REPLY))
        except (EOFError, OSError) as exc:
            _stop_worker()
            raise RuntimeError(f"the worker process ended unexpectedly ({type(exc).__name__})") from None
        except BaseException:
            # Ctrl-C or anything else mid-call: the worker's reply would be misread later.
            _stop_worker()
            raise
    if status != "ok":
        raise RuntimeError(value)
    return value

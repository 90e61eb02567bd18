"""A wall-clock budget for SymPy calls that can run for minutes (``simplify``).

SymPy has no timeouts of its own. In the main thread an interval timer raises
:class:`BudgetExceeded` inside the computation; elsewhere (no signals there) the budget
is reported as unavailable and callers use their cheaper path.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["BudgetExceeded", "time_limit", "budget_available"]


class BudgetExceeded(Exception):
    """The computation ran past its time budget."""


def budget_available() -> bool:
    """True when :func:`time_limit` can interrupt a computation here."""
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`BudgetExceeded` in the block after ``seconds`` (main thread only).

    Examples
    --------
    >>> with time_limit(1.0):
    ...     x = sum(range(10))
    """
    if not budget_available():
        yield
        return

    def _raise(signum, frame):
        raise BudgetExceeded(f"took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if old_timer[0] > 0:  # an outer budget was running: give it back what is left
            signal.setitimer(signal.ITIMER_REAL, max(old_timer[0] - seconds, 1e-3))

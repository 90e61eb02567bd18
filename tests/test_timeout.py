"""Budgets that cannot be lost: explicit deadlines, and SymPy work in a worker process with limits."""

from __future__ import annotations

import operator
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy as sp

from backproof.check.compare import expressions_equal
from backproof.timeout import (
    Budget,
    BudgetExceeded,
    budget,
    current,
    isolation_available,
    run_limited,
)

SRC = str(Path(__file__).resolve().parent.parent / "src")
needs_worker = pytest.mark.skipif(not isolation_available(), reason="no fork here")

# A program that churns cyclic garbage (so the collector runs all the time) with a slow
# gc callback, under a short budget. SIGALRM used to fire inside the callback, where
# Python prints "Exception ignored in ... gc_callback" and the budget was lost.
GC_SCRIPT = """
import gc, time
from backproof.timeout import BudgetExceeded, budget, run_limited

def slow_callback(phase, info):
    time.sleep(0.001)

def churn():
    while True:
        a = []
        a.append(a)

gc.callbacks.append(slow_callback)
gc.set_threshold(50)
try:
    with budget(0.5):
        run_limited(churn)
    print("finished")
except BudgetExceeded:
    print("budget enforced")
"""


@needs_worker
def test_finding_gc_callback_cannot_swallow_the_budget():
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # timeout=120 only guards against a hang (a lost budget never returns).
    done = subprocess.run([sys.executable, "-c", GC_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.stdout.strip() == "budget enforced", done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr


@needs_worker
def test_nested_budgets_charge_only_the_time_used():
    a, b = sp.symbols("a b", real=True)
    with budget(30) as outer:
        deadline = outer.deadline
        for _ in range(20):
            with budget(2) as inner:
                assert inner.deadline <= outer.deadline and current() is inner
                assert expressions_equal((a + b) ** 2, a**2 + 2 * a * b + b**2).equal
            assert current() is outer
        # Nothing was subtracted: the outer deadline is where it was, whatever the inner
        # budgets allowed (the old timer took 2 s off per answer, used or not).
        assert outer.deadline == deadline and not outer.expired()
    assert current() == Budget()


def test_an_inner_budget_never_outlives_its_caller():
    with budget(1) as outer, budget(100) as inner:
        assert inner.deadline == outer.deadline


@needs_worker
def test_a_worker_past_its_time_is_killed_and_the_next_call_works():
    with pytest.raises(BudgetExceeded):
        run_limited(time.sleep, 60, seconds=0.2)
    assert run_limited(operator.add, 2, 3) == 5


@needs_worker
def test_a_worker_has_a_memory_limit():
    with pytest.raises(RuntimeError, match="memory"):
        run_limited(bytearray, 64 << 30, seconds=60)
    assert run_limited(operator.mul, 6, 7) == 42


@needs_worker
def test_a_failure_in_the_worker_is_an_exception_here():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        run_limited(operator.truediv, 1, 0)


def test_a_used_up_budget_gives_the_honest_answers():
    a, b = sp.symbols("a b", real=True)
    with budget(0):
        res = expressions_equal(sp.sin(a) ** 2 + sp.cos(a) ** 2, 1 + 0 * b)
        with pytest.raises(BudgetExceeded):
            run_limited(operator.add, 1, 2)
    assert res.equal is None and res.method == "budget"  # "undecided", never a guess


@needs_worker
def test_with_other_threads_running_the_worker_comes_from_the_fork_server():
    # A notebook kernel runs threads; forking then is unsafe, but budgets must still hold.
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        assert threading.active_count() > 1 and isolation_available()
        with pytest.raises(BudgetExceeded):  # also retires any worker forked earlier
            run_limited(time.sleep, 60, seconds=0.2)
        a = sp.Symbol("a", real=True)
        assert run_limited(sp.simplify, sp.sin(a) ** 2 + sp.cos(a) ** 2, seconds=60) == 1
        assert run_limited(os.getppid, seconds=60) != os.getpid()  # not a bare fork of this process
        with pytest.raises(BudgetExceeded):
            run_limited(time.sleep, 60, seconds=0.2)
        assert run_limited(operator.add, 2, 3, seconds=60) == 5
    finally:
        stop.set()
        t.join()


def test_time_scale_multiplies_every_budget(monkeypatch):
    """BACKPROOF_TIME_SCALE: the gallery's guard against a busy machine changing what is proved."""
    from backproof.timeout import Budget, budget, time_scale
    monkeypatch.setenv("BACKPROOF_TIME_SCALE", "3")
    assert time_scale() == 3.0
    assert 2.9 < Budget.of(1.0).remaining() <= 3.0
    with budget(1.0) as b:
        assert 2.9 < b.remaining() <= 3.0
    monkeypatch.delenv("BACKPROOF_TIME_SCALE")
    assert time_scale() == 1.0 and Budget.of(1.0).remaining() <= 1.0


def test_bad_time_scale_is_one_clear_error(monkeypatch):
    from backproof.errors import BackproofError
    from backproof.timeout import time_scale
    for bad in ("0.5", "fast", "1e9", "nan"):
        monkeypatch.setenv("BACKPROOF_TIME_SCALE", bad)
        with pytest.raises(BackproofError, match="BACKPROOF_TIME_SCALE must be a number from 1 to 100"):
            time_scale()

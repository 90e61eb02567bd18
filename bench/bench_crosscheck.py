"""Cross-check at 1,000 points of a ~200-node program vs SymPy point by point.

The program is a small dense network written out as scalar statements (3 inputs, two
tanh layers of 5 and 6 units, a sigmoid output, half squared error): about 200 graph
nodes and 75 gradients (every weight, bias, input and named intermediate). Timed side
by side in one run:

- ``crosscheck(points=1000)``: the three-way check at the given point plus 999 random
  points around it (one batched engine pass, batched finite differences, the symbolic
  gradients derived once and evaluated at every point);
- ``crosscheck(points=1)`` for scale;
- the engine alone: values and every gradient at 1,000 points (``engine.grad``);
- the naive symbolic way, point by point: the output written in the inputs,
  differentiated once per input with ``sympy.diff`` (timed once), then at every point
  every gradient evaluated by SymPy, in two variants: ``expr.subs(point).evalf()`` (the
  textbook loop) and ``sympy.N(expr.xreplace(point))`` (the fastest SymPy way we found:
  float substitution folds the arithmetic while the tree is rebuilt). Both loops are far
  too slow to run 1,000 times; they are timed on ``--subs-points`` and
  ``--xreplace-points`` points and scaled to 1,000 (the cost is linear in the number
  of points). They check fewer gradients (inputs only: the naive way has no
  intermediates) and no finite differences.

Rerun from the repository root:

    PYTHONPATH=src python bench/bench_crosscheck.py          # about 3 minutes
    PYTHONPATH=src python bench/bench_crosscheck.py --subs-points 0 --xreplace-points 50
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time

import numpy as np
import sympy as sp

from backproof.engine import grad
from backproof.functions import rewrite_elementary
from backproof.graph import build_graph, to_tape
from backproof.parse import parse_program
from backproof.threeway import crosscheck


def mlp_program(sizes=(3, 5, 6, 1)) -> tuple[str, dict[str, float]]:
    """A dense network as scalar statements, with a deterministic point."""
    rng = np.random.default_rng(0)
    lines, at = [], {}
    prev = [f"x{i}" for i in range(sizes[0])]
    for name in prev:
        at[name] = round(float(rng.uniform(-1, 1)), 3)
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        cur = []
        act = "sigmoid" if l == len(sizes) - 1 else "tanh"
        for j in range(n_out):
            for i in range(n_in):
                at[f"w{l}_{j}_{i}"] = round(float(rng.uniform(-1, 1)), 3)
            at[f"b{l}_{j}"] = round(float(rng.uniform(-0.5, 0.5)), 3)
            terms = " + ".join(f"w{l}_{j}_{i}*{p}" for i, p in enumerate(prev))
            lines.append(f"h{l}_{j} = {act}({terms} + b{l}_{j})")
            cur.append(f"h{l}_{j}")
        prev = cur
    at["t"] = 0.25
    lines.append(f"L = 0.5*({prev[0]} - t)**2")
    return "\n".join(lines), at


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1000, help="points to check (default 1000)")
    ap.add_argument("--subs-points", type=int, default=1,
                    help="points the subs/evalf loop is timed on; 0 skips it (default 1)")
    ap.add_argument("--xreplace-points", type=int, default=20,
                    help="points the xreplace/N loop is timed on (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="repeats; the best is kept (default 3)")
    args = ap.parse_args()

    text, at = mlp_program()
    prog = parse_program(text)
    g = build_graph(prog)
    tape = to_tape(g)
    n = args.points

    crosscheck("y = x*x", "x=1")  # warm-up: imports, caches
    cc = crosscheck(text, at, points=n)
    assert cc.ok, cc.summary
    t_cc = best(lambda: crosscheck(text, at, points=n), args.repeat)
    t_cc1 = best(lambda: crosscheck(text, at, points=1), args.repeat)
    rng = np.random.default_rng(1)
    batch = {k: v + rng.uniform(-0.5, 0.5, n) for k, v in at.items()}
    t_engine = best(lambda: grad(tape, batch), args.repeat)

    # The naive way: expand, differentiate once per input, then subs/evalf per point.
    t0 = time.perf_counter()
    out = rewrite_elementary(prog.expanded()[prog.output])
    syms = [sp.Symbol(k, real=True) for k in prog.inputs]
    diffs = [sp.diff(out, s) for s in syms]
    t_diff = time.perf_counter() - t0
    def per_point(k: int, evaluate) -> float:
        t0 = time.perf_counter()
        for i in range(k):
            point = {s: float(batch[s.name][i]) for s in syms}
            for d in diffs:
                evaluate(d, point)
        return (time.perf_counter() - t0) / k * n

    ks, kx = args.subs_points, args.xreplace_points
    t_subs = per_point(ks, lambda d, p: float(d.subs(p).evalf())) if ks else float("nan")
    t_xrep = per_point(kx, lambda d, p: float(sp.N(d.xreplace(p))))

    print(f"program: {g.number_of_nodes()} nodes, {len(prog.inputs)} inputs, "
          f"{len(cc.rows)} gradients checked; {cc.summary}")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, SymPy {sp.__version__}; "
          f"best of {args.repeat}\n")
    rows = [
        (f"crosscheck, {n} points (3 ways, {len(cc.rows)} gradients)", t_cc),
        ("crosscheck, 1 point", t_cc1),
        (f"engine.grad alone, {n} points", t_engine),
        (f"naive: sympy.diff per input (once, {len(diffs)} inputs)", t_diff),
        (f"naive: subs(point).evalf(), {n} points (timed on {ks})", t_subs),
        (f"naive: N(xreplace(point)), {n} points (timed on {kx})", t_xrep),
    ]
    print(f"| {'what':<58} | {'seconds':>9} | {'× crosscheck':>12} |")
    print(f"| {'-' * 58} | {'-' * 9}: | {'-' * 12}: |")
    for name, t in rows:
        if t == t:  # skipped rows are nan
            print(f"| {name:<58} | {t:>9.4g} | {t / t_cc:>12.3g} |")


if __name__ == "__main__":
    main()

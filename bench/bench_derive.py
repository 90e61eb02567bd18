"""Reverse-mode derivation cost vs differentiating the expanded output once per input.

The seeds' claim: backpropagation computes all P derivatives of a graph of N nodes in
about N + P steps instead of N × P. This bench builds a layered program (each layer mixes
every value of the previous layer, like a small dense network) and times, side by side
in one run:

- ``derive(..., symbolic=False)``: numbers only, one reverse sweep (the N + P path);
- ``derive(...)`` with gradients in node names (still one sweep);
- the naive way: expand the output into the inputs and call ``sympy.diff`` once per input,
  then substitute the point (the N × P path).

Rerun: ``PYTHONPATH=src python bench/bench_derive.py``  (about a minute).
"""

from __future__ import annotations

import time

import sympy as sp

from backproof.derivation import derive
from backproof.parse import parse_program


def layered(width: int, depth: int) -> tuple[str, dict]:
    lines = []
    prev = [f"x{i}" for i in range(width)]
    for d in range(depth):
        cur = []
        for i in range(width):
            terms = " + ".join(f"{(i + j) % 3 + 1}*{p}" for j, p in enumerate(prev))
            name = f"h{d}_{i}"
            lines.append(f"{name} = tanh(({terms})/{width})")
            cur.append(name)
        prev = cur
    lines.append("J = " + " + ".join(f"{p}*{p}" for p in prev))
    at = {f"x{i}": sp.Rational(i + 1, 10) for i in range(width)}
    return "\n".join(lines), at


def naive(program, at) -> float:
    t = time.perf_counter()
    out = program.expanded()[program.output]
    point = {sp.Symbol(k, real=True): v for k, v in at.items()}
    for name in program.inputs:
        sp.N(sp.diff(out, sp.Symbol(name, real=True)).subs(point), 30)
    return time.perf_counter() - t


def main() -> None:
    print(f"{'width×depth':>12} {'nodes':>6} {'numbers only':>13} {'node names':>11} "
          f"{'naive diff':>11} {'naive/numbers':>14}")
    for width, depth in [(2, 2), (3, 3), (4, 3), (4, 4), (6, 4)]:
        src, at = layered(width, depth)
        prog = parse_program(src)
        t = time.perf_counter()
        d = derive(prog, at=at, symbolic=False, verify=False)
        t_num = time.perf_counter() - t
        t = time.perf_counter()
        derive(prog, at=at, expand=False, verify=False)
        t_sym = time.perf_counter() - t
        t_naive = naive(prog, at)
        print(f"{width:>5}×{depth:<6} {d.graph.number_of_nodes():>6} {t_num:>12.3f}s {t_sym:>10.3f}s "
              f"{t_naive:>10.3f}s {t_naive / t_num:>13.1f}×")


if __name__ == "__main__":
    main()

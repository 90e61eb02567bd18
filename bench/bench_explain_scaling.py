"""Issue 13: ``backproof.explain`` time and peak memory against program size, before and after.

Each measure runs in a fresh interpreter: a random program of N statements (each statement
uses a recent name and any earlier one, through +, − or ×, often inside tanh, sigmoid or
relu, so the graph has forks and kinks), then ``explain`` at a decimal point (so the
cross-check derives once more at the point's binary value, as it must). Reported: CPU
seconds of ``explain`` and the process's peak RSS, per size, and the log-log slope of each.

``--before SRC`` adds an older checkout's ``src`` (``git archive REV src | tar -x -C DIR``),
measured alternately with the current one at every size.

Rerun: ``python bench/bench_explain_scaling.py [--before /tmp/before/src] [--sizes 250,500,1000,2000]``
(a few minutes).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

PROBE = """
import random, resource, sys, time
from backproof import explain
n = int(sys.argv[1])
window = int(sys.argv[2]) if len(sys.argv) > 2 else 20   # 0: wide (any earlier name)
rng = random.Random(0)
names = ["x0", "x1", "x2", "x3"]
lines = []
for i in range(n):
    a, b = rng.choice(names[-window:] if window else names), rng.choice(names)
    e = f"{a} {rng.choice('+-*')} 0.5*{b}"
    f = rng.choice(["tanh", "sigmoid", "relu", ""])
    lines.append(f"s{i} = {f}({e})" if f else f"s{i} = {e}")
    names.append(f"s{i}")
if not window:  # wide: the output sums every name nothing else uses, so all of them count
    used = {w for line in lines for w in line.replace("(", " ").replace(")", " ").split()[2:]}
    lines.append("out = " + " + ".join(n for n in names[4:] if n not in used))
at = {"x0": 0.1, "x1": 0.2, "x2": 0.3, "x3": 0.4}
t = time.process_time()
x = explain("\\n".join(lines), at)
cpu = time.process_time() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(cpu, rss, x.graph.number_of_nodes(), x.crosscheck.ok)
"""


def measure(src: Path, n: int, window: int = 20) -> tuple[float, float, int]:
    """CPU seconds and peak RSS (MB) of explain on a random program of ``n`` statements, and
    its graph's nodes. ``window``: each statement's first operand is one of the last
    ``window`` names (chain-like, the default), or any earlier name with 0 (wide)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(n), str(window)], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[3] == "True", "the cross-check must agree"
    return float(out[0]), float(out[1]), int(out[2])


def slope(points: list[tuple[int, float]]) -> float:
    xs, ys = [math.log(p[0]) for p in points], [math.log(p[1]) for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="src directory of the version to compare against")
    ap.add_argument("--sizes", default="250,500,1000,2000", help="statements (default 250,500,1000,2000)")
    args = ap.parse_args(argv)
    versions = {"after": SRC} if args.before is None else {"before": args.before, "after": SRC}
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    rows: dict[str, list[tuple[int, float, float, int]]] = {k: [] for k in versions}
    for n in sizes:
        for label, src in versions.items():  # alternated per size: the same machine load for both
            cpu, rss, nodes = measure(src, n)
            rows[label].append((nodes, cpu, rss, n))
    head = " | ".join(f"{k} CPU (s) | {k} peak RSS (MB)" for k in versions)
    print(f"| statements | nodes | {head} |" + (" CPU ratio | RSS ratio |" if len(versions) == 2 else ""))
    print("|---|---|" + "---|---|" * len(versions) + ("---|---|" if len(versions) == 2 else ""))
    for i, n in enumerate(sizes):
        cells = [rows[k][i] for k in versions]
        text = " | ".join(f"{c[1]:.2f} | {c[2]:.0f}" for c in cells)
        ratio = (f" {cells[0][1] / cells[1][1]:.2f}× | {cells[0][2] / cells[1][2]:.2f}× |"
                 if len(cells) == 2 else "")
        print(f"| {n:,} | {cells[-1][0]:,} | {text} |{ratio}")
    for k in versions:
        pts = rows[k]
        if len(pts) < 2:
            continue  # one size: no slope
        print(f"\n{k}: log-log slope over nodes — CPU {slope([(p[0], p[1]) for p in pts]):.2f}, "
              f"peak RSS {slope([(p[0], p[2]) for p in pts]):.2f}")


if __name__ == "__main__":
    main()

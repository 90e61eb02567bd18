"""Issue 13, first steps: CLI start-up and parse time, before and after, side by side in one run.

Start-up: ``backproof --help`` against ``python -c "import sympy"``, each a fresh process,
the commands alternated, the median of ``--runs`` runs each and their ratio. Parse time:
``parse_program`` on random chain-like programs (each statement uses one or two earlier
names, with number literals) of 1k, 5k and 20k statements, each size in a fresh process;
the log-log slope is fitted over the sizes.

``--before SRC`` adds an older checkout's ``src`` directory (e.g. made with
``git archive 08a1cfe src | tar -x -C /tmp/before``) to every measure, alternated with the
current one. The old parser is quadratic, so it is timed only at ``--before-sizes``.

Rerun: ``python bench/bench_startup_parse.py [--before /tmp/before/src]`` (a few minutes).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

#: Runs in a fresh interpreter: build a random program of N statements, time parse_program.
PARSE_PROBE = """
import random, sys, time
from backproof.parse import parse_program
n = int(sys.argv[1])
rng = random.Random(0)
lines = ["v0 = 0.5*x"]
for i in range(1, n):
    a, b = rng.randrange(i), rng.randrange(i)
    if rng.random() < 0.6:
        lines.append(f"v{i} = {rng.choice(['0.5', '2', '1.25', '3e-1'])}*v{a} + v{b}")
    else:
        lines.append(f"v{i} = {rng.choice(['tanh', 'sin', 'exp'])}(v{a})")
text = "\\n".join(lines)
t = time.perf_counter()
program = parse_program(text)
print(time.perf_counter() - t, len(program.statements))
"""

#: Which heavy libraries ``backproof --help`` loads.
HEAVY_PROBE = """
import contextlib, io, sys
from backproof.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["--help"])
heavy = sorted({m.split('.')[0] for m in sys.modules} & {"sympy", "numpy", "networkx", "graphviz"})
print(",".join(heavy) or "none", len(sys.modules))
"""


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def startup(versions: dict[str, Path], runs: int) -> list[tuple[str, float, float]]:
    """(label, median seconds, ratio to ``import sympy``) per command, alternated run by run."""
    py = sys.executable
    cmds = {"python -c 'import sympy'": ([py, "-c", "import sympy"], _env(SRC))}
    for label, src in versions.items():
        cmds[f"backproof --help ({label})"] = ([py, "-m", "backproof", "--help"], _env(src))
    for cmd, env in cmds.values():  # warm the file cache and the bytecode once
        _wall(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, (cmd, env) in cmds.items():
            times[name].append(_wall(cmd, env))
    base = statistics.median(times["python -c 'import sympy'"])
    return [(name, statistics.median(ts), statistics.median(ts) / base) for name, ts in times.items()]


def import_profile(src: Path, top: int = 6) -> tuple[str, list[str]]:
    """Heavy libraries ``--help`` loads, and the largest cumulative entries of ``-X importtime``."""
    heavy = subprocess.run([sys.executable, "-c", HEAVY_PROBE], env=_env(src), capture_output=True,
                           text=True, check=True).stdout.strip()
    err = subprocess.run([sys.executable, "-X", "importtime", "-m", "backproof", "--help"], env=_env(src),
                         capture_output=True, text=True, check=True).stderr
    rows = []
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return heavy, [f"{us / 1000:7.1f} ms {name.strip()}" for us, name in rows[:top]]


def parse_time(src: Path, n: int) -> float:
    out = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(n)], env=_env(src), capture_output=True,
                         text=True, check=True).stdout.split()
    assert int(out[1]) == n, out
    return float(out[0])


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(size)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="src directory of the version to compare against")
    ap.add_argument("--runs", type=int, default=15, help="runs of each start-up command (default 15)")
    ap.add_argument("--sizes", default="1000,5000,20000", help="statements parsed (current version)")
    ap.add_argument("--before-sizes", default="500,1000,2000", help="statements parsed (--before)")
    args = ap.parse_args(argv)
    versions = {"after": SRC} if args.before is None else {"before": args.before, "after": SRC}

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
          f"Python {platform.python_version()}\n")
    print("| command | median (s) | ratio to import sympy |\n|---|---|---|")
    for name, med, ratio in startup(versions, args.runs):
        print(f"| `{name}` | {med:.3f} | {ratio:.2f}× |")
    for label, src in versions.items():
        heavy, top = import_profile(src)
        print(f"\n`backproof --help` ({label}) loads heavy libraries: {heavy.split()[0]} "
              f"({heavy.split()[1]} modules); largest cumulative imports (-X importtime):")
        print("\n".join(f"    {row}" for row in top))

    sizes = {"after": [int(s) for s in args.sizes.split(",")]}
    if args.before is not None:
        sizes["before"] = [int(s) for s in args.before_sizes.split(",")]
        # Side by side at the sizes both run: alternate before/after per size.
        shared = sorted(set(sizes["before"]) | set(sizes["after"]))
    else:
        shared = sizes["after"]
    results: dict[str, list[tuple[int, float]]] = {label: [] for label in versions}
    for n in shared:
        for label, src in versions.items():
            if n in sizes[label] or (label == "after" and args.before is not None):
                results[label].append((n, parse_time(src, n)))
    print("\n| statements | " + " | ".join(f"parse {label} (s)" for label in versions) + " | ratio |")
    print("|---|" + "---|" * len(versions) + "---|")
    for n in shared:
        cells = [dict(results[label]).get(n) for label in versions]
        ratio = f"{cells[0] / cells[-1]:.0f}×" if len(cells) == 2 and None not in cells else ""
        print(f"| {n:,} | " + " | ".join("—" if c is None else f"{c:.3f}" for c in cells) + f" | {ratio} |")
    for label in versions:
        if len(results[label]) < 2:
            continue
        print(f"\nlog-log slope of parse time ({label}, {results[label][0][0]:,}–{results[label][-1][0]:,}): "
              f"{slope(results[label]):.2f}")


if __name__ == "__main__":
    main()

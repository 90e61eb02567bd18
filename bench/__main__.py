"""``python -m bench``: the scaling suite of issue 13 in one command.

Runs the scaling series with the existing bench scripts' probes (each measure in a fresh
process, so its peak RSS is its own), fits the log-log exponent of each with
``numpy.polyfit``, draws one log-log plot per series into ``bench/plots/`` (matplotlib) and
rewrites the figures section of ``bench/README.md`` (between the ``bench:figures`` markers).

    python -m bench --quick     # a few minutes: smaller sizes
    python -m bench             # the full sizes (explain up to ~21k nodes): much longer
    python -m bench --no-write  # print only

Series:

- ``explain``, chain-like and wide random programs (``bench_explain_scaling``): CPU s and
  peak RSS against graph nodes;
- ``parse``: ``parse_program`` against statements (``bench_startup_parse``);
- ``net``: ``derive`` of spec'd MLPs against graph nodes (``bench_nn``);
- ``floor``: ``derive`` on 16-64-64-10 against the same graph walk with exact numbers and no
  steps (forward values, local partials, backward sweep), alternated, median ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(HERE))

import bench_explain_scaling  # noqa: E402  (the bench folder is not a package path)
import bench_startup_parse  # noqa: E402

README = HERE / "README.md"
PLOTS = HERE / "plots"
START, END = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"

SIZES = {
    "quick": {"explain": [250, 500, 1000, 2000], "parse": [1000, 4000, 16000],
              "net": ["mazur", "16-16-4", "16-32-32-10", "16-64-64-10"], "floor_runs": 3},
    "full": {"explain": [250, 500, 1000, 2000, 4000, 9000], "parse": [1000, 4000, 16000, 20000],
             "net": ["mazur", "16-16-4", "16-32-32-10", "16-64-64-10", "32-96-96-10"], "floor_runs": 5},
}

FLOOR_PROBE = """
import sys, time, json
sys.path.insert(0, sys.argv[1])
from bench_nn import spec_for
from backproof.nn import program_from_spec
from backproof.derivation import derive, forward_values, local_partials, backward_sweep
from backproof.graph import build_graph, topological_order
net = program_from_spec(spec_for([16, 64, 64, 10], "relu", "softmax", "ce", 1))
out = net.program.output
def walk():
    g = build_graph(net.program); order = topological_order(g)
    fwd = forward_values(g, order, dict(net.at))
    backward_sweep(g, order, out, local_partials(g, order, out, fwd, False), True, False, fwd.note)
def full():
    derive(net.program, at=net.at, expand=False, verify=False)
walk(); full()   # warm SymPy's caches alike
res = []
for _ in range(int(sys.argv[2])):
    t = time.process_time(); walk(); a = time.process_time() - t
    t = time.process_time(); full(); b = time.process_time() - t
    res.append((a, b))
print(json.dumps(res))
"""


def fit(xs, ys) -> float:
    """The log-log exponent: slope of the least-squares line through (log x, log y)."""
    return float(np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)[0])


def explain_series(sizes: list[int], window: int) -> list[dict]:
    rows = []
    for n in sizes:
        cpu, rss, nodes = bench_explain_scaling.measure(SRC, n, window)
        rows.append({"statements": n, "nodes": nodes, "cpu": cpu, "rss": rss})
        print(f"  explain window={window or 'all'} n={n}: {nodes} nodes, {cpu:.2f} s, {rss:.0f} MB",
              file=sys.stderr)
    return rows


def parse_series(sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        t = bench_startup_parse.parse_time(SRC, n)
        rows.append({"statements": n, "cpu": t})
        print(f"  parse n={n}: {t:.3f} s", file=sys.stderr)
    return rows


def net_series(labels: list[str]) -> list[dict]:
    rows = []
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for label in labels:
        proc = subprocess.run([sys.executable, str(HERE / "bench_nn.py"), "--case", label],
                              capture_output=True, text=True, env=env, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append({"label": label, "nodes": r["nodes"], "cpu": r["times"]["derive"], "rss": r["rss_mb"],
                     "agree": r["agree"]})
        print(f"  net {label}: {r['nodes']} nodes, derive {r['times']['derive']:.2f} s", file=sys.stderr)
    return rows


def floor(runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-c", FLOOR_PROBE, str(HERE), str(runs)], capture_output=True,
                          text=True, env=env, check=True)
    pairs = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"walk": statistics.median(a for a, _ in pairs), "derive": statistics.median(b for _, b in pairs),
            "ratio": statistics.median(b / a for a, b in pairs), "runs": runs}


def plot(name: str, series: dict[str, tuple[list[float], list[float]]], xlabel: str, ylabel: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    PLOTS.mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, (xs, ys) in series.items():
        ax.loglog(xs, ys, "o-", label=f"{label} (slope {fit(xs, ys):.2f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = PLOTS / f"{name}.png"
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path


def figures(res: dict, mode: str, seconds: float) -> str:
    """The README's figures section, in Markdown."""
    chain, wide = res["explain chain-like"], res["explain wide"]
    L = [f"Measured by `python -m bench{' --quick' if mode == 'quick' else ''}` on {time.strftime('%Y-%m-%d')} "
         f"({platform.machine()}, {os.cpu_count()} cores shared with other jobs, Python "
         f"{platform.python_version()}; the run took {seconds / 60:.1f} min). Exponents are fitted with "
         "`numpy.polyfit` on log-log data; CPU is `time.process_time` of the measured call, RSS the "
         "process's peak (`resource`).", "",
         "| series | sizes | exponent (CPU) | exponent (RSS) | goal |", "|---|---|---:|---:|---|"]
    for label, rows in (("explain, chain-like random programs", chain), ("explain, wide random programs", wide)):
        xs = [r["nodes"] for r in rows]
        L.append(f"| {label} | {xs[0]:,}–{xs[-1]:,} nodes | {fit(xs, [r['cpu'] for r in rows]):.2f} | "
                 f"{fit(xs, [r['rss'] for r in rows]):.2f} | ≤ 1.1 |")
    p = res["parse"]
    L.append(f"| parse_program | {p[0]['statements']:,}–{p[-1]['statements']:,} statements | "
             f"{fit([r['statements'] for r in p], [r['cpu'] for r in p]):.2f} | | ≤ 1.1 |")
    nt = res["net"]
    L.append(f"| derive, MLPs ({', '.join(r['label'] for r in nt)}) | {nt[0]['nodes']:,}–{nt[-1]['nodes']:,} "
             f"nodes | {fit([r['nodes'] for r in nt], [r['cpu'] for r in nt]):.2f} | "
             f"{fit([r['nodes'] for r in nt], [r['rss'] for r in nt]):.2f} | ≤ 1.1 |")
    L += ["", "| explain | statements | nodes | CPU (s) | peak RSS (MB) |", "|---|---:|---:|---:|---:|"]
    for label, rows in (("chain-like", chain), ("wide", wide)):
        L += [f"| {label} | {r['statements']:,} | {r['nodes']:,} | {r['cpu']:.2f} | {r['rss']:.0f} |" for r in rows]
    f = res["floor"]
    L += ["", f"Per-node floor, 16-64-64-10 (median of {f['runs']} alternated runs): `derive` "
          f"{f['derive']:.2f} s CPU against {f['walk']:.2f} s for the graph walk with exact numbers and no "
          f"steps (forward values, local partials, backward sweep): **{f['ratio']:.2f}×** (goal ≤ 3×).", "",
          "![explain](plots/explain.png) ![parse and derive](plots/derive.png)"]
    return "\n".join(L) + "\n"


def write_readme(section: str) -> None:
    text = README.read_text(encoding="utf-8")
    block = f"{START}\n{section}{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## `python -m bench`: the suite's figures\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    ap.add_argument("--no-write", action="store_true", help="print the figures; write neither plots nor README")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    sz = SIZES[mode]
    t0 = time.monotonic()
    res = {"explain chain-like": explain_series(sz["explain"], 20),
           "explain wide": explain_series(sz["explain"], 0),
           "parse": parse_series(sz["parse"]),
           "net": net_series(sz["net"]),
           "floor": floor(sz["floor_runs"])}
    section = figures(res, mode, time.monotonic() - t0)
    print(section)
    if not args.no_write:
        ex = {k: ([r["nodes"] for r in res[k]], [r["cpu"] for r in res[k]]) for k in ("explain chain-like",
                                                                                    "explain wide")}
        plot("explain", ex, "graph nodes", "explain CPU (s)")
        plot("derive", {"parse_program (x: statements)": ([r["statements"] for r in res["parse"]],
                                                          [r["cpu"] for r in res["parse"]]),
                        "derive, MLPs (x: nodes)": ([r["nodes"] for r in res["net"]],
                                                    [r["cpu"] for r in res["net"]])},
             "size", "CPU (s)")
        write_readme(section)
        (HERE / "plots" / "results.json").write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

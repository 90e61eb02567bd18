"""How the network derivation scales: time per phase and peak memory, by network size and batch.

Each case runs in its own Python process (so the peak resident memory is that case's):
``program_from_spec`` (spec -> named-scalar Program), ``derive`` (the reverse-mode
derivation, node-name forms included up to SYMBOLIC_LIMIT nodes), the scalar view, the
matrix view (exact SymPy matrices), the update steps, the engine/central-difference
check, and 100 training steps on the NumPy engine.

Rerun from the repository root:

    PYTHONPATH=src python bench/bench_nn.py            # all cases, a Markdown table
    PYTHONPATH=src python bench/bench_nn.py --case 16-64-64-10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# (label, sizes, hidden activation, output activation, loss, samples)
CASES = [
    ("mazur", [2, 2, 2], "sigmoid", "sigmoid", "half_sse", 1),
    ("16-16-4", [16, 16, 4], "relu", "softmax", "ce", 1),
    ("16-32-32-10", [16, 32, 32, 10], "relu", "softmax", "ce", 1),
    ("16-64-64-10", [16, 64, 64, 10], "relu", "softmax", "ce", 1),
    ("16-64-64-10 tanh", [16, 64, 64, 10], "tanh", "softmax", "ce", 1),
    ("32-96-96-10", [32, 96, 96, 10], "relu", "softmax", "ce", 1),
    ("64-128-96-10", [64, 128, 96, 10], "relu", "softmax", "ce", 1),
    ("2-4-3 × 10", [2, 4, 3], "tanh", "softmax", "ce", 10),
    ("2-4-3 × 60", [2, 4, 3], "tanh", "softmax", "ce", 60),
    ("2-4-3 × 250", [2, 4, 3], "tanh", "softmax", "ce", 250),
]


def spec_for(sizes, hidden, out, loss, samples):
    layers = [{"units": u, "activation": hidden} for u in sizes[1:-1]]
    layers.append({"units": sizes[-1], "activation": out})
    spec = {"layers": layers, "loss": loss, "learning_rate": 0.1, "initializer": "he", "seed": 0}
    if samples == 1:
        spec["inputs"] = [round(0.37 * ((i * 7) % 11) - 1.5, 2) for i in range(sizes[0])]
        spec["targets"] = [1] + [0] * (sizes[-1] - 1)
    else:
        spec["data"] = {"generator": "blobs", "samples": samples, "classes": sizes[-1],
                        "features": sizes[0], "seed": 0}
    return spec


def run_case(label: str) -> dict:
    from backproof.derivation import derive
    from backproof.nn import program_from_spec, train_network
    from backproof.nn.explain import engine_check, estimate_nodes, update_steps
    from backproof.nn.views import compare_views, matrix_view, scalar_view

    _, sizes, hidden, out, loss, samples = next(c for c in CASES if c[0] == label)
    spec = spec_for(sizes, hidden, out, loss, samples)
    t = {}
    t0 = time.perf_counter()
    net = program_from_spec(spec)
    t["build"] = time.perf_counter() - t0
    n_est = estimate_nodes(net.spec)
    wrt = net.params if n_est <= 3000 else None
    t0 = time.perf_counter()
    d = derive(net.program, at=net.at, wrt=wrt, expand=False, verify=False)
    t["derive"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sv = scalar_view(net, d)
    t["scalar view"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mv = matrix_view(net)
    t["matrix view"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    diff = compare_views(net, sv, mv)
    grads = {p: d.gradients[p] for p in net.params}
    update_steps(net, grads, "simultaneous")
    chk = engine_check(net, grads, sv.loss)
    t["update + checks"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_network(net, steps=100)
    t["100 training steps"] = time.perf_counter() - t0
    return {"label": label, "params": net.spec.n_params, "samples": net.spec.n_samples,
            "nodes": d.graph.number_of_nodes(), "steps": len(d.steps), "times": t,
            "total": sum(v for k, v in t.items() if k != "100 training steps"),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "agree": bool(chk.ok and diff < 1e-20), "symbolic": bool(d.symbolic)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", help="run one case (by label) and print JSON")
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case)))
        return 0
    rows = []
    for label, *_ in CASES:
        proc = subprocess.run([sys.executable, __file__, "--case", label], capture_output=True, text=True,
                              env=dict(os.environ))
        if proc.returncode != 0:
            print(f"{label}: failed\n{proc.stderr}", file=sys.stderr)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"{label}: {r['total']:.2f} s", file=sys.stderr)
    phases = list(rows[0]["times"])
    print("| network | params | samples | graph nodes | steps | " + " | ".join(phases)
          + " | total derivation | peak RSS | agree |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(phases) + "---:|---:|---|")
    for r in rows:
        print(f"| {r['label']} | {r['params']:,} | {r['samples']} | {r['nodes']:,} | {r['steps']:,} | "
              + " | ".join(f"{r['times'][p]:.2f} s" for p in phases)
              + f" | {r['total']:.2f} s | {r['rss_mb']:.0f} MB | {'yes' if r['agree'] else 'NO'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

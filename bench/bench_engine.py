"""Benchmark: forward+backward time of the NumPy engine vs PyTorch CPU vs a micrograd-style engine.

Not a test. Two problems, each timed side by side in one run:

* ``784-128-10`` MLP (ReLU hidden, softmax output, cross-entropy), batch 256:
  backproof's NumPy engine vs PyTorch (if importable);
* ``16-16-4`` MLP, same activations and loss, batch 32: the same two plus a tiny
  pure-Python scalar autodiff engine in the style of micrograd, written below
  (micrograd itself would take minutes on the large network).

Everything runs in float64 (the engine's only dtype), so PyTorch is timed in float64
too. Before timing, the gradients of the engines are compared, so the table never
times code that computes something else.

Both BLAS-backed engines get the same number of threads (``--threads``, default 1):
on a small shared machine, extra threads mostly measure contention.

Run from the repository root::

    PYTHONPATH=src python bench/bench_engine.py [--threads N]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import sys
import time
import timeit

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--threads", type=int, default=1,
                     help="BLAS/PyTorch threads for both engines, e.g. --threads 2 (default 1)")
ARGS = _parser.parse_args()
# OpenBLAS reads these when NumPy is first imported, so they must be set before it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from backproof.engine import Dense, back_propagation, forward_prop  # noqa: E402

try:  # PyTorch is optional: install it only to benchmark.
    import torch
    torch.set_num_threads(ARGS.threads)
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


# ---------------------------------------------------------------- problems


def make_problem(widths, batch, seed=0):
    """He-initialised ReLU MLP with a softmax output, inputs and one-hot targets."""
    rng = np.random.default_rng(seed)
    layers = [
        Dense.init(w_out, w_in, "relu" if i < len(widths) - 2 else "softmax", "he", rng)
        for i, (w_in, w_out) in enumerate(itertools.pairwise(widths))
    ]
    # Non-zero biases so the bias gradients are exercised and compared too.
    layers = [layer.replace(b=rng.normal(scale=0.1, size=layer.units)) for layer in layers]
    X = rng.normal(size=(batch, widths[0]))
    T = np.eye(widths[-1])[rng.integers(0, widths[-1], size=batch)]
    return layers, X, T


# ---------------------------------------------------------------- the three engines


def engine_step(layers, X, T):
    """backproof: forward_prop + back_propagation with the fused softmax/ce gradient."""
    return back_propagation(forward_prop(X, layers), layers, T, "ce")


def torch_setup(layers, X, T):
    params = []
    for layer in layers:
        params.append(torch.tensor(np.array(layer.W), dtype=torch.float64, requires_grad=True))
        params.append(torch.tensor(np.array(layer.b), dtype=torch.float64, requires_grad=True))
    return params, torch.tensor(X), torch.tensor(T)


def torch_step(params, X, T):
    """PyTorch: the same network; cross_entropy takes logits and probability targets."""
    for p in params:
        p.grad = None
    a = X
    pairs = list(zip(params[0::2], params[1::2]))
    for i, (W, b) in enumerate(pairs):
        z = a @ W.T + b
        a = torch.relu(z) if i < len(pairs) - 1 else z
    loss = torch.nn.functional.cross_entropy(a, T)  # mean over the batch
    loss.backward()
    return [(W.grad, b.grad) for W, b in pairs]


class Value:
    """A scalar with a gradient, in the style of Karpathy's micrograd."""

    __slots__ = ("_backward", "_prev", "data", "grad")

    def __init__(self, data, prev=()):
        self.data = data
        self.grad = 0.0
        self._prev = prev
        self._backward = None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,))

        def backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,))

        def backward():
            self.grad += out.data * out.grad
        out._backward = backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,))

        def backward():
            self.grad += out.grad / self.data
        out._backward = backward
        return out

    def backward(self):
        # Iterative topological sort: a batch graph is too deep for recursion.
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            if node._backward is not None:
                node._backward()


def micro_setup(layers, X, T):
    params = [([[Value(float(w)) for w in row] for row in layer.W],
               [Value(float(b)) for b in layer.b]) for layer in layers]
    return params, X.tolist(), T.tolist()


def micro_step(params, X, T):
    """Scalar engine: one graph node per multiply, add and nonlinearity."""
    for W, b in params:
        for row in W:
            for w in row:
                w.grad = 0.0
        for v in b:
            v.grad = 0.0
    total = Value(0.0)
    for x, t in zip(X, T):
        a = x
        for i, (W, b) in enumerate(params):
            z = [sum((w * ai for w, ai in zip(row, a)), bj) for row, bj in zip(W, b)]
            a = [zj.relu() for zj in z] if i < len(params) - 1 else z
        m = max(zj.data for zj in a)  # a constant shift keeps exp from overflowing
        lse = sum((zj - m).exp() for zj in a).log() + m
        total = total + sum(tk * (lse - zk) for tk, zk in zip(t, a) if tk)
    loss = total * (1.0 / len(X))
    loss.backward()
    return [(np.array([[w.grad for w in row] for row in W]), np.array([v.grad for v in b]))
            for W, b in params]


# ---------------------------------------------------------------- timing


def seconds_per_call(fn, repeat, min_total=0.2):
    """Best of ``repeat`` timeit runs, each looping long enough to be measurable."""
    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    number = max(1, int(number * min_total / max(elapsed, 1e-9))) if elapsed < min_total else number
    return min(timer.repeat(repeat=repeat, number=number)) / number


def max_gradient_difference(a, b):
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
               for pa, pb in zip(a, b) for x, y in zip(pa, pb))


def run(name, widths, batch, engines, repeat):
    layers, X, T = make_problem(widths, batch)
    rows, reference = [], None
    for label, setup, step, reps in engines:
        args = setup(layers, X, T)
        grads = step(*args)
        if reference is None:
            reference, diff = grads, 0.0
        else:
            diff = max_gradient_difference(reference, grads)
        t = seconds_per_call(lambda step=step, args=args: step(*args), reps or repeat)
        rows.append((label, t, diff))
    base = rows[0][1]
    print(f"\n{name}: {'-'.join(map(str, widths))} MLP, relu hidden, softmax + ce, batch {batch}")
    print(f"{'engine':<22}{'ms / fwd+bwd':>14}{'x engine':>11}{'max |Δgrad|':>14}")
    for label, t, diff in rows:
        print(f"{label:<22}{t * 1e3:>14.3f}{t / base:>11.2f}{diff:>14.1e}")
    return rows


def training_run(steps: int = 50, lr: float = 0.1) -> None:
    """A training run on 784-128-10, batch 256: ``engine.train`` vs the same loop in
    PyTorch (plain gradient descent, no optimizer object), final losses compared."""
    from backproof.engine import train
    layers, X, T = make_problem([784, 128, 10], 256)
    t = time.perf_counter()
    result = train(layers, X, T, "ce", lr, steps)
    t_engine = time.perf_counter() - t
    print(f"\ntraining run: 784-128-10, batch 256, {steps} steps of gradient descent (η = {lr})")
    print(f"{'engine':<22}{'s total':>10}{'ms / step':>11}{'x engine':>10}{'final loss':>14}")
    print(f"{'backproof (NumPy)':<22}{t_engine:>10.3f}{t_engine / steps * 1e3:>11.2f}{1.0:>10.2f}"
          f"{result.final_loss:>14.8f}")
    if torch is None:
        return
    params, Xt, Tt = torch_setup(layers, X, T)
    t = time.perf_counter()
    for _ in range(steps):
        grads = torch_step(params, Xt, Tt)
        with torch.no_grad():
            for p, g in zip(params, [g for pair in grads for g in pair]):
                p -= lr * g
    a = Xt
    pairs = list(zip(params[0::2], params[1::2]))
    with torch.no_grad():
        for i, (W, b) in enumerate(pairs):
            z = a @ W.T + b
            a = torch.relu(z) if i < len(pairs) - 1 else z
        final = float(torch.nn.functional.cross_entropy(a, Tt))
    t_torch = time.perf_counter() - t
    print(f"{'PyTorch CPU float64':<22}{t_torch:>10.3f}{t_torch / steps * 1e3:>11.2f}"
          f"{t_torch / t_engine:>10.2f}{final:>14.8f}")


def main() -> int:
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, "
          f"{os.cpu_count()} CPUs, {ARGS.threads} thread(s) per engine")
    print(platform.platform())
    engine = ("backproof (NumPy)", lambda layers, X, T: (layers, X, T), engine_step, None)
    engines = [engine]
    if torch is not None:
        engines.append(("PyTorch CPU float64", torch_setup, torch_step, None))
    else:
        print("PyTorch not importable: its rows are skipped (pip install torch to add them)",
              file=sys.stderr)
    run("large", [784, 128, 10], 256, engines, repeat=7)
    micro = ("micrograd-style scalar", micro_setup, micro_step, 3)
    run("small", [16, 16, 4], 32, engines + [micro], repeat=7)
    training_run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

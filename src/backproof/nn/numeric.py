"""The bridge from a spec'd network to the NumPy layer engine: its layers, its batch, its loss
as a function of chosen parameters (for the plots and the central differences).

Nothing here derives: these are the engine's numbers, the independent oracle the symbolic
gradients are checked against.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from ..engine import ACTIVATIONS, LOSSES, Constraint, Dense
from ..engine.optim import Regularization
from .build import NetProgram
from .model import NetSpec, frozen_masks

__all__ = ["engine_layers", "batch_arrays", "training_arrays", "penalty_of", "LossFunction", "engine_constraints"]


def engine_layers(spec: NetSpec, values: Mapping[str, sp.Expr] | None = None,
                  net: NetProgram | None = None) -> list[Dense]:
    """The spec's layers as engine ``Dense`` layers (float64), optionally at other ``values``
    (scalar name -> value, read through ``net``'s layout)."""
    if values is not None and net is None:
        raise TypeError("engine_layers: values= needs net= (the layout that names the parameters)")
    layers = []
    for l, layer in enumerate(spec.layers):
        if values is None or net is None:
            W = np.array([[float(w) for w in row] for row in layer.weights], dtype=float)
            b = np.array([float(v) for v in layer.bias], dtype=float)
        else:
            lay = net.layout
            W = np.array([[float(values[n]) for n in row] for row in lay.W[l]], dtype=float)
            b = np.array([float(values[n]) for n in lay.b[l]], dtype=float)
        layers.append(Dense(W, b, layer.activation))
    return layers


def engine_constraints(spec: NetSpec) -> list[Constraint | None] | None:
    """The spec's frozen and shared parameters for the engine, or None when every
    parameter is free (the engine then runs exactly as before).

    Examples
    --------
    >>> from backproof.nn.spec import validate_spec
    >>> c = engine_constraints(validate_spec({"inputs": [1], "targets": [0, 1], "loss": "mse", "layers": [
    ...     {"units": 2, "activation": "relu", "bias": {"value": 1, "shared": True}, "trainable": {"bias": False}}]}))
    >>> c[0].b_shared, c[0].b_frozen.tolist()
    (True, [True, True])
    """
    if not spec.frozen and not any(layer.shared_bias for layer in spec.layers):
        return None
    out: list[Constraint | None] = []
    for layer, (W_frozen, b_frozen) in zip(spec.layers, frozen_masks(spec)):
        out.append(Constraint(np.array(W_frozen, dtype=bool).reshape(layer.units, layer.fan_in),
                              np.array(b_frozen, dtype=bool), layer.shared_bias))
    return out


def batch_arrays(spec: NetSpec) -> tuple[np.ndarray, np.ndarray]:
    """The spec's inputs and targets as float64 arrays ``(n_samples, fan_in)``, ``(n_samples, K)``."""
    X = np.array([[float(v) for v in row] for row in spec.inputs], dtype=float)
    T = np.array([[float(v) for v in row] for row in spec.targets], dtype=float)
    return X, T


def training_arrays(spec: NetSpec) -> tuple[np.ndarray, np.ndarray]:
    """The data training runs on: every sample of the data set, also when the write-up derives
    only the first ``explain_samples`` of them (otherwise :func:`batch_arrays`)."""
    tr = spec.training
    if tr.train_inputs is None or tr.train_targets is None:
        return batch_arrays(spec)
    return np.array(tr.train_inputs, dtype=float), np.array(tr.train_targets, dtype=float)


def penalty_of(spec: NetSpec) -> Regularization | None:
    """The spec's regularisation as the engine's :class:`~backproof.engine.optim.Regularization`."""
    reg = spec.training.regularization
    if reg is None:
        return None
    kind, strength, half, biases = reg
    return Regularization(kind, strength, half, biases)


class LossFunction:
    """The batch loss as a function of some parameters, the others fixed at ``base``.

    Uses the engine's own activation and loss functions on plain arrays (no ``Dense``
    validation per call): the plots evaluate it on grids of thousands of points and the
    central differences twice per parameter. Non-finite values come back as nan.

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> net = program_from_spec({"inputs": [1], "targets": [2], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> f = LossFunction(net, {p: float(net.at[p]) for p in net.params})
    >>> f(), f(w1_0_0=2.0)
    (2.0, 0.0)
    """

    def __init__(self, net, base: dict[str, float], full: bool = False):
        # full: the training objective (every sample of the data set, plus the penalty), which
        # the plots draw the training path on; else the derived samples' loss.
        self.spec = net.spec
        self.X, self.T = training_arrays(net.spec) if full else batch_arrays(net.spec)
        self.penalty = penalty_of(net.spec) if full else None
        self.acts = [ACTIVATIONS[layer.activation] for layer in self.spec.layers]
        self.loss = LOSSES[self.spec.loss]
        lay = net.layout
        self.Ws = [np.array([[base[n] for n in row] for row in lay.W[l]], dtype=float)
                   for l in range(len(lay.W))]
        self.bs = [np.array([base[n] for n in lay.b[l]], dtype=float) for l in range(len(lay.b))]
        # A shared bias sits in every unit's place: setting it sets them all.
        self.where: dict[str, list[tuple[str, int, tuple[int, ...]]]] = {}
        for l in range(len(lay.W)):
            for i, row in enumerate(lay.W[l]):
                for j, name in enumerate(row):
                    self.where.setdefault(name, []).append(("W", l, (i, j)))
            for i, name in enumerate(lay.b[l]):
                self.where.setdefault(name, []).append(("b", l, (i,)))

    def __call__(self, **vals: float) -> float:
        Ws = list(self.Ws)
        bs = list(self.bs)
        for name, v in vals.items():
            for kind, l, idx in self.where[name]:
                target = Ws if kind == "W" else bs
                target[l] = target[l].copy()
                target[l][idx] = v
        with np.errstate(all="ignore"):
            a = self.X
            z = a
            for W, b, g in zip(Ws, bs, self.acts):
                z = a @ W.T + b
                a = g(z)
            J = self.loss.value(z, a, self.T)
            if self.penalty is not None:
                J += self.penalty.penalty([Dense(W, b, "identity") for W, b in zip(Ws, bs)])
        return J if np.isfinite(J) else float("nan")

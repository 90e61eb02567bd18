"""Training a spec'd network on the NumPy engine, recording the loss and the parameter path.

The symbolic derivation is done once (:func:`~backproof.nn.explain.explain_network`);
training runs the engine's ``forward_prop``, ``loss_value``, ``back_propagation``,
``gradient_norm`` and ``gd_step`` in the same loop as :func:`backproof.engine.train`
(same stopping rule, same numbers — the tests compare them), and also records the
values of chosen parameters after every step, which the plots draw as the
gradient-descent path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError, quote
from .explain import _arrays, as_netprogram, engine_layers
from .spec import MODES, check_training

__all__ = ["TrainHistory", "train_network", "TRACK_ALL_LIMIT", "default_plot_params"]

#: Networks with at most this many parameters record the path of every parameter.
TRACK_ALL_LIMIT = 200


@dataclass(frozen=True)
class TrainHistory:
    """The record of a training run.

    Attributes
    ----------
    losses : tuple of float
        ``losses[k]`` is the batch loss after ``k`` updates (``losses[0]`` the initial loss).
    grad_norms : tuple of float
        Gradient norm at the same parameters.
    steps : int
        Updates made.
    stopped_because : str
        ``steps``, ``loss_decrease`` (an update lowered the loss by ≤ tolerance, or
        raised it) or ``gradient_norm`` (the norm fell below tolerance).
    path : dict
        Tracked scalar parameter -> its value after each update (``steps + 1`` values).
    final : dict
        Every scalar parameter -> its final value.
    """

    losses: tuple[float, ...]
    grad_norms: tuple[float, ...]
    steps: int
    stopped_because: str
    mode: str
    learning_rate: float
    tolerance: float
    path: Mapping[str, tuple[float, ...]]
    final: Mapping[str, float]
    layers: tuple = ()

    @property
    def final_loss(self) -> float:
        """The loss after the last update."""
        return self.losses[-1]

    @property
    def reason(self) -> str:
        """Why training stopped, in words."""
        return {"steps": f"all {self.steps} steps done",
                "loss_decrease": (f"the loss stopped decreasing by more than the tolerance "
                                  f"{self.tolerance:g} (after {self.steps} steps)"),
                "gradient_norm": (f"the gradient norm fell below the tolerance {self.tolerance:g} "
                                  f"(after {self.steps} steps)")}[self.stopped_because]


def default_plot_params(net) -> tuple[str, tuple[str, str]]:
    """The plotted weight and the surface pair: the spec's ``plot`` or the first weight
    and the first bias (``w`` and ``b`` of ``y = w·x + b``)."""
    lay = net.layout
    first_w, first_b = lay.W[0][0][0], lay.b[0][0]
    weight = net.spec.plot.weight or first_w
    surface = net.spec.plot.surface or (first_w, first_b)
    return weight, surface


def train_network(spec, *, steps: int | None = None, learning_rate=None, tolerance=None,
                  mode: str | None = None, track: Iterable[str] | None = None) -> TrainHistory:
    """Full-batch gradient descent on the NumPy engine, from the spec's parameters.

    Parameters
    ----------
    spec : NetProgram, NetSpec, mapping or path
        The network; ``steps``, ``learning_rate``, ``tolerance`` and ``mode`` default
        to the spec's fields (``steps`` to 1).
    track : iterable of str, optional
        Parameters whose path to record (default: all of them for networks with at
        most :data:`TRACK_ALL_LIMIT` parameters, else the plotted ones).

    Returns
    -------
    TrainHistory

    Examples
    --------
    >>> h = train_network({"inputs": [1], "targets": [2], "loss": "half_sse",
    ...     "learning_rate": 0.5, "tolerance": 1e-12, "names": {"w": "W1[0][0]", "b": "b1[0]"},
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]},
    ...     steps=10)
    >>> h.losses, h.path["w"], h.stopped_because
    ((2.0, 0.0), (0.0, 1.0), 'gradient_norm')
    """
    from ..engine import back_propagation, forward_prop, gd_step, gradient_norm, loss_value
    from ..engine.errors import NumericalError
    net = as_netprogram(spec)
    spec = net.spec
    steps = spec.steps if steps is None else steps
    steps = 1 if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise SpecError(f"steps: expected an integer >= 0, got {steps!r}")
    # Bounded before the first step: the spec's steps were checked when it was read, an
    # argument is checked here.
    check_training(int(steps), spec.n_params, spec.n_samples, "steps")
    eta = spec.learning_rate if learning_rate is None else learning_rate
    if eta is None:
        raise SpecError(f"{spec.source or spec.name}: learning_rate: missing field "
                        f"(training needs a learning rate)")
    eta = float(eta)
    if not np.isfinite(eta) or eta <= 0:
        raise SpecError(f"learning_rate: expected a number > 0, got {learning_rate!r}")
    tol = float(spec.tolerance if tolerance is None else tolerance)
    if not np.isfinite(tol) or tol < 0:
        raise SpecError(f"tolerance: expected a number >= 0, got {tolerance!r}")
    mode = mode or spec.mode
    if mode not in MODES:
        raise SpecError(f"mode: unknown value {quote(mode)} (must be one of {', '.join(MODES)})")
    lay = net.layout
    where: dict[str, tuple[int, tuple[int, ...]]] = {}
    for l in range(len(spec.layers)):
        for i, row in enumerate(lay.W[l]):
            for j, name in enumerate(row):
                where[name] = (l, (0, i, j))
        for i, name in enumerate(lay.b[l]):
            where[name] = (l, (1, i))
    if track is None:
        weight, surface = default_plot_params(net)
        track = net.params if spec.n_params <= TRACK_ALL_LIMIT else dict.fromkeys((weight,) + surface)
    track = list(track)
    for name in track:
        if name not in where:
            raise SpecError(f"unknown parameter {quote(name)} to track "
                            f"(parameters: {', '.join(net.params[:8])}"
                            f"{', …' if len(net.params) > 8 else ''})")

    def read(layers, name):
        l, idx = where[name]
        return float(layers[l].W[idx[1:]] if idx[0] == 0 else layers[l].b[idx[1]])

    X, T = _arrays(spec)
    layers = engine_layers(spec)
    losses: list[float] = []
    norms: list[float] = []
    path = {name: [] for name in track}
    k = 0
    # The loop of backproof.engine.train, recording the path as it goes.
    while True:
        for name in track:
            path[name].append(read(layers, name))
        try:
            cache = forward_prop(X, layers)
            losses.append(loss_value(cache, layers, T, spec.loss))
            grads = back_propagation(cache, layers, T, spec.loss)
            norms.append(gradient_norm(grads))
            if tol > 0 and norms[-1] < tol:
                stopped = "gradient_norm"
            elif tol > 0 and k > 0 and losses[-2] - losses[-1] <= tol:
                stopped = "loss_decrease"
            elif k == steps:
                stopped = "steps"
            else:
                layers = gd_step(layers, grads, eta, mode, cache=cache, T=T, loss=spec.loss)
                k += 1
                continue
        except NumericalError as exc:
            raise NumericalError(f"training step {k}: {exc}", where=f"step {k}, {exc.where}") from None
        break
    final = {name: read(layers, name) for name in net.params}
    return TrainHistory(tuple(losses), tuple(norms), k, stopped, mode, eta, tol,
                        {n: tuple(v) for n, v in path.items()}, final, tuple(layers))

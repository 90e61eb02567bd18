"""Training a spec'd network on the NumPy engine, recording the loss and the parameter path.

The symbolic derivation is done once (:func:`~backproof.nn.explain.explain_network`);
training is the engine's one loop, :func:`backproof.engine.train` (plain gradient descent,
or the spec's optimiser, schedule, penalty and batches), with a recorder that keeps the
values of chosen parameters after every step, which the plots draw as the gradient-descent
path, and the updates the spec's ``show_steps`` asks to see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..engine import Dense, forward_prop, train
from ..engine.errors import NumericalError
from ..engine.network import TrainingStepError
from ..engine.optim import Batching, Schedule, ShownStep, make_optimizer
from ..errors import SpecError, quote
from ..printing import format_number
from .build import NetProgram, as_netprogram
from .model import NetSpec
from .numeric import engine_constraints, engine_layers, penalty_of, training_arrays
from .spec import MODES, check_training

__all__ = ["TrainHistory", "train_network", "training_lines", "classification_accuracy", "shown_rows",
           "PenaltyView", "penalty_view",
           "TRACK_ALL_LIMIT", "default_plot_params", "param_positions", "tracked_params"]

#: Networks with at most this many parameters record the path of every parameter.
TRACK_ALL_LIMIT = 200


@dataclass(frozen=True, repr=False)
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
    shown: tuple[ShownStep, ...] = ()
    samples: int = 0
    accuracy: float | None = None
    spec: NetSpec | None = None

    @property
    def final_loss(self) -> float:
        """The loss after the last update."""
        return self.losses[-1]

    @property
    def reason(self) -> str:
        """Why training stopped, in words."""
        after = f"(after {self.steps} step{'s' * (self.steps != 1)})"
        return {"steps": f"all {self.steps} steps done",
                "loss_decrease": (f"the loss stopped decreasing by more than the tolerance "
                                  f"{self.tolerance:g} {after}"),
                "gradient_norm": (f"the gradient norm fell below the tolerance {self.tolerance:g} "
                                  f"{after}")}[self.stopped_because]

    def __repr__(self) -> str:
        # One line: every loss, norm and tracked path would be kilobytes per hundred steps.
        return (f"<TrainHistory: {self.steps} steps ({self.mode}, η={format_number(self.learning_rate)}), "
                f"loss {format_number(self.losses[0])} → {format_number(self.final_loss)}; "
                f"stopped: {self.stopped_because}>")


def default_plot_params(net: NetProgram) -> tuple[str, tuple[str, str]]:
    """The plotted weight and the surface pair: the spec's ``plot`` or the first weight
    and the first bias (``w`` and ``b`` of ``y = w·x + b``)."""
    lay = net.layout
    first_w, first_b = lay.W[0][0][0], lay.b[0][0]
    weight = net.spec.plot.weight or first_w
    surface = net.spec.plot.surface or (first_w, first_b)
    return weight, surface


#: Where a scalar parameter sits in the engine's layers: ``(layer, kind, index)`` with
#: ``kind`` ``"W"`` (index ``(i, j)``) or ``"b"`` (index ``(i,)``).
Position = tuple[int, str, tuple[int, ...]]


def param_positions(net: NetProgram) -> dict[str, Position]:
    """Scalar parameter name -> its place in the engine's layers (see :data:`Position`)."""
    lay = net.layout
    where: dict[str, Position] = {}
    for l in range(len(lay.W)):
        for i, row in enumerate(lay.W[l]):
            for j, name in enumerate(row):
                where[name] = (l, "W", (i, j))
        for i, name in enumerate(lay.b[l]):
            where[name] = (l, "b", (i,))
    return where


def _read(layers: Sequence[Dense], pos: Position) -> float:
    l, kind, idx = pos
    return float(layers[l].W[idx] if kind == "W" else layers[l].b[idx])


def tracked_params(net: NetProgram, weight: str | None = None,
                   surface: Sequence[str] | None = None) -> list[str]:
    """The parameters whose path training records by default: every one for networks with
    at most :data:`TRACK_ALL_LIMIT` parameters, else the plotted ones (``weight`` and
    ``surface`` when given, else the spec's or the default choice)."""
    if net.spec.n_params <= TRACK_ALL_LIMIT:
        return list(net.params)
    w0, s0 = default_plot_params(net)
    return list(dict.fromkeys([weight or w0, *(surface or s0)]))


def _settings(spec: NetSpec, steps, learning_rate, tolerance, mode) -> tuple[int, float, float, str]:
    """Steps, η, tolerance and mode of a run: the arguments, else the spec's, all checked."""
    steps = spec.steps if steps is None else steps
    steps = 1 if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise SpecError(f"steps: expected an integer >= 0, got {steps!r}")
    # Bounded before the first step: the spec's steps were checked when it was read, an
    # argument is checked here.
    check_training(int(steps), spec.n_params, len(training_arrays(spec)[0]), "steps")
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
    return int(steps), eta, tol, mode


def train_network(spec, *, steps: int | None = None, learning_rate=None, tolerance=None,
                  mode: str | None = None, track: Iterable[str] | None = None) -> TrainHistory:
    """Full-batch gradient descent on the NumPy engine, from the spec's parameters.

    Frozen parameters keep their values and a shared bias moves by the sum of its units'
    gradients (the spec's ``trainable``, ``frozen`` and ``bias: {shared: true}``).

    Parameters
    ----------
    spec : NetProgram, NetSpec, mapping or path
        The network; ``steps``, ``learning_rate``, ``tolerance`` and ``mode`` default
        to the spec's fields (``steps`` to 1).
    track : iterable of str, optional
        Parameters whose path to record (default: :func:`tracked_params`).

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
    net = as_netprogram(spec)
    spec = net.spec
    steps, eta, tol, mode = _settings(spec, steps, learning_rate, tolerance, mode)
    where = param_positions(net)
    names = tracked_params(net) if track is None else list(track)
    for name in names:
        if name not in where:
            raise SpecError(f"unknown parameter {quote(name)} to track "
                            f"(parameters: {', '.join(net.params[:8])}"
                            f"{', …' if len(net.params) > 8 else ''})")
    path: dict[str, list[float]] = {name: [] for name in names}

    def record(k: int, layers: tuple[Dense, ...]) -> None:
        for name in names:
            path[name].append(_read(layers, where[name]))

    X, T = training_arrays(spec)
    tr = spec.training
    try:
        run = train(engine_layers(spec), X, T, spec.loss, eta, steps, tol, mode, record=record,
                    constraints=engine_constraints(spec),
                    optimizer=make_optimizer(tr.optimizer, **dict(tr.hyper)),
                    schedule=Schedule(tr.schedule, **_schedule_args(tr.schedule_args)),
                    regularization=penalty_of(spec), batching=Batching(tr.batch_size, tr.batch_seed),
                    show=tr.show_steps)
    except TrainingStepError as exc:
        raise NumericalError(f"training step {exc.step}: {exc.cause}",
                             where=f"step {exc.step}, {exc.cause_where}") from None
    final = {name: _read(run.layers, where[name]) for name in net.params}
    return TrainHistory(run.losses, run.grad_norms, run.steps, run.stopped_because, mode, eta, tol,
                        {n: tuple(v) for n, v in path.items()}, final, run.layers, run.shown, len(X),
                        classification_accuracy(run.layers, X, T), spec)


def classification_accuracy(layers: Sequence[Dense], X: np.ndarray, T: np.ndarray) -> float | None:
    """The share of samples classified right, when the targets are class labels (else None).

    One output with targets in {−1, +1} (hinge): the sign of the score; one output with
    targets in {0, 1}: the output above ½; one-hot targets: the largest output.

    Examples
    --------
    >>> import numpy as np
    >>> net = [Dense([[1.0]], [0.0], "identity")]
    >>> classification_accuracy(net, np.array([[2.0], [-1.0], [3.0]]), np.array([[1.0], [-1.0], [-1.0]]))
    0.6666666666666666
    """
    out = forward_prop(X, layers).output
    labels = set(np.unique(T).tolist())
    if T.shape[1] == 1 and labels <= {-1.0, 1.0}:
        return float(np.mean((out[:, 0] > 0) == (T[:, 0] > 0)))
    if T.shape[1] == 1 and labels <= {0.0, 1.0}:
        return float(np.mean((out[:, 0] > 0.5) == (T[:, 0] > 0.5)))
    if T.shape[1] > 1 and labels <= {0.0, 1.0} and np.all(T.sum(axis=1) == 1):
        return float(np.mean(np.argmax(out, axis=1) == np.argmax(T, axis=1)))
    return None


def _schedule_args(args) -> dict:
    out = dict(args)
    if "step_size" in out:
        out["step_size"] = int(out["step_size"])
    return out


def training_lines(spec: NetSpec, history: TrainHistory) -> list[str]:
    """The training run's set-up in words, one line per part (optimiser, rate, penalty, batches,
    data, accuracy), for the write-ups; empty for plain full-batch gradient descent.

    Examples
    --------
    >>> h = train_network({"inputs": [[1], [2]], "targets": [[2], [4]], "loss": "mse", "learning_rate": 0.1,
    ...     "optimizer": "momentum", "layers": [{"units": 1, "activation": "identity"}]}, steps=2)
    >>> training_lines(h.spec, h)[0]
    'optimizer momentum (μ = 0.9): v ← μ·v + g   (v = g at the first step); θ ← θ − η·v'
    """
    tr = spec.training
    if tr.default and tr.train_inputs is None:
        return []
    opt = make_optimizer(tr.optimizer, **dict(tr.hyper))
    hyper = ", ".join(f"{k} = {v:g}" for k, v in opt.hyper.items())
    lines = [f"optimizer {tr.optimizer}{f' ({hyper})' if hyper else ''}: {'; '.join(opt.formulas)}"]
    sched = Schedule(tr.schedule, **_schedule_args(tr.schedule_args))
    args = {"gamma": "γ", "step_size": "s", "final": "η_end"}
    given = ", ".join(f"{args[k]} = {v:g}" for k, v in tr.schedule_args)
    lines.append(f"learning rate: {tr.schedule} schedule, {sched.formula} with η₀ = {history.learning_rate:g}"
                 f"{', ' + given if given else ''}, K = {history.steps} steps, k = 0, 1, …")
    reg = penalty_of(spec)
    if reg is not None:
        over = "every weight and bias" if reg.biases else "the weights (not the biases)"
        grad = (f"{2 * reg.coefficient:g}·p" if reg.kind == "l2" else f"{reg.coefficient:g}·sign p (0 at p = 0)")
        lines.append(f"penalty: J = (1/n) Σₛ Jₛ + R with {reg.text} over {over}; ∂R/∂p = {grad} is added to "
                     f"the data gradient of every penalised parameter (the derivation above shows the data "
                     f"loss; the update tables below show both parts)")
    lines.append(f"batches: {Batching(tr.batch_size, tr.batch_seed).text}")
    if tr.train_inputs is not None:
        k = tr.explain_samples
        lines.append(f"data: training uses all {history.samples} samples; the derivation above is of the first "
                     f"{k} sample{'s' * (k != 1)} only (explain_samples: {k})")
    if history.accuracy is not None:
        right = round(history.accuracy * history.samples)
        lines.append(f"training accuracy after {history.steps} steps: {100 * history.accuracy:.1f}% "
                     f"({right} of {history.samples})")
    return lines


def shown_rows(net: NetProgram, step: ShownStep) -> tuple[tuple[str, ...], list[tuple[str, tuple[float, ...]]]]:
    """The update table of one shown step: column heads and ``(parameter, values)`` rows.

    Columns: the parameter before, its gradient ``g`` (loss plus penalty, on the step's
    batch), each optimiser slot before and after (``v``, ``v′``), and the new value.
    """
    lay = net.layout
    names = []
    for l in range(len(lay.W)):
        names.append([n for row in lay.W[l] for n in row])
        names.append(list(lay.b[l]))
    slots = sorted(step.after.slots)
    heads = ("θ", "g", *[x for s in slots for x in (s, s + "′")], "θ′")
    rows = []
    for a, group in enumerate(names):
        for idx, name in enumerate(group):
            vals = [float(step.params[a].flat[idx]), float(step.grads[a].flat[idx])]
            for s in slots:
                before = step.before.slots.get(s)
                vals += [float(before[a].flat[idx]) if before else 0.0, float(step.after.slots[s][a].flat[idx])]
            vals.append(float(step.new[a].flat[idx]))
            rows.append((name, tuple(vals)))
    return heads, rows


@dataclass(frozen=True)
class PenaltyView:
    """The regularisation term at the spec's parameters, exact: what the write-up shows.

    ``rows`` holds ``(parameter, value, ∂J/∂p, ∂R/∂p, ∂(J + R)/∂p)`` for every penalised
    parameter, in layer order; ``value`` is ``R`` itself.
    """

    text: str
    grad_text: str
    value: sp.Expr
    rows: tuple[tuple[str, sp.Expr, sp.Expr, sp.Expr, sp.Expr], ...]


def penalty_view(net: NetProgram, gradients: Mapping[str, sp.Expr]) -> PenaltyView | None:
    """The spec's penalty ``R`` and its gradient at the spec's parameters (None without one).

    Exact: λ is the decimal the spec wrote, the parameters are the spec's numbers.

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> net = program_from_spec({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "regularization": {"kind": "l2", "strength": 0.1, "half": True},
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[3]], "bias": 1}]})
    >>> v = penalty_view(net, {"w1_0_0": sp.Integer(6), "b1_0": sp.Integer(2)})
    >>> v.value, [row[3] for row in v.rows]
    (1/2, [3/10, 1/10])
    """
    reg = penalty_of(net.spec)
    if reg is None:
        return None
    lam = sp.Rational(repr(reg.strength)) * (sp.Rational(1, 2) if reg.half else 1)
    lay = net.layout
    names = [n for l in range(len(lay.W)) for row in lay.W[l] for n in row]
    if reg.biases:
        names += [n for l in range(len(lay.b)) for n in lay.b[l]]
    order = {p: i for i, p in enumerate(net.params)}
    names.sort(key=order.__getitem__)
    rows = []
    total = sp.Integer(0)
    for name in names:
        p = net.at[name]
        if reg.kind == "l2":
            total += lam * p ** 2
            dR = 2 * lam * p
        else:
            total += lam * abs(p)
            dR = lam * sp.sign(p)
        rows.append((name, p, gradients[name], dR, gradients[name] + dR))
    grad = (f"∂R/∂p = {format_number(2 * float(lam))}·p" if reg.kind == "l2"
            else f"∂R/∂p = {format_number(float(lam))}·sign p (0 at p = 0)")
    return PenaltyView(reg.text, grad, total, tuple(rows))

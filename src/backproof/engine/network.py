"""Forward pass, backpropagation, gradient-descent updates and training for Dense networks.

This is the seeds' pseudo-code (``forward_prop``, ``back_propagation`` and the epoch
loop) made correct and pure:

* :func:`forward_prop` carries each layer's activation on to the next layer and keeps
  every pre-activation ``z`` and activation ``a`` in a :class:`Cache` (the seed
  forgot ``activations = a`` and returned the input).
* :func:`back_propagation` multiplies by the activation's derivative evaluated at the
  **pre-activation** ``z`` (the seed used the output): with ``δ_L = ∂J/∂z_L``,
  ``dW_l = δ_lᵀ a_(l−1)``, ``db_l = Σ_samples δ_l`` and
  ``δ_(l−1) = J_g(z_(l−1)) (δ_l W_l)``.
* :func:`gd_step` returns new layers ``W − η dW``, ``b − η db``; nothing is updated in
  place and every gradient is a fresh array.

Layers are numbered from 1 in messages ("layer 2 (sigmoid) forward"), as in the
textbooks; Python lists are indexed from 0. Shapes, activations and losses follow the
conventions of :mod:`backproof.engine.layers` and :mod:`backproof.engine.losses`: a
batch has shape ``(n_samples, fan_in)`` (a 1-D array is one sample), and the batch
loss is the mean of the per-sample losses. All arithmetic runs in float64 under
``np.errstate(over="raise", divide="raise", invalid="raise")``, and every intermediate
is checked to be finite; a failure raises :class:`NumericalError` naming where.

Two update orders are offered (``mode``):

``"simultaneous"`` (the default, and what autodiff frameworks do)
    every layer's gradient is computed with the current weights, then all layers
    are updated.
``"sequential"``
    the output layer is updated first and the error is propagated back to the earlier
    layers through the *updated* later weights, layer by layer. Some textbooks work
    their examples this way; the forward values (every ``z`` and ``a``) are those of the
    original forward pass. The output layer's update is the same in both modes;
    the earlier layers' differ.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from backproof.engine.constraints import Constraint, constrain, constrain_layer, distinct_gradients
from backproof.engine.errors import EngineError, NumericalError
from backproof.engine.layers import Dense
from backproof.engine.losses import Loss, get_loss
from backproof.engine.optim import (
    SGD,
    Batching,
    Optimizer,
    OptState,
    Regularization,
    Schedule,
    ShownStep,
    params_of,
    with_params,
)

__all__ = [
    "Cache",
    "TrainResult",
    "TrainingStepError",
    "Recorder",
    "MODES",
    "forward_prop",
    "back_propagation",
    "sequential_gradients",
    "loss_value",
    "gradient_norm",
    "gd_step",
    "train",
]

Array = np.ndarray
Grads = list[tuple[Array, Array]]
#: One :class:`~backproof.engine.constraints.Constraint` (or None) per layer: frozen and shared
#: parameters (see :mod:`backproof.engine.constraints`).
Constraints = Sequence[Constraint | None] | None

MODES = ("simultaneous", "sequential")


@contextlib.contextmanager
def _numerics(where: str) -> Iterator[None]:
    """Raise floating-point trouble as NumericalError tagged with ``where``."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        try:
            yield
        except FloatingPointError as exc:
            raise NumericalError(f"{where}: {exc}", where=where) from None


def _finite(x: Array, where: str, what: str, freeze: bool = True) -> Array:
    # BLAS matmul does not set the floating-point flags np.errstate watches, so an
    # overflow inside X @ W.T would otherwise slip through as inf.
    if not np.all(np.isfinite(x)):
        raise NumericalError(f"{where}: {what} is not finite (overflow)", where=where)
    if freeze:
        x.setflags(write=False)
    return x


def _batch(x, what: str) -> Array:
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EngineError(f"{what}: not an array of numbers ({exc})") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise EngineError(f"{what}: expected shape (n_samples, width), got {arr.shape}")
    if arr.shape[0] == 0:
        raise EngineError(f"{what}: empty batch (0 samples)")
    if not np.all(np.isfinite(arr)):
        raise EngineError(f"{what}: contains a non-finite value (nan or inf)")
    arr.setflags(write=False)
    return arr


def _layers(layers: Sequence[Dense]) -> tuple[Dense, ...]:
    layers = tuple(layers)
    if not layers:
        raise EngineError("network: at least one layer is required")
    for i, layer in enumerate(layers, start=1):
        if not isinstance(layer, Dense):
            raise EngineError(f"layer {i}: expected Dense, got {type(layer).__name__}")
    for i in range(1, len(layers)):
        if layers[i].fan_in != layers[i - 1].units:
            raise EngineError(
                f"layer {i + 1}: fan_in {layers[i].fan_in} does not match the "
                f"{layers[i - 1].units} units of layer {i}"
            )
    return layers


def _name(i: int, layer: Dense) -> str:
    return f"layer {i + 1} ({layer.activation})"


@dataclass(frozen=True, eq=False)
class Cache:
    """Everything the forward pass computed, for backpropagation and display.

    Attributes
    ----------
    zs : tuple of numpy.ndarray
        ``zs[l]`` is the pre-activation of layer ``l + 1``, shape ``(n, units)``.
    activations : tuple of numpy.ndarray
        ``activations[0]`` is the input ``X``; ``activations[l + 1] = g(zs[l])``.
        All arrays are read-only.
    """

    zs: tuple[Array, ...]
    activations: tuple[Array, ...]

    @property
    def X(self) -> Array:
        """The input batch, shape ``(n_samples, fan_in)``."""
        return self.activations[0]

    @property
    def output(self) -> Array:
        """The network's prediction ``ŷ``: the last activation."""
        return self.activations[-1]


def forward_prop(X, layers: Sequence[Dense]) -> Cache:
    """Run the batch through the layers, keeping every ``z`` and ``a``.

    Parameters
    ----------
    X : array_like, shape (n_samples, fan_in) or (fan_in,)
        Input batch; a 1-D array is one sample.
    layers : sequence of Dense
        The network, input side first.

    Returns
    -------
    Cache

    Raises
    ------
    EngineError
        On a shape mismatch or non-finite input.
    NumericalError
        If a pre-activation or activation overflows.

    Examples
    --------
    >>> net = [Dense([[1.0, 1.0]], [0.0], "relu"), Dense([[2.0]], [1.0], "identity")]
    >>> forward_prop([[1.0, -3.0], [1.0, 2.0]], net).output.tolist()
    [[1.0], [7.0]]
    """
    layers = _layers(layers)
    a = _batch(X, "X")
    if a.shape[1] != layers[0].fan_in:
        raise EngineError(
            f"X: has {a.shape[1]} features per sample but layer 1 expects "
            f"fan_in {layers[0].fan_in}"
        )
    zs, activations = [], [a]
    for i, layer in enumerate(layers):
        where = _name(i, layer) + " forward"
        with _numerics(where):
            z = _finite(a @ layer.W.T + layer.b, where, "z")
            a = _finite(layer.g(z), where, "a")
        zs.append(z)
        activations.append(a)  # the step the seed's loop left out
    return Cache(tuple(zs), tuple(activations))


def _check(cache: Cache, layers: Sequence[Dense], T, loss) -> tuple[tuple[Dense, ...], Array, Loss]:
    layers = _layers(layers)
    if not isinstance(cache, Cache):
        raise EngineError(f"cache: expected Cache from forward_prop, got {type(cache).__name__}")
    if len(cache.zs) != len(layers):
        raise EngineError(
            f"cache: holds {len(cache.zs)} layers but the network has {len(layers)}"
        )
    for i, (z, layer) in enumerate(zip(cache.zs, layers)):
        if z.shape[1] != layer.units:
            raise EngineError(f"cache: layer {i + 1} has {z.shape[1]} units, network {layer.units}")
    loss = get_loss(loss)
    last = layers[-1].activation
    if loss.requires is not None and last != loss.requires:
        raise EngineError(
            f"loss {loss.name!r} is computed from logits and requires a {loss.requires} "
            f"output layer, but layer {len(layers)} is {last}"
        )
    T = _batch(T, "T")
    if T.shape != cache.output.shape:
        raise EngineError(
            f"T: has shape {T.shape} but the network's output has shape {cache.output.shape}"
        )
    return layers, T, loss


def loss_value(cache: Cache, layers: Sequence[Dense], T, loss: str | Loss) -> float:
    """Batch loss ``J``: mean over samples of the per-sample loss.

    Parameters
    ----------
    cache : Cache
        Result of :func:`forward_prop`.
    layers : sequence of Dense
        The network that produced ``cache``.
    T : array_like, shape (n_samples, K) or (K,)
        Targets.
    loss : str or Loss
        ``mse``, ``sse``, ``half_sse``, ``bce`` (sigmoid output) or ``ce`` (softmax output).

    Returns
    -------
    float

    Examples
    --------
    >>> net = [Dense([[1.0]], [0.0], "identity")]
    >>> loss_value(forward_prop([[3.0]], net), net, [[1.0]], "half_sse")
    2.0
    """
    layers, T, loss = _check(cache, layers, T, loss)
    where = f"loss ({loss.name})"
    with _numerics(where):
        per_sample = _finite(np.asarray(loss.per_sample(cache.zs[-1], cache.output, T)),
                             where, "loss")
        return float(np.mean(per_sample))


def _backward(cache: Cache, layers: tuple[Dense, ...], T: Array, loss: Loss,
              learning_rate: float | None, constraints: Constraints = None) -> Grads:
    """Backpropagate; with ``learning_rate`` the error flows through updated weights.

    With ``constraints`` every layer's gradient is the one an update applies (a shared
    bias gets the sum of its uses, a frozen entry 0), so in the sequential order a
    frozen weight of the layer above stays as it is.
    """
    z_out, a_out = cache.zs[-1], cache.output
    where = f"loss ({loss.name})"
    with _numerics(where):
        g = _finite(loss.gradient(z_out, a_out, T), where, "gradient")
    last = len(layers) - 1
    if loss.wrt == "a":
        where = _name(last, layers[last]) + " backward"
        with _numerics(where):
            delta = _finite(layers[last].g.jvp(z_out, g), where, "δ")
    else:
        delta = g  # fused bce/ce: the loss already gave ∂J/∂z
    grads: Grads = []
    for i in range(last, -1, -1):
        layer = layers[i]
        where = _name(i, layer) + " backward"
        with _numerics(where):
            dW = _finite(delta.T @ cache.activations[i], where, "dW", freeze=False)
            db = _finite(np.sum(delta, axis=0), where, "db", freeze=False)
            if constraints is not None:
                dW, db = constrain_layer(dW, db, constraints[i])
            grads.append((dW, db))
            if i == 0:
                break  # nothing below the first layer needs δ
            W = layer.W if learning_rate is None else layer.W - learning_rate * dW
            back = _finite(delta @ W, where, "δ W")
        below = layers[i - 1]
        where = _name(i - 1, below) + " backward"
        with _numerics(where):
            # The derivative is taken at the pre-activation z of the layer below.
            delta = _finite(below.g.jvp(cache.zs[i - 1], back), where, "δ")
    grads.reverse()
    return grads


def back_propagation(cache: Cache, layers: Sequence[Dense], T,
                     loss: str | Loss, constraints: Constraints = None) -> Grads:
    """Gradients of the batch loss with respect to every weight and bias.

    Parameters
    ----------
    cache : Cache
        Result of :func:`forward_prop` on the same layers.
    layers : sequence of Dense
        The network.
    T : array_like, shape (n_samples, K) or (K,)
        Targets.
    loss : str or Loss
        Loss name; ``bce`` needs a sigmoid output layer and ``ce`` a softmax one.
    constraints : sequence of Constraint, optional
        Frozen and shared parameters, one entry per layer: the gradients returned are
        then the ones an update applies (see :mod:`backproof.engine.constraints`).

    Returns
    -------
    list of (dW, db)
        In layer order; ``dW`` has the shape of ``W`` and ``db`` of ``b``. Fresh arrays.

    Raises
    ------
    EngineError
        On shape mismatches or a loss incompatible with the output activation.
    NumericalError
        If a value overflows or becomes invalid.

    Examples
    --------
    >>> net = [Dense([[2.0]], [0.0], "identity")]
    >>> [(dW.tolist(), db.tolist()) for dW, db in
    ...  back_propagation(forward_prop([[3.0]], net), net, [[1.0]], "half_sse")]
    [([[15.0]], [5.0])]
    """
    layers, T, loss = _check(cache, layers, T, loss)
    _check_constraints(constraints, layers)
    return _backward(cache, layers, T, loss, None, constraints)  # freshly computed, writeable arrays


def _check_constraints(constraints: Constraints, layers: Sequence[Dense]) -> None:
    if constraints is not None and len(constraints) != len(layers):
        raise EngineError(f"constraints: {len(constraints)} entries for {len(layers)} layers")


def sequential_gradients(cache: Cache, layers: Sequence[Dense], T, loss: str | Loss,
                         learning_rate: float, constraints: Constraints = None) -> Grads:
    """Gradients used by the sequential update order (output layer updated first).

    The output layer's gradient is the ordinary one; the error reaching layer ``l``
    is propagated through the weights of layer ``l + 1`` *after* their update
    ``W − η dW``. The forward values stay those of ``cache``.

    Parameters
    ----------
    cache, layers, T, loss
        As for :func:`back_propagation`.
    learning_rate : float
        Step size ``η`` of the updates made on the way down.

    Returns
    -------
    list of (dW, db)
        In layer order; ``gd_step(layers, these, η)`` is the sequential update.

    Examples
    --------
    >>> net = [Dense([[1.0]], [0.0], "identity"), Dense([[2.0]], [0.0], "identity")]
    >>> cache = forward_prop([[1.0]], net)
    >>> [dW.tolist() for dW, _ in sequential_gradients(cache, net, [[0.0]], "half_sse", 0.1)]
    [[[3.6]], [[2.0]]]
    >>> [dW.tolist() for dW, _ in back_propagation(cache, net, [[0.0]], "half_sse")]
    [[[4.0]], [[2.0]]]
    """
    layers, T, loss = _check(cache, layers, T, loss)
    _check_constraints(constraints, layers)
    eta = _learning_rate(learning_rate)
    return _backward(cache, layers, T, loss, eta, constraints)


def _learning_rate(learning_rate) -> float:
    try:
        eta = float(learning_rate)
    except (TypeError, ValueError):
        raise EngineError(f"learning_rate: expected a number, got {learning_rate!r}") from None
    if not np.isfinite(eta) or eta <= 0:
        raise EngineError(f"learning_rate: must be a finite number > 0, got {learning_rate!r}")
    return eta


def gradient_norm(grads: Grads) -> float:
    """Euclidean norm of all gradients together, ``sqrt(Σ dW² + Σ db²)``.

    Examples
    --------
    >>> import numpy as np
    >>> gradient_norm([(np.array([[3.0]]), np.array([4.0]))])
    5.0
    """
    with _numerics("gradient norm"):
        flat = np.concatenate([np.ravel(x) for pair in grads for x in pair])
        return float(np.linalg.norm(flat))


def gd_step(layers: Sequence[Dense], grads: Grads, learning_rate: float,
            mode: str = "simultaneous", *, cache: Cache | None = None, T=None,
            loss: str | Loss | None = None, constraints: Constraints = None) -> list[Dense]:
    """One gradient-descent step ``W ← W − η dW``, ``b ← b − η db``, returning new layers.

    Parameters
    ----------
    layers : sequence of Dense
        The current network; it is not modified.
    grads : list of (dW, db)
        From :func:`back_propagation`, in layer order.
    learning_rate : float
        Step size ``η > 0``.
    mode : {"simultaneous", "sequential"}
        ``simultaneous`` applies ``grads`` to every layer. ``sequential`` updates the
        output layer with ``grads[-1]`` and recomputes the earlier layers' gradients
        through the updated later weights (see :func:`sequential_gradients`); it
        needs ``cache``, ``T`` and ``loss``.
    cache, T, loss
        Forward pass, targets and loss; required in sequential mode only.
    constraints : sequence of Constraint, optional
        Frozen and shared parameters; ``grads`` should already be constrained (as
        :func:`back_propagation` returns them with the same constraints). In sequential
        mode the recomputed gradients are constrained too.

    Returns
    -------
    list of Dense
        New layers.

    Examples
    --------
    >>> net = [Dense([[2.0]], [0.0], "identity")]
    >>> grads = back_propagation(forward_prop([[3.0]], net), net, [[1.0]], "half_sse")
    >>> new = gd_step(net, grads, 0.1)
    >>> (new[0].W.tolist(), new[0].b.tolist(), net[0].W.tolist())
    ([[0.5]], [-0.5], [[2.0]])
    """
    layers = _layers(layers)
    eta = _learning_rate(learning_rate)
    if mode not in MODES:
        raise EngineError(f"unknown mode {mode!r} (must be one of {list(MODES)})")
    grads = list(grads)
    if len(grads) != len(layers):
        raise EngineError(f"grads: has {len(grads)} entries but the network has {len(layers)} layers")
    for i, ((dW, db), layer) in enumerate(zip(grads, layers), start=1):
        if np.shape(dW) != layer.W.shape or np.shape(db) != layer.b.shape:
            raise EngineError(
                f"grads: layer {i} has shapes {np.shape(dW)}, {np.shape(db)}; "
                f"expected {layer.W.shape}, {layer.b.shape}"
            )
    if mode == "sequential":
        if cache is None or T is None or loss is None:
            raise EngineError("gd_step: mode 'sequential' needs cache=, T= and loss=")
        grads = sequential_gradients(cache, layers, T, loss, eta, constraints)[:-1] + [grads[-1]]
    new = []
    for i, (layer, (dW, db)) in enumerate(zip(layers, grads)):
        where = _name(i, layer) + " update"
        with _numerics(where):
            W = _finite(layer.W - eta * np.asarray(dW, dtype=np.float64), where, "W")
            b = _finite(layer.b - eta * np.asarray(db, dtype=np.float64), where, "b")
        new.append(layer.replace(W=W, b=b))
    return new


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    layers : tuple of Dense
        The network after the last update.
    losses : tuple of float
        ``losses[k]`` is the batch loss after ``k`` updates (``losses[0]`` is the
        initial loss), so there is one more entry than :attr:`steps`.
    grad_norms : tuple of float
        Gradient norm (:func:`gradient_norm`) at the same parameters as ``losses``.
    steps : int
        Number of updates made.
    stopped_because : str
        ``"steps"`` (all requested steps done), ``"loss_decrease"`` (the last update
        lowered the loss by ``<= tolerance``, or raised it) or ``"gradient_norm"``
        (the gradient norm fell below ``tolerance``).
    """

    layers: tuple[Dense, ...]
    losses: tuple[float, ...]
    grad_norms: tuple[float, ...]
    steps: int
    stopped_because: str
    shown: tuple[ShownStep, ...] = ()
    state: OptState | None = None

    @property
    def final_loss(self) -> float:
        """The loss at :attr:`layers`."""
        return self.losses[-1]


class TrainingStepError(NumericalError):
    """A :class:`NumericalError` raised by :func:`train` during step ``step``.

    The message and ``where`` start with ``"step k, "``; ``cause`` and ``cause_where``
    hold the engine's own message and place, so a caller can word the step its way.
    """

    def __init__(self, step: int, cause: NumericalError):
        self.step = step
        self.cause = str(cause)
        self.cause_where = cause.where
        super().__init__(f"step {step}, {cause}", where=f"step {step}, {cause.where}")


#: What :func:`train` calls at every parameter state it visits: ``record(k, layers)``
#: with ``k`` the number of updates made so far (``0`` the initial network).
Recorder = Callable[[int, tuple[Dense, ...]], None]


def _train_args(steps, tolerance, mode) -> float:
    """Check the loop's arguments; return the tolerance as a float."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise EngineError(f"steps: must be an integer >= 0, got {steps!r}")
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        raise EngineError(f"tolerance: expected a number, got {tolerance!r}") from None
    if not np.isfinite(tol) or tol < 0:
        raise EngineError(f"tolerance: must be a finite number >= 0, got {tolerance!r}")
    if mode not in MODES:
        raise EngineError(f"unknown mode {mode!r} (must be one of {list(MODES)})")
    return tol


def _stop_reason(losses: Sequence[float], norms: Sequence[float], k: int, steps: int,
                 tol: float) -> str | None:
    """Why training stops at step ``k``, or None to take another step."""
    if tol > 0 and norms[-1] < tol:
        return "gradient_norm"
    if tol > 0 and k > 0 and losses[-2] - losses[-1] <= tol:
        return "loss_decrease"
    if k == steps:
        return "steps"
    return None


def train(layers: Sequence[Dense], X, T, loss: str | Loss, learning_rate: float,
          steps: int, tolerance: float = 0.0, mode: str = "simultaneous",
          record: Recorder | None = None, constraints: Constraints = None, *,
          optimizer: Optimizer | None = None, schedule: Schedule | None = None,
          regularization: Regularization | None = None, batching: Batching | None = None,
          show: Sequence[int] = ()) -> TrainResult:
    """Gradient descent (the seeds' epoch loop, written correctly) and the loops of real courses.

    Each step runs :func:`forward_prop`, :func:`loss_value`, :func:`back_propagation`
    and :func:`gd_step` on the whole batch. This is backproof's one training loop:
    callers that want more than the losses pass ``record``. With an ``optimizer``,
    ``schedule``, ``regularization`` or ``batching`` (:mod:`backproof.engine.optim`), update
    ``k`` (from 0) takes the gradient of the loss plus penalty on the batch
    :meth:`~backproof.engine.optim.Batching.indices` gives, at the rate
    ``schedule.rate(η, k, steps)``, and applies ``optimizer.step``; losses and gradient
    norms are always the whole data set's (with the penalty).

    Parameters
    ----------
    layers : sequence of Dense
        Initial network; not modified.
    X, T : array_like
        Inputs ``(n_samples, fan_in)`` and targets ``(n_samples, K)``.
    loss : str or Loss
        Loss name.
    learning_rate : float
        Step size ``η > 0``.
    steps : int
        Maximum number of updates (``>= 0``).
    tolerance : float
        When ``> 0``, stop early once the gradient norm is ``< tolerance`` or an
        update lowers the loss by ``<= tolerance``. ``0`` runs all ``steps``.
    mode : {"simultaneous", "sequential"}
        Update order, as in :func:`gd_step`.
    record : callable, optional
        ``record(k, layers)`` is called with every network the loop visits, the
        initial one (``k = 0``) and the one after each update, before its loss is taken.
    constraints : sequence of Constraint, optional
        Frozen and shared parameters, one entry per layer: frozen entries never change,
        a shared bias moves by the sum of its units' gradients, and the gradient norm
        counts each trainable parameter once. Every optimiser sees the constrained
        gradients (a frozen entry's is 0, so no optimiser moves it).
    optimizer, schedule, regularization, batching : optional
        Default: SGD, constant rate, no penalty, full batch; ``sequential`` mode works
        with these defaults only.
    show : sequence of int
        Updates (1-based, as the write-ups count them) to keep as
        :class:`~backproof.engine.optim.ShownStep` in :attr:`TrainResult.shown`.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingStepError
        If training overflows (a :class:`NumericalError`); ``where`` starts with ``"step k, "``.

    Examples
    --------
    >>> net = [Dense([[0.0]], [0.0], "identity")]
    >>> result = train(net, [[1.0], [2.0]], [[2.0], [4.0]], "mse", 0.2, 300)
    >>> (result.stopped_because, round(float(result.layers[0].W[0, 0]), 3))
    ('steps', 2.0)
    >>> seen = []
    >>> _ = train(net, [[1.0]], [[2.0]], "half_sse", 0.5, 2, record=lambda k, ls: seen.append(k))
    >>> seen
    [0, 1, 2]
    """
    current = _layers(layers)
    eta = _learning_rate(learning_rate)
    tol = _train_args(steps, tolerance, mode)
    X = _batch(X, "X")
    T = _batch(T, "T")
    _check_constraints(constraints, current)
    loop = _Loop(optimizer or SGD(), schedule or Schedule(), regularization, batching or Batching(),
                 get_loss(loss), mode, eta, steps, constraints)
    return loop.run(current, X, T, tol, record, {int(s) for s in show})


@dataclass(frozen=True)
class _Loop:
    """What decides one update of :func:`train`: optimiser, schedule, penalty, batches."""

    optimizer: Optimizer
    schedule: Schedule
    regularization: Regularization | None
    batching: Batching
    loss: Loss
    mode: str
    learning_rate: float
    steps: int
    constraints: Constraints = None

    def __post_init__(self):
        if self.mode == "sequential" and not self.plain:
            raise EngineError("mode 'sequential' works with plain full-batch gradient descent only "
                              "(no optimizer, schedule, penalty or minibatches)")

    @property
    def plain(self) -> bool:
        """Plain full-batch gradient descent at a constant rate with no penalty: :func:`gd_step`."""
        reg = self.regularization
        return (type(self.optimizer) in (SGD, Optimizer) and self.batching.size is None
                and self.schedule.kind == "constant" and not (reg and reg.strength))

    def run(self, current, X, T, tol: float, record: Recorder | None, wanted: set[int]) -> TrainResult:
        """The loop itself: loss and gradient norm at every state, then an update, until a stop."""
        state = self.optimizer.init(params_of(current))
        losses: list[float] = []
        norms: list[float] = []
        shown: list[ShownStep] = []
        k = 0
        while True:
            if record is not None:
                record(k, current)
            try:
                J, grads, cache = self.objective(current, X, T)
                losses.append(J)
                norms.append(gradient_norm(self.distinct(grads)))
                stopped = _stop_reason(losses, norms, k, self.steps, tol)
                if stopped is not None:
                    return TrainResult(current, tuple(losses), tuple(norms), k, stopped, tuple(shown), state)
                step = self.update(k, current, state, X, T, grads, cache)
            except NumericalError as exc:
                raise TrainingStepError(k, exc) from None
            if k + 1 in wanted:
                shown.append(step)
            current, state = with_params(current, step.new), step.after
            k += 1

    def distinct(self, grads):
        """The gradients the norm counts: each trainable parameter once (a shared bias once,
        a frozen entry as 0)."""
        return grads if self.constraints is None else distinct_gradients(grads, self.constraints)

    def objective(self, layers, X, T):
        """Loss with penalty, its gradients (per layer; before the constraints: see
        :meth:`update`) and the forward pass, on a batch."""
        cache = forward_prop(X, layers)
        J = loss_value(cache, layers, T, self.loss)
        grads = back_propagation(cache, layers, T, self.loss)
        reg = self.regularization
        if reg is not None and reg.strength:
            where = "penalty"
            with _numerics(where):
                J += reg.penalty(layers)
                grads = [(_finite(dW + rW, where, "gradient", False), _finite(db + rb, where, "gradient", False))
                         for (dW, db), (rW, rb) in zip(grads, reg.gradient(layers))]
        return J, grads, cache

    def update(self, k: int, current, state: OptState, X, T, grads, cache) -> ShownStep:
        """Update ``k`` (0-based) from the whole batch's ``grads`` (recomputed on a minibatch)."""
        lr = self.schedule.rate(self.learning_rate, k, self.steps)
        if not (np.isfinite(lr) and lr > 0):
            raise EngineError(f"schedule: the learning rate of update {k + 1} is {lr!r} (must be > 0)")
        idx = self.batching.indices(k, X.shape[0])
        if len(idx) < X.shape[0]:
            _, grads, _ = self.objective(current, X[idx], T[idx])
        if self.constraints is not None:  # what an update applies: frozen 0, a shared bias summed
            grads = constrain(grads, self.constraints)
        if self.plain:
            new = params_of(gd_step(current, grads, lr, self.mode, cache=cache, T=T, loss=self.loss,
                                    constraints=self.constraints))
            after = OptState(state.t + 1, {})
        else:
            where = "update"
            with _numerics(where):
                flat = tuple(x for pair in grads for x in pair)
                new, after = self.optimizer.step(params_of(current), flat, state, lr)
                for p in new:
                    _finite(p, where, "a parameter", False)
        return ShownStep(k + 1, lr, tuple(idx.tolist()), params_of(current),
                         tuple(x for pair in grads for x in pair), state, after, new)

"""The parts of the training loops of real courses: optimisers, learning-rate schedules,
regularisation and batching (the loop that combines them is :func:`backproof.engine.train`).

Every optimiser is a frozen record of its hyper-parameters with a pure update step
``step(params, grads, state, lr) -> (params, state)``; the state (velocity, moment
estimates, step count) is a frozen :class:`OptState` and nothing is updated in place.
The formulas are ``torch.optim``'s (PyTorch 2.x documentation, with weight decay 0 and
dampening 0; regularisation is a term of the loss here, :class:`Regularization`):

``sgd``       θ ← θ − η g
``momentum``  v ← μ v + g (v₁ = g);  θ ← θ − η v
``nesterov``  v ← μ v + g (v₁ = g);  θ ← θ − η (g + μ v)
``adagrad``   G ← G + g²;  θ ← θ − η g / (√G + ε)                      (ε = 1e-10)
``rmsprop``   s ← α s + (1 − α) g²;  θ ← θ − η g / (√s + ε)            (α = 0.99, ε = 1e-8)
``adam``      m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
              θ ← θ − (η / (1 − β₁ᵗ)) m / (√v / √(1 − β₂ᵗ) + ε)     (β = 0.9, 0.999, ε = 1e-8)

CS231n writes momentum as ``v ← μv − η g; x ← x + v`` and Nesterov as ``x ← x − μ v_prev +
(1 + μ) v``: with a constant rate both give the same parameters (its v is −η times PyTorch's;
``(1 + μ)v − μ v_prev = g + μ v`` for PyTorch's v). The optimisers' arithmetic
follows PyTorch's operation order, so the tests compare the first steps with
``torch.optim`` to 1e-12.

This module imports NumPy only (the engine never imports SymPy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from backproof.engine.errors import EngineError
from backproof.engine.layers import Dense

__all__ = [
    "OptState", "Optimizer", "SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adam",
    "OPTIMIZERS", "make_optimizer", "Schedule", "SCHEDULES", "Regularization", "REGULARIZERS",
    "Batching", "ShownStep", "params_of", "with_params",
]

Array = np.ndarray
Params = tuple[Array, ...]


@dataclass(frozen=True, eq=False)
class OptState:
    """An optimiser's state: the steps taken and one tuple of arrays per slot.

    Attributes
    ----------
    t : int
        Updates made so far (Adam's bias correction uses ``t`` after the increment).
    slots : mapping of str to tuple of arrays
        Slot name (``"v"``, ``"G"``, ``"s"``, ``"m"``) -> one array per parameter array.
    """

    t: int = 0
    slots: Mapping[str, Params] = field(default_factory=dict)


def _zeros(params: Params) -> Params:
    return tuple(np.zeros_like(p) for p in params)


def _frozen(arrays) -> Params:
    out = tuple(np.array(a, dtype=np.float64) for a in arrays)
    for a in out:
        a.setflags(write=False)
    return out


@dataclass(frozen=True)
class Optimizer:
    """Plain gradient descent ``θ ← θ − η g`` (the base of every optimiser here)."""

    name = "sgd"
    #: The update, one line per assignment, for the write-ups.
    formulas: ClassVar[tuple[str, ...]] = ("θ ← θ − η·g",)

    def init(self, params: Params) -> OptState:
        """The state before the first step (no slots for plain SGD)."""
        return OptState(0, {})

    def step(self, params: Params, grads: Params, state: OptState, lr: float) -> tuple[Params, OptState]:
        """One update: new parameters and the new state; nothing is modified.

        Examples
        --------
        >>> import numpy as np
        >>> p, s = SGD().step((np.array([1.0]),), (np.array([2.0]),), OptState(), 0.1)
        >>> p[0].tolist(), s.t
        ([0.8], 1)
        """
        return _frozen(p - lr * g for p, g in zip(params, grads)), OptState(state.t + 1, {})

    @property
    def hyper(self) -> dict[str, float]:
        """Hyper-parameters by name (for the write-ups)."""
        return {}


class SGD(Optimizer):
    """``θ ← θ − η g``."""


@dataclass(frozen=True)
class Momentum(Optimizer):
    """Heavy-ball momentum as ``torch.optim.SGD(momentum=μ)``: ``v ← μv + g``, ``θ ← θ − ηv``."""

    momentum: float = 0.9
    formulas: ClassVar[tuple[str, ...]] = ("v ← μ·v + g   (v = g at the first step)", "θ ← θ − η·v")
    name = "momentum"

    def init(self, params: Params) -> OptState:
        """Velocity ``v`` starts at zero (the first step sets it to ``g``)."""
        return OptState(0, {"v": _frozen(_zeros(params))})

    def _velocity(self, grads: Params, state: OptState) -> Params:
        if state.t == 0:
            return _frozen(grads)  # torch: buf = clone(grad) at the first step
        return _frozen(v * self.momentum + g for v, g in zip(state.slots["v"], grads))

    def step(self, params, grads, state, lr):
        """One momentum step.

        Examples
        --------
        >>> import numpy as np
        >>> opt = Momentum(0.5); p = (np.array([1.0]),); g = (np.array([1.0]),)
        >>> p1, s1 = opt.step(p, g, opt.init(p), 0.1); p2, s2 = opt.step(p1, g, s1, 0.1)
        >>> round(float(p2[0][0]), 12), s2.slots["v"][0].tolist()
        (0.75, [1.5])
        """
        v = self._velocity(grads, state)
        return _frozen(p - lr * b for p, b in zip(params, v)), OptState(state.t + 1, {"v": v})

    @property
    def hyper(self):
        return {"μ": self.momentum}


@dataclass(frozen=True)
class Nesterov(Momentum):
    """Nesterov momentum as ``torch.optim.SGD(momentum=μ, nesterov=True)``."""

    formulas: ClassVar[tuple[str, ...]] = ("v ← μ·v + g   (v = g at the first step)", "θ ← θ − η·(g + μ·v)")
    name = "nesterov"

    def step(self, params, grads, state, lr):
        """One Nesterov step: the update looks ahead along the new velocity.

        Examples
        --------
        >>> import numpy as np
        >>> opt = Nesterov(0.5); p = (np.array([1.0]),); g = (np.array([1.0]),)
        >>> p1, s1 = opt.step(p, g, opt.init(p), 0.1)
        >>> p1[0].tolist()
        [0.85]
        """
        v = self._velocity(grads, state)
        new = _frozen(p - lr * (g + self.momentum * b) for p, g, b in zip(params, grads, v))
        return new, OptState(state.t + 1, {"v": v})


@dataclass(frozen=True)
class Adagrad(Optimizer):
    """``torch.optim.Adagrad`` (no rate decay, accumulator from 0): ``G ← G + g²``, ``θ ← θ − ηg/(√G + ε)``."""

    eps: float = 1e-10
    formulas: ClassVar[tuple[str, ...]] = ("G ← G + g²", "θ ← θ − η·g / (√G + ε)")
    name = "adagrad"

    def init(self, params: Params) -> OptState:
        """The sum of squared gradients ``G`` starts at zero."""
        return OptState(0, {"G": _frozen(_zeros(params))})

    def step(self, params, grads, state, lr):
        """One Adagrad step.

        Examples
        --------
        >>> import numpy as np
        >>> opt = Adagrad(); p = (np.array([1.0]),)
        >>> round(float(opt.step(p, (np.array([3.0]),), opt.init(p), 0.1)[0][0][0]), 9)
        0.9
        """
        G = _frozen(s + g * g for s, g in zip(state.slots["G"], grads))
        new = _frozen(p - lr * (g / (np.sqrt(s) + self.eps)) for p, g, s in zip(params, grads, G))
        return new, OptState(state.t + 1, {"G": G})

    @property
    def hyper(self):
        return {"ε": self.eps}


@dataclass(frozen=True)
class RMSProp(Optimizer):
    """``torch.optim.RMSprop`` (not centred, no momentum): ``s ← αs + (1 − α)g²``, ``θ ← θ − ηg/(√s + ε)``."""

    alpha: float = 0.99
    eps: float = 1e-8
    formulas: ClassVar[tuple[str, ...]] = ("s ← α·s + (1 − α)·g²", "θ ← θ − η·g / (√s + ε)")
    name = "rmsprop"

    def init(self, params: Params) -> OptState:
        """The running mean of squared gradients ``s`` starts at zero."""
        return OptState(0, {"s": _frozen(_zeros(params))})

    def step(self, params, grads, state, lr):
        """One RMSProp step.

        Examples
        --------
        >>> import numpy as np
        >>> opt = RMSProp(alpha=0.75, eps=0.0); p = (np.array([1.0]),)
        >>> float(opt.step(p, (np.array([2.0]),), opt.init(p), 0.1)[0][0][0])
        0.8
        """
        s = _frozen(a * self.alpha + (g * g) * (1 - self.alpha) for a, g in zip(state.slots["s"], grads))
        new = _frozen(p - lr * (g / (np.sqrt(a) + self.eps)) for p, g, a in zip(params, grads, s))
        return new, OptState(state.t + 1, {"s": s})

    @property
    def hyper(self):
        return {"α": self.alpha, "ε": self.eps}


@dataclass(frozen=True)
class Adam(Optimizer):
    """``torch.optim.Adam`` (no AMSGrad): moment estimates ``m``, ``v`` with bias correction."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    formulas: ClassVar[tuple[str, ...]] = ("m ← β₁·m + (1 − β₁)·g", "v ← β₂·v + (1 − β₂)·g²",
                                 "θ ← θ − (η / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)")
    name = "adam"

    def init(self, params: Params) -> OptState:
        """Both moment estimates start at zero."""
        z = _frozen(_zeros(params))
        return OptState(0, {"m": z, "v": z})

    def step(self, params, grads, state, lr):
        """One Adam step (PyTorch's order of operations).

        Examples
        --------
        >>> import numpy as np
        >>> opt = Adam(); p = (np.array([1.0]),)
        >>> round(float(opt.step(p, (np.array([5.0]),), opt.init(p), 0.1)[0][0][0]), 6)
        0.9
        """
        t = state.t + 1
        b1, b2 = self.beta1, self.beta2
        m = _frozen(m0 + (g - m0) * (1 - b1) for m0, g in zip(state.slots["m"], grads))  # torch: lerp
        v = _frozen(v0 * b2 + (g * g) * (1 - b2) for v0, g in zip(state.slots["v"], grads))
        step_size = lr / (1 - b1 ** t)
        c2 = math.sqrt(1 - b2 ** t)
        new = _frozen(p - step_size * (a / (np.sqrt(b) / c2 + self.eps)) for p, a, b in zip(params, m, v))
        return new, OptState(t, {"m": m, "v": v})

    @property
    def hyper(self):
        return {"β₁": self.beta1, "β₂": self.beta2, "ε": self.eps}


#: Optimiser name -> its class; the hyper-parameters are the class's fields.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov,
    "adagrad": Adagrad, "rmsprop": RMSProp, "adam": Adam,
}
#: Each optimiser's hyper-parameter fields (spec field names), with PyTorch's defaults.
OPTIMIZER_FIELDS: dict[str, dict[str, float]] = {
    "sgd": {}, "momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9},
    "adagrad": {"eps": 1e-10}, "rmsprop": {"alpha": 0.99, "eps": 1e-8},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


def make_optimizer(name: str, **hyper: float) -> Optimizer:
    """An optimiser by name with its hyper-parameters.

    Examples
    --------
    >>> make_optimizer("adam", beta1=0.5).hyper["β₁"]
    0.5
    """
    if name not in OPTIMIZERS:
        raise EngineError(f"unknown optimizer {name!r} (must be one of {list(OPTIMIZERS)})")
    unknown = set(hyper) - set(OPTIMIZER_FIELDS[name])
    if unknown:
        raise EngineError(f"optimizer {name}: unknown hyper-parameter {sorted(unknown)[0]!r} "
                          f"(allowed: {list(OPTIMIZER_FIELDS[name]) or 'none'})")
    return OPTIMIZERS[name](**hyper)


# --- learning-rate schedules ------------------------------------------------------------

#: Schedule kinds and their formulas (η₀ the spec's rate, k the update index from 0, K the steps).
SCHEDULES: dict[str, str] = {
    "constant": "η_k = η₀",
    "step": "η_k = η₀·γ^⌊k / s⌋",
    "linear": "η_k = η₀ + (η_end − η₀)·k / K",
    "exponential": "η_k = η₀·γ^k",
}


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: the rate of update ``k`` (from 0) of a run of ``K`` steps.

    ``linear`` runs from ``η₀`` to ``final`` over ``K`` updates (micrograd's demo:
    η₀ = 1, final = 0.1, K = 100 gives ``1.0 − 0.9·k/100``).

    Examples
    --------
    >>> [round(Schedule("linear", final=0.1).rate(1.0, k, 100), 6) for k in (0, 1, 99)]
    [1.0, 0.991, 0.109]
    >>> [Schedule("step", gamma=0.5, step_size=2).rate(1.0, k, 10) for k in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    kind: str = "constant"
    gamma: float = 0.1
    step_size: int = 1
    final: float = 0.0

    def rate(self, eta0: float, k: int, steps: int) -> float:
        """The learning rate of update ``k``."""
        if self.kind == "step":
            return eta0 * self.gamma ** (k // self.step_size)
        if self.kind == "linear":
            return eta0 + (self.final - eta0) * k / max(steps, 1)
        if self.kind == "exponential":
            return eta0 * self.gamma ** k
        return eta0

    @property
    def formula(self) -> str:
        """The schedule's formula in text."""
        return SCHEDULES[self.kind]


# --- regularisation ---------------------------------------------------------------------

#: Penalty kinds with their term and gradient in text.
REGULARIZERS: dict[str, tuple[str, str]] = {
    "l2": ("R = c·λ·Σ p²", "∂R/∂p = 2c·λ·p"),
    "l1": ("R = λ·Σ |p|", "∂R/∂p = λ·sign p (0 at p = 0)"),
}


@dataclass(frozen=True)
class Regularization:
    """A penalty ``R`` added to the batch loss: ``J = (1/n) Σ Jₛ + R``.

    ``l2``: ``R = c·λ·Σp²`` with ``c = 1`` (micrograd's ``alpha·Σp²``) or ``c = ½``
    (CS231n's ``0.5·reg·ΣW²``, ``half=True``); ``l1``: ``R = λ·Σ|p|`` (sign(0) = 0, as
    PyTorch's ``abs``). ``biases`` says whether the biases are penalised (micrograd:
    every parameter; CS231n: the weights only).

    Examples
    --------
    >>> import numpy as np
    >>> r = Regularization("l2", 0.5, half=True, biases=False)
    >>> net = [Dense([[2.0]], [3.0], "identity")]
    >>> r.penalty(net), [(dW.tolist(), db.tolist()) for dW, db in r.gradient(net)]
    (1.0, [([[1.0]], [0.0])])
    """

    kind: str = "l2"
    strength: float = 0.0
    half: bool = False
    biases: bool = True

    @property
    def coefficient(self) -> float:
        """``c·λ`` for l2 (``λ`` for l1)."""
        return self.strength * (0.5 if self.half and self.kind == "l2" else 1.0)

    def penalty(self, layers: Sequence[Dense]) -> float:
        """``R`` at the layers."""
        total = 0.0
        for layer in layers:
            for p in (layer.W, layer.b) if self.biases else (layer.W,):
                total += float(np.sum(p * p)) if self.kind == "l2" else float(np.sum(np.abs(p)))
        return self.coefficient * total

    def gradient(self, layers: Sequence[Dense]) -> list[tuple[Array, Array]]:
        """``(∂R/∂W, ∂R/∂b)`` per layer."""
        def d(p: Array) -> Array:
            return 2.0 * self.coefficient * p if self.kind == "l2" else self.coefficient * np.sign(p)
        return [(d(layer.W), d(layer.b) if self.biases else np.zeros_like(layer.b)) for layer in layers]

    @property
    def text(self) -> str:
        """The penalty in text, with its numbers."""
        over = "p" if self.biases else "W"
        if self.kind == "l1":
            return f"R = {self.strength:g}·Σ|{over}|"
        return f"R = {'½·' if self.half else ''}{self.strength:g}·Σ{over}²"


# --- batching ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Batching:
    """Which samples update ``k`` uses: all (``size=None``), or ``size`` of them.

    Samples are visited epoch by epoch, each epoch in the order of a permutation drawn
    from ``numpy.random.default_rng([seed, epoch])``, cut into batches of ``size`` (the
    last batch of an epoch may be smaller); ``size = 1`` is online learning.

    Examples
    --------
    >>> b = Batching(2, seed=0)
    >>> sorted(b.indices(0, 4).tolist() + b.indices(1, 4).tolist())
    [0, 1, 2, 3]
    >>> Batching().indices(5, 3).tolist()
    [0, 1, 2]
    """

    size: int | None = None
    seed: int = 0

    def indices(self, k: int, n: int) -> Array:
        """The sample indices of update ``k`` (0-based) on a data set of ``n`` samples."""
        if self.size is None or self.size >= n:
            return np.arange(n)
        per_epoch = -(-n // self.size)
        epoch, j = divmod(k, per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(n)
        return np.sort(order[j * self.size:(j + 1) * self.size])

    @property
    def text(self) -> str:
        """In words."""
        if self.size is None:
            return "full batch"
        if self.size == 1:
            return f"online (one sample per step, order shuffled each epoch, seed {self.seed})"
        return f"minibatches of {self.size} (order shuffled each epoch, seed {self.seed})"


# --- the parameters as one flat tuple, and one shown update ------------------------------

def params_of(layers: Sequence[Dense]) -> Params:
    """The layers' parameters as one flat tuple ``(W1, b1, W2, b2, …)``."""
    return tuple(p for layer in layers for p in (layer.W, layer.b))


def with_params(layers: Sequence[Dense], params: Params) -> tuple[Dense, ...]:
    """The layers with the parameters of a flat tuple ``(W1, b1, …)``."""
    return tuple(layer.replace(W=params[2 * i], b=params[2 * i + 1]) for i, layer in enumerate(layers))


@dataclass(frozen=True, eq=False)
class ShownStep:
    """One update as the write-ups show it.

    ``params``, ``grads`` (of the loss with its penalty, on the step's batch), ``new``:
    flat tuples ``(W1, b1, …)``; ``before`` and ``after`` the optimiser's state.
    """

    k: int
    lr: float
    batch: tuple[int, ...]
    params: Params
    grads: Params
    before: OptState
    after: OptState
    new: Params

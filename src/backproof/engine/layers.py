"""Activation functions and the fully connected (Dense) layer of the NumPy engine.

Conventions (the symbolic side of backproof is built to match them exactly):

* Everything is ``float64``.
* A batch ``X`` has shape ``(n_samples, fan_in)``. A :class:`Dense` layer holds
  ``W`` of shape ``(units, fan_in)`` and ``b`` of shape ``(units,)`` and computes
  the pre-activation ``z = X @ W.T + b`` and the activation ``a = g(z)``; row ``j``
  of ``W`` holds the weights *into* unit ``j``, so ``W[j, i]`` connects input ``i``
  to unit ``j`` (the textbook ``w_ji``).
* Activations: every op-table row that may serve as one (``identity``, ``relu``,
  ``sigmoid``, ``tanh``, …: its NumPy forward and VJP, read from
  :data:`backproof.ops.OPS`) and ``softmax`` (over the last axis; not elementwise,
  so no op-table row). Forward passes are overflow-free for any finite input:
  sigmoid and the derivatives of sigmoid and tanh are computed from ``exp(-|z|)``,
  which never overflows; softmax subtracts the row maximum.
* Derivatives are evaluated **at the pre-activation z**, never at the output ``a``.
  :meth:`Activation.jvp` returns the Jacobian-vector product ``J_g(z) v``. For the
  elementwise activations that is ``g'(z) * v``; for softmax it is the full product
  ``s * (v - sum(s * v))`` with ``s = softmax(z)``, not the diagonal alone. Every
  Jacobian here is symmetric, so the JVP is also the vector-Jacobian product that
  backpropagation needs.
* At a kink the derivative follows the row's convention (ReLU′(0) = 0, as PyTorch does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backproof.engine.errors import EngineError
from backproof.ops import OPS, stable_softmax

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "identity",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "Dense",
    "INITIALIZERS",
]

Array = np.ndarray


def _as_float(z) -> Array:
    return np.asarray(z, dtype=np.float64)


def softmax(z) -> Array:
    """Softmax over the last axis, ``s_k = e^(z_k) / Σ_j e^(z_j)``.

    Examples
    --------
    >>> softmax([[0.0, 0.0], [1000.0, 0.0]]).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    return stable_softmax(z)


def _softmax_jvp(z: Array, v: Array) -> Array:
    # J = diag(s) − s sᵀ, so J v = s ⊙ (v − ⟨s, v⟩), row by row.
    s = softmax(z)
    return s * (v - np.sum(s * v, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """One activation function: its forward map and its Jacobian-vector product.

    Attributes
    ----------
    name : str
        The name used in :class:`Dense` and in messages.
    forward : callable
        ``forward(z) -> a``.
    jvp_fn : callable
        ``jvp_fn(z, v) -> J_g(z) v``, evaluated at the pre-activation ``z``.
    elementwise : bool
        True when ``g`` acts on each entry separately (diagonal Jacobian).
    """

    name: str
    forward: Callable[[Array], Array]
    jvp_fn: Callable[[Array, Array], Array]
    elementwise: bool = True

    def __call__(self, z) -> Array:
        return self.forward(z)

    def jvp(self, z, v) -> Array:
        """Jacobian of ``g`` at the pre-activation ``z``, applied to ``v``.

        Parameters
        ----------
        z : array_like, shape (..., K)
            Pre-activation.
        v : array_like, shape (..., K)
            Vector(s) to multiply; for backpropagation this is ``∂J/∂a``.

        Returns
        -------
        numpy.ndarray
            ``J_g(z) v``, a fresh array of the broadcast shape.

        Examples
        --------
        >>> ACTIVATIONS["sigmoid"].jvp([0.0], [1.0]).tolist()
        [0.25]
        """
        return self.jvp_fn(_as_float(z), _as_float(v))

    def jacobian(self, z) -> Array:
        """Full Jacobian ``∂g(z)/∂z`` for each row of ``z``, shape ``(..., K, K)``.

        Meant for display and checks; backpropagation uses :meth:`jvp`.

        Examples
        --------
        >>> ACTIVATIONS["softmax"].jacobian([0.0, 0.0]).tolist()
        [[0.25, -0.25], [-0.25, 0.25]]
        """
        z = _as_float(z)
        k = z.shape[-1]
        eye = np.eye(k)
        # Column j of J is J e_j; stacking those on the last axis gives J.
        cols = [self.jvp(z, np.broadcast_to(eye[j], z.shape)) for j in range(k)]
        return np.stack(cols, axis=-1)


def _from_row(op) -> Activation:
    """The elementwise activation of an op-table row: its NumPy forward and VJP."""

    def forward(z, f=op.np_forward) -> Array:
        return np.array(f(_as_float(z)), dtype=np.float64)

    def jvp(z: Array, v: Array, f=op.np_forward, vjp=op.np_vjp) -> Array:
        # Elementwise: the Jacobian is diagonal (symmetric), so the VJP is the JVP.
        return np.array(np.broadcast_to(vjp(v, f(z), z)[0], np.broadcast_shapes(z.shape, v.shape)),
                        dtype=np.float64)

    return Activation(op.name, forward, jvp)


#: The op-table rows that may serve as activations (sorted by name), then softmax, the one
#: activation that is not elementwise and so is no op-table row.
ACTIVATIONS: dict[str, Activation] = {
    **{name: _from_row(OPS[name]) for name in sorted(OPS) if OPS[name].layer is not None},
    "softmax": Activation("softmax", softmax, _softmax_jvp, elementwise=False),
}

# The activation functions by name, as the engine has always exported them.
identity = ACTIVATIONS["identity"].forward
relu = ACTIVATIONS["relu"].forward
sigmoid = ACTIVATIONS["sigmoid"].forward
tanh = ACTIVATIONS["tanh"].forward


def get_activation(name: str) -> Activation:
    """Look up an activation by name.

    Parameters
    ----------
    name : str
        One of ``identity``, ``relu``, ``sigmoid``, ``tanh``, ``softmax``.

    Returns
    -------
    Activation

    Raises
    ------
    EngineError
        If the name is unknown; the message lists the allowed names.

    Examples
    --------
    >>> get_activation("tanh").name
    'tanh'
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise EngineError(
            f"unknown activation {name!r} (must be one of {sorted(ACTIVATIONS)})"
        ) from None


INITIALIZERS = ("xavier", "he", "zeros", "normal", "uniform")


def _frozen(x, what: str, ndim: int) -> Array:
    try:
        arr = np.array(x, dtype=np.float64)  # always a copy: the caller keeps theirs
    except (TypeError, ValueError) as exc:
        raise EngineError(f"{what}: not an array of numbers ({exc})") from None
    if arr.ndim != ndim:
        raise EngineError(f"{what}: expected {ndim}-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise EngineError(f"{what}: contains a non-finite value (nan or inf)")
    # Read-only so that no code path can update a layer in place.
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Dense:
    """A fully connected layer ``a = g(X @ W.T + b)``; immutable.

    Parameters
    ----------
    W : array_like, shape (units, fan_in)
        Weights; ``W[j, i]`` connects input ``i`` to unit ``j``.
    b : array_like, shape (units,)
        Biases.
    activation : str
        Name of the activation ``g`` (see :data:`ACTIVATIONS`).

    Notes
    -----
    ``W`` and ``b`` are copied to read-only float64 arrays: updates build new layers
    (see :func:`backproof.engine.network.gd_step`).

    Examples
    --------
    >>> layer = Dense([[1.0, 2.0]], [0.5], "identity")
    >>> (layer.units, layer.fan_in)
    (1, 2)
    """

    W: Array
    b: Array
    activation: str = "identity"

    def __post_init__(self):
        W = _frozen(self.W, "Dense.W", 2)
        b = _frozen(self.b, "Dense.b", 1)
        if b.shape[0] != W.shape[0]:
            raise EngineError(
                f"Dense: b has shape {b.shape} but W has shape {W.shape}; "
                f"b must have shape ({W.shape[0]},)"
            )
        get_activation(self.activation)
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)

    @property
    def units(self) -> int:
        """Number of units (outputs) of the layer."""
        return int(self.W.shape[0])

    @property
    def fan_in(self) -> int:
        """Number of inputs of the layer."""
        return int(self.W.shape[1])

    @property
    def g(self) -> Activation:
        """The :class:`Activation` record of this layer."""
        return ACTIVATIONS[self.activation]

    def replace(self, W=None, b=None) -> Dense:
        """A new layer with ``W`` and/or ``b`` replaced; the activation is kept.

        Examples
        --------
        >>> Dense([[1.0]], [0.0], "relu").replace(b=[2.0]).b.tolist()
        [2.0]
        """
        return Dense(self.W if W is None else W, self.b if b is None else b,
                     self.activation)

    @classmethod
    def init(cls, units: int, fan_in: int, activation: str = "identity",
             initializer: str = "xavier",
             rng: np.random.Generator | int = 0, scale: float = 1.0) -> Dense:
        """A layer with random weights and zero biases.

        Parameters
        ----------
        units, fan_in : int
            Shape of ``W`` is ``(units, fan_in)``.
        activation : str
            Activation name.
        initializer : {"xavier", "he", "zeros", "normal", "uniform"}
            ``xavier``: Glorot uniform, ``U(−r, r)`` with ``r = sqrt(6 / (fan_in + units))``;
            ``he``: ``N(0, 2 / fan_in)``; ``zeros``: all zero; ``normal``: ``N(0, 1)``;
            ``uniform``: ``U(−1, 1)`` (micrograd's ``random.uniform(-1, 1)``).
        rng : numpy.random.Generator or int
            Generator, or a seed for :func:`numpy.random.default_rng`; the default
            seed 0 keeps runs reproducible.
        scale : float
            Multiplies the random weights (CS231n's ``0.01 * randn``: ``normal`` with scale 0.01).

        Returns
        -------
        Dense

        Examples
        --------
        >>> Dense.init(3, 2, "relu", "he", rng=1).W.shape
        (3, 2)
        """
        if not (isinstance(units, (int, np.integer)) and units >= 1):
            raise EngineError(f"Dense.init: units must be a positive integer, got {units!r}")
        if not (isinstance(fan_in, (int, np.integer)) and fan_in >= 1):
            raise EngineError(f"Dense.init: fan_in must be a positive integer, got {fan_in!r}")
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        shape = (int(units), int(fan_in))
        if initializer == "xavier":
            r = np.sqrt(6.0 / (fan_in + units))
            W = rng.uniform(-r, r, size=shape)
        elif initializer == "he":
            W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
        elif initializer == "zeros":
            W = np.zeros(shape)
        elif initializer == "normal":
            W = rng.normal(0.0, 1.0, size=shape)
        elif initializer == "uniform":
            W = rng.uniform(-1.0, 1.0, size=shape)
        else:
            raise EngineError(
                f"unknown initializer {initializer!r} (must be one of {list(INITIALIZERS)})"
            )
        return cls(W * scale if scale != 1.0 else W, np.zeros(int(units)), activation)

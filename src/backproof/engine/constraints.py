"""Frozen and shared parameters of Dense layers: which entries an update may change.

Tutorials train networks whose parameters are not all free: Mazur's step-by-step example
gives each layer one bias that every unit uses and never updates it. A
:class:`Constraint` per layer says which entries of ``W`` and ``b`` are frozen and
whether the layer's bias is one shared scalar. :func:`constrain` turns true gradients
into the gradients an update applies:

* a shared bias is one parameter used by every unit, so its gradient is the **sum** of
  the units' ``db`` (the chain rule adds up a parameter's uses); every unit gets that
  sum, so the copies stay equal after any update;
* a frozen entry gets gradient 0, so ``W − η·0`` leaves it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backproof.engine.errors import EngineError

__all__ = ["Constraint", "constrain", "constrain_layer", "distinct_gradients"]

Array = np.ndarray


@dataclass(frozen=True, eq=False)
class Constraint:
    """What an update may change in one layer.

    Attributes
    ----------
    W_frozen, b_frozen : numpy.ndarray of bool or None
        True where the entry is frozen (shapes of ``W`` and ``b``); None: nothing frozen.
    b_shared : bool
        The layer's units use one bias (``b`` holds copies of it).

    Examples
    --------
    >>> import numpy as np
    >>> c = Constraint(b_frozen=np.array([True, True]), b_shared=True)
    >>> c.frozen_bias
    True
    """

    W_frozen: Array | None = None
    b_frozen: Array | None = None
    b_shared: bool = False

    @property
    def frozen_bias(self) -> bool:
        """Every bias entry is frozen."""
        return self.b_frozen is not None and bool(np.all(self.b_frozen))


def constrain_layer(dW: Array, db: Array, c: Constraint | None) -> tuple[Array, Array]:
    """The gradients an update applies to one layer (fresh arrays; see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> dW, db = constrain_layer(np.array([[1.0, 2.0]]), np.array([3.0]),
    ...                          Constraint(W_frozen=np.array([[False, True]])))
    >>> dW.tolist(), db.tolist()
    ([[1.0, 0.0]], [3.0])
    >>> constrain_layer(np.zeros((2, 1)), np.array([1.0, 2.0]), Constraint(b_shared=True))[1].tolist()
    [3.0, 3.0]
    """
    dW = np.array(dW, dtype=np.float64)
    db = np.array(db, dtype=np.float64)
    if c is None:
        return dW, db
    if c.b_shared:
        db = np.full_like(db, np.sum(db))
    if c.W_frozen is not None:
        if np.shape(c.W_frozen) != dW.shape:
            raise EngineError(f"constraint: W_frozen has shape {np.shape(c.W_frozen)}, W has {dW.shape}")
        dW[np.asarray(c.W_frozen, dtype=bool)] = 0.0
    if c.b_frozen is not None:
        if np.shape(c.b_frozen) != db.shape:
            raise EngineError(f"constraint: b_frozen has shape {np.shape(c.b_frozen)}, b has {db.shape}")
        db[np.asarray(c.b_frozen, dtype=bool)] = 0.0
    return dW, db


def constrain(grads: Sequence[tuple[Array, Array]],
              constraints: Sequence[Constraint | None] | None) -> list[tuple[Array, Array]]:
    """Every layer's gradients as an update applies them (:func:`constrain_layer`).

    Examples
    --------
    >>> import numpy as np
    >>> g = constrain([(np.ones((1, 1)), np.ones(1))], [Constraint(b_frozen=np.array([True]))])
    >>> [(dW.tolist(), db.tolist()) for dW, db in g]
    [([[1.0]], [0.0])]
    """
    if constraints is None:
        return [(np.array(dW, dtype=np.float64), np.array(db, dtype=np.float64)) for dW, db in grads]
    if len(constraints) != len(grads):
        raise EngineError(f"constraints: {len(constraints)} entries for {len(grads)} layers")
    return [constrain_layer(dW, db, c) for (dW, db), c in zip(grads, constraints)]


def distinct_gradients(grads: Sequence[tuple[Array, Array]],
                       constraints: Sequence[Constraint | None] | None) -> list[tuple[Array, Array]]:
    """Constrained gradients with a shared bias counted once (for the gradient norm).

    Examples
    --------
    >>> import numpy as np
    >>> g = distinct_gradients([(np.zeros((2, 1)), np.array([1.0, 2.0]))], [Constraint(b_shared=True)])
    >>> g[0][1].tolist()
    [3.0]
    """
    out = constrain(grads, constraints)
    if constraints is None:
        return out
    return [(dW, db[:1] if c is not None and c.b_shared else db) for (dW, db), c in zip(out, constraints)]

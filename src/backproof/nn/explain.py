"""One forward/backward/update of a network: derivation, both views, update table, checks.

:func:`explain_network` derives the loss once with :func:`backproof.derivation.derive` (the
machinery behind ``explain``), arranges it in the scalar view, computes the matrix
view independently, builds the gradient-descent update as typed ``update`` steps and
checks every gradient against the NumPy layer engine and central differences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import sympy as sp

from .. import fdiff, limits
from ..derivation import Derivation, derive, evaluate_number
from ..engine import Cache, back_propagation, forward_prop, loss_value
from ..errors import EvaluationError, SpecError
from ..fdiff import DISAGREE, INCONCLUSIVE, UNRESOLVED, check_derivative
from ..losses import LOSS_ROWS
from ..ops import OPS
from ..printing import format_number
from ..steps import Step, StepKind
from .build import NetProgram, as_netprogram
from .model import estimate_nodes
from .numeric import LossFunction, batch_arrays, engine_layers
from .spec import MODES
from .train import TrainHistory
from .views import MatrixView, ScalarView, compare_views, matrix_gradients, matrix_view, scalar_view

# as_netprogram, estimate_nodes, engine_layers and LossFunction live in .build, .model and
# .numeric; they stay importable from here.
__all__ = ["NetResult", "EngineCheck", "LossFunction", "explain_network", "as_netprogram", "engine_layers",
           "update_steps", "MAX_DERIVE_NODES", "estimate_nodes", "WRT_NODES", "FD_MAX_PARAMS"]

#: Largest estimated graph (nodes) :func:`explain_network` derives symbolically.
MAX_DERIVE_NODES = limits.value("net_graph_nodes")
#: Above this many estimated nodes the derivation reports gradients for every name
#: (``wrt=None``): restricting the steps to the parameters costs one graph traversal per
#: parameter, which is quadratic.
WRT_NODES = 3_000
NETWORK_LIMIT = ("gradients are not written out in the inputs nor proved against sympy.diff: a "
                 "network's nested activations make that take minutes; every gradient is checked "
                 "against the NumPy layer engine and central differences instead")
#: Central differences are taken for at most this many parameters (two forward passes each).
FD_MAX_PARAMS = 10_000
#: Agreement of the symbolic gradients with the NumPy layer engine (both exact formulas
#: in float64) and with central differences (gradcheck-like tolerances, plus the finite
#: difference's own error estimate: :mod:`backproof.fdiff`).
ENGINE_RTOL, ENGINE_ATOL = 1e-9, 1e-12
#: The finite-difference tolerances are the one set of :mod:`backproof.fdiff`.
FD_RTOL, FD_ATOL = fdiff.RTOL, fdiff.ATOL


@dataclass(frozen=True)
class EngineCheck:
    """Symbolic gradients against the NumPy layer engine and central differences.

    Relative errors are ``|a − b| / max(|a|, |b|, floor)``; ``fd_max_rel`` is None when
    the network has more than :data:`FD_MAX_PARAMS` parameters, and is taken over the
    parameters whose finite difference resolves its value; ``fd_inconclusive`` counts
    the others (finite differences cannot resolve this scale: not a failure).
    """

    engine_loss: float
    loss_rel: float
    engine_max_rel: float
    fd_max_rel: float | None
    engine_ok: bool
    fd_ok: bool | None
    worst: str
    note: str = ""
    fd_inconclusive: int = 0
    fd_compared: int | None = None

    @property
    def ok(self) -> bool:
        """Every comparison that was made agrees."""
        return self.engine_ok and self.fd_ok is not False

    @property
    def summary(self) -> str:
        """One line for write-ups."""
        n = self.fd_inconclusive
        words = f"{INCONCLUSIVE[:-1]}; not a failure)"
        if self.fd_max_rel is None:
            fd = "central differences skipped (too many parameters)"
        elif self.fd_compared == 0:
            fd = f"central differences: every parameter {words}"
        else:
            fd = (f"central differences: max relative error {self.fd_max_rel:.1e} "
                  f"({'agree' if self.fd_ok else 'DISAGREE'}, rtol {FD_RTOL:g})")
            if n:
                fd += f"; {n} parameter{'s' * (n > 1)}: {words}"
        return (f"NumPy layer engine: max relative error {self.engine_max_rel:.1e} "
                f"({'agree' if self.engine_ok else 'DISAGREE'}, rtol {ENGINE_RTOL:g}); {fd}"
                + (f"; {self.note}" if self.note else ""))


@dataclass(frozen=True, repr=False)
class NetResult:
    """Everything one explained step of a network holds; reports only format it.

    Attributes
    ----------
    net : NetProgram
    derivation : Derivation
        The reverse-mode derivation of ``J`` (steps, symbolic forms, values).
    scalar : ScalarView
    matrix : MatrixView or None
    updates : tuple of Step
        ``update`` steps, one per parameter in layer order (empty without η):
        ``target`` the scalar name, ``factors = (old, gradient, η)``, ``value`` the new value.
    mode : str
        ``simultaneous`` or ``sequential``.
    check : EngineCheck or None
    view_diff : float or None
        Largest relative difference between the scalar and the matrix view.
    history : TrainHistory or None
        Set by training (:func:`backproof.nn.train.train_network`).
    """

    net: NetProgram
    derivation: Derivation
    scalar: ScalarView
    matrix: MatrixView | None
    updates: tuple[Step, ...]
    mode: str
    check: EngineCheck | None
    history: TrainHistory | None = None
    limits: tuple[str, ...] = field(default=())
    view_diff: float | None = None

    @property
    def loss(self) -> sp.Expr:
        """The loss J at the spec's parameters."""
        return self.scalar.loss

    def gradients(self) -> dict[str, sp.Expr]:
        """Scalar parameter name -> ∂J/∂name (the true gradient, in layer order)."""
        G = self.derivation.gradients
        return {p: G[p] for p in self.net.params}

    def updated(self) -> dict[str, sp.Expr]:
        """Scalar parameter name -> value after one update (empty without η); a frozen
        parameter keeps its value."""
        if not self.updates:
            return {}
        new = {s.target: s.value for s in self.updates}
        return {p: new.get(p, self.net.at[p]) for p in self.net.params}

    def with_history(self, history: TrainHistory) -> NetResult:
        """The same result with a training history attached (a new record)."""
        return replace(self, history=history)

    def __repr__(self) -> str:
        """One line (the fields are 14-57 KB): the network, J, the update and the checks' verdict.

        Examples
        --------
        >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
        ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
        >>> repr(r).split("; ")[1:]
        ['J=2', 'η=1/2 (simultaneous)', 'checks agree>']
        """
        update = f"; η={self.net.learning_rate} ({self.mode})" if self.updates else "; no update (no η)"
        check = "" if self.check is None else "; checks agree" if self.check.ok else "; checks DISAGREE"
        trained = f"; trained {self.history.steps} steps" if self.history is not None else ""
        return f"<NetResult {self.net.spec.brief}; J={format_number(self.loss)}{update}{check}{trained}>"


def _rel(a: float, b: float, floor: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), floor)


def engine_check(net: NetProgram, gradients: Mapping[str, sp.Expr], loss: sp.Expr) -> EngineCheck:
    """Compare symbolic gradients with the NumPy layer engine and central differences."""
    spec, lay = net.spec, net.layout
    X, T = batch_arrays(spec)
    layers = engine_layers(spec)
    cache = forward_prop(X, layers)
    J = loss_value(cache, layers, T, spec.loss)
    grads = back_propagation(cache, layers, T, spec.loss)
    worst, worst_rel = "", 0.0
    flat_engine: dict[str, float] = {}
    for l, (dW, db) in enumerate(grads):
        for i, row in enumerate(lay.W[l]):
            for j, name in enumerate(row):
                flat_engine[name] = float(dW[i, j])
        for i, name in enumerate(lay.b[l]):
            # A shared bias is used by every unit: its gradient is the sum of theirs.
            flat_engine[name] = flat_engine.get(name, 0.0) + float(db[i])
    floor = ENGINE_ATOL / ENGINE_RTOL
    for name in net.params:
        r = _rel(float(gradients[name]), flat_engine[name], floor)
        if r > worst_rel:
            worst, worst_rel = name, r
    loss_rel = _rel(float(loss), J, floor)
    engine_ok = worst_rel <= ENGINE_RTOL and loss_rel <= ENGINE_RTOL

    fd = _fd_check(net, gradients, cache) if spec.n_params <= FD_MAX_PARAMS else (None, None, "", 0, None)
    fd_max, fd_ok, note, unresolved, compared = fd
    return EngineCheck(J, loss_rel, worst_rel, fd_max, engine_ok, fd_ok, worst, note, unresolved,
                       compared)


def _fd_check(net: NetProgram, gradients: Mapping[str, sp.Expr], cache: Cache):
    """Central differences of every parameter: ``(largest relative error, all agree, kink note,
    unresolved count, compared count)``."""
    spec = net.spec
    fd_max, kinks, compared, unresolved = 0.0, 0, 0, 0
    fd_ok = True
    f = LossFunction(net, {p: float(net.at[p]) for p in net.params})
    # The loss adds up a term per sample and unit through every layer: its rounding
    # error is a few eps of its size per layer, not one.
    noise_factor = 2.0 * (len(spec.layers) + 1)
    near_kink = _at_kink(cache, spec)
    for name in net.params:
        g = float(gradients[name])
        chk = check_derivative(lambda x, name=name: f(**{name: x}), float(net.at[name]), g,
                               rtol=FD_RTOL, atol=FD_ATOL, noise_factor=noise_factor)
        if chk.status == DISAGREE and near_kink:
            kinks += 1
            continue
        if chk.status == UNRESOLVED or not math.isfinite(chk.value):
            # The finite difference cannot resolve this gradient (or could not be
            # taken): not a failure of the derivation, and no relative error to show.
            unresolved += 1
            continue
        if chk.status == DISAGREE:
            fd_ok = False
        compared += 1
        fd_max = max(fd_max, _rel(chk.value, g, FD_ATOL / FD_RTOL))
    note = ""
    if kinks:
        ops = [OPS[a] for a in _kinked(cache, spec)]
        note = (f"{kinks} central difference{'s' * (kinks > 1)} straddle a "
                f"{' or '.join(op.symbol for op in ops)} kink (z = 0): not differentiable there; "
                f"the convention used is {'; '.join(op.convention for op in ops)}")
    return fd_max, fd_ok, note, unresolved, compared


def _kinked(cache, spec) -> list[str]:
    """The activations (op-table names, each once) with a pre-activation at their kink z = 0."""
    names = [layer.activation for layer, z in zip(spec.layers, cache.zs)
             if layer.activation in OPS and OPS[layer.activation].nondiff is not None
             and np.any(np.abs(z) < 1e-5)]
    return sorted(set(names))


def _at_kink(cache, spec) -> bool:
    return bool(_kinked(cache, spec))


def update_steps(net: NetProgram, gradients: Mapping[str, sp.Expr], mode: str) -> tuple[Step, ...]:
    """One gradient-descent update ``new = old − η·gradient`` per trainable parameter, as Steps
    (frozen parameters get none: they keep their values).

    In ``sequential`` mode the gradients of the earlier layers are recomputed through
    the already updated later weights (:func:`~backproof.nn.views.matrix_gradients`).

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> net = program_from_spec({"inputs": [1], "targets": [2], "loss": "half_sse",
    ...     "learning_rate": 0.5, "names": {"w": "W1[0][0]", "b": "b1[0]"},
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> [(s.target, s.factors, s.value) for s in update_steps(net, {"w": -2, "b": -2}, "simultaneous")]
    [('w', (0, -2, 1/2), 1), ('b', (0, -2, 1/2), 1)]
    """
    eta = net.learning_rate
    if eta is None:
        return ()
    if mode not in MODES:
        raise SpecError(f"mode: unknown value {mode!r} (must be one of {', '.join(MODES)})")
    used = dict(gradients)
    if mode == "sequential":
        lay = net.layout
        # The output layer's gradient is the same in both orders: keep the derivation's.
        for l, (dW, db) in enumerate(matrix_gradients(net.spec, eta)[:-1]):
            for i, row in enumerate(lay.W[l]):
                for j, name in enumerate(row):
                    used[name] = dW[i, j]
            for i, name in enumerate(lay.b[l]):
                # A shared bias collects every unit's share.
                used[name] = used[name] + db[i, 0] if i and name == lay.b[l][0] else db[i, 0]
    rule = f"gradient descent ({mode}): new = old − η·gradient"
    steps = []
    for k, name in enumerate(net.trainable, start=1):
        old = net.at[name]
        grad = sp.sympify(used[name], strict=True)  # safe: strict, and used[name] is a NumPy/SymPy number
        new = evaluate_number(old - eta * grad)
        steps.append(Step(k, StepKind.UPDATE, name, nodes=(name,), rule=rule, value=new,
                          factors=(old, grad, eta),
                          note="" if mode == "simultaneous" or used[name] == gradients[name]
                          else "gradient through the updated weights of the layer above"))
    return tuple(steps)


def explain_network(spec, *, mode: str | None = None, matrix: bool = True,
                    symbolic: bool = True, check: bool = True) -> NetResult:
    """Derive one forward/backward pass of a network and the gradient-descent update.

    Parameters
    ----------
    spec : NetProgram, NetSpec, mapping or path
        The network.
    mode : {"simultaneous", "sequential"}, optional
        Update order (default: the spec's ``mode``).
    matrix : bool
        Also compute the matrix view.
    symbolic : bool
        Also write gradients in node names (small graphs only, see
        :data:`backproof.derivation.SYMBOLIC_LIMIT`).
    check : bool
        Compare with the NumPy layer engine and central differences.

    Returns
    -------
    NetResult

    Examples
    --------
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse",
    ...     "learning_rate": 0.5, "names": {"w": "W1[0][0]", "b": "b1[0]"},
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> r.loss, r.gradients(), r.updated()
    (2, {'w': -2, 'b': -2}, {'w': 1, 'b': 1})
    """
    net = as_netprogram(spec)
    spec = net.spec
    mode = mode or spec.mode
    if mode not in MODES:
        raise SpecError(f"mode: unknown value {mode!r} (must be one of {', '.join(MODES)})")
    size = estimate_nodes(spec)
    if size > MAX_DERIVE_NODES:
        raise SpecError(
            f"{spec.source or spec.name}: the network is too large to derive symbolically: about "
            f"{size:,} graph nodes ({spec.n_params:,} parameters × {spec.n_samples} sample"
            f"{'s' * (spec.n_samples != 1)}); the limit is {MAX_DERIVE_NODES:,} "
            f"(limit net_graph_nodes; train it with the NumPy engine, backproof.engine.train, instead)")
    wrt = net.params if size <= WRT_NODES else None
    # Expanded forms are skipped: written out in the inputs, a network's gradients are
    # nested sigmoids whose sympy.diff proof takes minutes even for 2-2-2; the engine
    # and central differences check every number instead.
    try:
        deriv = derive(net.program, at=net.at, wrt=wrt, symbolic=symbolic, expand=False, verify=False)
    except EvaluationError as exc:
        if LOSS_ROWS[spec.loss].logs and "log" in str(exc):
            raise EvaluationError(
                f"{exc} — the prediction is within 1e-30 of 0 or 1 (a logit of about ±69 or "
                f"beyond), where the symbolic {spec.loss} cannot take the log at 30 digits; the NumPy "
                f"engine computes this loss from the logits (backproof.nn.train_network trains it)",
                node=exc.node) from None
        raise
    sv = scalar_view(net, deriv)
    mv = matrix_view(net) if matrix else None
    grads = {p: deriv.gradients[p] for p in net.params}
    updates = update_steps(net, grads, mode)
    chk = engine_check(net, grads, sv.loss) if check else None
    # derive() calls the skipped expansion "on request"; nobody requested it here, so the
    # network's reason replaces that note everywhere, the derivation appendix included.
    limits = tuple(NETWORK_LIMIT if "skipped on request" in lim else lim for lim in deriv.limits)
    deriv = replace(deriv, limits=limits)
    diff = compare_views(net, sv, mv) if mv is not None else None
    return NetResult(net, deriv, sv, mv, updates, mode, chk, None, limits, diff)

"""The two views of a network's backward pass, as typed data: per scalar and per matrix.

* :func:`scalar_view` reads the derivation (the same reverse-mode pass as
  ``explain``): per unit, δ = ∂J/∂z = ∂J/∂a · ∂a/∂z, computed once; per parameter,
  ∂J/∂w = δ · a (summed over samples), citing the shared δ by name. Its size is linear
  in the number of parameters.
* :func:`matrix_view` computes the textbook matrix recursion independently of the
  derivation, with exact SymPy matrices (columns are samples):
  δ⁽ᴸ⁾ = ∇ₐJ ⊙ σ′(z⁽ᴸ⁾), δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ′(z⁽ˡ⁾), ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ,
  ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁾·1. Softmax has a full Jacobian: δ = (∂a/∂z)ᵀ∇ₐJ. The fused pairs
  sigmoid + bce and softmax + ce also give δ⁽ᴸ⁾ = (ŷ − y)/(K·n) and (ŷ − y)/n, and the
  view records both forms.

Both views report the same numbers; the tests compare them entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..derivation import evaluate_number
from ..losses import LOSS_ROWS
from ..ops import OPS
from .model import frozen_masks

__all__ = ["UnitDelta", "ParamGrad", "ScalarView", "MatrixLayer", "MatrixView",
           "scalar_view", "matrix_view", "matrix_gradients", "compare_views", "delta_name",
           "ACT_DERIVATIVE"]

#: How each activation's derivative is written in terms of its output a or input z.
ACT_DERIVATIVE = {**{name: op.layer.derivative for name, op in OPS.items() if op.layer is not None},
                  "softmax": "∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ − aⱼ)"}


def delta_name(z: str) -> str:
    """The δ label of a pre-activation: ``z2_0 -> δ2_0``.

    Examples
    --------
    >>> delta_name("z1_1_s3"), delta_name("net_o1")
    ('δ1_1_s3', 'δ_net_o1')
    """
    # A z the spec names (net_o1) keeps its name: δ_net_o1.
    return "δ" + z[1:] if z[:1] == "z" and z[1:2].isdigit() else "δ_" + z


# --- scalar view ------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitDelta:
    """δ of one unit in one sample: ∂J/∂z = ∂J/∂a · ∂a/∂z.

    ``back`` lists, for a hidden unit, the terms ``(δ name, weight name, δ, w)`` of
    ∂J/∂a = Σₖ δₖ wₖⱼ (each δ is the one already computed for the layer above). For
    softmax, ``da_dz`` is None and ``softmax_terms`` holds ``(a name, ∂J/∂a, ∂a/∂z)``.
    ``fused`` is K·n (or n) when the output pair simplifies to δ = (ŷ − y)/fused, else 0.
    """

    layer: int
    unit: int
    sample: int | None
    z: str
    a: str
    activation: str
    z_value: sp.Expr
    a_value: sp.Expr
    dJ_da: sp.Expr
    da_dz: sp.Expr | None
    delta: sp.Expr
    dJ_da_symbolic: sp.Expr | None = None
    back: tuple[tuple[str, str, sp.Expr, sp.Expr], ...] = ()
    softmax_terms: tuple[tuple[str, sp.Expr, sp.Expr], ...] = ()
    note: str = ""
    fused: int = 0

    @property
    def name(self) -> str:
        """The δ label, e.g. ``δ2_0``."""
        return delta_name(self.z)


@dataclass(frozen=True)
class ParamGrad:
    """∂J/∂p for one parameter: Σ over samples of δ · a (δ · 1 for a bias).

    ``terms`` holds ``(δ name, a name or None, δ, a)`` per sample.
    """

    name: str
    entry: str
    layer: int
    row: int
    col: int | None
    value: sp.Expr
    gradient: sp.Expr
    terms: tuple[tuple[str, str | None, sp.Expr, sp.Expr], ...]


@dataclass(frozen=True)
class ScalarView:
    """Every δ once (output layer first), then every parameter's gradient (same order)."""

    loss: sp.Expr
    deltas: tuple[UnitDelta, ...]
    params: tuple[ParamGrad, ...]


def scalar_view(net, deriv) -> ScalarView:
    """Arrange a network derivation per scalar: δ per unit, then ∂J/∂w = δ·a per parameter.

    Parameters
    ----------
    net : NetProgram
        The network.
    deriv : Derivation
        ``derive(net.program, at=net.at, ...)``.

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> from backproof.derivation import derive
    >>> net = program_from_spec({"inputs": [1], "targets": [5], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[2]], "bias": 0},
    ...                {"units": 1, "activation": "identity", "weights": [[3]], "bias": 1}]})
    >>> view = scalar_view(net, derive(net.program, at=net.at, expand=False))
    >>> [(d.name, d.delta) for d in view.deltas]
    [('δ2_0', 2), ('δ1_0', 6)]
    >>> [(p.name, p.gradient) for p in view.params]
    [('w2_0_0', 4), ('b2_0', 2), ('w1_0_0', 6), ('b1_0', 6)]
    """
    spec = net.spec
    V, G = deriv.values, deriv.gradients
    deltas: list[UnitDelta] = []
    params: list[ParamGrad] = []
    for l in range(len(spec.layers) - 1, -1, -1):
        for s in range(spec.n_samples):
            deltas += [_unit_delta(net, deriv, l, s, i) for i in range(spec.layers[l].units)]
    for l in range(len(spec.layers) - 1, -1, -1):
        params += _param_grads(net, V, G, l)
    return ScalarView(V[net.output], tuple(deltas), tuple(params))


def _local_slope(act: str, lay, V, G, l: int, s: int, i: int):
    """``(∂a/∂z, softmax terms)`` of unit ``i``: softmax has a term per unit instead of a slope."""
    if act == "identity":
        return sp.Integer(1), ()
    if act == "softmax":
        units = range(len(lay.a[l][s]))
        avals = [V[lay.a[l][s][m]] for m in units]
        return None, tuple((lay.a[l][s][m], G[lay.a[l][s][m]],
                            evaluate_number(avals[m] * ((1 if m == i else 0) - avals[i])))
                           for m in units)
    return evaluate_number(OPS[act].partials(V[lay.z[l][s][i]])[0]), ()


def _unit_delta(net, deriv, l: int, s: int, i: int) -> UnitDelta:
    """δ of unit ``i`` of layer ``l + 1`` for sample ``s``, with the terms it is made of."""
    spec, lay = net.spec, net.layout
    V, G = deriv.values, deriv.gradients
    n, last = spec.n_samples, len(spec.layers) - 1
    act = spec.layers[l].activation
    z, a = lay.z[l][s][i], lay.a[l][s][i]
    back: tuple = ()
    if l < last:
        back = tuple((delta_name(lay.z[l + 1][s][k]), lay.W[l + 1][k][i],
                      G[lay.z[l + 1][s][k]], V[lay.W[l + 1][k][i]]) for k in range(spec.layers[l + 1].units))
    da_dz, soft = _local_slope(act, lay, V, G, l, s, i)
    note, fused = "", 0
    if l == last and LOSS_ROWS[spec.loss].requires == act:
        k = spec.layers[l].units if LOSS_ROWS[spec.loss].per_output else 1
        fused = k * n
        scale = "" if k * n == 1 else f"/{k * n}"
        note = f"{act} + {spec.loss}: δ = (ŷ − y){scale} = ({a} − {lay.y[s][i]}){scale}"
    return UnitDelta(
        layer=l + 1, unit=i, sample=s if n > 1 else None, z=z, a=a, activation=act,
        z_value=V[z], a_value=V[a], dJ_da=G[a], da_dz=da_dz, delta=G[z],
        dJ_da_symbolic=_readable(deriv.symbolic.get(a), net) if l == last else None,
        back=back, softmax_terms=soft, note=note, fused=fused)


def _param_grads(net, V, G, l: int) -> list[ParamGrad]:
    """∂J/∂w = Σ δ·a for layer ``l + 1``'s weights (row by row), then its biases."""
    spec, lay = net.spec, net.layout
    n, layer = spec.n_samples, spec.layers[l]
    prev = lay.x if l == 0 else lay.a[l - 1]
    params = []
    for i in range(layer.units):
        for j in range(layer.fan_in):
            name = lay.W[l][i][j]
            terms = tuple((delta_name(lay.z[l][s][i]), prev[s][j], G[lay.z[l][s][i]], V[prev[s][j]])
                          for s in range(n))
            params.append(ParamGrad(name, f"W{l + 1}[{i}][{j}]", l + 1, i, j, V[name], G[name], terms))
    if layer.shared_bias:
        # One bias in every unit's sum: its gradient adds up every unit's δ (a fork).
        name = lay.b[l][0]
        terms = tuple((delta_name(lay.z[l][s][i]), None, G[lay.z[l][s][i]], sp.Integer(1))
                      for i in range(layer.units) for s in range(n))
        params.append(ParamGrad(name, f"b{l + 1}", l + 1, 0, None, V[name], G[name], terms))
        return params
    for i in range(layer.units):
        name = lay.b[l][i]
        terms = tuple((delta_name(lay.z[l][s][i]), None, G[lay.z[l][s][i]], sp.Integer(1))
                      for s in range(n))
        params.append(ParamGrad(name, f"b{l + 1}[{i}]", l + 1, i, None, V[name], G[name], terms))
    return params


def _readable(expr, net):
    """A node-name form with σ(z) written as its activation name a."""
    if expr is None:
        return None
    lay = net.layout
    rep = {}
    for l, layer in enumerate(net.spec.layers):
        if layer.activation != "identity" and layer.activation in OPS:
            for zs, as_ in zip(lay.z[l], lay.a[l]):
                for z, a in zip(zs, as_):
                    rep[OPS[layer.activation].forward(sp.Symbol(z, real=True))] = sp.Symbol(a, real=True)
    return expr.xreplace(rep) if rep else expr


# --- matrix view ------------------------------------------------------------------------

@dataclass(frozen=True)
class MatrixLayer:
    """One layer of the matrix view; columns are samples (shape ``units × n``).

    ``grad_a`` is ∇ₐJ (for a hidden layer: ``back`` = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾), ``act_deriv`` is
    σ′(Z) (None for softmax), ``delta`` is δ, ``dW = δ A_prevᵀ`` and ``db = δ·1``.
    ``simplified`` is (ŷ − y)/(K·n) or (ŷ − y)/n for the fused output pairs.
    """

    layer: int
    activation: str
    W: sp.Matrix
    b: sp.Matrix
    A_prev: sp.Matrix
    Z: sp.Matrix
    A: sp.Matrix
    grad_a: sp.Matrix
    act_deriv: sp.Matrix | None
    delta: sp.Matrix
    dW: sp.Matrix
    db: sp.Matrix
    simplified: sp.Matrix | None = None
    simplified_formula: str = ""

    @property
    def units(self) -> int:
        """Rows of W."""
        return self.W.shape[0]

    @property
    def fan_in(self) -> int:
        """Columns of W."""
        return self.W.shape[1]


@dataclass(frozen=True)
class MatrixView:
    """The matrix recursion for every layer (index 0 is layer 1), the loss and ∇ₐJ's formula."""

    loss_name: str
    n_samples: int
    loss: sp.Expr
    grad_formula: str
    layers: tuple[MatrixLayer, ...]
    Y: sp.Matrix


_GRAD_FORMULA = {name: row.grad_text for name, row in LOSS_ROWS.items()}


def _num(v):
    e = evaluate_number(v)
    return v if e is None else e


def _ev(M: sp.Matrix) -> sp.Matrix:
    return M.applyfunc(_num)


def _act(name: str, Z: sp.Matrix) -> sp.Matrix:
    if name == "identity":
        return Z
    if name != "softmax":
        return _ev(Z.applyfunc(OPS[name].forward))
    E = _ev(Z.applyfunc(sp.exp))
    cols = []
    for c in range(Z.shape[1]):
        total = sum(E[:, c])
        cols.append(_ev(E[:, c] / total))
    return sp.Matrix.hstack(*cols)


def _act_deriv(name: str, Z: sp.Matrix, A: sp.Matrix) -> sp.Matrix | None:
    """σ′(Z) from the activation's values (a second route to the op table's partials)."""
    if name == "softmax":
        return None
    as_layer = OPS[name].layer
    assert as_layer is not None  # an activation's row has its layer facet (spec validation)
    of = as_layer.derivative_of
    return _ev(sp.Matrix(*Z.shape, lambda i, j: of(Z[i, j], A[i, j])))


def _forward(spec):
    A = sp.Matrix(spec.inputs).T
    out = []
    for layer in spec.layers:
        W = sp.Matrix(layer.weights)
        b = sp.Matrix(layer.bias)
        Z = _ev(W * A + b * sp.ones(1, A.shape[1]))
        An = _act(layer.activation, Z)
        out.append((W, b, A, Z, An))
        A = An
    return out


def _output_grad(loss: str, A: sp.Matrix, Y: sp.Matrix) -> sp.Matrix:
    return _ev(LOSS_ROWS[loss].grad_a(A, Y))


def _loss_value(loss: str, A: sp.Matrix, Y: sp.Matrix) -> sp.Expr:
    n = A.shape[1]
    total = sp.Integer(0)
    for c in range(n):
        total += LOSS_ROWS[loss].sample_value(A, Y, c)
    return evaluate_number(total / n)


def _delta(name: str, G: sp.Matrix, D: sp.Matrix | None, A: sp.Matrix) -> sp.Matrix:
    if D is not None:
        return _ev(G.multiply_elementwise(D))
    cols = []
    for c in range(A.shape[1]):
        a = A[:, c]
        J = sp.diag(*a) - a * a.T  # symmetric, so Jᵀ = J
        cols.append(_ev(J * G[:, c]))
    return sp.Matrix.hstack(*cols)


def matrix_gradients(spec, learning_rate=None):
    """``[(dW, db), …]`` in layer order by the matrix recursion.

    With ``learning_rate``, the error reaching layer ``l`` flows through the *updated*
    ``W⁽ˡ⁺¹⁾ − η dW⁽ˡ⁺¹⁾`` (the sequential update order; frozen weights stay); the forward
    values are unchanged. ``db`` is per unit (a shared bias's gradient is their sum).

    Examples
    --------
    >>> from backproof.nn.spec import validate_spec
    >>> spec = validate_spec({"inputs": [1], "targets": [0], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[1]], "bias": 0},
    ...                {"units": 1, "activation": "identity", "weights": [[2]], "bias": 0}]})
    >>> [dW[0, 0] for dW, _ in matrix_gradients(spec)], [dW[0, 0] for dW, _ in matrix_gradients(spec, 0.1)]
    ([4, 2], [18/5, 2])
    """
    if isinstance(learning_rate, float):
        learning_rate = sp.Rational(repr(learning_rate))  # 0.1 means 1/10, as in a spec
    return [(m.dW, m.db) for m in _backward(spec, _forward(spec), learning_rate)]


def _backward(spec, fwd, eta=None) -> list[MatrixLayer]:
    L = len(spec.layers)
    Y = sp.Matrix(spec.targets).T
    out: list[MatrixLayer] = []  # output layer first, reversed at the end
    G = _output_grad(spec.loss, fwd[-1][4], Y)
    frozen = frozen_masks(spec) if eta is not None else None
    W_up: sp.Matrix = sp.zeros(0, 0)  # the layer above's (updated) weights and δ
    delta_up: sp.Matrix = sp.zeros(0, 0)
    for l in range(L - 1, -1, -1):
        W, b, A_prev, Z, A = fwd[l]
        act = spec.layers[l].activation
        if l < L - 1:
            G = _ev(W_up.T * delta_up)
        D = _act_deriv(act, Z, A)
        delta = _delta(act, G, D, A)
        simplified, formula = None, ""
        if l == L - 1 and LOSS_ROWS[spec.loss].requires == act:
            units, n = A.shape
            k = units if LOSS_ROWS[spec.loss].per_output else 1
            # ce: softmax(z)·Σy − y, and Σy = 1 is checked in the spec.
            simplified = _ev((A - Y) / (k * n))
            formula = LOSS_ROWS[spec.loss].fused_text
        dW = _ev(delta * A_prev.T)
        db = _ev(delta * sp.ones(delta.shape[1], 1))
        out.append(MatrixLayer(l + 1, act, W, b, A_prev, Z, A, G, D, delta, dW, db, simplified, formula))
        if frozen is None:
            W_up = W
        else:
            keep = frozen[l][0]  # frozen weights stay as they are
            W_up = _ev(sp.Matrix([[W[i, j] if keep[i][j] else W[i, j] - eta * dW[i, j] for j in range(W.shape[1])]
                                  for i in range(W.shape[0])]))
        delta_up = delta
    return out[::-1]


def matrix_view(net) -> MatrixView:
    """The matrix recursion of ``net``, computed independently of the derivation.

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> net = program_from_spec({"inputs": [1], "targets": [5], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[2]], "bias": 0},
    ...                {"units": 1, "activation": "identity", "weights": [[3]], "bias": 1}]})
    >>> mv = matrix_view(net)
    >>> mv.loss, [m.dW.tolist() for m in mv.layers]
    (2, [[[6]], [[4]]])
    """
    spec = net.spec
    fwd = _forward(spec)
    Y = sp.Matrix(spec.targets).T
    layers = _backward(spec, fwd)
    return MatrixView(spec.loss, spec.n_samples, _loss_value(spec.loss, fwd[-1][4], Y),
                      _GRAD_FORMULA[spec.loss], tuple(layers), Y)


def compare_views(net, scalar: ScalarView, matrix: MatrixView) -> float:
    """Largest relative difference between the two views over every δ and gradient.

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> from backproof.derivation import derive
    >>> net = program_from_spec({"inputs": [[1, 2], [0, -1]], "targets": [[1], [0]], "loss": "bce",
    ...     "layers": [{"units": 2, "activation": "tanh", "weights": [[0.1, 0.2], [0.3, -0.4]]},
    ...                {"units": 1, "activation": "sigmoid", "weights": [[0.5, -0.6]]}]})
    >>> d = derive(net.program, at=net.at, expand=False)
    >>> compare_views(net, scalar_view(net, d), matrix_view(net)) < 1e-25
    True
    """
    lay = net.layout
    worst = 0.0

    def rel(a, b):
        a, b = sp.Float(a, 30), sp.Float(b, 30)
        den = max(abs(a), abs(b), sp.Float("1e-30", 30))
        return float(abs(a - b) / den)

    by_z = {d.z: d.delta for d in scalar.deltas}
    by_p = {p.name: p.gradient for p in scalar.params}
    for l, m in enumerate(matrix.layers):
        for s in range(net.spec.n_samples):
            for i in range(m.units):
                worst = max(worst, rel(by_z[lay.z[l][s][i]], m.delta[i, s]))
        for i in range(m.units):
            for j in range(m.fan_in):
                worst = max(worst, rel(by_p[lay.W[l][i][j]], m.dW[i, j]))
            if not net.spec.layers[l].shared_bias:
                worst = max(worst, rel(by_p[lay.b[l][i]], m.db[i, 0]))
        if net.spec.layers[l].shared_bias:  # one bias: the sum of the units' δ
            worst = max(worst, rel(by_p[lay.b[l][0]], sum(m.db[i, 0] for i in range(m.units))))
    return worst

"""Network spec -> Program of named scalars (z = Σ w·a + b, a = σ(z), the loss J).

The network becomes ordinary statements of the expression language, so the graph,
the derivation, the diagrams and the checker treat it exactly like a program given to
``explain``. Names (all identifiers, indices from 0, layers from 1):

=====================  ==============================================================
``x_j``                input feature ``j``
``y_k``                target of output unit ``k``
``w{l}_{i}_{j}``       weight ``W{l}[i][j]`` (into unit ``i`` of layer ``l`` from unit ``j``)
``b{l}_{i}``           bias ``b{l}[i]``
``z{l}_{i}``           pre-activation of unit ``i`` of layer ``l``
``a{l}_{i}``           its activation (an identity layer's activation is ``z{l}_{i}`` itself)
``e{l}_{i}``, ``S{l}``  softmax: ``e = exp(z)`` and ``S = Σ e``, so ``a = e / S``
``J``                  the loss (batch mean of the per-sample losses ``J_s{s}``)
=====================  ==============================================================

With several samples every per-sample name ends in ``_s{s}`` (``z1_0_s2``). The
spec's ``names`` replace parameter names (Mazur's ``w1`` … ``w8``) and, for one sample,
node names (``net_h1: z1[0]``, ``out_o1: a2[0]``, ``E_total: J``). Naming a per-output
error (``E_o1: E[0]``) writes the loss as one statement per output, ``E_o1 = ½(out_o1 − y_0)²``,
and their sum. A shared bias (``bias: {value: 0.35, shared: true}``) is one scalar ``b{l}``
in every unit's sum, so the derivation adds up its uses' gradients at the fork. The loss is written
as a teacher writes it (``−(y log a + (1 − y) log(1 − a))`` for bce, ``−Σ y log a`` for
ce): its values equal the NumPy engine's logit forms, and its derivative shows the
ŷ − y simplification.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from ..errors import SpecError
from ..graph import build_graph
from ..losses import LOSS_ROWS
from ..ops import OPS
from ..program import Program, Statement
from .model import Layout, NetSpec, entry_scalar, estimate_nodes, generated_names, layout_of
from .spec import load_spec_file, validate_spec

# Layout and generated_names live in .model; they stay importable from here.
__all__ = ["NetProgram", "Layout", "build_program", "program_from_spec", "program_from_spec_file",
           "as_netprogram", "generated_names", "CLUSTER_OPS_NODES"]

#: Up to this many (estimated) graph nodes, ``clusters`` also lists every operation node.
CLUSTER_OPS_NODES = 2000


@dataclass(frozen=True, repr=False)
class NetProgram:
    """A network spec built as a Program, with everything needed to evaluate it.

    Attributes
    ----------
    program : Program
        Statements of named scalars; the output is the loss ``J``.
    at : dict
        Name -> exact SymPy number for every input, target and parameter.
    params : tuple of str
        Scalar parameter names in layer order (weights row by row, then biases).
    learning_rate : sympy.Rational or None
        The spec's η.
    matrix_names : dict
        Entry -> scalar name: ``W1[0][1] -> w1_0_1`` (or the alias), ``b2[0] -> b2_0``,
        ``x[0]``, ``y[0]``, ``z1[0]``, ``a1[0]`` (``z1[s][i]`` with several samples), and
        each alias -> itself.
    clusters : dict
        Node id -> layer label (``"input"``, ``"layer 1 (sigmoid)"``, ``"loss (half_sse)"``),
        for diagrams with one cluster per layer: every input and assigned name and, for
        graphs up to :data:`CLUSTER_OPS_NODES` nodes, every operation node (the cluster of
        its ``statement``).
    spec : NetSpec
        The validated spec.
    layout : Layout
        The names arranged like the matrices.
    """

    program: Program
    at: Mapping[str, sp.Expr]
    params: tuple[str, ...]
    learning_rate: sp.Expr | None
    matrix_names: Mapping[str, str]
    clusters: Mapping[str, str]
    spec: NetSpec
    layout: Layout

    @property
    def output(self) -> str:
        """The loss name, ``J`` (or the spec's name for it, such as ``E_total``)."""
        return self.program.output

    @property
    def frozen(self) -> tuple[str, ...]:
        """Parameters no update changes (the spec's ``trainable: false`` and ``frozen``)."""
        return self.spec.frozen

    @property
    def trainable(self) -> tuple[str, ...]:
        """Parameters the updates change, in layer order."""
        frozen = set(self.spec.frozen)
        return tuple(p for p in self.params if p not in frozen)

    @property
    def shared(self) -> dict[str, int]:
        """Shared bias -> the number of units that use it (``{"b1": 2}`` for Mazur)."""
        return {self.layout.b[l][0]: layer.units for l, layer in enumerate(self.spec.layers)
                if layer.shared_bias}

    def __repr__(self) -> str:
        # One line: the fields (every statement, value and name) are kilobytes.
        return f"<NetProgram {self.spec.brief}; {len(self.program.statements)} statements>"


def _S(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _sum(terms):
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _scaled(k: int, expr):
    """``expr / k`` kept as written (a ÷ gate), or ``expr`` when k = 1."""
    return expr if k == 1 else sp.Mul(sp.Rational(1, k), expr, evaluate=False)


def _sample_loss(loss: str, outs, ts):
    """The per-sample loss of predictions ``outs`` against targets ``ts`` (symbols)."""
    return LOSS_ROWS[loss].written(outs, ts)


def _layer_statements(spec: NetSpec, lay: Layout, l: int, s: int, prev: list[sp.Symbol],
                      label: str) -> tuple[list[Statement], dict[str, str]]:
    """Layer ``l``'s statements for sample ``s`` (``z``, then the activation) and their boxes."""
    layer = spec.layers[l]
    L = l + 1
    suf = lay.z[l][s][0][len(f"z{L}_0"):]
    stmts: list[Statement] = []
    for i in range(layer.units):
        zexpr = sp.Add(*[_S(lay.W[l][i][j]) * prev[j] for j in range(layer.fan_in)], _S(lay.b[l][i]))
        stmts.append(Statement(lay.z[l][s][i], zexpr))
    act = layer.activation
    if act != "identity" and act in OPS:  # an identity layer's a is its z
        for i in range(layer.units):
            stmts.append(Statement(lay.a[l][s][i], OPS[act].forward(_S(lay.z[l][s][i]))))
    elif act == "softmax":
        es = [f"e{L}_{i}{suf}" for i in range(layer.units)]
        total = f"S{L}{suf}"
        for i in range(layer.units):
            stmts.append(Statement(es[i], sp.exp(_S(lay.z[l][s][i]))))
        stmts.append(Statement(total, _sum([_S(e) for e in es])))
        for i in range(layer.units):
            stmts.append(Statement(lay.a[l][s][i], sp.Mul(_S(es[i]), sp.Pow(_S(total), -1), evaluate=False)))
    return stmts, {st.name: label for st in stmts}


def _statements(spec: NetSpec, lay: Layout, labels: list[str],
                loss_label: str) -> tuple[list[Statement], dict[str, str]]:
    """Every statement of the program, sample by sample and layer by layer, then ``J``."""
    stmts: list[Statement] = []
    clusters: dict[str, str] = {}
    for s in range(spec.n_samples):
        prev = [_S(n) for n in lay.x[s]]
        for l in range(len(spec.layers)):
            more, boxes = _layer_statements(spec, lay, l, s, prev, labels[l])
            stmts += more
            clusters.update(boxes)
            prev = [_S(n) for n in lay.a[l][s]]
        if lay.errors:
            more = _error_statements(spec, lay, prev)
            stmts += more
            clusters.update({st.name: loss_label for st in more})
            continue
        expr = _sample_loss(spec.loss, prev, [_S(n) for n in lay.y[s]])
        stmts.append(Statement(lay.loss[s], expr))
        clusters[lay.loss[s]] = loss_label
    if spec.n_samples > 1:
        stmts.append(Statement("J", _scaled(spec.n_samples, _sum([_S(n) for n in lay.loss]))))
        clusters["J"] = loss_label
    return stmts, clusters


def _error_statements(spec: NetSpec, lay: Layout, outs: list[sp.Symbol]) -> list[Statement]:
    """The loss as one term per output (``E_o1 = ½(out_o1 − y_0)²``), then their sum (one sample).

    Each term is the loss row's written form for that output alone; a loss that averages
    over the outputs (mse, bce) divides the sum by K.
    """
    row = LOSS_ROWS[spec.loss]
    ys = [_S(n) for n in lay.y[0]]
    stmts = [Statement(e, row.written([o], [t])) for e, o, t in zip(lay.errors, outs, ys)]
    total = _sum([_S(e) for e in lay.errors])
    scaled = _scaled(len(lay.errors), total) if row.per_output else total
    return [*stmts, Statement(lay.loss[0], scaled)]


def _values(spec: NetSpec, lay: Layout, labels: list[str], loss_label: str,
            clusters: dict[str, str]) -> tuple[dict[str, sp.Expr], list[str]]:
    """The point (inputs, targets, parameters) and the parameters in layer order; adds the
    inputs', targets' and parameters' boxes to ``clusters``."""
    at: dict[str, sp.Expr] = {}
    for s in range(spec.n_samples):
        for j, name in enumerate(lay.x[s]):
            at[name] = spec.inputs[s][j]
            clusters[name] = "input"
        for k, name in enumerate(lay.y[s]):
            at[name] = spec.targets[s][k]
            clusters[name] = loss_label
    params: list[str] = []
    for l, layer in enumerate(spec.layers):
        for i in range(layer.units):
            for j in range(layer.fan_in):
                at[lay.W[l][i][j]] = layer.weights[i][j]
                params.append(lay.W[l][i][j])
        for i in range(layer.units):
            at[lay.b[l][i]] = layer.bias[i]
            if lay.b[l][i] not in params:  # a shared bias is one parameter
                params.append(lay.b[l][i])
        for name in [n for row in lay.W[l] for n in row] + list(lay.b[l]):
            clusters[name] = labels[l]
    return at, params


def _operation_boxes(program: Program, clusters: Mapping[str, str]) -> dict[str, str]:
    """Operation nodes (``z1_0:mul1``) join the box of the statement they belong to."""
    g = build_graph(program)
    return {nid: clusters[data["statement"]] for nid, data in g.nodes(data=True)
            if nid not in clusters and data.get("statement") in clusters}


def _matrix_names(spec: NetSpec, lay: Layout) -> dict[str, str]:
    """Matrix entries (``W2[0][1]``, ``x[0]``, ``z1[1][0]``) and aliases -> scalar names."""
    matrix_names = dict(entry_scalar(spec))
    for alias, _ in spec.names:
        matrix_names[alias] = alias
    for s in range(spec.n_samples):
        pre = "" if spec.n_samples == 1 else f"[{s}]"

        def idx(i: int, pre: str = pre) -> str:
            return f"{pre}[{i}]"

        for j, name in enumerate(lay.x[s]):
            matrix_names[f"x{idx(j)}"] = name
        for k, name in enumerate(lay.y[s]):
            matrix_names[f"y{idx(k)}"] = name
        if spec.n_samples == 1:
            matrix_names.update({f"E[{k}]": e for k, e in enumerate(lay.errors)})
            if lay.output != "J":
                matrix_names["J"] = lay.output
        for l in range(len(spec.layers)):
            for i, name in enumerate(lay.z[l][s]):
                matrix_names[f"z{l + 1}{idx(i)}"] = name
            for i, name in enumerate(lay.a[l][s]):
                matrix_names[f"a{l + 1}{idx(i)}"] = name
    return matrix_names


def build_program(spec: NetSpec) -> NetProgram:
    """Build the Program of named scalars for a validated spec.

    Examples
    --------
    >>> spec = validate_spec({"inputs": [1], "targets": [2], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": [0]}],
    ...     "names": {"w": "W1[0][0]", "b": "b1[0]"}})
    >>> print(build_program(spec).program)
    z1_0 = b + w*x_0
    J = (z1_0 - y_0)**2/2
    """
    lay = layout_of(spec)
    labels = [f"layer {l} ({L.activation})" for l, L in enumerate(spec.layers, start=1)]
    loss_label = f"loss ({spec.loss})"
    stmts, clusters = _statements(spec, lay, labels, loss_label)
    program = Program(tuple(stmts), lay.output)
    at, params = _values(spec, lay, labels, loss_label, clusters)
    if estimate_nodes(spec) <= CLUSTER_OPS_NODES:
        clusters.update(_operation_boxes(program, clusters))
    return NetProgram(program=program, at=at, params=tuple(params),
                      learning_rate=spec.learning_rate, matrix_names=_matrix_names(spec, lay),
                      clusters=clusters, spec=spec, layout=lay)


def program_from_spec(data: Mapping, path: str = "") -> NetProgram:
    """Validate a parsed spec and build its :class:`NetProgram`.

    Examples
    --------
    >>> net = program_from_spec({"inputs": [1], "targets": [5], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[2]], "bias": 0},
    ...                {"units": 1, "activation": "identity", "weights": [[3]], "bias": 1}]})
    >>> net.params, net.matrix_names["W2[0][0]"]
    (('w1_0_0', 'b1_0', 'w2_0_0', 'b2_0'), 'w2_0_0')
    """
    return build_program(validate_spec(data, path))


def program_from_spec_file(path) -> NetProgram:
    """Read, validate and build a spec file (``.yaml``, ``.yml``, ``.json`` or ``.toml``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp(), "n.json")
    >>> _ = p.write_text('{"inputs": [1], "targets": [2], "loss": "sse",'
    ...                  ' "layers": [{"units": 1, "activation": "relu"}]}')
    >>> program_from_spec_file(p).program.output
    'J'
    """
    return program_from_spec(load_spec_file(path), str(path))


def as_netprogram(obj) -> NetProgram:
    """A NetProgram from a NetProgram, a NetSpec, a spec mapping or a spec file path."""
    if isinstance(obj, NetProgram):
        return obj
    if isinstance(obj, NetSpec):
        return build_program(obj)
    if isinstance(obj, Mapping):
        return program_from_spec(obj)
    if isinstance(obj, (str, bytes)) or hasattr(obj, "__fspath__"):
        return program_from_spec_file(obj)
    raise SpecError(f"expected a spec (mapping, file path, NetSpec or NetProgram), got {type(obj).__name__}")

"""The records of a network: a validated spec and the scalar names built from it.

This module sits below the reading (:mod:`backproof.nn.spec`), the building
(:mod:`backproof.nn.build`) and the explaining (:mod:`backproof.nn.explain`) of a
network, so each of them can use the names without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp

__all__ = ["LayerSpec", "DataSpec", "TrainingSpec", "PlotSpec", "NetSpec", "Layout", "param_entries",
           "entry_scalar", "layout_of", "generated_names", "estimate_nodes", "node_entries", "frozen_masks",
           "NODE_ENTRY"]


@dataclass(frozen=True)
class LayerSpec:
    """One dense layer: ``weights`` is ``units × fan_in``, ``bias`` has ``units`` entries.

    ``initialized`` says the weights came from ``initializer`` rather than the spec.
    """

    units: int
    activation: str
    weights: tuple[tuple[sp.Rational, ...], ...]
    bias: tuple[sp.Rational, ...]
    initialized: bool = False
    initializer: str | None = None
    # Parameters the way tutorials use them (issue 14): a layer's weights or bias can be
    # frozen (kept at their values by every update), and its bias shared by all its units
    # (one scalar ``b{l}``, Mazur's b1 and b2).
    trainable_weights: bool = True
    trainable_bias: bool = True
    shared_bias: bool = False

    @property
    def fan_in(self) -> int:
        """Number of inputs of the layer."""
        return len(self.weights[0])


@dataclass(frozen=True)
class DataSpec:
    """A dataset generated in code: ``generator`` with its size and ``seed``."""

    generator: str
    samples: int
    classes: int
    features: int
    seed: int
    spread: float
    noise: float = 0.1
    #: ``legacy``: draw from ``numpy.random.RandomState(seed)`` in scikit-learn's / CS231n's call
    #: order (what ``np.random.seed(seed)`` before their code gives); else NumPy's default_rng.
    rng: str = "numpy"
    #: Inputs rounded to 4 decimals (False: as drawn, to reproduce a published run exactly).
    rounded: bool = True


@dataclass(frozen=True)
class TrainingSpec:
    """How training runs (issue 14): optimiser, schedule, penalty, batches, shown steps.

    ``optimizer`` is a name of :data:`backproof.engine.optim.OPTIMIZERS` with its
    hyper-parameters; ``schedule`` a kind of :data:`~backproof.engine.optim.SCHEDULES` with
    ``gamma``, ``step_size``, ``final``; ``regularization`` ``None`` or ``(kind, strength,
    half, biases)``; ``batch_size`` ``None`` (full batch) or the samples per update, shuffled
    with ``batch_seed``; ``show_steps`` the updates the update table shows; ``train_inputs``
    and ``train_targets`` the whole data set when the write-up derives only its first
    ``explain_samples`` samples (``None``: training uses the spec's inputs).
    """

    optimizer: str = "sgd"
    hyper: tuple[tuple[str, float], ...] = ()
    schedule: str = "constant"
    schedule_args: tuple[tuple[str, float], ...] = ()
    regularization: tuple[str, float, bool, bool] | None = None
    batch_size: int | None = None
    batch_seed: int = 0
    show_steps: tuple[int, ...] = ()
    explain_samples: int | None = None
    train_inputs: tuple[tuple[float, ...], ...] | None = None
    train_targets: tuple[tuple[float, ...], ...] | None = None
    init_scale: float = 1.0

    @property
    def default(self) -> bool:
        """Plain full-batch gradient descent at a constant rate, no penalty."""
        return (self.optimizer == "sgd" and self.schedule == "constant" and self.regularization is None
                and self.batch_size is None)


@dataclass(frozen=True)
class PlotSpec:
    """Which parameters the plots use (scalar names; None = the default choice)."""

    weight: str | None = None
    surface: tuple[str, str] | None = None


@dataclass(frozen=True, repr=False)
class NetSpec:
    """A validated network spec. Matrices are tuples of exact SymPy numbers.

    Attributes
    ----------
    inputs, targets : tuple of tuple
        Always 2-D: ``(n_samples, fan_in)`` and ``(n_samples, K)``.
    single : bool
        The spec gave one sample as a flat list: names carry no sample suffix and
        JSON values are flat lists.
    names : tuple of (alias, entry)
        The spec's ``names``, e.g. ``("w5", "W2[0][0]")``, ``("out_o1", "a2[0]")``,
        ``("E_total", "J")``.
    frozen : tuple of str
        Scalar parameter names that no update changes (a layer's ``trainable`` and the
        top-level ``frozen`` list), in layer order.
    """

    name: str
    inputs: tuple[tuple[sp.Rational, ...], ...]
    targets: tuple[tuple[sp.Rational, ...], ...]
    single: bool
    layers: tuple[LayerSpec, ...]
    loss: str
    learning_rate: sp.Rational | None = None
    steps: int | None = None
    tolerance: sp.Rational = sp.Integer(0)  # noqa: RUF009 - a SymPy Integer is immutable
    mode: str = "simultaneous"
    names: tuple[tuple[str, str], ...] = ()
    initializer: str = "xavier"
    seed: int = 0
    data: DataSpec | None = None
    plot: PlotSpec = field(default_factory=PlotSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    description: str = ""
    source: str = ""
    frozen: tuple[str, ...] = ()

    @property
    def n_samples(self) -> int:
        """Number of samples in the batch."""
        return len(self.inputs)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths from the input: ``(2, 2, 2)`` for Mazur's network."""
        return (len(self.inputs[0]),) + tuple(layer.units for layer in self.layers)

    @property
    def n_params(self) -> int:
        """Number of scalar parameters (weights and biases; a shared bias counts once)."""
        return sum(layer.units * layer.fan_in + (1 if layer.shared_bias else layer.units)
                   for layer in self.layers)

    def alias_of(self) -> dict[str, str]:
        """Entry (``W2[0][0]``) -> alias (``w5``) for the spec's ``names``."""
        return {entry: alias for alias, entry in self.names}

    @property
    def brief(self) -> str:
        """One line: name, sizes, activations, loss and batch (the records' ``repr`` use it)."""
        name = self.name if len(self.name) <= 40 else self.name[:39] + "…"
        acts = "/".join(layer.activation for layer in self.layers)
        n = self.n_samples
        return (f"{name}: {'-'.join(map(str, self.sizes))} {acts}, loss {self.loss}, "
                f"{n} sample{'s' * (n != 1)}, {self.n_params} parameters")

    def __repr__(self) -> str:
        # One line: the matrices (and a generated data set) would fill a notebook's screen.
        return f"<NetSpec {self.brief}>"


@dataclass(frozen=True)
class Layout:
    """Scalar names arranged like the matrices, for views, JSON and the engine.

    ``x[s][j]``, ``y[s][k]``; ``W[l][i][j]``, ``b[l][i]`` for layer ``l + 1``;
    ``z[l][s][i]``, ``a[l][s][i]`` (``a`` is ``z`` for an identity layer); ``loss[s]``
    the per-sample loss name (``J`` itself for one sample).
    """

    x: tuple[tuple[str, ...], ...]
    y: tuple[tuple[str, ...], ...]
    W: tuple[tuple[tuple[str, ...], ...], ...]
    b: tuple[tuple[str, ...], ...]
    z: tuple[tuple[tuple[str, ...], ...], ...]
    a: tuple[tuple[tuple[str, ...], ...], ...]
    loss: tuple[str, ...]
    output: str = "J"
    #: Per-output error names ``E[k]`` (one sample only), or () when the spec names none:
    #: then the loss is one statement.
    errors: tuple[str, ...] = ()


def param_entries(spec: NetSpec) -> list[tuple[str, str]]:
    """``(entry, default scalar name)`` for every parameter, in layer order.

    Layer ``l`` (1-based) lists its weights row by row, then its biases:
    ``W1[0][0] -> w1_0_0``, …, ``b1[0] -> b1_0``.

    Examples
    --------
    >>> from backproof.nn.spec import validate_spec
    >>> spec = validate_spec({"inputs": [1, 2], "targets": [0], "loss": "mse",
    ...     "layers": [{"units": 1, "activation": "relu"}]})
    >>> param_entries(spec)
    [('W1[0][0]', 'w1_0_0'), ('W1[0][1]', 'w1_0_1'), ('b1[0]', 'b1_0')]
    """
    out = []
    for l, layer in enumerate(spec.layers, start=1):
        for i in range(layer.units):
            for j in range(layer.fan_in):
                out.append((f"W{l}[{i}][{j}]", f"w{l}_{i}_{j}"))
        if layer.shared_bias:
            out.append((f"b{l}", f"b{l}"))  # one bias for every unit of the layer
            continue
        for i in range(layer.units):
            out.append((f"b{l}[{i}]", f"b{l}_{i}"))
    return out


def entry_scalar(spec: NetSpec) -> dict[str, str]:
    """Entry -> the scalar name used in the program (the alias when ``names`` gives one).

    A shared bias ``b{l}`` is also reached from each unit's entry ``b{l}[i]``.
    """
    alias = spec.alias_of()
    out = {e: alias.get(e, s) for e, s in param_entries(spec)}
    for l, layer in enumerate(spec.layers, start=1):
        if layer.shared_bias:
            for i in range(layer.units):
                out[f"b{l}[{i}]"] = out[f"b{l}"]
    return out


#: The nodes ``names`` may rename besides parameters: inputs ``x[j]``, targets ``y[k]``,
#: pre-activations ``z{l}[i]``, activations ``a{l}[i]``, per-output errors ``E[k]`` and
#: the loss ``J`` (one sample only).
NODE_ENTRY = r"(?:x\[(\d+)\]|y\[(\d+)\]|z(\d+)\[(\d+)\]|a(\d+)\[(\d+)\]|E\[(\d+)\]|J)"


def node_entries(spec: NetSpec) -> list[str]:
    """Every node entry ``names`` may rename (see :data:`NODE_ENTRY`), for one sample.

    Examples
    --------
    >>> from backproof.nn.spec import validate_spec
    >>> node_entries(validate_spec({"inputs": [1], "targets": [0], "loss": "mse",
    ...     "layers": [{"units": 1, "activation": "relu"}]}))
    ['x[0]', 'y[0]', 'z1[0]', 'a1[0]', 'E[0]', 'J']
    """
    out = [f"x[{j}]" for j in range(len(spec.inputs[0]))]
    out += [f"y[{k}]" for k in range(len(spec.targets[0]))]
    for l, layer in enumerate(spec.layers, start=1):
        out += [f"z{l}[{i}]" for i in range(layer.units)]
        if layer.activation != "identity":
            out += [f"a{l}[{i}]" for i in range(layer.units)]
    return out + [f"E[{k}]" for k in range(spec.layers[-1].units)] + ["J"]


def frozen_masks(spec: NetSpec) -> list[tuple[tuple[tuple[bool, ...], ...], tuple[bool, ...]]]:
    """Per layer, which entries of ``W`` and ``b`` are frozen (True = kept by every update).

    Examples
    --------
    >>> from backproof.nn.spec import validate_spec
    >>> frozen_masks(validate_spec({"inputs": [1], "targets": [0], "loss": "mse", "layers": [
    ...     {"units": 1, "activation": "relu", "weights": [[1]], "trainable": {"bias": False}}]}))
    [(((False,),), (True,))]
    """
    frozen = set(spec.frozen)
    lay = layout_of(spec)
    return [(tuple(tuple(w in frozen for w in row) for row in lay.W[l]), tuple(b in frozen for b in lay.b[l]))
            for l in range(len(spec.layers))]


def _layer_names(spec: NetSpec, l: int, layer: LayerSpec, scal, node, suf):
    """Layer ``l``'s (1-based) names: ``W`` and ``b`` (one per unit, a shared bias repeated),
    then ``z`` and ``a`` per sample (``a`` is ``z`` for an identity layer)."""
    n = spec.n_samples
    W = tuple(tuple(scal[f"W{l}[{i}][{j}]"] for j in range(layer.fan_in)) for i in range(layer.units))
    b = tuple(scal[f"b{l}[{i}]"] for i in range(layer.units))
    z = tuple(tuple(node(f"z{l}[{i}]", f"z{l}_{i}{suf(s)}") for i in range(layer.units)) for s in range(n))
    if layer.activation == "identity":
        return W, b, z, z
    a = tuple(tuple(node(f"a{l}[{i}]", f"a{l}_{i}{suf(s)}") for i in range(layer.units)) for s in range(n))
    return W, b, z, a


def layout_of(spec: NetSpec) -> Layout:
    """The scalar names of ``spec`` arranged like its matrices (see :class:`Layout`).

    ``names`` renames parameters and, for one sample, nodes (``net_h1: z1[0]``,
    ``E_total: J``); a shared bias is one name in every unit's place.
    """
    n = spec.n_samples
    suf = (lambda s: f"_s{s}") if n > 1 else (lambda s: "")
    scal = entry_scalar(spec)
    alias = spec.alias_of() if n == 1 else {}

    def node(entry: str, default: str) -> str:
        return alias.get(entry, default)

    x = tuple(tuple(node(f"x[{j}]", f"x_{j}{suf(s)}") for j in range(len(spec.inputs[0]))) for s in range(n))
    y = tuple(tuple(node(f"y[{k}]", f"y_{k}{suf(s)}") for k in range(len(spec.targets[0]))) for s in range(n))
    W, b, z, a = [], [], [], []
    for l, layer in enumerate(spec.layers, start=1):
        Wl, bl, zl, al = _layer_names(spec, l, layer, scal, node, suf)
        W.append(Wl)
        b.append(bl)
        z.append(zl)
        a.append(al)
    output = node("J", "J")
    loss = (output,) if n == 1 else tuple(f"J_s{s}" for s in range(n))
    K = spec.layers[-1].units
    named_errors = any(f"E[{k}]" in alias for k in range(K))
    errors = tuple(node(f"E[{k}]", f"E_{k}") for k in range(K)) if named_errors else ()
    return Layout(x, y, tuple(W), tuple(b), tuple(z), tuple(a), loss, output, errors)


def generated_names(spec: NetSpec) -> set[str]:
    """Every scalar name the builder would generate for ``spec`` (without aliases)."""
    bare = replace(spec, names=())
    lay = layout_of(bare)
    out = {n for _, n in param_entries(bare)} | {"J"} | set(lay.loss)
    out |= {f"E_{k}" for k in range(spec.layers[-1].units)}  # per-output errors, when named
    for rows in (lay.x, lay.y):
        out |= {n for row in rows for n in row}
    for group in (lay.z, lay.a):
        out |= {n for layer in group for row in layer for n in row}
    for l, layer in enumerate(spec.layers, start=1):
        if layer.activation == "softmax":
            for s in range(spec.n_samples):
                suf = f"_s{s}" if spec.n_samples > 1 else ""
                out |= {f"e{l}_{i}{suf}" for i in range(layer.units)} | {f"S{l}{suf}"}
    return out


def estimate_nodes(spec: NetSpec) -> int:
    """Graph size of a spec without building it.

    Per sample and unit: one product per weight, the sum, ``z``, the activation and its
    name (softmax: ``exp``, its name and a share of the sum); plus the inputs, the loss
    (about six nodes per output) and the parameters, which every sample shares.

    Examples
    --------
    >>> from backproof.nn.spec import validate_spec
    >>> estimate_nodes(validate_spec({"inputs": [1, 2], "targets": [0], "loss": "mse",
    ...     "layers": [{"units": 1, "activation": "sigmoid"}]}))
    17
    """
    per_sample = len(spec.inputs[0]) + 6 * spec.layers[-1].units
    for layer in spec.layers:
        extra = 6 if layer.activation == "softmax" else 4
        per_sample += layer.units * (layer.fan_in + extra)
    return spec.n_samples * per_sample + spec.n_params



"""Network specs: read YAML/JSON/TOML, check every field's type and shape, return a frozen NetSpec.

Every check runs before any computation. An error is one line naming the field path
(``layers[1].weights[0]``), what is wrong and what is expected, e.g.
``mazur.yaml: layers[1].weights: expected a 2 × 2 matrix (units × fan_in), got a row of 3``.

Numbers are kept exact: an integer stays an integer and a decimal such as ``0.15``
becomes the rational ``3/20`` (through the shortest decimal that round-trips the
float), so the derivation works with the numbers the teacher wrote.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from .. import limits
from ..datafiles import (
    OversizedNumber,
    check_depth,
    check_json_text,
    check_toml_text,
    check_yaml_events,
    int_digits,
    number_hook,
    toml_digits_error,
)
from ..engine.layers import ACTIVATIONS as _ENGINE_ACTIVATIONS
from ..engine.layers import Dense
from ..engine.optim import OPTIMIZER_FIELDS, REGULARIZERS, SCHEDULES
from ..errors import SpecError, quote
from ..io import read_text_file
from ..losses import LOSS_ROWS
from ..program import RESERVED
from .model import (
    NODE_ENTRY,
    DataSpec,
    LayerSpec,
    NetSpec,
    PlotSpec,
    TrainingSpec,
    entry_scalar,
    generated_names,
    node_entries,
    param_entries,
)

__all__ = [
    "ACTIVATIONS", "LOSSES", "MODES", "INITIALIZERS", "GENERATORS", "LOSS_NEEDS",
    "LayerSpec", "DataSpec", "PlotSpec", "NetSpec",
    "load_spec_file", "parse_spec_text", "validate_spec",
    "param_entries", "entry_scalar", "shape_estimates", "check_training",
]

#: Activations a layer may use (the NumPy engine's names: the op-table rows that may be
#: activations, then softmax).
ACTIVATIONS = tuple(_ENGINE_ACTIVATIONS)
#: Losses (the NumPy engine's names and conventions).
LOSSES = tuple(LOSS_ROWS)
#: The output activation each fused loss needs.
LOSS_NEEDS = {name: row.requires for name, row in LOSS_ROWS.items() if row.requires}
#: Update orders (see :mod:`backproof.engine.network`).
MODES = ("simultaneous", "sequential")
#: Named weight initialisers (see :meth:`backproof.engine.Dense.init`).
INITIALIZERS = ("xavier", "he", "zeros", "normal", "uniform", "python_uniform")
#: Dataset generators for ``data:`` (see :func:`generate_data`).
GENERATORS = ("blobs", "xor", "moons", "spiral")

_TOP = ("name", "description", "inputs", "targets", "data", "layers", "loss", "learning_rate",
        "frozen",  # issue 14: parameters no update changes
        "steps", "tolerance", "mode", "names", "initializer", "seed", "plot",
        "optimizer", "schedule", "regularization", "batch", "show_steps", "explain_samples", "init_scale",
        "round_draws")
_LAYER = ("units", "activation", "weights", "bias", "initializer",
          "trainable")  # issue 14: freeze a layer's weights or bias
_DATA = ("generator", "samples", "classes", "features", "seed", "spread", "noise", "rng")
_PLOT = ("weight", "surface")
_ENTRY = re.compile(r"^(?:W(\d+)\[(\d+)\]\[(\d+)\]|b(\d+)\[(\d+)\]|b(\d+))$")
_NODE = re.compile(f"^{NODE_ENTRY}$")
#: Largest dataset a generator makes (the symbolic derivation is per sample).
MAX_SAMPLES = limits.value("net_samples")


# --- reading --------------------------------------------------------------------------

def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that also reads ``1e-3`` as a number (YAML 1.1 wants ``1.0e-3``)."""

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X),
        list("-+0123456789."))

    # Numbers past the digit limit stay unconverted (Python refuses to convert integers
    # past 4,300 digits); the field checks refuse them with their path.
    def guarded(construct):
        def build(loader, node):
            text = loader.construct_scalar(node)
            if len(text) > limits.value("file_number_digits"):
                big = OversizedNumber(text)
                if big.digits > limits.value("file_number_digits"):
                    return big
            return construct(loader, node)
        return build

    Loader.add_constructor("tag:yaml.org,2002:int", guarded(yaml.SafeLoader.construct_yaml_int))
    Loader.add_constructor("tag:yaml.org,2002:float", guarded(yaml.SafeLoader.construct_yaml_float))
    return Loader


def parse_spec_text(text: str, fmt: str, origin: str = "") -> Any:
    """Parse spec text in ``fmt`` (``yaml``, ``json`` or ``toml``) into Python data.

    Examples
    --------
    >>> parse_spec_text("loss: mse\\nlearning_rate: 1e-3", "yaml")
    {'loss': 'mse', 'learning_rate': 0.001}
    """
    where = f"{origin}: " if origin else ""
    if fmt == "yaml":
        import yaml
        loader = _yaml_loader()
        try:
            # Depth and alias expansion are checked on the event stream before anything is built.
            check_yaml_events(text, origin)
            return yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            pos = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecError(f"{where}{pos}not valid YAML ({problem})") from None
    if fmt == "json":
        check_json_text(text, origin)
        try:
            return json.loads(text, parse_int=number_hook(int), parse_float=number_hook(float))
        except json.JSONDecodeError as exc:
            raise SpecError(f"{where}line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    if fmt == "toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            import tomli as tomllib
        check_toml_text(text, origin)
        try:
            data = tomllib.loads(text, parse_float=number_hook(float))
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{where}not valid TOML ({exc})") from None
        except ValueError:  # an integer past Python's 4,300-digit conversion limit
            raise toml_digits_error(text, origin) from None
        check_depth(data, origin)
        return data
    raise SpecError(f"{where}unknown spec format {fmt!r} (must be one of yaml, json, toml)")


_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}


def load_spec_file(path) -> Any:
    """Read and parse a spec file; the format comes from the extension.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp(), "n.json"); _ = p.write_text('{"loss": "sse"}')
    >>> load_spec_file(p)
    {'loss': 'sse'}
    """
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        shown = str(p) if len(str(p)) <= 80 else quote(str(p))  # never echo a long name whole
        raise SpecError(f"{shown}: unknown spec file extension {quote(p.suffix)} "
                        f"(must be one of {', '.join(_FORMATS)})")
    text = read_text_file(p, what="a spec file", error=SpecError)
    return parse_spec_text(text, fmt, str(p))


# --- field checks ---------------------------------------------------------------------

class _Checker:
    """Field checks that raise SpecError with the source and the field path."""

    def __init__(self, source: str):
        self.prefix = f"{source}: " if source else ""

    def fail(self, path: str, message: str):
        raise SpecError(f"{self.prefix}{path}: {message}")

    def limit(self, name: str, actual: int, path: str) -> None:
        """Refuse ``actual`` over limit ``name`` (a LimitError naming the field path)."""
        limits.check(name, actual, f"{self.prefix}{path}")

    @staticmethod
    def describe(v) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return f"{str(v).lower()} (a boolean)"
        if isinstance(v, str):
            return f"the string {quote(v)}"
        if isinstance(v, list):
            return f"a list of {len(v)}"
        if isinstance(v, dict):
            return "a mapping"
        if isinstance(v, OversizedNumber):
            return f"a number of {v.digits} digits"
        if isinstance(v, int):
            return f"a number of {int_digits(v)} digits" if int_digits(v) > 30 else repr(v)
        return quote(repr(v))

    def _digits(self, v, path: str) -> None:
        """Refuse numbers written with more digits than the limit, naming the field path."""
        if isinstance(v, OversizedNumber):
            self.limit("file_number_digits", v.digits, path)
        if isinstance(v, int) and not isinstance(v, bool):
            self.limit("file_number_digits", int_digits(v), path)

    def number(self, v, path: str) -> sp.Rational:
        self._digits(v, path)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            hint = " (write it without quotes)" if isinstance(v, str) and _numeric(v) else ""
            self.fail(path, f"expected a number, got {self.describe(v)}{hint}")
        if isinstance(v, float):
            if not math.isfinite(v):
                self.fail(path, f"expected a finite number, got {v!r}")
            # repr is the shortest decimal that round-trips: 0.15 becomes 3/20 exactly.
            return sp.Rational(repr(v))
        return sp.Integer(v)

    def integer(self, v, path: str, minimum: int) -> int:
        self._digits(v, path)
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
                self._digits(v, path)
            else:
                self.fail(path, f"expected an integer >= {minimum}, got {self.describe(v)}")
        if v < minimum:
            self.fail(path, f"expected an integer >= {minimum}, got {self.describe(v)}")
        return int(v)

    def choice(self, v, path: str, allowed) -> str:
        if not isinstance(v, str) or v not in allowed:
            self.fail(path, f"unknown value {self.describe(v)} (must be one of {', '.join(allowed)})")
        return v

    def mapping(self, v, path: str, allowed, required=()) -> dict:
        if not isinstance(v, dict):
            self.fail(path or "spec", f"expected a mapping of fields, got {self.describe(v)}")
        for k in v:
            if k not in allowed:
                self.fail(_join(path, _key(k)), f"unknown field ({_allowed_fields(k, allowed)})")
        for k in required:
            if k not in v or v[k] is None:
                self.fail(_join(path, k), "missing field (required)")
        return v

    def vector(self, v, path: str, length: int | None, what: str) -> tuple[sp.Rational, ...]:
        if not isinstance(v, list):
            self.fail(path, f"expected {what}, got {self.describe(v)}")
        if length is not None and len(v) != length:
            self.fail(path, f"expected {what}, got a list of {len(v)}")
        if not v:
            self.fail(path, f"expected {what}, got an empty list")
        return tuple(self.number(x, f"{path}[{i}]") for i, x in enumerate(v))

    def matrix(self, v, path: str, rows: int | None, cols: int | None, what: str):
        if not isinstance(v, list) or not v:
            self.fail(path, f"expected {what}, got {self.describe(v)}")
        if not all(isinstance(r, list) for r in v):
            bad = next(i for i, r in enumerate(v) if not isinstance(r, list))
            self.fail(f"{path}[{bad}]", f"expected a row (a list of numbers) of {what}, "
                                         f"got {self.describe(v[bad])}")
        lengths = [len(r) for r in v]
        if len(set(lengths)) > 1:
            self.fail(path, f"ragged matrix: rows have lengths {', '.join(map(str, lengths))} "
                            f"(expected {what})")
        if (rows is not None and len(v) != rows) or (cols is not None and lengths[0] != cols):
            self.fail(path, f"expected {what}, got {len(v)} × {lengths[0]}")
        if lengths[0] == 0:
            self.fail(path, f"expected {what}, got empty rows")
        return tuple(tuple(self.number(x, f"{path}[{i}][{j}]") for j, x in enumerate(r))
                     for i, r in enumerate(v))


def _allowed_fields(key, allowed) -> str:
    """What an unknown field could have been: every field when the list is short, else the
    close matches and where the list is (a spec has 20-odd top-level fields)."""
    listed = ", ".join(allowed)
    if len(listed) <= 160:
        return f"allowed fields: {listed}"
    import difflib
    close = difflib.get_close_matches(str(key)[:100], list(allowed), n=3) if isinstance(key, str) else []
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return f"{hint}one of the {len(allowed)} fields listed in docs/network-spec.md"


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _key(k) -> str:
    """A mapping key for a field path: as written when short and plain, else quoted."""
    text = str(k) if not isinstance(k, OversizedNumber) else k.text
    return text if len(text) <= 40 and text.isprintable() else quote(text)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shape(n: int, m: int) -> str:
    return f"a {n} × {m} matrix"


# --- the spec ---------------------------------------------------------------------------

def validate_spec(data: Mapping, path: str = "") -> NetSpec:
    """Check a parsed spec field by field and return the :class:`NetSpec`.

    Parameters
    ----------
    data : mapping
        The parsed YAML/JSON/TOML document.
    path : str
        Where it came from, for messages (``examples/mazur.yaml``).

    Raises
    ------
    SpecError
        The first bad field, with its path, the problem and what is expected.

    Examples
    --------
    >>> spec = validate_spec({"inputs": [1], "targets": [2], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": [0]}]})
    >>> spec.sizes, spec.n_params
    ((1, 1), 2)
    >>> validate_spec({"inputs": [1], "targets": [2], "loss": "half_sse",
    ...     "layers": [{"units": 1, "activation": "swishy"}]})  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    backproof.errors.SpecError: layers[0].activation: unknown value the string 'swishy'
        (must be one of ..., softmax)
    """
    c = _Checker(path)
    c.mapping(data, "", _TOP, required=("layers", "loss"))
    name, description = _header(c, data, path)
    # Layers first: units and activations decide every other shape.
    heads, loss = _heads(c, data)
    # Every size is checked from the shapes alone, before a number is converted, a weight
    # initialised or a dataset generated.
    shape = _raw_shape(c, data)
    if shape is not None:
        n_samples, features = shape
        derived = _explained(c, data)
        _check_shapes(c, features, min(n_samples, derived or n_samples), heads, data, n_samples)
    initializer = c.choice(data.get("initializer", "xavier"), "initializer", INITIALIZERS)
    seed = c.integer(data.get("seed", 0), "seed", 0)
    rounded = data.get("round_draws", True)
    if not isinstance(rounded, bool):
        c.fail("round_draws", f"expected true or false, got {c.describe(rounded)}")
    dataspec, X, T, single = _batch(c, data, heads[-1][0], loss, rounded)
    _check_targets(c, T, loss)
    training = training_spec(c, data, X, T)
    if training.train_inputs is not None:
        X, T = X[:training.explain_samples], T[:training.explain_samples]
    layers = _layer_specs(c, data["layers"], heads, len(X[0]), initializer, seed, training.init_scale, rounded)
    learning_rate, steps, tolerance, mode = _training_fields(c, data)
    if mode == "sequential" and not training.default:
        c.fail("mode", "sequential works with plain full-batch gradient descent only (no optimizer, "
                       "schedule, regularization or batch)")
    spec = NetSpec(name=name.strip(), inputs=X, targets=T, single=single, layers=layers,
                   loss=loss, learning_rate=learning_rate, steps=steps, tolerance=tolerance,
                   mode=mode, initializer=initializer, seed=seed, data=dataspec, training=training,
                   description=description, source=str(path))
    names = _names(c, data.get("names"), spec)
    spec = replace(spec, names=names)
    spec = replace(spec, frozen=_frozen(c, data.get("frozen"), spec))
    plot = _plot(c, data.get("plot"), spec)
    return replace(spec, plot=plot)


def _header(c: _Checker, data: Mapping, path: str) -> tuple[str, str]:
    """The spec's ``name`` (default: the file's stem) and ``description``."""
    name = data.get("name", Path(path).stem if path else "network")
    if not isinstance(name, str) or not name.strip():
        c.fail("name", f"expected a non-empty string, got {c.describe(name)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        c.fail("description", f"expected a string, got {c.describe(description)}")
    return name, description


def _heads(c: _Checker, data: Mapping) -> tuple[list[tuple[int, str]], str]:
    """``(units, activation)`` of every layer, and the loss (which may need an output activation)."""
    raw_layers = data["layers"]
    if not isinstance(raw_layers, list) or not raw_layers:
        c.fail("layers", f"expected a non-empty list of layers, got {c.describe(raw_layers)}")
    heads = []
    for i, raw in enumerate(raw_layers):
        p = f"layers[{i}]"
        c.mapping(raw, p, _LAYER, required=("units", "activation"))
        units = c.integer(raw["units"], f"{p}.units", 1)
        c.limit("net_units", units, f"{p}.units")
        act = c.choice(raw["activation"], f"{p}.activation", ACTIVATIONS)
        heads.append((units, act))
    loss = c.choice(data["loss"], "loss", LOSSES)
    need = LOSS_NEEDS.get(loss)
    if need and heads[-1][1] != need:
        c.fail(f"layers[{len(heads) - 1}].activation",
               f"loss {loss} needs a {need} output layer, got {heads[-1][1]}")
    return heads, loss


def _batch(c: _Checker, data: Mapping, k_out: int, loss: str, rounded: bool = True):
    """Inputs and targets, or a generated dataset: ``(dataspec, X, T, single)``."""
    if "data" in data:
        for k in ("inputs", "targets"):
            if k in data:
                c.fail(k, "give either inputs and targets or data (a generator), not both")
        dataspec, X, T = _data(c, data["data"], k_out, loss, rounded)
        return dataspec, X, T, False
    for k in ("inputs", "targets"):
        if k not in data or data[k] is None:
            c.fail(k, "missing field (required unless data: names a generator)")
    X, single = _samples(c, data["inputs"], "inputs", None,
                         "one sample (a list of numbers) or several (a list of rows)")
    T = _targets(c, data["targets"], len(X), k_out, single)
    return None, X, T, single


def _layer_specs(c: _Checker, raw_layers: list, heads: list[tuple[int, str]], fan_in: int,
                 initializer: str, seed: int, scale: float = 1.0,
                 rounded: bool = True) -> tuple[LayerSpec, ...]:
    """Weights and biases, checked against the widths; missing ones are initialised."""
    layers = []
    rngs: list = []  # one generator, made when the first layer needs initialising

    def rng():
        if not rngs:
            rngs.append(np.random.default_rng(seed))
        return rngs[0]

    pyrng = random.Random(seed)  # python_uniform: micrograd's random.uniform(-1, 1) after random.seed(seed)

    for i, (units, act) in enumerate(heads):
        p = f"layers[{i}]"
        raw = raw_layers[i]
        init = None
        if "initializer" in raw:
            init = c.choice(raw["initializer"], f"{p}.initializer", INITIALIZERS)
        if raw.get("weights") is not None:
            if init is not None:
                c.fail(f"{p}.initializer", "give either weights or an initializer, not both")
            what = (f"{_shape(units, fan_in)} (units × fan_in: {units} unit{'s' * (units != 1)}, "
                    f"{fan_in} input{'s' * (fan_in != 1)} from "
                    f"{'each input sample' if i == 0 else f'layer {i}'})")
            W = c.matrix(raw["weights"], f"{p}.weights", units, fan_in, what)
            initialized = False
        else:
            init = init or initializer
            if init == "python_uniform":
                W = _python_uniform(units, fan_in, pyrng, scale, rounded)
            else:
                W = _initial_weights(units, fan_in, act, init, rng(), scale, rounded)
            initialized = True
        b, shared = _bias(c, raw.get("bias"), p, units)
        train_w, train_b = _trainable(c, raw.get("trainable"), p)
        layers.append(LayerSpec(units, act, W, b, initialized, init if initialized else None,
                                train_w, train_b, shared))
        fan_in = units
    return tuple(layers)


def _bias(c: _Checker, raw, p: str, units: int) -> tuple[tuple[sp.Rational, ...], bool]:
    """A layer's starting biases and whether the layer shares one bias (``{value, shared}``)."""
    if raw is None:
        return tuple(sp.Integer(0) for _ in range(units)), False
    if isinstance(raw, dict):
        return _bias_mapping(c, raw, p, units)
    if isinstance(raw, list):
        return c.vector(raw, f"{p}.bias", units,
                        f"a list of {units} number{'s' * (units != 1)} (one per unit), one number "
                        f"or a mapping {{value: 0.35, shared: true}}"), False
    # One number is every unit's starting bias (each unit still has its own).
    return (c.number(raw, f"{p}.bias"),) * units, False


# --- frozen and shared parameters, named nodes (issue 14) -------------------------------

_BIAS = ("value", "shared")
_TRAINABLE = ("weights", "bias")


def _bias_mapping(c: _Checker, raw: dict, p: str, units: int) -> tuple[tuple[sp.Rational, ...], bool]:
    """``bias: {value: 0.35, shared: true}``: one bias every unit of the layer uses (Mazur's b1)."""
    c.mapping(raw, f"{p}.bias", _BIAS, required=("value",))
    shared = raw.get("shared", False)
    if not isinstance(shared, bool):
        c.fail(f"{p}.bias.shared", f"expected true or false, got {c.describe(shared)}")
    value = raw["value"]
    if shared:
        if isinstance(value, list):
            c.fail(f"{p}.bias.value", f"a shared bias is one number (every unit uses it), got {c.describe(value)}")
        return (c.number(value, f"{p}.bias.value"),) * units, True
    if isinstance(value, list):
        return c.vector(value, f"{p}.bias.value", units,
                        f"a list of {units} number{'s' * (units != 1)} (one per unit) or one number"), False
    return (c.number(value, f"{p}.bias.value"),) * units, False


def _trainable(c: _Checker, raw, p: str) -> tuple[bool, bool]:
    """``trainable: false`` (the whole layer) or ``{weights: true, bias: false}``."""
    if raw is None:
        return True, True
    if isinstance(raw, bool):
        return raw, raw
    if not isinstance(raw, dict):
        c.fail(f"{p}.trainable", f"expected true, false or a mapping {{weights: true, bias: false}}, "
                                 f"got {c.describe(raw)}")
    c.mapping(raw, f"{p}.trainable", _TRAINABLE)
    out = []
    for k in _TRAINABLE:
        v = raw.get(k, True)
        if not isinstance(v, bool):
            c.fail(f"{p}.trainable.{k}", f"expected true or false, got {c.describe(v)}")
        out.append(v)
    return out[0], out[1]


def _frozen(c: _Checker, raw, spec: NetSpec) -> tuple[str, ...]:
    """Every frozen scalar parameter, in layer order: the layers' ``trainable`` and the
    top-level ``frozen`` list (parameter names such as ``w5`` or ``b1``, or entries such
    as ``W2[0][0]``)."""
    scalars = entry_scalar(spec)
    names = set(scalars.values())
    frozen: set[str] = set()
    for l, layer in enumerate(spec.layers, start=1):
        if not layer.trainable_weights:
            frozen |= {scalars[f"W{l}[{i}][{j}]"] for i in range(layer.units) for j in range(layer.fan_in)}
        if not layer.trainable_bias:
            frozen |= {scalars[f"b{l}[{i}]"] for i in range(layer.units)}
    if raw is not None:
        if not isinstance(raw, list):
            c.fail("frozen", f"expected a list of parameters (like [w5, b1, W2[0][1]]), got {c.describe(raw)}")
        for k, item in enumerate(raw):
            key = item.replace(" ", "") if isinstance(item, str) else None
            if key in scalars:
                frozen.add(scalars[key])
            elif key in names:
                frozen.add(key)
            else:
                example = next(iter(scalars.values()))
                c.fail(f"frozen[{k}]", f"unknown parameter {c.describe(item)} (a parameter name such as "
                                       f"{example} or an entry such as W1[0][0])")
    order = list(dict.fromkeys(scalars[e] for e, _ in param_entries(spec)))
    return tuple(n for n in order if n in frozen)


def _node_entry(c: _Checker, p: str, entry: str, spec: NetSpec) -> None:
    """Check a ``names`` entry that is a node (``z1[0]``, ``a2[1]``, ``E[0]``, ``J``)."""
    if spec.n_samples != 1:
        c.fail(p, f"{entry} names a node of every sample; names of nodes need one sample "
                  f"(the spec has {spec.n_samples})")
    nodes = node_entries(spec)
    if entry not in nodes:
        shown = ", ".join(nodes[:12]) + (f", … ({len(nodes)} in all)" if len(nodes) > 12 else "")
        c.fail(p, f"{entry} does not exist (nodes: {shown})")


def _training_fields(c: _Checker, data: Mapping):
    """``learning_rate`` (None if absent), ``steps`` (None), ``tolerance`` (0) and ``mode``."""
    learning_rate = None
    if data.get("learning_rate") is not None:
        learning_rate = c.number(data["learning_rate"], "learning_rate")
        if learning_rate <= 0:
            c.fail("learning_rate", f"expected a number > 0, got {data['learning_rate']!r}")
    steps = None
    if data.get("steps") is not None:
        steps = c.integer(data["steps"], "steps", 0)
    tolerance = sp.Integer(0)
    if data.get("tolerance") is not None:
        tolerance = c.number(data["tolerance"], "tolerance")
        if tolerance < 0:
            c.fail("tolerance", f"expected a number >= 0, got {data['tolerance']!r}")
    mode = c.choice(data.get("mode", "simultaneous"), "mode", MODES)
    return learning_rate, steps, tolerance, mode


# --- training loops of real courses (issue 14): optimizer, schedule, penalty, batches ------

#: Each optimiser hyper-parameter's allowed range: (low, high, low included).
_HYPER_RANGE = {"momentum": (0.0, 1.0, True), "beta1": (0.0, 1.0, True), "beta2": (0.0, 1.0, True),
                "alpha": (0.0, 1.0, True), "eps": (0.0, math.inf, False)}
#: Schedule fields by kind.
_SCHEDULE_FIELDS = {"constant": (), "step": ("gamma", "step_size"), "linear": ("final",),
                    "exponential": ("gamma",)}
#: Most updates the update table shows.
MAX_SHOWN_STEPS = 10


def _explained(c: _Checker, data: Mapping) -> int | None:
    """``explain_samples`` (None when absent): how many samples the write-up derives."""
    if data.get("explain_samples") is None:
        return None
    return c.integer(data["explain_samples"], "explain_samples", 1)


def _optimizer(c: _Checker, raw) -> tuple[str, tuple[tuple[str, float], ...]]:
    if isinstance(raw, dict):
        c.mapping(raw, "optimizer", ("name", *sorted({k for f in OPTIMIZER_FIELDS.values() for k in f})),
                  required=("name",))
        name = c.choice(raw["name"], "optimizer.name", tuple(OPTIMIZER_FIELDS))
    else:
        name, raw = c.choice(raw, "optimizer", tuple(OPTIMIZER_FIELDS)), {"name": raw}
    hyper = []
    for key, v in raw.items():
        if key == "name":
            continue
        if key not in OPTIMIZER_FIELDS[name]:
            c.fail(f"optimizer.{key}", f"not a hyper-parameter of {name} (allowed: "
                                       f"{', '.join(OPTIMIZER_FIELDS[name]) or 'none'})")
        x = float(c.number(v, f"optimizer.{key}"))
        lo, hi, closed = _HYPER_RANGE[key]
        if not ((lo <= x if closed else lo < x) and x < hi):
            c.fail(f"optimizer.{key}", f"expected a number in {'[' if closed else '('}{lo:g}, {hi:g}), got {v!r}")
        hyper.append((key, x))
    return name, tuple(hyper)


def _schedule(c: _Checker, raw) -> tuple[str, tuple[tuple[str, float], ...]]:
    if not isinstance(raw, dict):
        return c.choice(raw, "schedule", tuple(SCHEDULES)), ()
    c.mapping(raw, "schedule", ("kind", "gamma", "step_size", "final"), required=("kind",))
    kind = c.choice(raw["kind"], "schedule.kind", tuple(SCHEDULES))
    args = []
    for key, v in raw.items():
        if key == "kind":
            continue
        if key not in _SCHEDULE_FIELDS[kind]:
            c.fail(f"schedule.{key}", f"not a field of the {kind} schedule (allowed: "
                                      f"{', '.join(_SCHEDULE_FIELDS[kind]) or 'none'})")
        if key == "step_size":
            args.append((key, float(c.integer(v, "schedule.step_size", 1))))
            continue
        x = float(c.number(v, f"schedule.{key}"))
        if (key == "gamma" and not 0 < x <= 1) or (key == "final" and x < 0):
            c.fail(f"schedule.{key}", f"expected a number {'in (0, 1]' if key == 'gamma' else '>= 0'}, got {v!r}")
        args.append((key, x))
    return kind, tuple(args)


def _regularization(c: _Checker, raw) -> tuple[str, float, bool, bool]:
    c.mapping(raw, "regularization", ("kind", "strength", "half", "biases"), required=("kind", "strength"))
    kind = c.choice(raw["kind"], "regularization.kind", tuple(REGULARIZERS))
    strength = float(c.number(raw["strength"], "regularization.strength"))
    if strength < 0:
        c.fail("regularization.strength", f"expected a number >= 0, got {raw['strength']!r}")
    flags = []
    for key, default in (("half", False), ("biases", True)):
        v = raw.get(key, default)
        if not isinstance(v, bool):
            c.fail(f"regularization.{key}", f"expected true or false, got {c.describe(v)}")
        flags.append(v)
    if flags[0] and kind != "l2":
        c.fail("regularization.half", "half (the ½ of ½·λ·ΣW²) applies to l2 only")
    return kind, strength, flags[0], flags[1]


def _batching(c: _Checker, raw, n: int) -> tuple[int | None, int]:
    if raw == "full":
        return None, 0
    if raw == "online":
        return 1, 0
    if isinstance(raw, dict):
        c.mapping(raw, "batch", ("size", "seed"), required=("size",))
        seed = c.integer(raw.get("seed", 0), "batch.seed", 0)
        raw_size, where = raw["size"], "batch.size"
    else:
        seed, raw_size, where = 0, raw, "batch"
    if isinstance(raw_size, str):
        c.fail(where, f"unknown value {c.describe(raw_size)} (must be full, online, a batch size k >= 1 "
                      f"or a mapping size: k, seed: s)")
    size = c.integer(raw_size, where, 1)
    return (None if size >= n else size), seed


def training_spec(c: _Checker, data: Mapping, X, T) -> TrainingSpec:
    """The training fields (``optimizer``, ``schedule``, ``regularization``, ``batch``,
    ``show_steps``, ``explain_samples``, ``init_scale``), checked, as a :class:`TrainingSpec`."""
    n = len(X)
    opt, hyper = ("sgd", ()) if data.get("optimizer") is None else _optimizer(c, data["optimizer"])
    kind, args = ("constant", ()) if data.get("schedule") is None else _schedule(c, data["schedule"])
    reg = None if data.get("regularization") is None else _regularization(c, data["regularization"])
    size, seed = (None, 0) if data.get("batch") is None else _batching(c, data["batch"], n)
    shown: tuple[int, ...] = ()
    if data.get("show_steps") is not None:
        raw = data["show_steps"]
        if not isinstance(raw, list) or len(raw) > MAX_SHOWN_STEPS:
            c.fail("show_steps", f"expected a list of at most {MAX_SHOWN_STEPS} update numbers (from 1), "
                                 f"got {c.describe(raw)}")
        shown = tuple(sorted({c.integer(v, f"show_steps[{i}]", 1) for i, v in enumerate(raw)}))
    scale = 1.0
    if data.get("init_scale") is not None:
        scale = float(c.number(data["init_scale"], "init_scale"))
        if scale <= 0:
            c.fail("init_scale", f"expected a number > 0, got {data['init_scale']!r}")
    k = _explained(c, data)
    full_X = full_T = None
    if k is not None and k < n:
        full_X = tuple(tuple(float(v) for v in row) for row in X)
        full_T = tuple(tuple(float(v) for v in row) for row in T)
    return TrainingSpec(opt, hyper, kind, args, reg, size, seed, shown, k if full_X else None,
                        full_X, full_T, scale)


def shape_estimates(features: int, heads, n_samples: int, shared=()) -> tuple[int, int]:
    """``(parameters, estimated graph nodes)`` of a network from its shapes alone.

    ``heads`` lists ``(units, activation)`` per layer; ``shared`` says which layers share
    one bias (none by default: before the biases are read the estimate is an upper
    bound). The node estimate is
    :func:`backproof.nn.explain.estimate_nodes`' (per sample and unit: one product per
    weight, the sum, ``z``, the activation and its name; the loss; the shared parameters).

    Examples
    --------
    >>> shape_estimates(2, [(2, "sigmoid"), (2, "sigmoid")], 1)
    (12, 50)
    """
    params = 0
    per_sample = features + 6 * heads[-1][0]
    fan_in = features
    for l, (units, act) in enumerate(heads):
        params += units * fan_in + (1 if l < len(shared) and shared[l] else units)
        per_sample += units * (fan_in + (6 if act == "softmax" else 4))
        fan_in = units
    return params, n_samples * per_sample + params


def _raw_shape(c: _Checker, data: Mapping) -> tuple[int, int] | None:
    """``(samples, features)`` read from the raw spec without converting a number (None when
    the fields are malformed: their own checks report that)."""
    if isinstance(data.get("data"), dict):
        raw = data["data"]
        gen = raw.get("generator")
        samples = c.integer(raw.get("samples", _default_samples(gen, raw.get("classes"))), "data.samples", 1)
        c.limit("net_samples", samples, "data.samples")
        if gen in ("xor", "moons", "spiral"):
            return samples, 2
        features = c.integer(raw.get("features", 2), "data.features", 1)
        c.limit("net_features", features, "data.features")
        return samples, features
    v = data.get("inputs")
    if isinstance(v, list) and v and isinstance(v[0], list):
        c.limit("net_samples", len(v), "inputs")
        c.limit("net_features", len(v[0]), "inputs[0]")
        return len(v), len(v[0])
    if isinstance(v, list) and v:
        c.limit("net_features", len(v), "inputs")
        return 1, len(v)
    return None


def _check_shapes(c: _Checker, features: int, n_samples: int, heads, data: Mapping,
                  train_samples: int | None = None) -> None:
    fan_in, params = features, 0
    for i, (units, _) in enumerate(heads):
        params += units * (fan_in + 1)
        c.limit("net_parameters", params, f"layers[{i}].units")
        fan_in = units
    params, nodes = shape_estimates(features, heads, n_samples)
    c.limit("net_graph_nodes", nodes, f"layers ({params} parameters × {n_samples} "
                                      f"sample{'s' * (n_samples != 1)})")
    if data.get("steps") is not None:
        steps = c.integer(data["steps"], "steps", 0)
        check_training(steps, params, train_samples or n_samples, f"{c.prefix}steps")


def check_training(steps: int, params: int, n_samples: int, where: str = "steps") -> None:
    """Refuse training runs over ``net_steps`` or ``net_training_work`` (steps × parameters
    × samples), before any step is taken.

    Examples
    --------
    >>> check_training(300, 27, 60)
    >>> check_training(10**9, 12, 1)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    backproof.errors.LimitError: steps: 1000000000 steps is over the limit net_steps = 20000 steps
        (training steps of a network: the spec's steps or --steps)
    """
    limits.check("net_steps", steps, where)
    limits.check("net_training_work", steps * params * n_samples, where)


def _samples(c: _Checker, v, path: str, width: int | None, what: str):
    """One sample (number or flat list) or several (list of rows) -> 2-D tuple."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (c.vector([v], path, None, what),), True
    if isinstance(v, list) and v and all(isinstance(r, list) for r in v):
        return c.matrix(v, path, None, width, what), False
    if isinstance(v, list) and any(isinstance(r, list) for r in v):
        bad = next(i for i, r in enumerate(v) if not isinstance(r, list))
        c.fail(f"{path}[{bad}]", f"expected a row like the others (a list of numbers), "
                                 f"got {c.describe(v[bad])}")
    row = c.vector(v, path, width, what)
    return (row,), True


def _targets(c: _Checker, v, n: int, k: int, single: bool) -> tuple[tuple[sp.Rational, ...], ...]:
    unit = f"{k} number{'s' * (k != 1)} (one per output unit)"
    if single:
        if isinstance(v, list) and v and isinstance(v[0], list):
            c.fail("targets", f"expected {unit} for the one input sample, got a list of rows")
        if k == 1 and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = [v]
        T: tuple[tuple[sp.Rational, ...], ...] = (c.vector(v, "targets", k, f"a list of {unit}"),)
    elif isinstance(v, list) and v and not any(isinstance(r, list) for r in v) and k == 1:
        # One output: a flat list is one target per sample.
        T = tuple((x,) for x in c.vector(v, "targets", n, f"{n} targets (one per sample)"))
    else:
        T = c.matrix(v, "targets", n, k, f"{_shape(n, k)} (samples × output units: {n} "
                                          f"sample{'s' * (n != 1)}, {k} output unit{'s' * (k != 1)})")
    return T


def _check_targets(c: _Checker, T, loss: str):
    row_ = LOSS_ROWS[loss]
    for s, row in enumerate(T):
        if row_.signed_targets and any(t not in (-1, 1) for t in row):
            j = next(j for j, t in enumerate(row) if t not in (-1, 1))
            c.fail(_tpath(s, j, len(T)), f"target {float(row[j]):g} is not −1 or +1, which {loss} needs "
                                         f"(write the classes as −1 and +1)")
        if row_.one_hot and sorted(row) != [0] * (len(row) - 1) + [1]:
            c.fail(_tpath(s, None, len(T)), f"{loss} needs one-hot targets (one 1 marking the class, "
                                            f"the rest 0), got {[float(t) for t in row]}")
        for j, t in enumerate(row):
            if LOSS_ROWS[loss].probability_targets and not (0 <= t <= 1):
                c.fail(_tpath(s, j, len(T)), f"target {float(t):g} is outside [0, 1], which {loss} needs "
                                             f"(a probability)")
        if LOSS_ROWS[loss].targets_sum_to_one and sum(row) != 1:
            c.fail(_tpath(s, None, len(T)), f"the targets of a sample must sum to 1 for {loss} (one-hot or "
                                            f"a probability vector), got sum {float(sum(row)):g}")


def _tpath(s, j, n) -> str:
    base = "targets" if n == 1 else f"targets[{s}]"
    return base if j is None else f"{base}[{j}]"


#: Initialised weights are rounded to this many decimals: the write-up then shows the
#: exact numbers every computation uses, and exact arithmetic stays short.
INIT_DECIMALS = 4


def _initial_weights(units, fan_in, act, init, rng, scale=1.0, rounded=True):
    layer = Dense.init(units, fan_in, act, init, rng, scale)
    return tuple(tuple(_exact(float(x), rounded) for x in row) for row in layer.W)


def _exact(x: float, rounded: bool) -> sp.Rational:
    """A drawn number as an exact rational: rounded to INIT_DECIMALS, or as drawn (its shortest repr)."""
    return sp.Rational(repr((round(x, INIT_DECIMALS) if rounded else x) + 0.0))


def _python_uniform(units, fan_in, pyrng: random.Random, scale: float, rounded: bool):
    """micrograd's ``Neuron``: ``random.uniform(-1, 1)`` per weight, unit by unit, input by input."""
    return tuple(tuple(_exact(scale * pyrng.uniform(-1, 1), rounded) for _ in range(fan_in))
                 for _ in range(units))


def _generator_shape(c: _Checker, raw, gen: str, samples: int, classes: int, features: int):
    """``(noise, classes, features)`` of a generator, checked against what it can make."""
    noise = float(c.number(raw.get("noise", 0.1 if gen == "moons" else 0.2), "data.noise"))
    if noise < 0:
        c.fail("data.noise", f"expected a number >= 0, got {raw.get('noise')!r}")
    if gen in ("xor", "moons") and "classes" in raw and classes != 2:
        c.fail("data.classes", f"{gen} has 2 classes, got {classes}")
    if gen in ("xor", "moons", "spiral"):
        if "features" in raw and features != 2:
            c.fail("data.features", f"{gen} has 2 features, got {features}")
        classes = 2 if gen != "spiral" else classes
        features = 2
    if gen == "spiral" and samples % classes:
        c.fail("data.samples", f"spiral makes the same number of points per class: {samples} is not a "
                               f"multiple of {classes} classes")
    return noise, classes, features


def _default_samples(gen, classes) -> int:
    """``data.samples`` when not given: blobs 60, xor 4, moons 100, spiral 100 per class."""
    if gen == "spiral":
        return 100 * (classes if isinstance(classes, int) and not isinstance(classes, bool) and classes > 0 else 3)
    return {"blobs": 60, "moons": 100}.get(gen, 4)


def _data(c: _Checker, raw, k_out: int, loss: str = "mse", rounded: bool = True):
    c.mapping(raw, "data", _DATA, required=("generator",))
    gen = c.choice(raw["generator"], "data.generator", GENERATORS)
    samples = c.integer(raw.get("samples", _default_samples(gen, raw.get("classes"))), "data.samples", 1)
    if samples > MAX_SAMPLES:
        c.fail("data.samples", f"at most {MAX_SAMPLES} samples (each sample is derived "
                               f"symbolically), got {samples}")
    classes = c.integer(raw.get("classes", 3 if gen == "spiral" else 2), "data.classes", 2)
    features = c.integer(raw.get("features", 2), "data.features", 1)
    seed = c.integer(raw.get("seed", 0), "data.seed", 0)
    spread = float(c.number(raw.get("spread", 1.0), "data.spread"))
    if spread <= 0:
        c.fail("data.spread", f"expected a number > 0, got {raw.get('spread')!r}")
    noise, classes, features = _generator_shape(c, raw, gen, samples, classes, features)
    if not (k_out == classes or (k_out == 1 and classes == 2)):
        c.fail("data.classes", f"{classes} classes need an output layer of {classes} units "
                               f"(or 1 unit for 2 classes), got {k_out}")
    legacy = c.choice(raw.get("rng", "numpy"), "data.rng", ("numpy", "legacy"))
    spec = DataSpec(gen, samples, classes, features, seed, spread, noise, legacy, rounded)
    X, labels = generate_data(spec)
    to = lambda x: sp.Rational(repr(float(x)))  # noqa: E731
    Xs = tuple(tuple(to(x) for x in row) for row in X)
    if k_out == 1:
        # The binary hinge wants ±1 labels (micrograd: y*2 - 1).
        signed = LOSS_ROWS[loss].signed_targets
        T = tuple((sp.Integer(2 * int(lab) - 1 if signed else int(lab)),) for lab in labels)
    else:
        T = tuple(tuple(sp.Integer(int(lab == k)) for k in range(classes)) for lab in labels)
    return spec, Xs, T


def generate_data(spec: DataSpec):
    """The dataset of a ``data:`` field: inputs (n × features) and integer labels.

    ``blobs``: ``classes`` Gaussian clusters (standard deviation ``spread``) around
    centres spaced on a circle of radius 3 (2 features) or drawn from N(0, 3²); sample
    ``i`` has label ``i mod classes``. ``xor``: the four corners of the unit square with
    label ``x₁ xor x₂``, repeated to ``samples`` rows. Inputs are rounded to 4 decimals
    so that the exact derivation works with short numbers.

    Examples
    --------
    >>> X, y = generate_data(DataSpec("xor", 4, 2, 2, 0, 1.0))
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    if spec.generator in ("moons", "spiral"):
        return _curves(spec)
    if spec.generator == "xor":
        base = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        idx = np.arange(spec.samples) % 4
        return base[idx], (base[idx, 0] != base[idx, 1]).astype(int)
    rng = np.random.default_rng(spec.seed)
    k, f = spec.classes, spec.features
    if f == 2:
        angles = 2 * np.pi * np.arange(k) / k
        centres = 3.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        centres = rng.normal(0.0, 3.0, size=(k, f))
    labels = np.arange(spec.samples) % k
    X = centres[labels] + spec.spread * rng.normal(size=(spec.samples, f))
    return np.round(X, 4) + 0.0, labels  # + 0.0 turns -0.0 into 0.0


def _curves(spec: DataSpec):
    """``moons`` (scikit-learn's ``make_moons`` formula) and ``spiral`` (CS231n's), seeded.

    moons: ``n//2`` points on the upper half circle ``(cos t, sin t)``, label 0, and the rest on
    ``(1 − cos t, 1/2 − sin t)``, label 1, ``t`` evenly spaced in [0, π]; shuffled, then
    Gaussian noise of standard deviation ``noise`` added (scikit-learn draws from its own
    generator, so the points are the same curves but not the same draws). spiral: per class
    ``j`` of ``K``, radius ``r`` evenly spaced in [0, 1] and angle ``t`` evenly spaced in
    [4j, 4(j + 1)] plus N(0, noise²), the point ``(r sin t, r cos t)``; then shuffled.
    """
    legacy = spec.rng == "legacy"
    rng = np.random.RandomState(spec.seed) if legacy else np.random.default_rng(spec.seed)
    n = spec.samples
    if spec.generator == "moons":
        n_out = n // 2
        t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n - n_out)
        X = np.vstack([np.append(np.cos(t_out), 1 - np.cos(t_in)),
                       np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5)]).T
        labels = np.hstack([np.zeros(n_out, dtype=int), np.ones(n - n_out, dtype=int)])
        if legacy:  # scikit-learn's utils.shuffle: a shuffled arange, from the same generator
            order = np.arange(n)
            rng.shuffle(order)
        else:
            order = rng.permutation(n)
        X, labels = X[order], labels[order]
        X = X + rng.normal(scale=spec.noise, size=X.shape)
    else:
        per = n // spec.classes
        rows, labels_list = [], []
        for j in range(spec.classes):
            r = np.linspace(0.0, 1.0, per)
            noise = rng.randn(per) if legacy else rng.normal(size=per)  # type: ignore[union-attr]
            t = np.linspace(j * 4, (j + 1) * 4, per) + noise * spec.noise
            rows.append(np.c_[r * np.sin(t), r * np.cos(t)])
            labels_list.append(np.full(per, j))
        X, labels = np.vstack(rows), np.concatenate(labels_list)
        # Shuffled (CS231n keeps the classes in order, and its first point, the origin, puts every
        # first-layer unit at its kink: a poor sample to derive); the full-batch mean is the same.
        order = rng.permutation(n)
        X, labels = X[order], labels[order]
    return (np.round(X, 4) if spec.rounded else X) + 0.0, labels


def _names(c: _Checker, raw, spec: NetSpec) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        c.fail("names", f"expected a mapping alias: entry (like w5: W2[0][0]), got {c.describe(raw)}")
    entries = {e for e, _ in param_entries(spec)}
    generated = generated_names(spec)
    seen: dict[str, str] = {}
    out = []
    for alias, entry in raw.items():
        p = f"names.{_key(alias)}"
        if not isinstance(alias, str) or not alias.isidentifier() or not alias.isascii():
            c.fail(p, "an alias must be a name (ASCII letters, digits, underscore; not starting "
                      "with a digit)")
        if alias in RESERVED:
            c.fail(p, f"{quote(alias)} is a reserved word of the expression language "
                      f"(a function or constant)")
        if alias in generated:
            c.fail(p, f"{quote(alias)} is already the name of another quantity of the network; pick another")
        if not isinstance(entry, str):
            c.fail(p, f"expected an entry like W2[0][1] or b1[0], got {c.describe(entry)}")
        entry = entry.replace(" ", "")
        if _NODE.match(entry):
            _node_entry(c, p, entry, spec)
        elif not _ENTRY.match(entry):
            c.fail(p, f"expected an entry like W2[0][1], b1[0], b1 (a shared bias), z1[0], a2[1], E[0] or J "
                      f"(layer from 1, indices from 0), got {quote(entry)}")
        elif entry not in entries:
            shared = re.match(r"^b(\d+)\[\d+\]$", entry)
            if shared and f"b{shared.group(1)}" in entries:
                c.fail(p, f"layer {shared.group(1)} shares one bias: name it as b{shared.group(1)}")
            c.fail(p, f"{entry} does not exist (the network has layers 1–{len(spec.layers)} with "
                      f"W{{l}} of shape units × fan_in: "
                      f"{', '.join(f'W{l}: {L.units}×{L.fan_in}' for l, L in enumerate(spec.layers, 1))})")
        if entry in seen:
            c.fail(p, f"{entry} is already named {seen[entry]!r}")
        seen[entry] = alias
        out.append((alias, entry))
    return tuple(out)


def _plot(c: _Checker, raw, spec: NetSpec) -> PlotSpec:
    if raw is None:
        return PlotSpec()
    c.mapping(raw, "plot", _PLOT)
    scalars = entry_scalar(spec)
    valid = set(scalars.values())

    def resolve(v, p):
        if isinstance(v, str) and v.replace(" ", "") in scalars:
            return scalars[v.replace(" ", "")]
        if isinstance(v, str) and v in valid:
            return v
        c.fail(p, f"unknown parameter {c.describe(v)} (a parameter name such as "
                  f"{next(iter(valid))} or an entry such as W1[0][0])")

    weight = resolve(raw["weight"], "plot.weight") if raw.get("weight") is not None else None
    surface = None
    if raw.get("surface") is not None:
        s = raw["surface"]
        if not isinstance(s, list) or len(s) != 2:
            c.fail("plot.surface", f"expected a list of two parameters, got {c.describe(s)}")
        surface = (resolve(s[0], "plot.surface[0]"), resolve(s[1], "plot.surface[1]"))
        if surface[0] == surface[1]:
            c.fail("plot.surface", "expected two different parameters")
    return PlotSpec(weight, surface)

"""The Python builder: ``Network([Layer(2, "sigmoid"), Layer(1, "sigmoid")], loss="bce")``.

A :class:`Network` is a spec mapping under construction; every method validates it
through :func:`backproof.nn.spec.validate_spec`, so the builder, YAML files and JSON
answer files all go through the same checks and give the same results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import Dense
from ..errors import SpecError
from .build import build_program
from .explain import explain_network
from .spec import load_spec_file, validate_spec
from .train import train_network

__all__ = ["Layer", "Network"]


@dataclass(frozen=True)
class Layer:
    """One dense layer of the builder: ``units`` and ``activation``, optionally the
    starting ``weights`` (``units × fan_in``) and ``bias`` (a list or one number).

    This is a *description* of a layer; the NumPy engine's ``backproof.engine.Dense(W, b,
    activation)`` holds arrays. :class:`Network` accepts either.

    Examples
    --------
    >>> Layer(2, "sigmoid").to_spec()
    {'units': 2, 'activation': 'sigmoid'}
    >>> Layer(2, "sigmoid", bias={"value": 0.35, "shared": True}, trainable={"bias": False}).to_spec()["trainable"]
    {'bias': False}
    """

    units: int
    activation: str = "identity"
    weights: Any = None
    bias: Any = None
    initializer: str | None = None
    trainable: Any = None

    def to_spec(self) -> dict:
        """The layer as a spec mapping."""
        out: dict[str, Any] = {"units": self.units, "activation": self.activation}
        if self.weights is not None:
            out["weights"] = _plain(self.weights)
        if self.bias is not None:
            out["bias"] = _plain(self.bias)
        if self.initializer is not None:
            out["initializer"] = self.initializer
        if self.trainable is not None:
            out["trainable"] = self.trainable
        return out


def _plain(x):
    """NumPy arrays and scalars -> Python lists and numbers (what a parsed file holds)."""
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, Mapping):  # a bias {value, shared} or trainable {weights, bias}
        return {k: _plain(v) for k, v in x.items()}
    return x


def _layer_spec(layer, i: int) -> dict:
    if isinstance(layer, Layer):
        return layer.to_spec()
    if isinstance(layer, Mapping):
        return dict(layer)
    if isinstance(layer, Dense):
        return {"units": layer.units, "activation": layer.activation,
                "weights": layer.W.tolist(), "bias": layer.b.tolist()}
    raise SpecError(f"layers[{i}]: expected backproof.nn.Layer, backproof.engine.Dense or a mapping, "
                    f"got {type(layer).__name__}")


class Network:
    """A small fully connected network, built in Python or from a spec.

    Parameters
    ----------
    layers : sequence of Layer, engine Dense or mappings
        Input side first.
    loss : str
        ``mse``, ``sse``, ``half_sse``, ``bce`` (sigmoid output) or ``ce`` (softmax output).
    **fields
        Any other spec field: ``inputs``, ``targets``, ``data``, ``learning_rate``,
        ``names``, ``frozen``, ``initializer``, ``seed``, ``steps``, ``tolerance``, ``mode``,
        ``plot``, ``name``, ``description``.

    Examples
    --------
    >>> net = Network([Layer(2, "sigmoid"), Layer(1, "sigmoid")], loss="bce", learning_rate=0.5)
    >>> r = net.explain(inputs=[1.0, 0.5], targets=[1])
    >>> len(r.updates), r.net.spec.sizes
    (9, (2, 2, 1))
    """

    def __init__(self, layers: Sequence, loss: str = "half_sse", **fields):
        self._spec: dict[str, Any] = {"layers": [_layer_spec(L, i) for i, L in enumerate(layers)],
                                      "loss": loss}
        for k, v in fields.items():
            if v is not None:
                self._spec[k] = _plain(v)
        self._source = ""

    @classmethod
    def from_spec(cls, spec) -> Network:
        """A Network from a spec mapping or a ``.yaml``/``.yml``/``.json``/``.toml`` path.

        Examples
        --------
        >>> Network.from_spec({"inputs": [1], "targets": [2], "loss": "sse",
        ...     "layers": [{"units": 1, "activation": "identity"}]}).spec().sizes
        (1, 1)
        """
        if isinstance(spec, Mapping):
            data, source = dict(spec), ""
        else:
            data, source = load_spec_file(spec), str(spec)
        if not isinstance(data, dict) or "layers" not in data:
            validate_spec(data, source)  # raises the field error
        net = cls.__new__(cls)
        net._spec = data
        net._source = source
        return net

    def to_dict(self, inputs=None, targets=None) -> dict:
        """The spec mapping (with ``inputs``/``targets`` replaced when given)."""
        data = dict(self._spec)
        if inputs is not None:
            data["inputs"] = _plain(inputs)
            data.pop("data", None)
        if targets is not None:
            data["targets"] = _plain(targets)
        return data

    def spec(self, inputs=None, targets=None):
        """The validated :class:`~backproof.nn.spec.NetSpec`."""
        return validate_spec(self.to_dict(inputs, targets), self._source)

    def program(self, inputs=None, targets=None):
        """The :class:`~backproof.nn.build.NetProgram` (named scalars, values, names)."""
        return build_program(self.spec(inputs, targets))

    def explain(self, inputs=None, targets=None, **kw):
        """One forward/backward/update (:func:`~backproof.nn.explain.explain_network`)."""
        return explain_network(self.program(inputs, targets), **kw)

    def train(self, inputs=None, targets=None, **kw):
        """Train on the NumPy engine (:func:`~backproof.nn.train.train_network`)."""
        return train_network(self.program(inputs, targets), **kw)

    def __repr__(self) -> str:
        layers = ", ".join(f"Layer({L['units']}, {L.get('activation')!r})" for L in self._spec["layers"]
                           if isinstance(L, Mapping))
        return f"Network([{layers}], loss={self._spec.get('loss')!r})"

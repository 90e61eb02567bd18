"""Reverse-mode NumPy engine over a program's tape: every node's value and gradient, batched.

The engine reads a :class:`~backproof.graph.Tape` (plain data: node ids, op names,
operand ids, constant values) and runs the op table's hand-written NumPy facets
(:data:`backproof.ops.OPS`) over it. It never imports SymPy, so its numbers are
a genuine second opinion on the symbolic derivation. Turning a program into a tape
needs SymPy and belongs to the graph layer (:func:`backproof.graph.tape_of`); nothing
here imports the parser, the graph or the program.

* **Batched**: every input may be an array; all inputs broadcast to one batch shape
  and each node's value and gradient is an array of that shape, so N points cost one
  pass, not N.
* **Pure**: :func:`forward` returns ``{node id: value}`` and :func:`backward` returns
  ``{node id: ∂output/∂node}``; gradients are accumulated into a fresh dict (never
  ``+=`` on shared state), so calling either twice gives the same answer.
* **Loud**: in the default strict mode all arithmetic runs under
  ``np.errstate(over="raise", divide="raise", invalid="raise")`` and every value is
  checked to be finite. An overflow, a log of 0, a division by zero or a square root
  of a negative number becomes a :class:`~backproof.engine.errors.NumericalError`
  naming the node, its op, the operand values and (for a batch) the first bad point,
  never a silent ``nan``. Underflow to 0 is harmless and allowed. ``strict=False``
  lets non-finite values through (the cross-check uses it to discard random points
  outside a program's domain).
* **Overrides and perturbations**: ``overrides={node id: value}`` replaces a node's
  computed value and ``perturb={node id: delta}`` adds to it; nodes downstream see the
  change. The cross-check takes finite differences this way, for inputs and
  intermediates alike, many of them in one batched pass (a zero delta leaves a value
  exactly as it was).
* **Local hook**: ``backward(..., local=hook)`` lets a caller change what one edge of
  the tape contributes: ``hook(entry, k, g, contribution)`` sees each operation's
  VJP contribution to its operand ``k`` (upstream gradient ``g``) and returns the
  contribution to use instead (the checker doubles, drops or replaces one local
  derivative that way to reproduce a student's mistake). Without a hook the engine
  runs exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from backproof.engine.errors import EngineError, NumericalError
from backproof.ops import OPS

__all__ = ["forward", "backward", "grad", "EngineGradients", "LocalHook", "TapeEntryLike", "TapeLike"]

Array = np.ndarray


class TapeEntryLike(Protocol):
    """One entry of a tape, as the engine reads it (see :class:`backproof.graph.TapeEntry`)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def op(self) -> str | None: ...
    @property
    def operands(self) -> Sequence[str]: ...
    @property
    def value(self) -> float | None: ...


class TapeLike(Protocol):
    """A tape as the engine reads it: plain data (see :class:`backproof.graph.Tape`)."""

    @property
    def entries(self) -> Sequence[TapeEntryLike]: ...
    @property
    def output(self) -> str: ...
    @property
    def inputs(self) -> Sequence[str]: ...


#: ``hook(entry, k, g, contribution) -> contribution`` for :func:`backward`: the operation
#: ``entry``'s contribution to the gradient of its operand ``k`` (``g`` is ``entry``'s own
#: gradient, ``contribution`` the op table's VJP ``g·∂entry/∂operand``); it returns what to add
#: to the operand's gradient instead (the contribution itself to keep the edge as it is, ``0``
#: to drop it, ``g·d`` to use ``d`` as the local derivative).
LocalHook = Callable[[TapeEntryLike, int, Array, Array], Array | float]


def _errstate(strict: bool) -> np.errstate:
    """Strict: overflow, division by zero and invalid operations raise (underflow to 0
    is harmless); loose: every floating-point condition passes silently."""
    if strict:
        return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")
    return np.errstate(all="ignore")


class EngineGradients(NamedTuple):
    """What :func:`grad` returns: the output's value and every node's gradient.

    A tuple, so ``value, grads = grad(...)`` unpacks it.
    """

    value: Array
    gradients: dict[str, Array]


def _check_names(tape: TapeLike, inputs: Mapping[str, object]) -> tuple[str, ...]:
    """The tape's input names, once ``inputs`` is known to name exactly those."""
    if not isinstance(inputs, Mapping):
        raise EngineError(f"inputs: expected a mapping name -> value, got {type(inputs).__name__}")
    names = tuple(tape.inputs)
    missing = [n for n in names if n not in inputs]
    if missing:
        raise EngineError(f"no value given for input{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(missing)} (inputs: {', '.join(names) or 'none'})")
    extra = [str(n) for n in inputs if n not in names]
    if extra:
        raise EngineError(f"unknown input{'s' if len(extra) > 1 else ''} {', '.join(extra)} "
                          f"(the output uses: {', '.join(names) or 'no inputs'})")
    return names


def _input_array(name: str, value: object) -> Array:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise EngineError(f"input {name}: not a number or array of numbers ({value!r})") from None
    if not np.all(np.isfinite(a)):
        raise EngineError(f"input {name}: contains a non-finite value (nan or inf)")
    return a


def _batch_inputs(tape: TapeLike, inputs: Mapping[str, object],
                  extra_shapes: Sequence[tuple[int, ...]] = ()) -> tuple[dict[str, Array], tuple[int, ...]]:
    arrays = {n: _input_array(n, inputs[n]) for n in _check_names(tape, inputs)}
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()), *extra_shapes)
    except ValueError:
        shapes = ", ".join([f"{n}: {a.shape}" for n, a in arrays.items()]
                           + [f"override: {s}" for s in extra_shapes])
        raise EngineError(f"inputs and overrides do not broadcast to one batch shape "
                          f"({shapes})") from None
    return {n: _shaped(a, shape) for n, a in arrays.items()}, shape


def _first_bad(arrays, shape) -> tuple[int, ...] | None:
    """Index of the first point where any of ``arrays`` is not finite."""
    bad = np.zeros(shape, dtype=bool)
    for a in arrays:
        bad = bad | ~np.isfinite(np.broadcast_to(np.asarray(a, dtype=float), shape))
    idx = np.argwhere(bad)
    return tuple(int(i) for i in idx[0]) if len(idx) else None


def _describe(entry, values, shape, where: tuple[int, ...] | None) -> str:
    parts = []
    for u in entry.operands:
        v = np.broadcast_to(values[u], shape)
        x = v[where] if where is not None else v.flat[0]
        parts.append(f"{u} = {float(x)!r}")
    batch = int(np.prod(shape)) > 1
    at = f" at point {where[0] if len(where) == 1 else where}" if where is not None and batch else ""
    return f"{at} (operand{'s' if len(parts) > 1 else ''} {', '.join(parts)})"


def forward(tape: TapeLike, inputs: Mapping[str, object], *, overrides: Mapping[str, object] | None = None,
            perturb: Mapping[str, object] | None = None, strict: bool = True) -> dict[str, Array]:
    """Evaluate every node of ``tape`` for a whole batch of input points.

    Parameters
    ----------
    tape : Tape
        From :func:`backproof.graph.to_tape` (anything with ``entries``, ``output``
        and ``inputs`` of that shape).
    inputs : mapping
        Input name -> number or array; arrays broadcast to one batch shape.
    overrides : mapping, optional
        Node id -> value replacing what the node computes (an input or an
        intermediate); nodes downstream see the override.
    perturb : mapping, optional
        Node id -> array added to the node's value (after any override); its shape
        takes part in the batch shape.
    strict : bool
        Raise :class:`NumericalError` on overflow, division by zero or an invalid
        operation (default). ``False`` lets ``inf``/``nan`` through.

    Returns
    -------
    dict
        Node id -> float64 array of the batch shape (read-only views for constants).

    Raises
    ------
    EngineError
        A missing, unknown or non-finite input, or an unknown override id.
    NumericalError
        In strict mode, a floating-point failure; ``where`` names the node and its op.

    Examples
    --------
    >>> from backproof.graph import tape_of
    >>> tape = tape_of("y = 2*x + 1")
    >>> forward(tape, {"x": [0.0, 1.0, 2.0]})["y"].tolist()
    [1.0, 3.0, 5.0]
    """
    fixed = _node_arrays(tape, overrides)
    moved = _node_arrays(tape, perturb)
    # Overrides take part in the batch shape (a program may have no inputs at all).
    arrays, shape = _batch_inputs(tape, inputs, [v.shape for v in fixed.values()]
                                  + [v.shape for v in moved.values()])
    values: dict[str, Array] = {}
    for e in tape.entries:
        if e.id in fixed:
            v = _shaped(fixed[e.id], shape)
        elif e.kind == "input":
            v = arrays[e.id]
        elif e.kind == "const":
            v = np.broadcast_to(np.float64(e.value), shape)
        else:
            v = _apply(e, values, shape, strict)
        if e.id in moved:
            with _errstate(strict):
                v = _shaped(v + moved[e.id], shape)
        values[e.id] = v
    return values


def _node_arrays(tape: TapeLike, by_id: Mapping[str, object] | None) -> dict[str, Array]:
    """Overrides or perturbations as float64 arrays, every key a node of ``tape``."""
    ids = {e.id for e in tape.entries}
    unknown = [n for n in (by_id or {}) if n not in ids]
    if unknown:
        raise EngineError(f"override of unknown node{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(map(str, unknown))}")
    try:
        return {k: np.asarray(v, dtype=np.float64) for k, v in (by_id or {}).items()}
    except (TypeError, ValueError):
        raise EngineError("overrides: values must be numbers or arrays of numbers") from None


def _apply(e: TapeEntryLike, values: Mapping[str, Array], shape: tuple[int, ...], strict: bool) -> Array:
    op = OPS.get(e.op or "")
    if op is None:
        raise EngineError(f"node {e.id!r}: unknown operation {e.op!r} "
                          f"(known: {', '.join(sorted(OPS))})")
    args = [values[u] for u in e.operands]
    if not strict:
        with _errstate(False):
            return _shaped(np.asarray(op.np_forward(*args), dtype=np.float64), shape)
    where = f"node {e.id!r} ({e.op}) forward"
    try:
        with _errstate(True):
            out = np.asarray(op.np_forward(*args), dtype=np.float64)
    except FloatingPointError as exc:
        with _errstate(False):
            bad = _first_bad([op.np_forward(*args)], shape)
        raise NumericalError(f"{where}: {exc}{_describe(e, values, shape, bad)}", where=where) from None
    if not np.isfinite(out).all():
        bad = _first_bad([out], shape)
        raise NumericalError(f"{where}: the value is not finite{_describe(e, values, shape, bad)}",
                             where=where)
    return _shaped(out, shape)


def _shaped(a: Array, shape: tuple[int, ...]) -> Array:
    return a if a.shape == shape else np.broadcast_to(a, shape)


def backward(tape: TapeLike, values: Mapping[str, Array], *, strict: bool = True,
             local: LocalHook | None = None) -> dict[str, Array]:
    """Gradients of the tape's output with respect to every non-constant node.

    Reverse topological order; each node's gradient is the sum over its consumers of
    the consumer's vector-Jacobian product (gradients add up at forks).

    Parameters
    ----------
    tape : Tape
        The tape :func:`forward` ran.
    values : mapping
        :func:`forward`'s result.
    strict : bool
        As in :func:`forward`: a non-finite gradient is a :class:`NumericalError`
        naming the consuming node (with a hook: the contribution the hook returns).
    local : LocalHook, optional
        Called for every edge into a non-constant operand, in reverse tape order, as
        ``local(entry, k, g, contribution)``; its result replaces the contribution.
        ``None`` (default): the op table's VJPs unchanged.

    Returns
    -------
    dict
        Node id -> ∂output/∂node, float64 arrays of the batch shape; constants have
        no entry. Named results are keyed by their names, inputs by theirs.

    Examples
    --------
    >>> from backproof.graph import tape_of
    >>> tape = tape_of("y = x*x")
    >>> values = forward(tape, {"x": [1.0, 3.0]})
    >>> backward(tape, values)["x"].tolist()
    [2.0, 6.0]

    A hook that drops the second operand's edge leaves ``x·∂x/∂x`` only:

    >>> backward(tape, values, local=lambda e, k, g, c: 0.0 if k == 1 else c)["x"].tolist()
    [1.0, 3.0]
    """
    shape = tuple(np.shape(values[tape.output]))
    kind = {e.id: e.kind for e in tape.entries}
    grads: dict[str, Array] = {tape.output: np.ones(shape)}
    for e in reversed(tape.entries):
        if e.kind in ("input", "const") or e.id not in grads:
            continue
        g = grads[e.id]
        args = [values[u] for u in e.operands]
        contribs = _vjp(e, g, values[e.id], args, shape, strict, kind, values, local)
        for u, c in zip(e.operands, contribs):
            if kind[u] == "const":
                continue  # a constant's gradient is never reported or propagated
            c = _shaped(np.asarray(c), shape)
            # A fresh array each time: nothing is accumulated in place.
            grads[u] = np.asarray(grads[u] + c) if u in grads else np.array(c, dtype=np.float64)
    return {n: grads[n] for n in (e.id for e in tape.entries) if n in grads}


def _vjp(e: TapeEntryLike, g: Array, out: Array, args: list[Array], shape: tuple[int, ...], strict: bool,
         kind: Mapping[str, str], values: Mapping[str, Array], local: LocalHook | None):
    op = OPS[e.op or ""]
    if not strict:
        with _errstate(False):
            contribs = op.np_vjp(g, out, *args)
            return contribs if local is None else _hooked(local, e, g, contribs, kind)
    where = f"node {e.id!r} ({e.op}) backward"
    try:
        with _errstate(True):
            contribs = op.np_vjp(g, out, *args)
        reason = "the gradient is not finite"
    except FloatingPointError as exc:
        # Retry quietly: the trouble may be confined to a constant operand's partial
        # (e.g. ∂(c^x)/∂c), which is never used.
        with _errstate(False):
            contribs = op.np_vjp(g, out, *args)
        reason = str(exc)
    if local is not None:
        with _errstate(False):  # the hook's own result is checked below, like the VJP's
            contribs = _hooked(local, e, g, contribs, kind)
    used = [c for u, c in zip(e.operands, contribs) if kind[u] != "const"]
    if all(np.all(np.isfinite(c)) for c in used):
        return contribs
    bad = _first_bad(used, shape)
    raise NumericalError(f"{where}: {reason}{_describe(e, values, shape, bad)}", where=where)


def _hooked(local: LocalHook, e: TapeEntryLike, g: Array, contribs, kind: Mapping[str, str]) -> tuple:
    """The contributions after ``local`` has seen each edge into a non-constant operand."""
    return tuple(c if kind[u] == "const" else local(e, k, g, c)
                 for k, (u, c) in enumerate(zip(e.operands, contribs)))


def _is_tape(obj: object) -> bool:
    return all(hasattr(obj, a) for a in ("entries", "output", "inputs"))


def grad(tape: TapeLike, at: Mapping[str, object] | None = None, *,
         overrides: Mapping[str, object] | None = None) -> EngineGradients:
    """Value and every gradient of a tape's output, by the NumPy engine alone.

    Parameters
    ----------
    tape : Tape
        A tape from :func:`backproof.graph.tape_of` (program text or a Program) or
        :func:`backproof.graph.to_tape` (a graph); the engine itself never parses.
    at : mapping, optional
        Input name -> number or array (arrays broadcast: one call evaluates a batch of
        points). Text such as ``"a=2,b=1"`` is read by :func:`backproof.parse.parse_values`.
    overrides : mapping, optional
        Node id -> value replacing what that node computes.

    Returns
    -------
    EngineGradients
        ``(value, gradients)``: the output's value and node id -> ∂output/∂node, each
        a float64 array of the batch shape.

    Raises
    ------
    EngineError
        Not a tape, missing or unknown inputs, or inputs that do not broadcast.
    NumericalError
        An overflow or domain error, naming the node.

    Examples
    --------
    >>> from backproof.graph import tape_of
    >>> value, grads = grad(tape_of("d = a + b; e = b - c; y = d*e"), at={"a": 2, "b": 1, "c": 0})
    >>> float(value), {n: float(grads[n]) for n in ("a", "b", "c", "d", "e")}
    (3.0, {'a': 1.0, 'b': 4.0, 'c': -3.0, 'd': 1.0, 'e': 3.0})
    >>> grad(tape_of("y = x**2"), at={"x": [1.0, 2.0, 3.0]}).gradients["x"].tolist()
    [2.0, 4.0, 6.0]
    """
    if not _is_tape(tape):
        raise EngineError(f"expected a Tape (from backproof.graph.tape_of(program)), "
                          f"got {type(tape).__name__}")
    values = forward(tape, {} if at is None else at, overrides=overrides)
    return EngineGradients(np.array(values[tape.output]), backward(tape, values))

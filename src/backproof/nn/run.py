"""The options of a network run (``backproof net``) resolved once into a frozen description.

The command reads its arguments into :class:`NetOptions`; :func:`check_options` bounds the
training work before the spec is read, :func:`resolve_run` applies the options to the
network (a learning-rate override, the plotted parameters, what training records) and
:func:`run_network` explains one step and trains when asked. The command then only
formats and writes what comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from .. import limits
from ..errors import SpecError, quote
from .build import NetProgram
from .explain import NetResult, explain_network
from .spec import check_training
from .train import tracked_params, train_network

__all__ = ["NetOptions", "NetRun", "check_options", "resolve_run", "run_network", "with_learning_rate"]


@dataclass(frozen=True)
class NetOptions:
    """A network run's options as given (``None``: the spec's value or the default).

    Attributes
    ----------
    steps : int or None
        Training steps; ``None`` trains the spec's ``steps`` (none without them).
    tolerance, learning_rate : float or None
        Override the spec's.
    mode : str or None
        ``simultaneous`` or ``sequential``.
    plot : bool
        Plots are wanted (training then runs at least one step).
    plot_weight, plot_surface : str or None
        The loss-vs-weight parameter and the surface pair (``"P,Q"``), as written.
    """

    steps: int | None = None
    tolerance: float | None = None
    learning_rate: float | None = None
    mode: str | None = None
    plot: bool = False
    plot_weight: str | None = None
    plot_surface: str | None = None


@dataclass(frozen=True)
class NetRun:
    """A resolved run: the network with its overrides and exactly what to compute.

    Attributes
    ----------
    net : NetProgram
        With the learning-rate override applied.
    mode : str or None
        The update order asked for (``None``: the spec's).
    steps : int or None
        Training steps (``None``: no training).
    tolerance : float or None
        Training tolerance (``None``: the spec's).
    track : tuple of str or None
        Parameters whose path training records (``None``: the default choice).
    weight : str or None
        The loss-vs-weight parameter (``None``: the spec's or the default).
    surface : (str, str) or None
        The surface pair (``None``: the spec's or the default).
    """

    net: NetProgram
    mode: str | None
    steps: int | None
    tolerance: float | None
    track: tuple[str, ...] | None
    weight: str | None
    surface: tuple[str, str] | None


def check_options(options: NetOptions) -> None:
    """The checks that need no spec: training steps are bounded before the spec is read.

    Examples
    --------
    >>> check_options(NetOptions(steps=-1))
    Traceback (most recent call last):
    ...
    backproof.errors.SpecError: --steps: expected an integer >= 0, got -1
    """
    if options.steps is not None and options.steps < 0:
        raise SpecError(f"--steps: expected an integer >= 0, got {options.steps}")
    if options.steps is not None:
        limits.check("net_steps", options.steps, "--steps")


def with_learning_rate(net: NetProgram, learning_rate: float) -> NetProgram:
    """The network with another learning rate (exact: ``0.1`` is ``1/10``).

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> net = program_from_spec({"inputs": [1], "targets": [2], "loss": "sse",
    ...     "layers": [{"units": 1, "activation": "identity"}]})
    >>> with_learning_rate(net, 0.1).spec.learning_rate
    1/10
    """
    if not (learning_rate > 0 and learning_rate != float("inf")):
        raise SpecError(f"--learning-rate: expected a number > 0, got {learning_rate!r}")
    eta = sp.Rational(repr(learning_rate))
    return replace(net, learning_rate=eta, spec=replace(net.spec, learning_rate=eta))


def _param_names(net: NetProgram, text: str | None, what: str) -> list[str] | None:
    """Parameters written as names or entries (``w5`` or ``W2[0][0]``), comma-separated."""
    if text is None:
        return None
    resolved = []
    for t in (t.strip() for t in text.split(",")):
        if not t:
            continue
        name = net.matrix_names.get(t.replace(" ", ""), t)
        if name not in net.params:
            raise SpecError(f"{what}: unknown parameter {quote(t)} (a parameter name such as "
                            f"{net.params[0]} or an entry such as W1[0][0])")
        resolved.append(name)
    return resolved


def _plotted(net: NetProgram, options: NetOptions) -> tuple[str | None, tuple[str, str] | None]:
    """The ``--plot-weight`` and ``--plot-surface`` parameters, resolved and checked."""
    weight = _param_names(net, options.plot_weight, "--plot-weight")
    surface = _param_names(net, options.plot_surface, "--plot-surface")
    if weight is not None and len(weight) != 1:
        raise SpecError(f"--plot-weight: expected one parameter, got {quote(options.plot_weight)}")
    if surface is not None and (len(surface) != 2 or surface[0] == surface[1]):
        raise SpecError(f"--plot-surface: expected two different parameters P,Q, "
                        f"got {quote(options.plot_surface)}")
    return (weight[0] if weight else None), ((surface[0], surface[1]) if surface else None)


def resolve_run(net: NetProgram, options: NetOptions) -> NetRun:
    """Apply the options to a network: every option is checked here, once.

    Parameters
    ----------
    net : NetProgram
        The network as read from its spec.
    options : NetOptions

    Returns
    -------
    NetRun

    Raises
    ------
    SpecError
        An option that does not fit the network (too much training work, an unknown
        plotted parameter, a learning rate or tolerance out of range).
    """
    spec = net.spec
    if options.steps is not None:
        # Steps × parameters × samples, from the shapes, before the derivation starts.
        check_training(options.steps, spec.n_params, spec.n_samples, "--steps")
    weight, surface = _plotted(net, options)
    if options.learning_rate is not None:
        net = with_learning_rate(net, options.learning_rate)
    if options.tolerance is not None and not (0 <= options.tolerance < float("inf")):
        raise SpecError(f"--tolerance: expected a number >= 0, got {options.tolerance!r}")
    steps = options.steps if options.steps is not None else spec.steps
    if steps is None and options.plot:
        steps = 1
    track = tuple(tracked_params(net, weight, surface)) if (weight or surface) else None
    return NetRun(net, options.mode, steps, options.tolerance, track, weight, surface)


def run_network(run: NetRun) -> NetResult:
    """Explain one step of the network and, when the run trains, attach its history."""
    result = explain_network(run.net, mode=run.mode)
    if run.steps is None:
        return result
    history = train_network(run.net, steps=run.steps, tolerance=run.tolerance, mode=result.mode,
                            track=run.track)
    return result.with_history(history)

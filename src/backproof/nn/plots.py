"""Training plots (matplotlib, Agg backend): loss per step, loss against one weight, loss surface.

Builders return figures' bytes (PNG and SVG) keyed by file name; only
:func:`write_plots` touches the disk, through :func:`backproof.io.write_group`. Every
loss value drawn comes from the NumPy engine's activation and loss functions; SVGs
carry no date and a fixed hash salt, so the same run gives the same files.

* **loss vs step**: ``losses[k]`` after ``k`` updates (log scale when the loss spans
  more than two decades and stays positive).
* **loss vs weight**: the loss as a function of one parameter with every other
  parameter held at its starting value (solid) and at its final value (dashed), and
  the gradient-descent path ``(w_k, J_k)``. With one moving parameter the path lies on
  the solid curve; otherwise the other parameters move too, so the path starts on the
  solid curve and ends on the dashed one.
* **loss surface**: contours of the loss over two parameters (the others at their
  starting values) with the path of those two parameters.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import SpecError
from ..io import write_group
from .build import NetProgram
from .numeric import LossFunction
from .train import TrainHistory, default_plot_params

__all__ = ["build_plots", "write_plots", "PLOT_KINDS", "GRID"]

PLOT_KINDS = ("loss", "weight", "surface")
#: Grid points per axis of the curves and the surface.
GRID = 61


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "backproof"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, faster SVGs
    return plt


def _save(fig) -> dict[str, bytes]:
    out = {}
    for fmt, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=110, metadata=meta)
        out[fmt] = buf.getvalue()
    return out


def _span(path: np.ndarray) -> tuple[float, float]:
    lo, hi = float(np.min(path)), float(np.max(path))
    pad = max(hi - lo, 0.5 * max(1.0, abs(lo), abs(hi)), 1.0)
    return lo - pad, hi + pad


def build_plots(net, history, *, weight: str | None = None, surface: tuple[str, str] | None = None,
                prefix: str | None = None) -> dict[str, bytes]:
    """The three plots as ``{file name: bytes}`` (``<prefix>_loss.png`` …, PNG and SVG).

    Parameters
    ----------
    net : NetProgram
        The network (its spec gives the data and starting parameters).
    history : TrainHistory
        A training run whose ``path`` holds the plotted parameters.
    weight, surface : optional
        The parameter of the 1-D plot and the pair of the surface (default: the spec's
        ``plot`` field, else the first weight and the first bias).
    prefix : str, optional
        File name prefix (default: the spec's name).

    Examples
    --------
    >>> from backproof.nn import program_from_spec
    >>> from backproof.nn.train import train_network
    >>> net = program_from_spec({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> sorted(build_plots(net, train_network(net, steps=2), prefix="wxb"))[:2]
    ['wxb_loss.png', 'wxb_loss.svg']
    """
    plt = _plt()
    weight, surface = _plotted(net, history, weight, surface)
    prefix = prefix or net.spec.name
    f_start = LossFunction(net, {p: float(net.at[p]) for p in net.params}, full=True)
    f_final = LossFunction(net, dict(history.final), full=True)
    title = f"{net.spec.name} ({'-'.join(map(str, net.spec.sizes))}, {net.spec.loss})"
    files: dict[str, bytes] = {}
    # One figure at a time: each is drawn, saved and closed before the next is made.
    plots = (("loss", lambda: _loss_plot(plt, history, title)),
             (f"loss_vs_{weight}", lambda: _weight_plot(plt, net, history, weight, f_start, f_final)),
             (f"surface_{surface[0]}_{surface[1]}", lambda: _surface_plot(plt, net, history, surface, f_start)))
    for stem, draw in plots:
        fig = draw()
        for fmt, data in _save(fig).items():
            files[f"{prefix}_{stem}.{fmt}"] = data
        plt.close(fig)
    return files


def _plotted(net: NetProgram, history: TrainHistory, weight: str | None,
             surface: tuple[str, str] | None) -> tuple[str, tuple[str, str]]:
    """The plotted weight and surface pair (given, else the default), checked against the run."""
    w_default, s_default = default_plot_params(net)
    weight = weight or w_default
    pair = (surface[0], surface[1]) if surface else s_default
    for name in (weight, *pair):
        if name not in net.params:
            raise SpecError(f"plot: unknown parameter {name!r} (parameters: {', '.join(net.params[:10])}"
                            f"{', …' if len(net.params) > 10 else ''})")
        if name not in history.path:
            raise SpecError(f"plot: the training run did not record the path of {name!r}")
    return weight, pair


def _loss_plot(plt, history: TrainHistory, title: str):
    """1. loss vs step."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    steps = np.arange(len(history.losses))
    losses = np.array(history.losses)
    ax.plot(steps, losses, marker="o" if len(steps) <= 40 else None, markersize=3, color="tab:blue")
    positive = losses[losses > 0]
    if positive.size == losses.size and positive.size > 1 and positive.max() / positive.min() > 100:
        ax.set_yscale("log")
        # Plain tick labels: the default 10^k labels go through mathtext, which is slow.
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step (updates made)")
    ax.set_ylabel("loss J")
    ax.set_title(f"Loss per gradient-descent step — {title}")
    ax.grid(True, alpha=0.3)
    return fig


def _weight_plot(plt, net: NetProgram, history: TrainHistory, weight: str,
                 f_start: LossFunction, f_final: LossFunction):
    """2. loss vs one weight, with the path."""
    path_w = np.array(history.path[weight])
    lo, hi = _span(path_w)
    grid = np.linspace(lo, hi, GRID)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    ax.plot(grid, [f_start(**{weight: g}) for g in grid], color="tab:blue",
            label="loss, other parameters at their start")
    if len(net.params) > 1 and history.steps > 0:
        ax.plot(grid, [f_final(**{weight: g}) for g in grid], color="tab:gray", linestyle="--",
                label="loss, other parameters at their end")
    ax.plot(path_w, history.losses, color="tab:red", marker="o" if len(path_w) <= 40 else None,
            markersize=4, linewidth=1.2, label="gradient-descent path")
    ax.plot(path_w[-1:], history.losses[-1:], marker="*", color="gold", markeredgecolor="black",
            markersize=11, linestyle="none", label=f"after {history.steps} step{'s' * (history.steps != 1)}")
    if len(path_w) > 1:
        # One quiver for all the arrows (an annotation per step is slow to lay out).
        k = min(len(path_w) - 1, 10)  # arrows on the first steps only: later ones crowd
        dl = np.diff(history.losses[:k + 1])
        ax.quiver(path_w[:k], history.losses[:k], np.diff(path_w[:k + 1]), dl, angles="xy",
                  scale_units="xy", scale=1, color="tab:red", width=0.004, headwidth=5)
    ax.set_xlabel(weight)
    ax.set_ylabel("loss J")
    ax.set_title(f"Loss vs {weight} (gradient-descent path) — {net.spec.name}")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig


def _surface_plot(plt, net: NetProgram, history: TrainHistory, surface: tuple[str, str],
                  f_start: LossFunction):
    """3. loss surface over two parameters, with the path."""
    p, q = surface
    path_p, path_q = np.array(history.path[p]), np.array(history.path[q])
    gp = np.linspace(*_span(path_p), GRID)
    gq = np.linspace(*_span(path_q), GRID)
    Z = np.array([[f_start(**{p: a, q: b}) for a in gp] for b in gq])
    fig, ax = plt.subplots(figsize=(6.4, 5.0), layout="constrained")
    finite = Z[np.isfinite(Z)]
    levels: int | np.ndarray = 20
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 1e3:
        levels = np.geomspace(finite.min(), finite.max(), 20)
    cs = ax.contourf(gp, gq, Z, levels=levels, cmap="viridis")
    ax.contour(gp, gq, Z, levels=levels, colors="white", linewidths=0.3, alpha=0.5)
    fig.colorbar(cs, ax=ax, label="loss J (other parameters at their start)")
    ax.plot(path_p, path_q, color="tab:red", marker="o", markersize=3, linewidth=1.2,
            label="gradient-descent path")
    ax.plot(path_p[:1], path_q[:1], marker="s", color="white", markersize=6, label="start")
    ax.plot(path_p[-1:], path_q[-1:], marker="*", color="gold", markersize=10, label="end")
    ax.set_xlabel(p)
    ax.set_ylabel(q)
    ax.set_title(f"Loss surface over ({p}, {q}) — {net.spec.name}")
    ax.legend(fontsize=8, loc="best")
    return fig


def write_plots(files: dict[str, bytes], folder) -> list[Path]:
    """Write built plots into ``folder`` (creating it), all or none; return the paths."""
    return write_group({Path(folder, name): data for name, data in sorted(files.items())})

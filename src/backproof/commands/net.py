"""``backproof net``: a network spec's forward pass, backward pass (scalar or matrix view),
gradient-descent update, optional training on the NumPy engine, and plots.

Everything is built in memory first (write-up, plots, diagram); files are written only
when all of it succeeded, so bad input never leaves a partial output behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BackproofError
from ..io import is_special_file, read_stdin, write_group
from .graph import add_diagram_arguments

if TYPE_CHECKING:  # the networks package (SymPy, NumPy) is imported when the command runs
    from ..nn import NetProgram
    from ..nn.explain import NetResult
    from ..nn.run import NetOptions

__all__ = ["register", "run"]

EPILOG = """examples:
  backproof net examples/mazur.yaml                          # one forward/backward/update, step by step
  backproof net examples/mazur.yaml --view matrix            # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ′(z⁽ˡ⁾) with shapes
  backproof net examples/mazur.yaml --mode sequential        # output layer updated first
  backproof net examples/softmax_blobs.yaml --steps 300 --plot output/
  backproof net examples/mazur.yaml --format md -o output/mazur.md
  backproof net examples/mazur.yaml --format json --digits 9

A spec is YAML, JSON or TOML (see docs/network-spec.md): inputs, targets (or data: a
generator), layers (units, activation, weights, bias), loss, learning_rate, and
optionally names, steps, tolerance, mode, plot.
"""


def register(sub) -> argparse.ArgumentParser:
    """Add the ``net`` subcommand."""
    p = sub.add_parser(
        "net", help="derive, update and train a small neural network from a spec file",
        description="Build a network spec as named scalars, derive its gradients (scalar or "
                    "matrix view), show one gradient-descent update, and optionally train it "
                    "on the NumPy engine with plots.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC",
                   help="the network spec: a .yaml/.yml/.json/.toml file, or - for YAML on standard "
                        "input, e.g. examples/mazur.yaml")
    p.add_argument("--steps", type=int, default=None, metavar="K",
                   help="train K full-batch gradient-descent steps on the NumPy engine "
                        "(default: the spec's steps; none = one update only), e.g. --steps 200")
    p.add_argument("--tolerance", type=float, default=None, metavar="T",
                   help="stop training when an update lowers the loss by at most T or the "
                        "gradient norm falls below T (default: the spec's, else 0 = never), "
                        "e.g. --tolerance 1e-8")
    p.add_argument("--learning-rate", type=float, default=None, metavar="ETA",
                   help="override the spec's learning rate, e.g. --learning-rate 0.1")
    p.add_argument("--mode", choices=("simultaneous", "sequential"), default=None,
                   help="update order (default: the spec's, else simultaneous); sequential "
                        "updates the output layer first and propagates through the updated "
                        "weights, e.g. --mode sequential")
    p.add_argument("--view", choices=("scalar", "matrix", "both"), default="scalar",
                   help="backward pass per scalar (δ per unit, ∂J/∂w = δ·a) or per matrix "
                        "(with shapes), e.g. --view matrix (default: scalar)")
    p.add_argument("--plot", metavar="DIR", default=None,
                   help="write PNG and SVG plots (loss per step, loss vs a weight, loss surface) "
                        "into DIR, e.g. --plot output/; trains --steps (default 1) steps")
    p.add_argument("--plot-weight", metavar="NAME", default=None,
                   help="the parameter of the loss-vs-weight plot, e.g. --plot-weight w5 "
                        "(default: the spec's plot.weight, else the first weight)")
    p.add_argument("--plot-surface", metavar="P,Q", default=None,
                   help="the two parameters of the surface plot, e.g. --plot-surface w5,w6 "
                        "(default: the spec's plot.surface, else the first weight and bias)")
    p.add_argument("--format", choices=("text", "md", "json"), default=None,
                   help="write-up format (default: from the -o extension, else text), e.g. --format md")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write to FILE (atomically, creating folders; - for standard output), e.g. "
                        "-o output/mazur.md; a Markdown file gets the computational graph as an SVG "
                        "beside it")
    p.add_argument("--digits", type=int, default=6, metavar="N",
                   help="significant digits of numbers in text and Markdown, e.g. --digits 9 "
                        "(default: 6; JSON always has full precision)")
    p.add_argument("--no-steps", action="store_true",
                   help="leave out the appendix with every chain-rule step (text and Markdown)")
    p.add_argument("--no-diagram", action="store_true",
                   help="with -o FILE.md, do not write the SVG diagram beside it")
    add_diagram_arguments(p, "the network diagram")
    p.set_defaults(func=run)
    return p


def _load(arg: str) -> NetProgram:
    from ..nn import program_from_spec, program_from_spec_file
    from ..nn.spec import parse_spec_text
    if arg == "-":
        return program_from_spec(parse_spec_text(read_stdin(), "yaml", "standard input"), "standard input")
    return program_from_spec_file(arg)


def _options(args) -> NetOptions:
    from ..nn.run import NetOptions
    return NetOptions(steps=args.steps, tolerance=args.tolerance, learning_rate=args.learning_rate,
                      mode=args.mode, plot=bool(args.plot), plot_weight=args.plot_weight,
                      plot_surface=args.plot_surface)


def _format(args) -> str:
    if args.format is not None:
        return args.format
    suffix = Path(args.output).suffix.lower() if args.output else ""
    return {".md": "md", ".markdown": "md", ".json": "json"}.get(suffix, "text")


def _plot_refs(args, plot_dir: Path, names: list[str], prefix: str) -> list[tuple[str, str]]:
    """(title, path relative to the write-up) of every PNG plot, for the write-up's links."""
    base = Path(args.output).parent if args.output else Path(".")
    refs = []
    for name in names:
        if name.endswith(".png"):
            rel = os.path.relpath(plot_dir / name, base) if args.output else str(plot_dir / name)
            refs.append((_plot_title(name, prefix), Path(rel).as_posix()))
    return refs


def _wants_diagram(args, fmt: str, result: NetResult) -> bool:
    from ..render import network_diagram_fits
    return (fmt == "md" and bool(args.output) and not args.no_diagram and not is_special_file(args.output)
            and network_diagram_fits(result.net.spec))


def _write_up(args, fmt: str, result: NetResult, plot_dir: Path | None, plot_names: list[str],
              svg_name: str | None) -> str:
    from ..nn.report import render_json, render_markdown, render_text
    if fmt == "json":
        plots = [str(plot_dir / n) for n in plot_names] if plot_dir is not None and plot_names else None
        return render_json(result, plots=plots)
    refs = _plot_refs(args, plot_dir, plot_names, result.net.spec.name) if plot_dir is not None else []
    if fmt == "md":
        return render_markdown(result, view=args.view, digits=args.digits, appendix=not args.no_steps,
                               plots=refs, diagram=svg_name)
    return render_text(result, view=args.view, digits=args.digits, appendix=not args.no_steps, plots=refs)


def run(args) -> int:
    """Run ``backproof net``: read the options, run the network, write what comes back."""
    if args.digits < 1 or args.digits > 30:
        raise BackproofError(f"--digits must be between 1 and 30, got {args.digits}")
    from ..nn.plots import build_plots
    from ..nn.run import check_options, resolve_run, run_network
    options = _options(args)
    check_options(options)
    plan = resolve_run(_load(args.spec), options)
    fmt = _format(args)
    result = run_network(plan)

    # Build everything in memory first.
    plot_dir = Path(args.plot) if args.plot else None
    plot_files: dict[str, bytes] = {}
    if plot_dir is not None:
        plot_files = build_plots(plan.net, result.history, weight=plan.weight, surface=plan.surface)
    md_path = Path(args.output) if args.output else None
    diagram = _diagram(result, args) if md_path is not None and _wants_diagram(args, fmt, result) else None
    svg_path = md_path.with_suffix(".svg") if md_path is not None and diagram is not None else None
    text = _write_up(args, fmt, result, plot_dir, sorted(plot_files),
                     svg_path.name if svg_path is not None else None)

    # Then publish plots, diagram and write-up together: all of them or none.
    files: dict = {plot_dir / name: data for name, data in sorted(plot_files.items())} if plot_dir else {}
    if svg_path is not None:
        files[svg_path] = diagram
    if args.output:
        files[args.output] = text
    write_group(files)
    if not args.output:
        sys.stdout.write(text)
    if result.check is not None and not result.check.ok:
        print(f"backproof: the symbolic gradients disagree with the NumPy engine or finite "
              f"differences ({result.check.summary})", file=sys.stderr)
        return 1
    return 0


def _plot_title(name: str, prefix: str) -> str:
    stem = name[len(prefix) + 1:].rsplit(".", 1)[0]
    if stem == "loss":
        return "Loss per gradient-descent step"
    if stem.startswith("loss_vs_"):
        return f"Loss vs {stem[len('loss_vs_'):]} with the gradient-descent path"
    if stem.startswith("surface_"):
        return "Loss surface over two parameters with the gradient-descent path"
    return stem


def _diagram(result, args) -> bytes | None:
    """The network diagram as SVG bytes, one box per layer, δ per unit (None if unavailable)."""
    try:
        from ..render import build_network_diagram, render_bytes
    except ImportError:  # diagrams are optional for the write-up
        return None
    try:
        dot = build_network_diagram(result, legend=not args.no_legend, title=not args.no_title,
                                    dpi=args.dpi)
        return render_bytes(dot, "svg")
    except BackproofError:
        return None

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

from ..errors import BackproofError, SpecError, quote

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
    p.set_defaults(func=run)
    return p


def _load(arg: str):
    from ..nn import program_from_spec, program_from_spec_file
    from ..nn.spec import parse_spec_text
    if arg == "-":
        from ..io import read_stdin
        return program_from_spec(parse_spec_text(read_stdin(), "yaml", "standard input"),
                                 "standard input")
    return program_from_spec_file(arg)


def _names(net, text: str | None, what: str):
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    resolved = []
    for t in names:
        name = net.matrix_names.get(t.replace(" ", ""), t)
        if name not in net.params:
            raise SpecError(f"{what}: unknown parameter {quote(t)} (a parameter name such as "
                            f"{net.params[0]} or an entry such as W1[0][0])")
        resolved.append(name)
    return resolved


def run(args) -> int:
    """Run ``backproof net``."""
    from ..nn.explain import explain_network
    from ..nn.report import APPENDIX_NODES
    if args.digits < 1 or args.digits > 30:
        raise BackproofError(f"--digits must be between 1 and 30, got {args.digits}")
    if args.steps is not None and args.steps < 0:
        raise SpecError(f"--steps: expected an integer >= 0, got {args.steps}")
    if args.steps is not None:
        from .. import limits
        limits.check("net_steps", args.steps, "--steps")
    net = _load(args.spec)
    spec = net.spec
    if args.steps is not None:
        # Steps × parameters × samples, from the shapes, before the derivation starts.
        from ..nn.spec import check_training
        check_training(args.steps, spec.n_params, spec.n_samples, "--steps")
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output else ""
        fmt = {".md": "md", ".markdown": "md", ".json": "json"}.get(suffix, "text")
    weight = _names(net, args.plot_weight, "--plot-weight")
    surface = _names(net, args.plot_surface, "--plot-surface")
    if weight is not None and len(weight) != 1:
        raise SpecError(f"--plot-weight: expected one parameter, got {quote(args.plot_weight)}")
    if surface is not None and (len(surface) != 2 or surface[0] == surface[1]):
        raise SpecError(f"--plot-surface: expected two different parameters P,Q, "
                        f"got {quote(args.plot_surface)}")
    if args.learning_rate is not None:
        from dataclasses import replace

        import sympy as sp
        if not (args.learning_rate > 0 and args.learning_rate != float("inf")):
            raise SpecError(f"--learning-rate: expected a number > 0, got {args.learning_rate!r}")
        eta = sp.Rational(repr(args.learning_rate))
        net = replace(net, learning_rate=eta, spec=replace(spec, learning_rate=eta))
        spec = net.spec
    if args.tolerance is not None and not (0 <= args.tolerance < float("inf")):
        raise SpecError(f"--tolerance: expected a number >= 0, got {args.tolerance!r}")

    result = explain_network(net, mode=args.mode)
    steps = args.steps if args.steps is not None else spec.steps
    if steps is None and args.plot:
        steps = 1
    if steps is not None:
        from ..nn.train import train_network
        track = None
        if weight or surface:
            from ..nn.train import TRACK_ALL_LIMIT, default_plot_params
            w0, s0 = default_plot_params(net)
            track = net.params if spec.n_params <= TRACK_ALL_LIMIT else \
                list(dict.fromkeys((weight or [w0]) + list(surface or s0)))
        history = train_network(net, steps=steps, tolerance=args.tolerance, mode=result.mode, track=track)
        result = result.with_history(history)

    # Build everything in memory first.
    plot_files: dict[str, bytes] = {}
    if args.plot:
        from ..nn.plots import build_plots
        plot_files = build_plots(net, result.history, weight=weight[0] if weight else None,
                                 surface=tuple(surface) if surface else None)
    base = Path(args.output).parent if args.output else Path(".")
    plot_dir = Path(args.plot) if args.plot else None
    plot_refs = []
    for name in sorted(plot_files):
        if name.endswith(".png"):
            rel = os.path.relpath(plot_dir / name, base) if args.output else str(plot_dir / name)
            plot_refs.append((_plot_title(name, spec.name), Path(rel).as_posix()))
    from ..io import is_special_file, write_group
    diagram = None
    if fmt == "md" and args.output and not args.no_diagram and not is_special_file(args.output) \
            and result.derivation.graph.number_of_nodes() <= APPENDIX_NODES:
        diagram = _diagram(result)
    md_path = Path(args.output) if args.output else None
    if fmt == "json":
        text = result.to_json(plots=[str(plot_dir / n) for n in sorted(plot_files)] if plot_files else None)
    elif fmt == "md":
        svg_name = md_path.with_suffix(".svg").name if diagram is not None else None
        text = result.to_markdown(view=args.view, digits=args.digits, appendix=not args.no_steps,
                                  plots=plot_refs, diagram=svg_name)
    else:
        text = result.to_text(view=args.view, digits=args.digits, appendix=not args.no_steps,
                              plots=plot_refs)

    # Then publish plots, diagram and write-up together: all of them or none.
    files: dict = {plot_dir / name: data for name, data in sorted(plot_files.items())}
    if diagram is not None:
        files[md_path.with_suffix(".svg")] = diagram
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


def _diagram(result) -> bytes | None:
    """The computational graph as SVG bytes with one cluster per layer (None if unavailable)."""
    try:
        from ..render import build_diagram, render_bytes
    except ImportError:  # diagrams are optional for the write-up
        return None
    try:
        dot = build_diagram(result.derivation, view="backward", clusters=dict(result.net.clusters))
        return render_bytes(dot, "svg")
    except BackproofError:
        return None

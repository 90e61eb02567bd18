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

#: Write-up formats and the file extensions that choose them (as for ``explain``).
FORMATS = ("text", "md", "tex", "html", "json")
SUFFIXES = {".md": "md", ".markdown": "md", ".json": "json", ".tex": "tex", ".html": "html", ".htm": "html"}
NOTATIONS = ("delta", "leibniz", "cs231n")  # backproof.report.notation.NOTATIONS, without importing SymPy

EPILOG = """examples:
  backproof net examples/mazur.yaml                          # one forward/backward/update, step by step
  backproof net examples/mazur.yaml --view matrix            # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ′(z⁽ˡ⁾) with shapes
  backproof net examples/mazur.yaml --mode sequential        # output layer updated first
  backproof net examples/softmax_blobs.yaml --steps 300 --plot output/
  backproof net examples/mazur.yaml --format md -o output/mazur.md
  backproof net examples/mazur.yaml --format json --digits 9
  backproof net examples/mazur.yaml -o mazur.html                # one self-contained page
  backproof net examples/mazur.yaml -o mazur.tex                 # pdflatex mazur.tex
  backproof net examples/mazur.yaml --compact --notation cs231n  # one line per unit; dz, dw, db
  backproof net examples/mazur.yaml --appendix                   # and every scalar chain-rule step

A spec is YAML, JSON or TOML (see docs/network-spec.md): inputs, targets (or data: a
generator), layers (units, activation, weights, bias), loss, learning_rate, and
optionally names, steps, tolerance, mode, plot, and the training loop's optimizer,
schedule, regularization, batch, show_steps and explain_samples.
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
                   help="train K steps on the NumPy engine, with the spec's optimizer, schedule, "
                        "regularization and batch (default: full-batch gradient descent; the spec's "
                        "steps; none = one update only), e.g. --steps 200")
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
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="write-up format (default: from the -o extension, else text): text, md (GitHub "
                        "Markdown), tex (a LaTeX article for pdflatex), html (one self-contained page), "
                        "json; e.g. --format html")
    p.add_argument("--notation", choices=NOTATIONS, default="delta",
                   help="how gradients are written: delta (δ⁽ˡ⁾ᵢ = ∂J/∂z⁽ˡ⁾ᵢ, ∂J/∂w; the default), leibniz "
                        "(∂J/∂z⁽ˡ⁾ᵢ written out) or cs231n (dz, dw, db); e.g. --notation cs231n")
    p.add_argument("--compact", action="store_true",
                   help="one line per unit: ∂J/∂a folded into the line of δ (default: a line for each)")
    p.add_argument("--fragment", action="store_true",
                   help="with --format tex: only the align* blocks, to paste into your own document")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write to FILE (atomically, creating folders; - for standard output), e.g. "
                        "-o output/mazur.md; a Markdown file gets the computational graph as an SVG "
                        "beside it, a LaTeX file a PDF (with Graphviz's dot); an HTML page has it inline")
    p.add_argument("--digits", type=int, default=6, metavar="N",
                   help="significant digits of numbers in text and Markdown, e.g. --digits 9 "
                        "(default: 6; JSON always has full precision)")
    p.add_argument("--appendix", action="store_true",
                   help="append every scalar chain-rule step, as `backproof explain` writes them (graphs "
                        "up to 400 nodes; default: the δ view only)")
    p.add_argument("--no-steps", action="store_true",
                   help="no chain-rule appendix (the default now; kept for scripts that pass it)")
    p.add_argument("--no-diagram", action="store_true",
                   help="no diagram: none beside -o FILE.md or FILE.tex, none inside the HTML page")
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
    return SUFFIXES.get(suffix, "text")


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
    """A diagram goes beside -o FILE.md (SVG) or FILE.tex (PDF), or inside the HTML page."""
    from ..render import network_diagram_fits
    if args.no_diagram or not network_diagram_fits(result.net.spec):
        return False
    if fmt == "html":
        return True
    return fmt in ("md", "tex") and not args.fragment and bool(args.output) and not is_special_file(args.output)


def _figures(args, fmt: str, result: NetResult, plot_dir: Path | None, plot_files: dict[str, bytes]):
    """The training plots as the format embeds them: a path (Markdown, text, LaTeX: the PNG) or
    the SVG text (HTML, self-contained)."""
    from ..report.document import Figure
    if plot_dir is None:
        return []
    refs = _plot_refs(args, plot_dir, sorted(plot_files), result.net.spec.name)
    if fmt == "html":
        return [Figure(title, svg=plot_files[Path(path).with_suffix(".svg").name].decode("utf-8"))
                for title, path in refs]
    if fmt == "tex":
        return [Figure(title, pdf=path) for title, path in refs]
    return [Figure(title, path=path) for title, path in refs]


def _diagram_ref(args, fmt: str, result: NetResult, files: dict) -> str | None:
    """The diagram for the write-up: its SVG text (HTML), or its file beside -o FILE, added to
    ``files``, by relative name (None when it cannot be rendered here)."""
    data = _diagram(result, args, "pdf" if fmt == "tex" else "svg")
    if data is None:
        return None
    if fmt == "html":
        return data.decode("utf-8")
    out = Path(args.output)
    # pdflatex writes FILE.pdf itself: the diagram of a LaTeX write-up is FILE-graph.pdf.
    path = out.with_suffix(".svg") if fmt == "md" else out.with_name(out.stem + "-graph.pdf")
    files[path] = data
    return path.name


def _write_up(args, fmt: str, result: NetResult, plots: list, diagram: str | None) -> str:
    """The write-up text; ``diagram`` is the graph's relative path (md, tex) or SVG text (html)."""
    from ..nn.report import NetWriteup, network_document
    from ..report.document import Figure
    alt = "Computational graph of J, one box per layer: values and gradients"
    figure = None
    if diagram is not None:
        figure = Figure(alt, svg=diagram) if fmt == "html" else (
            Figure(alt, pdf=diagram) if fmt == "tex" else Figure(alt, path=diagram))
    doc = network_document(result, NetWriteup(view=args.view, notation=args.notation, compact=args.compact,
                                              appendix=args.appendix and not args.no_steps,
                                              digits=args.digits, figure=figure, plots=tuple(plots)))
    from ..report.html import print_html
    from ..report.latex import print_latex
    from ..report.markdown import print_markdown
    from ..report.text import print_text
    if fmt == "md":
        return print_markdown(doc)
    if fmt == "tex":
        return print_latex(doc, fragment=args.fragment)
    if fmt == "html":
        return print_html(doc)
    return print_text(doc, color=args.output is None and sys.stdout.isatty())


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
    if args.fragment and fmt != "tex":
        raise BackproofError(f"--fragment applies to --format tex only, not {fmt}")
    result = run_network(plan)

    # Build everything in memory first.
    plot_dir = Path(args.plot) if args.plot else None
    plot_files: dict[str, bytes] = {}
    if plot_dir is not None:
        plot_files = build_plots(plan.net, result.history, weight=plan.weight, surface=plan.surface)
    files: dict = {plot_dir / name: data for name, data in sorted(plot_files.items())} if plot_dir else {}
    diagram_ref = _diagram_ref(args, fmt, result, files) if _wants_diagram(args, fmt, result) else None
    if fmt == "json":
        from ..nn.report import render_json
        names = sorted(plot_files) if plot_dir is not None else []
        text = render_json(result, plots=[str(Path(args.plot) / n) for n in names] or None)
    else:
        text = _write_up(args, fmt, result, _figures(args, fmt, result, plot_dir, plot_files), diagram_ref)

    # Then publish plots, diagram and write-up together: all of them or none.
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


def _diagram(result, args, fmt: str = "svg") -> bytes | None:
    """The network diagram as SVG (or PDF) bytes, one box per layer, δ per unit (None if unavailable)."""
    try:
        from ..render import build_network_diagram, render_bytes
    except ImportError:  # diagrams are optional for the write-up
        return None
    try:
        dot = build_network_diagram(result, legend=not args.no_legend, title=not args.no_title,
                                    dpi=args.dpi)
        return render_bytes(dot, fmt)
    except BackproofError:
        return None

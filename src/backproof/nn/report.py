"""Write-ups of a network step (text, Markdown, JSON): they format a NetResult, never compute.

The network-shaped sections (forward pass per layer, the scalar or matrix view, the
update table, training, checks) are written here; the generic chain-rule derivation
is appended from :func:`backproof.report.render_text` / ``render_markdown`` for
graphs of at most :data:`APPENDIX_NODES` nodes, and :func:`backproof.report.derivation_dict`
for JSON.
"""

from __future__ import annotations

import math
import re

import sympy as sp

from .. import __version__
from ..losses import LOSS_ROWS
from ..ops import OPS
from ..printing import format_number, to_latex, to_text
from ..report import derivation_dict
from ..report.jsonout import to_json_text
from ..report.markdown import render_markdown as _derivation_markdown
from ..report.text import render_text as _derivation_text
from ..verify import Skipped
from .views import ACT_DERIVATIVE

__all__ = ["render_text", "render_markdown", "render_json", "network_dict", "VIEWS",
           "APPENDIX_NODES", "SHOW_SAMPLES", "MAX_ROWS"]

VIEWS = ("scalar", "matrix", "both")
#: Graphs up to this size get the full step-by-step derivation appended.
APPENDIX_NODES = 400
#: Samples shown one by one in the forward pass and the scalar view.
SHOW_SAMPLES = 3
#: Rows shown per section before "… N more (in --format json)".
MAX_ROWS = 300
#: Matrices with more entries than this are shown by shape only (values in JSON).
MAX_ENTRIES = 36

_LOSS_TEXT = {name: row.text for name, row in LOSS_ROWS.items()}
_LOSS_LATEX = {name: row.latex for name, row in LOSS_ROWS.items()}
_MODE_TEXT = {
    "simultaneous": "simultaneous: every parameter moves by the gradients of the same forward and "
                    "backward pass",
    "sequential": "sequential: the output layer is updated first and each earlier layer's error "
                  "flows back through the already updated weights above it (forward values unchanged)",
}


def _num(x, digits: int = 6) -> str:
    return format_number(x, digits)


def _pn(x, digits: int = 6) -> str:
    t = _num(x, digits)
    return f"({t})" if t.startswith("-") else t


def _f(x) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


# --- names in LaTeX ------------------------------------------------------------------

_NAME = re.compile(r"^(?P<q>[zabeS]|w|δ)(?P<l>\d+)(?:_(?P<i>\d+))?(?:_(?P<j>\d+))?(?:_s(?P<s>\d+))?$")
_IO = re.compile(r"^(?P<q>[xy])_(?P<i>\d+)(?:_s(?P<s>\d+))?$")


def latex_name(name: str) -> str:
    """LaTeX for a network scalar name: ``w2_0_1 -> w^{(2)}_{01}``, ``δ1_0 -> \\delta^{(1)}_{0}``.

    Examples
    --------
    >>> latex_name("z1_0_s2"), latex_name("x_1"), latex_name("w5")
    ('z^{(1)}_{0,\\\\langle 2\\\\rangle}', 'x_{1}', 'w_{5}')
    """
    sample = ""
    m = _IO.match(name)
    if m:
        if m["s"] is not None:
            sample = rf",\langle {m['s']}\rangle"
        return f"{m['q']}_{{{m['i']}{sample}}}"
    m = _NAME.match(name)
    if m and ((m["q"] in "zabeδ" and m["i"] is not None and m["j"] is None)
              or (m["q"] == "w" and m["j"] is not None) or (m["q"] == "S" and m["i"] is None)):
        q = {"δ": r"\delta"}.get(m["q"], m["q"])
        if m["s"] is not None:
            sample = rf",\langle {m['s']}\rangle"
        if m["q"] == "S":
            return f"S^{{({m['l']})}}" + (rf"_{{\langle {m['s']}\rangle}}" if m["s"] else "")
        idx = m["i"] if m["j"] is None else (m["i"] + m["j"] if len(m["i"] + m["j"]) == 2
                                              else f"{m['i']},{m['j']}")
        return f"{q}^{{({m['l']})}}_{{{idx}{sample}}}"
    if name.startswith("J_s") and name[3:].isdigit():
        return rf"J_{{\langle {name[3:]}\rangle}}"
    return to_latex(sp.Symbol(name))


def _mat_text(M, digits) -> str:
    r, c = M.shape
    if r * c > MAX_ENTRIES:
        return f"({r}×{c}; values in --format json)"
    return "[" + ", ".join("[" + ", ".join(_num(M[i, j], digits) for j in range(c)) + "]"
                           for i in range(r)) + "]"


def _mat_latex(M, digits) -> str:
    r, c = M.shape
    if r * c > MAX_ENTRIES:
        return rf"(\text{{{r}×{c}}})"
    rows = [" & ".join(_num(M[i, j], digits) for j in range(c)) for i in range(r)]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


# --- shared pieces ----------------------------------------------------------------------

def _title(result) -> str:
    spec = result.net.spec
    sizes = "-".join(map(str, spec.sizes))
    acts = ", ".join(layer.activation for layer in spec.layers)
    return (f"{spec.name}: a {sizes} network ({acts}), loss {spec.loss}, "
            f"{spec.n_samples} sample{'s' * (spec.n_samples != 1)}")


def _layer_lines(result) -> list[str]:
    spec = result.net.spec
    out = []
    for l, layer in enumerate(spec.layers, start=1):
        src = "the inputs" if l == 1 else f"layer {l - 1}"
        how = f", initialised ({layer.initializer}, seed {spec.seed})" if layer.initialized else ""
        out.append(f"layer {l}: {layer.units} unit{'s' * (layer.units != 1)}, {layer.activation}; "
                   f"W{l} is {layer.units}×{layer.fan_in} (units × fan_in, from {src}), "
                   f"b{l} has {layer.units}{how}")
    return out


def _names_line(result) -> str:
    spec = result.net.spec
    if not spec.names:
        return ""
    return "names: " + ", ".join(f"{a} = {e}" for a, e in spec.names)


def _z_terms(result, l, s, i):
    """(symbolic, substituted) of z = Σ w·a + b, in textbook order."""
    net = result.net
    lay = net.layout
    V = result.derivation.values
    prev = lay.x[s] if l == 0 else lay.a[l - 1][s]
    ws = lay.W[l][i]
    sym = " + ".join(f"{w}·{a}" for w, a in zip(ws, prev)) + f" + {lay.b[l][i]}"
    return sym, [(V[w], V[a]) for w, a in zip(ws, prev)], V[lay.b[l][i]]


def _samples(spec):
    return range(min(spec.n_samples, SHOW_SAMPLES))


def _more_samples(spec) -> str:
    extra = spec.n_samples - SHOW_SAMPLES
    return (f"… {extra} more sample{'s' * (extra != 1)} (every value is in --format json)"
            if extra > 0 else "")


def _shown_statements(net):
    """The statements of the first samples shown, and the batch mean."""
    n = net.spec.n_samples
    if n <= SHOW_SAMPLES:
        return list(net.program.statements)
    keep = tuple(f"_s{s}" for s in range(SHOW_SAMPLES))
    return [st for st in net.program.statements if st.name == "J" or st.name.endswith(keep)]


def _cap(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_ROWS:
        return lines
    return lines[:MAX_ROWS] + [f"… {len(lines) - MAX_ROWS} more {what} (all in --format json)"]


def _history_rows(h) -> list[int]:
    """Steps shown in the training table: the first ten, about twenty spread out, the last."""
    n = len(h.losses)
    if n <= 30:
        return list(range(n))
    stride = max(1, (n - 10) // 20)
    rows = list(range(10)) + list(range(10, n - 1, stride)) + [n - 1]
    return sorted(set(rows))


# --- text ------------------------------------------------------------------------------

def render_text(result, *, view: str = "scalar", digits: int = 6, appendix: bool = True,
                plots: list[tuple[str, str]] | None = None) -> str:
    """The terminal write-up of a network step (plain text).

    Examples
    --------
    >>> from backproof.nn.explain import explain_network
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> print(render_text(r, appendix=False).splitlines()[0])
    backproof net — network: a 1-1 network (identity), loss half_sse, 1 sample
    """
    n = lambda x: _num(x, digits)  # noqa: E731
    pn = lambda x: _pn(x, digits)  # noqa: E731
    L = _head_text(result) + _given_text(result, digits) + _forward_text(result, n, pn)
    if view in ("scalar", "both"):
        L.append("")
        L.extend(_scalar_text(result, n, pn))
    if view in ("matrix", "both") and result.matrix is not None:
        L.append("")
        L.extend(_matrix_text(result, digits))
    if result.updates:
        L.append("")
        L.extend(_update_text(result, n))
    if result.history is not None:
        L.append("")
        L.extend(_history_text(result, digits))
    if plots:
        L.append("")
        L.append("Plots")
        L.extend(f"  {title}: {path}" for title, path in plots)
    L.append("")
    L.append("Verification")
    L.extend("  " + line for line in _verification_lines(result))
    text = "\n".join(L) + "\n"
    if appendix:
        text += "\n" + _appendix_text(result)
    return text


def _head_text(result) -> list[str]:
    """Title, description, the network and its program."""
    net, spec = result.net, result.net.spec
    L: list[str] = [f"backproof net — {_title(result)}"]
    if spec.description:
        L.append(spec.description.strip())
    L.append("")
    L.append("Network")
    L.extend("  " + s for s in _layer_lines(result))
    L.append(f"  loss: {spec.loss} = {_LOSS_TEXT[spec.loss]} per sample"
             + (f", J = mean over the {spec.n_samples} samples" if spec.n_samples > 1 else ""))
    L.append(f"  parameters: {spec.n_params}" + (f"; {_names_line(result)}" if spec.names else ""))
    L.append("")
    L.append("Program (named scalars; `backproof explain` reads the same statements)")
    L.extend(_cap([f"  {st.name} = {to_text(st.expr)}" for st in _shown_statements(net)], "statements"))
    if _more_samples(spec):
        L.append("  " + _more_samples(spec).replace("sample", "sample's statements", 1))
    L.append("")
    return L


def _given_text(result, digits) -> list[str]:
    """The inputs, targets and starting parameters."""
    spec, lay = result.net.spec, result.net.layout
    V = result.derivation.values
    n = lambda x: _num(x, digits)  # noqa: E731
    L = ["Given"]
    for s in _samples(spec):
        tag = f"  sample {s}: " if spec.n_samples > 1 else "  "
        L.append(tag + ", ".join(f"{x} = {n(V[x])}" for x in lay.x[s]) + "; targets "
                 + ", ".join(f"{y} = {n(V[y])}" for y in lay.y[s]))
    if _more_samples(spec):
        L.append("  " + _more_samples(spec))
    for l in range(len(spec.layers)):
        W = sp.Matrix([[V[w] for w in row] for row in lay.W[l]])
        b = sp.Matrix([V[v] for v in lay.b[l]])
        L.append(f"  W{l + 1} = {_mat_text(W, digits)}   b{l + 1} = {_mat_text(b.T, digits)}")
    L.append("")
    return L


def _forward_layer_text(result, l: int, s: int, n, pn) -> list[str]:
    layer, lay = result.net.spec.layers[l], result.net.layout
    V = result.derivation.values
    fwd = [f"  layer {l + 1} ({layer.activation})"]
    for i in range(layer.units):
        sym, pairs, bias = _z_terms(result, l, s, i)
        subst = " + ".join(f"{pn(w)}·{pn(a)}" for w, a in pairs) + f" + {pn(bias)}"
        z = lay.z[l][s][i]
        fwd.append(f"    {z} = {sym} = {subst} = {n(V[z])}")
    if layer.activation == "softmax":
        zs = lay.z[l][s]
        fwd.append(f"    softmax: a_i = exp(z_i) / Σ_j exp(z_j) over {', '.join(zs)}")
    if layer.activation != "identity":
        for i in range(layer.units):
            z, a = lay.z[l][s][i], lay.a[l][s][i]
            fwd.append(f"    {a} = {layer.activation}({z}) = {layer.activation}({n(V[z])}) = {n(V[a])}")
    return fwd


def _forward_text(result, n, pn) -> list[str]:
    """The forward pass, sample by sample and layer by layer, then J."""
    spec, lay = result.net.spec, result.net.layout
    V = result.derivation.values
    L = ["Forward pass"]
    fwd: list[str] = []
    for s in _samples(spec):
        if spec.n_samples > 1:
            fwd.append(f"  sample {s}")
        for l in range(len(spec.layers)):
            fwd.extend(_forward_layer_text(result, l, s, n, pn))
        if spec.n_samples > 1:
            fwd.append(f"    loss of sample {s}: {lay.loss[s]} = {n(V[lay.loss[s]])}")
    L.extend(_cap(fwd, "lines"))
    if _more_samples(spec):
        L.append("  " + _more_samples(spec))
    L.append(f"  J = {n(result.loss)}" + (f"   (mean of the {spec.n_samples} per-sample losses)"
                                          if spec.n_samples > 1 else ""))
    return L


def _delta_text(d, n, pn) -> list[str]:
    """The lines of one δ: ∂J/∂a (through the layer above, or at the output), then δ."""
    rows = []
    if d.back:
        terms = " + ".join(f"{dn}·{w}" for dn, w, _, _ in d.back)
        vals = " + ".join(f"{pn(dv)}·{pn(wv)}" for _, _, dv, wv in d.back)
        rows.append(f"    ∂J/∂{d.a} = {terms} = {vals} = {n(d.dJ_da)}")
    elif d.dJ_da_symbolic is not None:
        rows.append(f"    ∂J/∂{d.a} = {to_text(d.dJ_da_symbolic)} = {n(d.dJ_da)}")
    else:
        rows.append(f"    ∂J/∂{d.a} = {n(d.dJ_da)}")
    if d.activation == "identity":
        rows.append(f"    {d.name} = ∂J/∂{d.z} = {n(d.delta)}   (identity layer: a = z, ∂a/∂z = 1)")
    elif d.activation == "softmax":
        terms = " + ".join(f"{pn(g)}·{pn(j)}" for _, g, j in d.softmax_terms)
        rows.append(f"    {d.name} = Σₘ ∂J/∂aₘ · ∂aₘ/∂{d.z} = {terms} = {n(d.delta)}   "
                    f"({ACT_DERIVATIVE['softmax']})")
    else:
        rows.append(f"    {d.name} = ∂J/∂{d.a} · ∂{d.a}/∂{d.z} = {pn(d.dJ_da)} · {pn(d.da_dz)} = "
                    f"{n(d.delta)}   ({ACT_DERIVATIVE[d.activation]})")
    if d.note:
        rows.append(f"      simplification: {d.note} = {n(d.delta)}")
    return rows


def _param_text(result, p, n, pn) -> str:
    """The line of one parameter's gradient ∂J/∂p = Σ δ·a."""
    label = p.name if p.name == p.entry else f"{p.name} ({p.entry})"
    if len(p.terms) == 1 and p.terms[0][1] is None:
        return f"    ∂J/∂{label} = {p.terms[0][0]} = {n(p.gradient)}"
    if len(p.terms) <= SHOW_SAMPLES:
        sym = " + ".join(f"{dn}·{an}" if an else dn for dn, an, _, _ in p.terms)
        vals = " + ".join(f"{pn(dv)}·{pn(av)}" if an else pn(dv) for _, an, dv, av in p.terms)
    else:
        first = p.terms[:2]
        sym = " + ".join(f"{dn}·{an}" if an else dn for dn, an, _, _ in first) + " + …"
        vals = f"(sum of {len(p.terms)} terms)"
    chain = _chain_text(result, p)
    return f"    ∂J/∂{label} = {chain}{sym} = {vals} = {n(p.gradient)}"


def _scalar_text(result, n, pn) -> list[str]:
    spec = result.net.spec
    sv = result.scalar
    L = ["Backward pass — scalar view (each δ = ∂J/∂z is computed once and reused)"]
    rows: list[str] = []
    shown = set(_samples(spec))
    current = None
    for d in sv.deltas:
        if d.sample is not None and d.sample not in shown:
            continue
        if current != d.layer:
            current = d.layer
            rows.append(f"  layer {d.layer} ({d.activation}"
                        f"{', output' if d.layer == len(spec.layers) else ''})")
        rows.extend(_delta_text(d, n, pn))
    L.extend(_cap(rows, "lines"))
    if _more_samples(spec):
        L.append("  " + _more_samples(spec))
    L.append("  parameters: ∂J/∂w = δ · a (the input the weight multiplies), ∂J/∂b = δ"
             + ("; summed over the samples" if spec.n_samples > 1 else ""))
    L.extend(_cap([_param_text(result, p, n, pn) for p in sv.params], "parameters"))
    return L


def _chain_pieces(result, p):
    """(a, z, w) names of the textbook chain ∂J/∂a · ∂a/∂z · ∂z/∂w for a weight of one
    sample in an elementwise layer, else None."""
    lay = result.net.layout
    l = p.layer - 1
    if p.col is None or len(p.terms) != 1 or result.net.spec.layers[l].activation == "softmax":
        return None
    return lay.a[l][0][p.row], lay.z[l][0][p.row], p.name


def _chain_text(result, p) -> str:
    pieces = _chain_pieces(result, p)
    if pieces is None:
        return ""
    a, z, w = pieces
    return (f"∂J/∂{z} · ∂{z}/∂{w} = " if a == z else f"∂J/∂{a} · ∂{a}/∂{z} · ∂{z}/∂{w} = ")


def _chain_latex(result, p) -> str:
    pieces = _chain_pieces(result, p)
    if pieces is None:
        return ""
    a, z, w = (latex_name(x) for x in pieces)
    d = lambda u, v: rf"\frac{{\partial {u}}}{{\partial {v}}}"  # noqa: E731
    return (f"{d('J', z)}{d(z, w)} = " if a == z else f"{d('J', a)}{d(a, z)}{d(z, w)} = ")


def _shape(M) -> str:
    return f"{M.shape[0]}×{M.shape[1]}"


def _matrix_text(result, digits) -> list[str]:
    mv = result.matrix
    spec = result.net.spec
    Lh = len(mv.layers)
    mt = lambda M: _mat_text(M, digits)  # noqa: E731
    L = ["Backward pass — matrix view (column vectors; the samples are the columns)"]
    L.append(f"  {mv.grad_formula} at the output (ŷ = a⁽{Lh}⁾, K = {mv.layers[-1].units} outputs, "
             f"n = {mv.n_samples} sample{'s' * (mv.n_samples != 1)})")
    for m in reversed(mv.layers):
        l = m.layer
        L.append(f"  layer {l} ({m.activation})")
        L.append(f"    z⁽{l}⁾ = W⁽{l}⁾a⁽{l - 1}⁾ + b⁽{l}⁾   [{_shape(m.Z)}] = [{_shape(m.W)}][{_shape(m.A_prev)}] + "
                 f"[{_shape(m.b)}] = {mt(m.Z)}")
        L.append(f"    a⁽{l}⁾ = {m.activation}(z⁽{l}⁾) = {mt(m.A)}")
        if l == Lh:
            L.append(f"    ∇ₐJ = {mt(m.grad_a)}   [{_shape(m.grad_a)}]")
        else:
            up = mv.layers[l]
            L.append(f"    (W⁽{l + 1}⁾)ᵀδ⁽{l + 1}⁾   [{_shape(m.grad_a)}] = [{up.W.shape[1]}×{up.W.shape[0]}]"
                     f"[{_shape(up.delta)}] = {mt(m.grad_a)}")
        if m.act_deriv is not None:
            head = "∇ₐJ" if l == Lh else f"(W⁽{l + 1}⁾)ᵀδ⁽{l + 1}⁾"
            L.append(f"    σ′(z⁽{l}⁾) = {mt(m.act_deriv)}   ({ACT_DERIVATIVE[m.activation]})")
            L.append(f"    δ⁽{l}⁾ = {head} ⊙ σ′(z⁽{l}⁾)   [{_shape(m.delta)}] = {mt(m.delta)}")
        else:
            L.append(f"    δ⁽{l}⁾ = (∂a⁽{l}⁾/∂z⁽{l}⁾)ᵀ ∇ₐJ per sample (softmax Jacobian diag(a) − aaᵀ)   "
                     f"[{_shape(m.delta)}] = {mt(m.delta)}")
        if m.simplified is not None:
            same = all(abs(float(m.simplified[i, j] - m.delta[i, j])) <= 1e-20 * max(1.0, abs(float(m.delta[i, j])))
                       for i in range(m.delta.shape[0]) for j in range(m.delta.shape[1]))
            L.append(f"    simplification ({m.activation} + {spec.loss}): {m.simplified_formula} = "
                     f"{mt(m.simplified)}   {'(the same δ)' if same else '(DIFFERS)'}")
        L.append(f"    ∂J/∂W⁽{l}⁾ = δ⁽{l}⁾a⁽{l - 1}⁾ᵀ   [{_shape(m.dW)}] = [{_shape(m.delta)}][{m.A_prev.shape[1]}×"
                 f"{m.A_prev.shape[0]}] = {mt(m.dW)}")
        L.append(f"    ∂J/∂b⁽{l}⁾ = δ⁽{l}⁾·1   [{_shape(m.db)}] = {mt(m.db)}")
    return L


def _update_text(result, n) -> list[str]:
    net = result.net
    eta = net.learning_rate
    L = [f"Gradient-descent update: new = old − η · ∂J/∂p with η = {n(eta)}",
         f"  mode {_MODE_TEXT[result.mode]}"]
    entries = {v: k for k, v in net.matrix_names.items() if "[" in k and k[0] in "Wb"}
    rows = [("parameter", "entry", "old", "∂J/∂p", "new")]
    for s in result.updates:
        old, grad, _ = s.factors
        rows.append((s.target, entries.get(s.target, ""), n(old), n(grad), n(s.value)
                     + (" *" if s.note else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    L.extend(_cap(lines, "parameters"))
    if any(s.note for s in result.updates):
        L.append("  * " + next(s.note for s in result.updates if s.note))
    return L


def _history_text(result, digits) -> list[str]:
    h = result.history
    L = [f"Training on the NumPy engine (full batch, η = {h.learning_rate:g}, {h.mode}, tolerance {h.tolerance:g})"]
    L.append(f"  stopped: {h.reason}")
    rows = [("step", "loss J", "‖∇J‖")]
    for k in _history_rows(h):
        rows.append((str(k), _num(h.losses[k], digits), _num(h.grad_norms[k], digits)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    L.extend("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)
    L.append(f"  loss: {_num(h.losses[0], digits)} → {_num(h.final_loss, digits)}")
    if len(h.final) <= 40:
        L.append("  final parameters: " + ", ".join(f"{k} = {_num(v, digits)}" for k, v in h.final.items()))
    return L


def _verification_lines(result) -> list[str]:
    out = []
    if result.check is not None:
        out.append(result.check.summary)
    if result.view_diff is not None:
        out.append(f"matrix view and scalar view agree: max relative difference {result.view_diff:.1e} "
                   f"(30-digit arithmetic)")
    out.extend(f"note: {lim}" for lim in result.limits)
    return out


def _engine_check(result) -> Skipped | None:
    """The derivation's own cross-check is not run: the appendix reports the network's check."""
    return Skipped(result.check.summary, result.check.summary) if result.check is not None else None


def _appendix_text(result) -> str:
    g = result.derivation.graph
    if g.number_of_nodes() > APPENDIX_NODES:
        return (f"(The step-by-step chain-rule derivation is omitted: the graph has "
                f"{g.number_of_nodes()} nodes, more than {APPENDIX_NODES}.)\n")
    return "Every chain-rule step\n\n" + _derivation_text(result.derivation, check=_engine_check(result))


# --- Markdown -----------------------------------------------------------------------------

def render_markdown(result, *, view: str = "scalar", digits: int = 6, appendix: bool = True,
                    plots: list[tuple[str, str]] | None = None, diagram: str | None = None) -> str:
    """The Markdown write-up (GitHub maths); ``plots`` are ``(title, relative path)`` pairs
    and ``diagram`` the relative path of the computational graph's image.

    Examples
    --------
    >>> from backproof.nn.explain import explain_network
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> render_markdown(r, appendix=False).splitlines()[0]
    '# network: a 1-1 network (identity), loss half_sse, 1 sample'
    """
    L = _head_md(result, diagram) + _given_md(result, digits) + _forward_md(result, digits)
    if view in ("scalar", "both"):
        L.extend(_scalar_md(result, digits))
    if view in ("matrix", "both") and result.matrix is not None:
        L.extend(_matrix_md(result, digits))
    if result.updates:
        L.extend(_update_md(result, digits))
    if result.history is not None:
        L.extend(_history_md(result, digits))
    if plots:
        L += ["## Plots", ""]
        for title, path in plots:
            L += [f"![{title}]({path})", ""]
    L += ["## Verification", ""]
    L.extend(f"- {line}" for line in _verification_lines(result))
    L.append("")
    text = "\n".join(L)
    if appendix:
        text += "\n" + _appendix_md(result)
    return text


def _head_md(result, diagram: str | None) -> list[str]:
    """Title, description, the network, its program and the diagram."""
    ln = latex_name
    net, spec = result.net, result.net.spec
    L: list[str] = [f"# {_title(result)}", ""]
    if spec.description:
        L += [spec.description.strip(), ""]
    L += ["## Network", ""]
    L.extend(f"- {s}" for s in _layer_lines(result))
    L.append(f"- loss **{spec.loss}**: $J = {_LOSS_LATEX[spec.loss]}$ per sample"
             + (f", then the mean over the {spec.n_samples} samples" if spec.n_samples > 1 else ""))
    L.append(f"- parameters: {spec.n_params}")
    if spec.names:
        L.append("- names: " + ", ".join(f"${ln(a)}$ = `{e}`" for a, e in spec.names))
    L.append("")
    L += ["## Program", "", "Named scalars; `backproof explain` reads the same statements.", "", "```"]
    L.extend(_cap([f"{st.name} = {to_text(st.expr)}" for st in _shown_statements(net)], "statements"))
    if _more_samples(spec):
        L.append("# " + _more_samples(spec).replace("sample", "sample's statements", 1))
    L += ["```", ""]
    if diagram:
        L += [f"![Computational graph of J, one box per layer: values and gradients]({diagram})", ""]
    return L


def _given_md(result, digits) -> list[str]:
    """The inputs, targets and starting parameters."""
    n = lambda x: _num(x, digits)  # noqa: E731
    ln = latex_name
    spec, lay = result.net.spec, result.net.layout
    V = result.derivation.values
    L = ["## Given", ""]
    for s in _samples(spec):
        tag = f"sample {s}: " if spec.n_samples > 1 else ""
        L.append(f"- {tag}$" + r",\ ".join(f"{ln(x)} = {n(V[x])}" for x in lay.x[s]) + r";\quad "
                 + r",\ ".join(f"{ln(y)} = {n(V[y])}" for y in lay.y[s]) + "$")
    if _more_samples(spec):
        L.append(f"- {_more_samples(spec)}")
    for l in range(len(spec.layers)):
        W = sp.Matrix([[V[w] for w in row] for row in lay.W[l]])
        b = sp.Matrix([V[v] for v in lay.b[l]])
        L.append(f"- $W^{{({l + 1})}} = {_mat_latex(W, digits)},\\quad b^{{({l + 1})}} = {_mat_latex(b, digits)}$")
    return L


def _forward_layer_md(result, l: int, s: int, digits) -> list[str]:
    n = lambda x: _num(x, digits)  # noqa: E731
    ln = latex_name
    spec, lay = result.net.spec, result.net.layout
    layer = spec.layers[l]
    V = result.derivation.values
    fwd = []
    for i in range(layer.units):
        _, pairs, bias = _z_terms(result, l, s, i)
        prev = lay.x[s] if l == 0 else lay.a[l - 1][s]
        sym = " + ".join(f"{ln(w)}\\,{ln(a)}" for w, a in zip(lay.W[l][i], prev)) + f" + {ln(lay.b[l][i])}"
        subst = (" + ".join(f"{_lx(w, digits)} \\cdot {_lx(a, digits)}" for w, a in pairs)
                 + f" + {_lx(bias, digits)}")
        z = lay.z[l][s][i]
        fwd.append(f"- ${ln(z)} = {sym} = {subst} = {n(V[z])}$")
    if layer.activation == "identity":
        return fwd
    for i in range(layer.units):
        z, a = lay.z[l][s][i], lay.a[l][s][i]
        fn = (r"\operatorname{softmax}" if layer.activation == "softmax"
              else OPS[layer.activation].latex)
        arg = ln(z) if layer.activation != "softmax" else (
            rf"z^{{({l + 1})}}" + (rf"_{{\langle {s}\rangle}}" if spec.n_samples > 1 else ""))
        fwd.append(f"- ${ln(a)} = {fn}({arg})"
                   + (f"_{{{i}}}" if layer.activation == "softmax" else "")
                   + f" = {n(V[a])}$")
    return fwd


def _forward_md(result, digits) -> list[str]:
    """The forward pass, sample by sample and layer by layer, then the loss."""
    n = lambda x: _num(x, digits)  # noqa: E731
    ln = latex_name
    spec, lay = result.net.spec, result.net.layout
    V = result.derivation.values
    L = ["", "## Forward pass", ""]
    fwd: list[str] = []
    for s in _samples(spec):
        if spec.n_samples > 1:
            fwd.append(f"**Sample {s}**")
            fwd.append("")
        for l in range(len(spec.layers)):
            fwd.extend(_forward_layer_md(result, l, s, digits))
        if spec.n_samples > 1:
            fwd.append(f"- ${ln(lay.loss[s])} = {n(V[lay.loss[s]])}$")
            fwd.append("")
    L.extend(_cap(fwd, "lines"))
    if _more_samples(spec):
        L.append(f"- {_more_samples(spec)}")
    L += [f"- **Loss** $J = {n(result.loss)}$", ""]
    return L


def _lx(x, digits) -> str:
    t = _num(x, digits)
    return r"\left(" + t + r"\right)" if t.startswith("-") else t


def _delta_md(d, digits) -> list[str]:
    """The lines of one δ: ∂J/∂a (through the layer above, or at the output), then δ."""
    n = lambda x: _num(x, digits)  # noqa: E731
    lx = lambda x: _lx(x, digits)  # noqa: E731
    ln = latex_name
    rows = []
    dJa = rf"\frac{{\partial J}}{{\partial {ln(d.a)}}}"
    if d.back:
        terms = " + ".join(f"{ln(dn)}\\,{ln(w)}" for dn, w, _, _ in d.back)
        vals = " + ".join(f"{lx(dv)} \\cdot {lx(wv)}" for _, _, dv, wv in d.back)
        rows.append(f"- ${dJa} = {terms} = {vals} = {n(d.dJ_da)}$")
    elif d.dJ_da_symbolic is not None:
        sym = d.dJ_da_symbolic.xreplace({s: sp.Symbol(ln(s.name)) for s in d.dJ_da_symbolic.free_symbols})
        rows.append(f"- ${dJa} = {to_latex(sym)} = {n(d.dJ_da)}$")
    else:
        rows.append(f"- ${dJa} = {n(d.dJ_da)}$")
    dn = ln(d.name)
    if d.activation == "identity":
        rows.append(f"- ${dn} = \\frac{{\\partial J}}{{\\partial {ln(d.z)}}} = {dJa} = {n(d.delta)}$ (identity)")
    elif d.activation == "softmax":
        vals = " + ".join(f"{lx(g)} \\cdot {lx(j)}" for _, g, j in d.softmax_terms)
        rows.append(f"- ${dn} = \\sum_m \\frac{{\\partial J}}{{\\partial a_m}}"
                    f"\\frac{{\\partial a_m}}{{\\partial {ln(d.z)}}} = {vals} = {n(d.delta)}$"
                    r" (softmax: $\partial a_m/\partial z_i = a_m(\delta_{mi} - a_i)$)")
    else:
        as_layer = OPS[d.activation].layer
        assert as_layer is not None  # an elementwise activation's row has its layer facet
        deriv = as_layer.derivative_latex(ln(d.z), ln(d.a))
        rows.append(f"- ${dn} = {dJa} \\cdot \\frac{{\\partial {ln(d.a)}}}{{\\partial {ln(d.z)}}} = "
                    f"{dJa} \\cdot {deriv} = {lx(d.dJ_da)} \\cdot {lx(d.da_dz)} = {n(d.delta)}$")
    if d.note:
        rows.append(f"  - simplification — {d.note} $= {n(d.delta)}$")
    return rows


def _param_md(result, p, digits) -> str:
    """The table row of one parameter's gradient."""
    n = lambda x: _num(x, digits)  # noqa: E731
    lx = lambda x: _lx(x, digits)  # noqa: E731
    ln = latex_name
    if len(p.terms) <= SHOW_SAMPLES:
        sym = " + ".join(f"{ln(dn)}\\,{ln(an)}" if an else ln(dn) for dn, an, _, _ in p.terms)
        vals = " + ".join(f"{lx(dv)} \\cdot {lx(av)}" if an else lx(dv) for _, an, dv, av in p.terms)
        form = f"${_chain_latex(result, p)}{sym} = {vals}$"
    else:
        form = f"$\\sum_s {ln(p.terms[0][0].rsplit('_s', 1)[0])}" + (
            f"\\,{ln(p.terms[0][1].rsplit('_s', 1)[0])}" if p.terms[0][1] else "") + \
            f"$ over {len(p.terms)} samples"
    return f"| ${ln(p.name)}$ | `{p.entry}` | {form} | {n(p.gradient)} |"


def _scalar_md(result, digits) -> list[str]:
    spec = result.net.spec
    L = ["## Backward pass — scalar view", "",
         r"Each $\delta = \partial J/\partial z$ is computed once, then reused by every weight "
         r"that needs it: $\partial J/\partial w = \delta \cdot a$ and $\partial J/\partial b = \delta$.", ""]
    rows: list[str] = []
    shown = set(_samples(spec))
    current = None
    for d in result.scalar.deltas:
        if d.sample is not None and d.sample not in shown:
            continue
        if current != d.layer:
            current = d.layer
            rows += ["", f"**Layer {d.layer}** ({d.activation}"
                         f"{', output' if d.layer == len(spec.layers) else ''})", ""]
        rows.extend(_delta_md(d, digits))
    L.extend(_cap(rows, "lines"))
    if _more_samples(spec):
        L += ["", f"{_more_samples(spec)}"]
    L += ["", "**Parameters**", "", r"| parameter | entry | $\partial J/\partial p$ | value |", "|---|---|---|---|"]
    L.extend(_cap([_param_md(result, p, digits) for p in result.scalar.params], "parameters"))
    L.append("")
    return L


def _matrix_md(result, digits) -> list[str]:
    mv = result.matrix
    spec = result.net.spec
    Lh = len(mv.layers)
    ml = lambda M: _mat_latex(M, digits)  # noqa: E731
    sh = lambda M: rf"{M.shape[0]}\times{M.shape[1]}"  # noqa: E731
    L = ["## Backward pass — matrix view", "",
         "Column vectors; with several samples the samples are the columns. "
         r"$\odot$ is the elementwise product; shapes are under each equation.", "",
         f"At the output ($\\hat y = a^{{({Lh})}}$, $K = {mv.layers[-1].units}$, $n = {mv.n_samples}$): "
         f"`{mv.grad_formula}`.", ""]
    for m in reversed(mv.layers):
        l = m.layer
        L.append(f"**Layer {l}** ({m.activation})")
        L.append("")
        L.append(f"$$z^{{({l})}} = W^{{({l})}}a^{{({l - 1})}} + b^{{({l})}} = {ml(m.Z)}"
                 f"\\qquad ({sh(m.Z)} = {sh(m.W)}\\cdot{sh(m.A_prev)} + {sh(m.b)})$$")
        L.append(f"$$a^{{({l})}} = {ml(m.A)}$$")
        if l == Lh:
            head = r"\nabla_a J"
            L.append(f"$$\\nabla_a J = {ml(m.grad_a)}$$")
        else:
            head = f"(W^{{({l + 1})}})^\\top\\delta^{{({l + 1})}}"
            up = mv.layers[l]
            L.append(f"$${head} = {ml(m.grad_a)}\\qquad ({sh(m.grad_a)} = "
                     f"{up.W.shape[1]}\\times{up.W.shape[0]}\\cdot{sh(up.delta)})$$")
        if m.act_deriv is not None:
            L.append(f"$$\\delta^{{({l})}} = {head} \\odot \\sigma'(z^{{({l})}}) = {ml(m.grad_a)} \\odot "
                     f"{ml(m.act_deriv)} = {ml(m.delta)}\\qquad ({sh(m.delta)})$$")
        else:
            L.append(f"$$\\delta^{{({l})}} = "
                     f"\\left(\\frac{{\\partial a^{{({l})}}}}{{\\partial z^{{({l})}}}}\\right)^\\top"
                     f"\\nabla_a J = {ml(m.delta)}\\qquad ({sh(m.delta)};\\ "
                     r"\partial a/\partial z = \operatorname{diag}(a) - a a^\top\text{ per sample})$$")
        if m.simplified is not None:
            k = "K n" if LOSS_ROWS[spec.loss].per_output else "n"
            L.append(f"$$\\delta^{{({l})}} = \\frac{{\\hat y - y}}{{{k}}} = {ml(m.simplified)}"
                     f"\\qquad\\text{{({m.activation} + {spec.loss}: the same numbers)}}$$")
        L.append(f"$$\\frac{{\\partial J}}{{\\partial W^{{({l})}}}} = \\delta^{{({l})}}a^{{({l - 1})\\top}} = "
                 f"{ml(m.dW)}\\qquad ({sh(m.dW)} = {sh(m.delta)}\\cdot{m.A_prev.shape[1]}\\times{m.A_prev.shape[0]})$$")
        L.append(f"$$\\frac{{\\partial J}}{{\\partial b^{{({l})}}}} = \\delta^{{({l})}}\\mathbf{{1}} = {ml(m.db)}"
                 f"\\qquad ({sh(m.db)})$$")
        L.append("")
    return L


def _update_md(result, digits) -> list[str]:
    n = lambda x: _num(x, digits)  # noqa: E731
    net = result.net
    entries = {v: k for k, v in net.matrix_names.items() if "[" in k and k[0] in "Wb"}
    L = ["## Gradient-descent update", "",
         f"$p_{{\\text{{new}}}} = p - \\eta\\,\\partial J/\\partial p$ with $\\eta = {n(net.learning_rate)}$; "
         f"mode {_MODE_TEXT[result.mode]}.", "",
         r"| parameter | entry | old | $\partial J/\partial p$ | new |", "|---|---|---|---|---|"]
    rows = [f"| ${latex_name(s.target)}$ | `{entries.get(s.target, '')}` | {n(s.factors[0])} | "
            f"{n(s.factors[1])} | {n(s.value)}{' *' if s.note else ''} |" for s in result.updates]
    L.extend(_cap(rows, "parameters"))
    if any(s.note for s in result.updates):
        L += ["", "\\* " + next(s.note for s in result.updates if s.note)]
    L.append("")
    return L


def _history_md(result, digits) -> list[str]:
    h = result.history
    L = ["## Training", "",
         f"Full-batch gradient descent on the NumPy engine: $\\eta = {h.learning_rate:g}$, {h.mode}, "
         f"tolerance {h.tolerance:g}. Stopped: {h.reason}. "
         f"Loss {_num(h.losses[0], digits)} → {_num(h.final_loss, digits)}.", "",
         r"| step | loss $J$ | $\lVert\nabla J\rVert$ |", "|---:|---:|---:|"]
    L.extend(f"| {k} | {_num(h.losses[k], digits)} | {_num(h.grad_norms[k], digits)} |" for k in _history_rows(h))
    if len(h.final) <= 40:
        L += ["", "Final parameters: " + ", ".join(f"${latex_name(k)} = {_num(v, digits)}$"
                                                   for k, v in h.final.items())]
    L.append("")
    return L


def _appendix_md(result) -> str:
    g = result.derivation.graph
    if g.number_of_nodes() > APPENDIX_NODES:
        return (f"*The step-by-step chain-rule derivation is omitted: the graph has "
                f"{g.number_of_nodes()} nodes, more than {APPENDIX_NODES}.*\n")
    md = _derivation_markdown(result.derivation, title="Every chain-rule step", check=_engine_check(result))
    # One level down: the appendix sits under this write-up's title.
    return "\n".join("#" + line if line.startswith("#") else line for line in md.splitlines()) + "\n"


# --- JSON ---------------------------------------------------------------------------------

def _rows(spec, names_by_sample, V):
    """Per-sample name lists -> values in the spec's shape (flat for one flat sample)."""
    rows = [[_f(V[n]) for n in row] for row in names_by_sample]
    return rows[0] if spec.single else rows


def network_dict(result, *, plots: list[str] | None = None) -> dict:
    """The JSON-ready data of a network step.

    Keys: ``loss``; ``values`` (``z1``, ``a1``, …: per unit, or samples × units);
    ``deltas``; ``parameters``, ``gradients`` and ``updated`` keyed ``W1``, ``b1``, … as
    nested lists in the spec's shapes; ``names`` (alias -> entry, value, gradient,
    updated) when the spec names parameters; ``history`` when trained.

    Examples
    --------
    >>> from backproof.nn.explain import explain_network
    >>> r = explain_network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...     "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> d = network_dict(r)
    >>> d["loss"], d["gradients"], d["updated"]
    (2.0, {'W1': [[-2.0]], 'b1': [-2.0]}, {'W1': [[1.0]], 'b1': [1.0]})
    """
    net, spec = result.net, result.net.spec
    lay = net.layout
    V = result.derivation.values
    G = result.derivation.gradients
    up = result.updated()
    values = {}
    deltas = {}
    for l in range(len(spec.layers)):
        values[f"z{l + 1}"] = _rows(spec, lay.z[l], V)
        values[f"a{l + 1}"] = _rows(spec, lay.a[l], V)
        deltas[f"delta{l + 1}"] = _rows(spec, lay.z[l], G)
    doc = {
        "backproof": __version__,
        "schema": 1,
        "kind": "network",
        "network": _network_json(spec),
        "inputs": _rows(spec, lay.x, V),
        "targets": _rows(spec, lay.y, V),
        "loss": _f(result.loss),
        "values": values,
        "deltas": deltas,
        "parameters": _keyed(lay, V),
        "gradients": _keyed(lay, G),
        "updated": _keyed(lay, up) if up else None,
        "update": _update_json(result),
        "scalar_names": dict(net.matrix_names),
        "program": [f"{st.name} = {to_text(st.expr)}" for st in net.program.statements],
        "check": ({"engine_max_rel": result.check.engine_max_rel, "engine_loss": result.check.engine_loss,
                   "fd_max_rel": result.check.fd_max_rel, "ok": result.check.ok,
                   "summary": result.check.summary} if result.check is not None else None),
        "views_max_rel_diff": result.view_diff,
        "limits": list(result.limits),
    }
    if spec.names:
        alias_entry = dict(spec.names)
        doc["names"] = {a: {"entry": alias_entry[a], "value": _f(V[a]), "gradient": _f(G[a]),
                            "updated": _f(up[a]) if up else None} for a in alias_entry}
    h = result.history
    if h is not None:
        doc["history"] = {"loss": list(h.losses), "grad_norm": list(h.grad_norms), "steps": h.steps,
                          "stopped_because": h.stopped_because, "mode": h.mode,
                          "learning_rate": h.learning_rate, "tolerance": h.tolerance,
                          "final": _keyed(lay, h.final), "path": {k: list(v) for k, v in h.path.items()}}
    if plots:
        doc["plots"] = list(plots)
    if result.derivation.graph.number_of_nodes() <= APPENDIX_NODES:
        doc["derivation"] = derivation_dict(result.derivation, check=_engine_check(result))
    return doc


def _keyed(lay, src) -> dict:
    """Parameter values keyed ``W1``, ``b1``, … as nested lists in the spec's shapes."""
    out: dict[str, list] = {}
    for l in range(len(lay.W)):
        out[f"W{l + 1}"] = [[_f(src[w]) for w in row] for row in lay.W[l]]
        out[f"b{l + 1}"] = [_f(src[b]) for b in lay.b[l]]
    return out


def _network_json(spec) -> dict:
    return {
        "name": spec.name,
        "description": spec.description,
        "source": spec.source,
        "sizes": list(spec.sizes),
        "layers": [{"units": layer.units, "activation": layer.activation, "fan_in": layer.fan_in,
                    "initialized": layer.initializer if layer.initialized else None}
                   for layer in spec.layers],
        "loss": spec.loss,
        "samples": spec.n_samples,
        "parameters": spec.n_params,
        "learning_rate": _f(spec.learning_rate) if spec.learning_rate is not None else None,
    }


def _update_json(result) -> dict | None:
    if not result.updates:
        return None
    return {"mode": result.mode, "learning_rate": _f(result.net.learning_rate),
            "steps": [{"index": s.index, "kind": s.kind.value, "target": s.target,
                       "old": _f(s.factors[0]), "gradient": _f(s.factors[1]),
                       "new": _f(s.value), **({"note": s.note} if s.note else {})}
                      for s in result.updates]}


def render_json(result, *, plots: list[str] | None = None) -> str:
    """The JSON write-up as text (two-space indent, floats to 12 significant figures)."""
    return to_json_text(network_dict(result, plots=plots))

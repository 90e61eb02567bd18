"""Symbolic reverse-mode chain rule over the computational graph, as typed steps.

:func:`derive` walks the graph once in reverse topological order; each node's gradient
is the sum, over its consumers, of the consumer's gradient times the local partial from
the op table. The cost is linear in the size of the graph: the whole expanded output
is never differentiated once per input (that N × P cost is what backpropagation
avoids). Expanded forms in the inputs and the proof against ``sympy.diff`` are produced
only up to :data:`EXPAND_LIMIT` nodes; forms in node names up to :data:`SYMBOLIC_LIMIT`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx
import sympy as sp

from . import limits as _limits
from .errors import EvaluationError, ProgramError
from .graph import build_graph, node_label, topological_order
from .ops import OPS
from .printing import format_number, to_text
from .program import Program
from .steps import Step, StepKind

__all__ = ["Derivation", "derive", "SYMBOLIC_LIMIT", "EXPAND_LIMIT", "evaluate_number"]

#: Largest graph (nodes) for which gradients are also written in node names.
SYMBOLIC_LIMIT = 600
#: Largest graph (nodes) for which gradients are written out in the inputs, simplified
#: and proved against ``sympy.diff`` (expanding is itself the N × P cost).
EXPAND_LIMIT = 150
#: Expressions with more operations than this are not passed to ``sympy.simplify``.
SIMPLIFY_OPS_LIMIT = 80
#: Wall-clock budget for one ``sympy.cancel`` or ``sympy.simplify`` call (run in a worker process).
SIMPLIFY_SECONDS = 0.5
#: Wall-clock budget for all simplification in one derivation.
SIMPLIFY_TOTAL_SECONDS = 3.0



def _exact_bits(v: sp.Expr) -> int:
    """Bits of an exact rational (numerator and denominator); 0 for decimals."""
    return v.p.bit_length() + v.q.bit_length() if v.is_Rational else 0


def _result_bits(opname: str, args: list[sp.Expr]) -> float:
    """Upper bound of the bits of an exact result, from the operands' bits alone.

    Sums, products and quotients add their operands' sizes; an exact power multiplies the
    base's size by the exponent. Other operations give 30-digit decimals.
    """
    if opname == "pow":
        base, exponent = args
        if base.is_Rational and exponent.is_Rational:
            return _exact_bits(base) * abs(float(exponent)) + _exact_bits(exponent)
        return 0.0
    if opname in ("add", "sub", "mul", "div", "neg", "identity", "max", "min", "abs", "relu"):
        return float(sum(_exact_bits(a) for a in args) + 1)
    return 0.0


def _decimal(v: sp.Expr) -> sp.Expr:
    return sp.Float(v, 30) if v.is_Rational else v


def evaluate_number(expr: sp.Expr) -> sp.Expr | None:
    """Exact rationals stay exact; anything else becomes a 30-digit Float.

    Returns ``None`` when the value is not a finite real number.

    Examples
    --------
    >>> evaluate_number(sp.Rational(1, 2) + 1)
    3/2
    >>> evaluate_number(sp.log(sp.Integer(0))) is None
    True
    """
    if expr.is_Rational:
        return expr
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    v = sp.N(expr, 30)
    if not v.is_Number or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or not v.is_real:
        return None
    # Compare the size first: int() of a Float such as exp(10**12) would allocate its digits.
    if v.is_Float and abs(v) < 10**15 and v == int(v):
        return sp.Integer(int(v))
    return v


@dataclass(frozen=True)
class Derivation:
    """Everything :func:`derive` found: values, gradients, symbolic forms and steps.

    Dictionaries are keyed by node id; inputs and named results have their names as
    ids. Use :meth:`named_values`, :meth:`named_gradients` and :meth:`named_symbolic`
    for the user-facing, name-keyed views.
    """

    program: Program
    graph: nx.MultiDiGraph
    output: str
    at: Mapping[str, sp.Expr] | None
    wrt: tuple[str, ...]
    values: Mapping[str, sp.Expr]
    gradients: Mapping[str, sp.Expr]
    symbolic: Mapping[str, sp.Expr]
    in_inputs: Mapping[str, sp.Expr]
    simplified: Mapping[str, sp.Expr]
    steps: tuple[Step, ...]
    units: tuple[str, ...]
    limits: tuple[str, ...] = ()
    proof: object = None
    verification: object = field(default=None, compare=False)

    # --- naming ----------------------------------------------------------------------
    def label(self, nid: str) -> str:
        """The name people see for node ``nid``."""
        return node_label(self.graph, nid)

    @property
    def names(self) -> tuple[str, ...]:
        """Inputs then intermediates (names only), in program order."""
        inputs = [n for n in self.program.inputs if n in self.graph]
        named = [s.name for s in self.program.statements if s.name in self.graph]
        return tuple(inputs + named)

    def named_values(self) -> dict[str, sp.Expr]:
        """Name -> value (empty when no point was given)."""
        return {n: self.values[n] for n in self.names if n in self.values}

    def named_gradients(self) -> dict[str, sp.Expr]:
        """Name -> ∂output/∂name as a number, for the names asked for."""
        return {n: self.gradients[n] for n in self.wrt if n in self.gradients}

    def named_symbolic(self) -> dict[str, sp.Expr]:
        """Name -> ∂output/∂name in node names (empty beyond :data:`SYMBOLIC_LIMIT`)."""
        return {n: self.symbolic[n] for n in self.wrt if n in self.symbolic}

    def diagram(self, **kwargs):
        """The computational graph as a ``graphviz.Digraph`` (see :mod:`backproof.render`)."""
        from .render import build_diagram
        return build_diagram(self, **kwargs)

    # --- write-ups -------------------------------------------------------------------
    def to_text(self, color: bool = False) -> str:
        """The terminal write-up."""
        from .report.text import render_text
        return render_text(self, color=color)

    def to_markdown(self, **kwargs) -> str:
        """The Markdown write-up (GitHub maths)."""
        from .report.markdown import render_markdown
        return render_markdown(self, **kwargs)

    def to_json(self) -> str:
        """The JSON write-up (schema in the README)."""
        from .report.jsonout import render_json
        return render_json(self)

    def __str__(self) -> str:
        return self.to_text()


def _coerce_program(obj, of: str | None) -> tuple[Program, Program]:
    """(the whole program, the part the output needs)."""
    from .parse import parse_program
    if isinstance(obj, Program):
        prog = obj
    elif isinstance(obj, str):
        prog = parse_program(obj)
    elif isinstance(obj, sp.Basic) or isinstance(obj, Mapping):
        prog = Program.from_sympy(obj)
    else:
        raise ProgramError(f"expected program text, a Program or a SymPy expression, got {type(obj).__name__}")
    return prog, (prog.with_output(of) if of else prog)


def _coerce_at(at) -> dict[str, sp.Expr] | None:
    if at is None:
        return None
    if isinstance(at, str):
        from .parse import parse_values
        return parse_values(at)
    out = {}
    for k, v in dict(at).items():
        name = k.name if isinstance(k, sp.Symbol) else str(k)
        if isinstance(v, sp.Basic):
            num = v
        elif isinstance(v, bool):
            raise ProgramError(f"value of {name!r} must be a number, got {v!r}")
        elif isinstance(v, int):
            num = sp.Integer(v)
        elif isinstance(v, float):
            # repr is the shortest decimal that round-trips: 0.1 stays 1/10.
            num = sp.Rational(repr(v)) if v == v and abs(v) != float("inf") else None
        else:
            from .parse import parse_expression
            num = parse_expression(str(v)).doit()
        if num is None or not num.is_number or not (num.is_real and num.is_finite):
            raise ProgramError(f"value of {name!r} must be a finite real number, got {v!r}")
        out[name] = num
    return out


def derive(program, at=None, *, of: str | None = None, wrt: Iterable[str] | None = None,
           symbolic: bool = True, expand: bool | None = None, verify: bool = True) -> Derivation:
    """Derive every gradient of a program's output by the reverse-mode chain rule.

    Parameters
    ----------
    program : str, Program, sympy.Expr or mapping
        Expression-language text, a :class:`Program`, a SymPy expression (the output
        is called ``f``) or a mapping ``name -> expression``.
    at : mapping or str, optional
        Values of the inputs (``{"a": 2}`` or ``"a=2,b=1"``). Without it the derivation
        is symbolic only.
    of : str, optional
        The output to differentiate (default: the last assigned name).
    wrt : iterable of str, optional
        Names to report gradients for (default: every input and intermediate).
    symbolic : bool
        Also write gradients in node names (up to :data:`SYMBOLIC_LIMIT` nodes).
    expand : bool, optional
        Write gradients out in the inputs and simplify them; default: when the graph
        has at most :data:`EXPAND_LIMIT` nodes.
    verify : bool
        Prove every gradient against ``sympy.diff`` (when expanded). A disagreement
        raises :class:`~backproof.errors.VerificationError`.

    Returns
    -------
    Derivation

    Examples
    --------
    >>> d = derive("d = a + b; e = b - c; y = d*e", at="a=2,b=1,c=0")
    >>> d.named_gradients()
    {'a': 1, 'b': 4, 'c': -3, 'd': 1, 'e': 3}
    """
    full, prog = _coerce_program(program, of)
    g = build_graph(prog)
    values_at = _coerce_at(at)
    out = prog.output
    names_all = [n for n in prog.inputs if n in g] + [s.name for s in prog.statements if s.name in g]
    if wrt is None:
        wrt_t = tuple(n for n in names_all if n != out)
    else:
        wrt_t = tuple(wrt)
        for n in wrt_t:
            if n not in g:
                raise ProgramError(f"unknown name {n!r} in --wrt (must be one of: {', '.join(names_all)})")
    if values_at is not None:
        missing = [n for n in prog.inputs if n in g and n not in values_at]
        if missing:
            raise ProgramError(f"no value given for input{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(missing)} (give --at {'=…,'.join(missing)}=…)")
        extra = [n for n in values_at if n not in g and n not in full.inputs]
        if extra:
            known = ", ".join(full.inputs)
            raise ProgramError(f"--at names {', '.join(extra)}, which the program does not have as "
                               f"input{'s' if len(extra) > 1 else ''} (inputs: {known})")
        values_at = {n: v for n, v in values_at.items() if n in g}

    order = topological_order(g)
    nnodes = g.number_of_nodes()
    limits: list[str] = []
    do_sym = symbolic and nnodes <= SYMBOLIC_LIMIT
    if symbolic and not do_sym:
        limits.append(f"gradients in node names skipped: the graph has {nnodes} nodes "
                      f"(more than {SYMBOLIC_LIMIT})")
    do_expand = do_sym and (expand if expand is not None else nnodes <= EXPAND_LIMIT)
    if do_sym and not do_expand:
        limits.append(f"expanded forms and the proof against sympy.diff skipped: the graph has "
                      f"{nnodes} nodes (more than {EXPAND_LIMIT})" if expand is None else
                      "expanded forms and the proof against sympy.diff skipped on request")

    operand_cache: dict[str, list[str]] = {}

    def operands(n: str) -> list[str]:
        if n not in operand_cache:
            ins = sorted(g.in_edges(n, keys=True), key=lambda e: e[2])
            operand_cache[n] = [u for u, _, _ in ins]
        return operand_cache[n]

    # --- forward pass -------------------------------------------------------------------
    values: dict[str, sp.Expr] = {}
    max_bits = _limits.value("exact_bits")
    decimal_nodes: set[str] = set()  # computed in decimals: their partials are too
    decimal_note: list[str] = []
    if values_at is not None:
        for n in order:
            data = g.nodes[n]
            if data["kind"] == "input":
                values[n] = values_at[n]
            elif data["kind"] == "const":
                v = evaluate_number(data["expr"])
                values[n] = v
            else:
                op = OPS[data["op"]]
                args = [values[u] for u in operands(n)]
                if _result_bits(data["op"], args) > max_bits:
                    # Checked before computing: x0**(2**14) at x0 = 1.0001 is 200,000 digits.
                    args = [_decimal(a) for a in args]
                    decimal_nodes.add(n)
                    if not decimal_note:
                        decimal_note.append(
                            f"exact values past {max_bits:,} bits (limit exact_bits) are computed as "
                            f"30-digit decimals, from {node_label(g, n)} on")
                try:
                    v = evaluate_number(op.forward(*args))
                except (ValueError, TypeError, ArithmeticError) as exc:  # SymPy refusing a value
                    raise EvaluationError(
                        f"cannot compute {node_label(g, n)} = {to_text(data['expr'])} at "
                        f"{_describe_args(g, operands(n), args)}: {str(exc)[:80]}", node=n) from None
                if v is None:
                    raise EvaluationError(
                        f"cannot compute {node_label(g, n)} = {to_text(data['expr'])} at "
                        f"{_describe_args(g, operands(n), args)}: "
                        f"{op.undefined or 'the value is not a finite real number'}", node=n)
                values[n] = v

    # --- backward pass ------------------------------------------------------------------
    # All partials of a consumer come from one call, made once (not once per edge):
    # a sum with n operands would otherwise cost n² work.
    sym_partials: dict[str, tuple] = {}
    val_partials: dict[str, tuple] = {}

    def local_sym(w: str, k: int) -> sp.Expr:
        if w not in sym_partials:
            try:
                parts = OPS[g.nodes[w]["op"]].partials(*[g.nodes[u]["expr"] for u in operands(w)])
                # SymPy distributes numbers over sums (2*(a - y) -> 2*a - 2*y); factor_terms
                # gives the form a student writes back, cheaply.
                sym_partials[w] = tuple(sp.factor_terms(p) for p in parts)
            except (ValueError, TypeError, ArithmeticError) as exc:  # SymPy refusing an operand
                raise EvaluationError(f"the local derivatives of {node_label(g, w)} = "
                                      f"{to_text(g.nodes[w]['expr'])} cannot be formed: {str(exc)[:80]}",
                                      node=w) from None
        return sym_partials[w][k]

    def local_val(w: str, k: int, nid: str) -> sp.Expr:
        op = OPS[g.nodes[w]["op"]]
        args = [values[u] for u in operands(w)]
        if w in decimal_nodes:
            args = [_decimal(a) for a in args]
        try:
            if w not in val_partials:
                val_partials[w] = op.partials(*args)
            v = evaluate_number(val_partials[w][k])
        except (ValueError, TypeError, ArithmeticError):  # SymPy refusing a value: undefined here
            v = None
        if v is None:
            raise EvaluationError(
                f"the local derivative ∂{node_label(g, w)}/∂{node_label(g, nid)} "
                f"({op.rule}) is undefined at {_describe_args(g, operands(w), args)}", node=w)
        return v

    grads: dict[str, sp.Expr] = {}
    gsym: dict[str, sp.Expr] = {}
    local_cache: dict[tuple[str, int], tuple[sp.Expr | None, sp.Expr | None]] = {}
    for n in reversed(order):
        if n == out:
            grads[n] = sp.Integer(1)
            gsym[n] = sp.Integer(1)
            continue
        if g.nodes[n]["kind"] == "const":
            continue
        total_v, total_s = sp.Integer(0), sp.Integer(0)
        for _, w, k in sorted(g.out_edges(n, keys=True), key=lambda e: (g.nodes[e[1]]["order"], e[2])):
            ls = local_sym(w, k) if do_sym else None
            lv = local_val(w, k, n) if values_at is not None else None
            local_cache[(w, k)] = (ls, lv)
            if lv is not None:
                gw = grads[w]
                if _exact_bits(gw) + _exact_bits(lv) + _exact_bits(total_v) > max_bits:
                    gw, lv = _decimal(gw), _decimal(lv)
                    total_v = _decimal(total_v)
                    if not decimal_note:
                        decimal_note.append(f"exact values past {max_bits:,} bits (limit exact_bits) are "
                                            f"computed as 30-digit decimals, from ∂/∂{node_label(g, n)} on")
                total_v = total_v + gw * lv
            if ls is not None:
                total_s = total_s + gsym[w] * ls
        if values_at is not None:
            grads[n] = evaluate_number(total_v) if not total_v.is_Rational else total_v
            if grads[n] is None:
                raise EvaluationError(f"the gradient of {node_label(g, n)} is not a finite real number here",
                                      node=n)
        if do_sym:
            gsym[n] = total_s

    # --- expanded forms -----------------------------------------------------------------
    in_inputs: dict[str, sp.Expr] = {}
    simplified: dict[str, sp.Expr] = {}
    expansion: dict[sp.Symbol, sp.Expr] = {}
    if do_expand:
        for name, e in prog.expanded().items():
            expansion[sp.Symbol(name, real=True)] = e
        for n in order:
            if n in gsym and g.nodes[n]["kind"] != "const":
                in_inputs[n] = gsym[n].xreplace(expansion).doit()
        # simplify is the expensive part: only for the gradients that are reported, and
        # within one budget for the whole derivation (then the unsimplified form is shown).
        from .timeout import budget
        with budget(SIMPLIFY_TOTAL_SECONDS) as total:
            for n in wrt_t:
                if n in in_inputs:
                    simplified[n] = _simplify(in_inputs[n]) if total.remaining() > 0.05 else in_inputs[n]

    # --- steps --------------------------------------------------------------------------
    units = tuple(n for n in order if _is_unit(g, n))
    relevant = set(units)
    if wrt is not None:
        relevant = set()
        for n in wrt_t:
            relevant |= nx.descendants(g, n) | {n}
    steps: list[Step] = []

    def add(kind: StepKind, target: str, **kw):
        steps.append(Step(len(steps) + 1, kind, target, **kw))

    for n in units:
        data = g.nodes[n]
        if data["kind"] in ("input", "const"):
            continue
        ops_ = operands(n)
        # A name that merely renames another value (`z = y`) is shown as that value.
        shown = g.nodes[ops_[0]]["expr"] if data["kind"] == "name" else data["expr"]
        add(StepKind.FORWARD, n, nodes=tuple([n] + ops_), rule=data["op"],
            symbolic=shown,
            inputs_form=shown.xreplace(expansion).doit() if do_expand else None,
            value=values.get(n), factors=tuple(values[u] for u in ops_) if values else ())
    out_unit = _unit_of(g, out)
    add(StepKind.SEED, out_unit, nodes=(out_unit, out), symbolic=sp.Integer(1),
        value=sp.Integer(1) if values_at is not None else None)
    # Textbook order: by distance from the output (longest path), then as written.
    depth: dict[str, int] = {}
    for n in reversed(order):
        succ = [depth[w] + 1 for w in g.successors(n) if w in depth]
        depth[n] = max(succ) if succ else 0
    unit_depth = {n: depth[_alias_source(g, n)] for n in units}
    for n in sorted(units, key=lambda u: (unit_depth[u], g.nodes[u]["order"])):
        if n == out_unit or n not in relevant or g.nodes[n]["kind"] == "const":
            continue
        src = _alias_source(g, n)
        edges = sorted(g.out_edges(src, keys=True), key=lambda e: (g.nodes[e[1]]["order"], e[2]))
        contribs = []
        for _, w, k in edges:
            ls, lv = local_cache.get((w, k), (None, None))
            op = OPS[g.nodes[w]["op"]]
            note = ""
            if values_at is not None and op.nondiff is not None:
                args = [float(values[u]) for u in operands(w)]
                if op.nondiff(*args):
                    note = f"not differentiable here; the convention used is {op.convention}"
            wu = _unit_of(g, w)
            add(StepKind.LOCAL, n, via=wu, pos=k, nodes=(n, wu), rule=op.rule,
                symbolic=ls, value=lv, note=note)
            cv = grads[w] * lv if values_at is not None else None
            cs = gsym[w] * ls if do_sym else None
            add(StepKind.CHAIN, n, via=wu, pos=k, nodes=(wu, n), rule="chain rule",
                symbolic=cs, value=cv, factors=(grads[w], lv) if values_at is not None else ())
            contribs.append((wu, cv))
        if len(contribs) > 1:
            add(StepKind.SUM, n, nodes=tuple([n] + [c[0] for c in contribs]), rule="sum over paths",
                symbolic=gsym.get(src), value=grads.get(src),
                factors=tuple(c[1] for c in contribs) if values_at is not None else (),
                terms=tuple(c[0] for c in contribs))
    for name in wrt_t:
        add(StepKind.RESULT, name, nodes=(name,), symbolic=gsym.get(name),
            inputs_form=in_inputs.get(name), simplified=simplified.get(name), value=grads.get(name))

    if not verify and do_expand:
        limits.append("the proof against sympy.diff was skipped on request (--no-verify)")
    limits.extend(decimal_note)
    deriv = Derivation(program=prog, graph=g, output=out, at=values_at, wrt=wrt_t, values=values,
                       gradients=grads, symbolic=gsym if do_sym else {}, in_inputs=in_inputs,
                       simplified=simplified, steps=tuple(steps), units=units, limits=tuple(limits))
    if verify and do_expand:
        from .verify import prove
        object.__setattr__(deriv, "proof", prove(deriv))
    return deriv


def _simplify(expr: sp.Expr, seconds: float = SIMPLIFY_SECONDS) -> sp.Expr:
    """A simpler equal form: ``cancel``, then ``simplify``, each in a worker process within
    ``seconds`` and the current budget (see :mod:`backproof.timeout`); past them, or where
    no worker can run, the form we have is kept."""
    from .timeout import BudgetExceeded, isolation_available, run_limited
    if sp.count_ops(expr) > SIMPLIFY_OPS_LIMIT or not isolation_available():
        return expr
    best = expr
    for attempt in (sp.cancel, sp.simplify):
        try:
            s = run_limited(attempt, best, seconds=seconds)
        except (BudgetExceeded, Exception):
            continue
        if sp.count_ops(s) <= sp.count_ops(best):
            best = s
    return best


def _is_unit(g: nx.MultiDiGraph, n: str) -> bool:
    """Units are what write-ups talk about: inputs, constants, operations, and named
    results not produced by an operation (``z = y``); a name produced by an operation
    is shown as that operation."""
    kind = g.nodes[n]["kind"]
    if kind == "name":
        pred = next(iter(g.predecessors(n)))
        return g.nodes[pred]["kind"] != "op"
    return True


def _unit_of(g: nx.MultiDiGraph, n: str) -> str:
    """The unit that stands for node ``n`` (a named result -> its producing op)."""
    if g.nodes[n]["kind"] == "name":
        pred = next(iter(g.predecessors(n)))
        if g.nodes[pred]["kind"] == "op":
            return pred
    return n


def _alias_source(g: nx.MultiDiGraph, n: str) -> str:
    """The node whose out-edges carry unit ``n``'s value onward (its name, if any)."""
    if g.nodes[n]["kind"] == "op":
        succ = list(g.successors(n))
        if len(succ) == 1 and g.nodes[succ[0]]["kind"] == "name":
            return succ[0]
    return n


def _describe_args(g, ids, vals) -> str:
    parts = [f"{node_label(g, u)} = {format_number(v)}" for u, v in zip(ids, vals)
             if g.nodes[u]["kind"] != "const"]
    return ", ".join(parts) if parts else "these constants"

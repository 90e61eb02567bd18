"""Safe parsing of the expression language into a :class:`~backproof.program.Program`.

The text is read by Python's own tokenizer and parser (``ast.parse``) and then walked
by a whitelist visitor: every AST node class that is not explicitly allowed is a
:class:`~backproof.errors.ParseError` naming the construct, its line and column, and
what is allowed. Nothing is ever evaluated: no ``eval``, ``exec``, ``sympify`` or
``parse_expr`` touches user text. SymPy objects are built with ``evaluate=False`` so
the structure the student wrote (``b - c``, ``a/b``, ``a + a``) survives into the
computational graph.
"""

from __future__ import annotations

import ast
import unicodedata
from dataclasses import dataclass

import sympy as sp

from .errors import ParseError
from .ops import FUNCTIONS, OPS
from .program import CONSTANTS, Program, Statement

__all__ = ["parse_program", "parse_expression", "parse_values", "normalize"]

_ALLOWED = ("numbers (2, 0.5, 1e-3), names, + - * / ** ^, unary minus, parentheses, "
            "calls to " + ", ".join(sorted(FUNCTIONS)) + ", and assignments `name = expr`")

#: Friendly names for AST constructs we refuse, so the error says what was written.
_CONSTRUCTS = {
    "Attribute": "attribute access (x.y)", "Subscript": "indexing (x[i])",
    "Compare": "comparison", "BoolOp": "and/or", "Lambda": "lambda",
    "IfExp": "conditional expression", "Dict": "dict", "Set": "set", "List": "list",
    "Tuple": "tuple", "ListComp": "comprehension", "SetComp": "comprehension",
    "DictComp": "comprehension", "GeneratorExp": "generator", "Await": "await",
    "Yield": "yield", "YieldFrom": "yield", "JoinedStr": "f-string",
    "FormattedValue": "f-string", "Starred": "starred argument", "NamedExpr": "walrus (:=)",
    "Slice": "slice", "Import": "import", "ImportFrom": "import",
    "FunctionDef": "function definition", "ClassDef": "class definition",
    "AugAssign": "augmented assignment (+=)", "AnnAssign": "annotated assignment",
    "For": "for loop", "While": "while loop", "If": "if statement", "With": "with",
    "Raise": "raise", "Try": "try", "Assert": "assert", "Delete": "del",
    "Global": "global", "Nonlocal": "nonlocal", "Pass": "pass", "Break": "break",
    "Continue": "continue", "Return": "return",
    "MatMult": "matrix multiplication (@)", "Mod": "modulo (%)", "FloorDiv": "floor division (//)",
    "BitAnd": "bitwise and (&)", "BitOr": "bitwise or (|)", "LShift": "shift (<<)",
    "RShift": "shift (>>)", "Invert": "bitwise not (~)", "Not": "not",
}

_CHAR_MAP = {"−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "^": "**"}
#: Constants a program may reuse as names: the seeds' own example names an intermediate
#: `e` (`e = b - c`). A program that assigns `e` uses it as that name throughout.
_SHADOWABLE = frozenset({"e"})
_MAX_EXPONENT = 1000  # a constant power beyond this could stall SymPy for minutes


def _greek_name(ch: str) -> str | None:
    try:
        uname = unicodedata.name(ch)
    except ValueError:
        return None
    for prefix, case in (("GREEK SMALL LETTER ", str.lower), ("GREEK CAPITAL LETTER ", str.capitalize)):
        if uname.startswith(prefix):
            word = uname[len(prefix):]
            if " " in word:
                return None
            name = case(word)
            # `lambda` is a Python keyword; SymPy uses the same spelling.
            return {"lambda": "lamda", "Lambda": "Lamda", "final sigma": "sigma"}.get(name, name)
    if uname == "GREEK SMALL LETTER FINAL SIGMA":
        return "sigma"
    return None


@dataclass(frozen=True)
class _Normalized:
    text: str
    colmap: tuple[tuple[int, ...], ...]  # per line: normalized column -> original column


def normalize(source: str) -> _Normalized:
    """Map ``− × · ^`` and Greek letters to ASCII, remembering original columns.

    Examples
    --------
    >>> normalize("y = α·x^2").text
    'y = alpha*x**2'
    """
    out_lines, maps = [], []
    for lineno, line in enumerate(source.split("\n"), start=1):
        buf: list[str] = []
        cmap: list[int] = []
        for col, ch in enumerate(line):
            if ch == "#":  # a comment: Python skips it, whatever it contains
                buf.append(line[col:])
                cmap.extend(range(col, len(line)))
                break
            rep = _CHAR_MAP.get(ch)
            if rep is None and not ch.isascii():
                g = _greek_name(ch)
                if g is None:
                    if ch.isspace():
                        rep = " "
                    else:
                        raise ParseError(
                            f"character {ch!r} is not allowed (names use ASCII letters, digits, "
                            f"underscore or Greek letters; operators are + - * / ** ^ − × ·)",
                            source, lineno, col + 1)
                else:
                    # Keep Greek letters glued to neighbours as separate names: `2α` is 2*alpha.
                    rep = g
            if rep is None:
                rep = ch
            buf.append(rep)
            cmap.extend([col] * len(rep))
        cmap.append(len(line))
        out_lines.append("".join(buf))
        maps.append(tuple(cmap))
    return _Normalized("\n".join(out_lines), tuple(maps))


class _Builder:
    """Whitelist visitor from Python AST to SymPy, with source positions for errors."""

    def __init__(self, source: str, norm: _Normalized):
        self.source = source
        self.norm = norm
        self.assigned: set[str] = set()
        self.all_assigned: dict[str, ast.AST] = {}
        self.deps: dict[str, set[str]] = {}
        self.current: str | None = None

    # --- positions and errors -------------------------------------------------------
    def pos(self, node: ast.AST) -> tuple[int, int]:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        return line, self._orig_col(line, col)

    def _orig_col(self, line: int, col: int) -> int:
        cmap = self.norm.colmap[line - 1] if 0 < line <= len(self.norm.colmap) else ()
        if not cmap:
            return col + 1
        return cmap[min(col, len(cmap) - 1)] + 1

    def error(self, node: ast.AST, message: str) -> ParseError:
        line, col = self.pos(node)
        return ParseError(message, self.source, line, col)

    # --- statements ------------------------------------------------------------------
    def program(self, tree: ast.Module) -> Program:
        body = tree.body
        if not body:
            raise ParseError("the program is empty (write at least one `name = expression`)",
                             self.source, 1, 1)
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise self.error(stmt, "an assignment must have exactly one name on the left "
                                           "(chained `a = b = ...` and tuples are not allowed)")
                name = stmt.targets[0].id
                target = stmt.targets[0]
                if name in FUNCTIONS:
                    raise self.error(target, f"cannot assign to {name!r}: it is a function name")
                if name in CONSTANTS and name not in _SHADOWABLE:
                    raise self.error(target, f"cannot assign to {name!r}: it is a constant")
                if name in self.all_assigned:
                    first = self.all_assigned[name]
                    raise self.error(target, f"{name!r} is assigned twice (first on line "
                                             f"{first.lineno}); each name may be assigned once")
                self.all_assigned[name] = target
            elif isinstance(stmt, ast.Expr):
                if i != len(body) - 1:
                    raise self.error(stmt, "an expression without `name =` is allowed only as the "
                                           "last statement (it becomes the output `f`)")
            else:
                raise self.error(stmt, f"{_describe(stmt)} is not allowed (allowed: {_ALLOWED})")
        statements = []
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                name, value = stmt.targets[0].id, stmt.value
            else:
                name, value = self._fresh_output_name(), stmt.value
            self.current = name
            self.deps[name] = set()
            expr = self.expr(value)
            self.assigned.add(name)
            statements.append(Statement(name, expr, stmt.lineno))
        return Program(tuple(statements), statements[-1].name, self.source)

    def _fresh_output_name(self) -> str:
        used = set(self.all_assigned) | {n.id for n in ast.walk(ast.parse(self.norm.text))
                                         if isinstance(n, ast.Name)}
        name, k = "f", 1
        while name in used:
            name, k = f"f{k}", k + 1
        return name

    # --- expressions -----------------------------------------------------------------
    def expr(self, node: ast.AST) -> sp.Expr:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.error(node, f"{_describe(node)} is not allowed (allowed: {_ALLOWED})")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> sp.Expr:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(node, f"{type(v).__name__} literal {v!r} is not allowed "
                                   f"(only decimal and scientific numbers such as 2, 0.5, 1e-3)")
        text = ast.get_source_segment(self.norm.text, node) or repr(v)
        if isinstance(v, float) and (v != v or abs(v) == float("inf")):
            raise self.error(node, f"number {text} is too large (must be finite)")
        # Exact decimal: 0.1 means 1/10, so exact symbolic comparisons stay exact.
        return sp.Integer(v) if isinstance(v, int) else sp.Rational(text.replace("_", ""))

    def visit_Name(self, node: ast.Name) -> sp.Expr:
        name = node.id
        if name in CONSTANTS and name not in self.all_assigned:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self.error(node, f"{name!r} is a function; call it like {name}(x)")
        if not name.isascii():
            raise self.error(node, f"name {name!r} is not allowed (ASCII letters, digits, underscore)")
        if name == self.current:
            raise self.error(node, f"{name!r} is used in its own definition (a cycle)")
        if name in self.all_assigned and name not in self.assigned:
            cycle = self._cycle(name)
            if cycle:
                raise self.error(node, f"cycle: {' -> '.join(cycle)} (a name cannot depend on itself)")
            later = self.all_assigned[name].lineno
            hint = " (this program assigns e, so e is not Euler's number here: use exp(1) for it)" \
                if name in _SHADOWABLE else ""
            raise self.error(node, f"{name!r} is used before it is assigned (on line {later}); "
                                   f"assign it first{hint}")
        self.deps[self.current].add(name)
        return sp.Symbol(name, real=True)

    def _cycle(self, name: str) -> list[str] | None:
        """If `name`'s later definition uses the current statement, the chain that does."""
        tree = ast.parse(self.norm.text)
        uses: dict[str, set[str]] = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                uses[stmt.targets[0].id] = {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)}
        path, seen = [self.current, name], {name}
        stack = [(name, path)]
        while stack:
            n, p = stack.pop()
            for m in sorted(uses.get(n, ())):
                if m == self.current:
                    return p + [m]
                if m in uses and m not in seen:
                    seen.add(m)
                    stack.append((m, p + [m]))
        return None

    def visit_UnaryOp(self, node: ast.UnaryOp) -> sp.Expr:
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            if operand.is_Number:
                return -operand
            return sp.Mul(sp.Integer(-1), operand, evaluate=False)
        raise self.error(node, f"{_describe(node.op)} is not allowed (allowed: {_ALLOWED})")

    def visit_BinOp(self, node: ast.BinOp) -> sp.Expr:
        left, right = self.expr(node.left), self.expr(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return sp.Add(left, right, evaluate=False)
        if isinstance(op, ast.Sub):
            neg = -right if right.is_Number else sp.Mul(sp.Integer(-1), right, evaluate=False)
            return sp.Add(left, neg, evaluate=False)
        if isinstance(op, ast.Mult):
            return sp.Mul(left, right, evaluate=False)
        if isinstance(op, ast.Div):
            return sp.Mul(left, sp.Pow(right, sp.Integer(-1), evaluate=False), evaluate=False)
        if isinstance(op, ast.Pow):
            if left.is_number and right.is_number:
                try:
                    ev = complex(sp.N(right.doit(), 15))
                except (TypeError, ValueError):  # not a plain number (e.g. step at 0)
                    ev = complex("nan")
                if not (ev.imag == 0 and abs(ev.real) <= _MAX_EXPONENT):
                    raise self.error(node, f"constant exponent {ast.get_source_segment(self.norm.text, node.right)} "
                                           f"must be a real number of at most {_MAX_EXPONENT} in absolute value")
            return sp.Pow(left, right, evaluate=False)
        raise self.error(node, f"operator {_describe(op)} is not allowed (allowed: + - * / ** ^)")

    def visit_Call(self, node: ast.Call) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.error(node, f"only named functions can be called (allowed: {', '.join(sorted(FUNCTIONS))})")
        fname = node.func.id
        if fname not in FUNCTIONS:
            raise self.error(node.func, f"unknown function {fname!r} (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            raise self.error(node.keywords[0], f"{fname}() takes no keyword arguments")
        op = OPS[FUNCTIONS[fname]]
        if len(node.args) != op.arity:
            raise self.error(node, f"{fname}() takes {op.arity} argument{'s' if op.arity != 1 else ''}, "
                                   f"got {len(node.args)}")
        args = [self.expr(a) for a in node.args]
        return _call(op.name, args)


def _call(opname: str, args: list[sp.Expr]) -> sp.Expr:
    return OPS[opname].write(*args)


def _describe(node: ast.AST) -> str:
    cls = type(node).__name__
    return _CONSTRUCTS.get(cls, cls)


def _syntax_error(source: str, norm: _Normalized, exc: SyntaxError) -> ParseError:
    line = exc.lineno or 1
    col = (exc.offset or 1) - 1
    cmap = norm.colmap[line - 1] if 0 < line <= len(norm.colmap) else ()
    orig = (cmap[min(col, len(cmap) - 1)] + 1) if cmap else col + 1
    msg = (exc.msg or "invalid syntax").replace("invalid syntax", "syntax error")
    return ParseError(f"{msg} (allowed: {_ALLOWED})", source, line, orig)


def parse_program(source: str) -> Program:
    """Parse expression-language text into a Program.

    Parameters
    ----------
    source : str
        Statements ``name = expr`` separated by newlines or ``;``. ``#`` starts a comment.

    Returns
    -------
    Program
        The statements in order; the output is the last assigned name.

    Raises
    ------
    ParseError
        With line, column and a caret for anything outside the language.

    Examples
    --------
    >>> p = parse_program("d = a + b; e = b - c; y = d*e")
    >>> p.output, p.inputs
    ('y', ('a', 'b', 'c'))
    """
    if not isinstance(source, str):
        raise ParseError(f"expected program text, got {type(source).__name__}")
    norm = normalize(source)
    if not norm.text.strip():
        raise ParseError("the program is empty (write at least one `name = expression`)", source, 1, 1)
    try:
        tree = ast.parse(norm.text, mode="exec")
    except SyntaxError as exc:
        raise _syntax_error(source, norm, exc) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ParseError(f"cannot read the program: {exc}") from None
    try:
        return _Builder(source, norm).program(tree)
    except RecursionError:
        raise ParseError("the expression is nested too deeply", source, 1, 1) from None


def parse_expression(text: str, known: set[str] | None = None) -> sp.Expr:
    """Parse one expression (no assignment), for answers and values.

    Examples
    --------
    >>> parse_expression("b - c")
    b - c
    """
    # Leading blanks would be an "unexpected indent"; parenthesising keeps every column
    # (shifted by one, mapped back below) and allows the expression to span lines.
    norm = normalize(text)
    wrapped = _Normalized("(" + norm.text + "\n)",
                          ((0,) + norm.colmap[0],) + norm.colmap[1:] + ((len(text),),))
    if not norm.text.strip():
        raise ParseError("the expression is empty", text, 1, 1)
    try:
        tree = ast.parse(wrapped.text, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(text, wrapped, exc) from None
    builder = _Builder(text, wrapped)
    builder.current = "\0"
    builder.deps["\0"] = set()
    # Names the program assigns (``known``) shadow constants there, so here too: `e`.
    for name in sorted(set(known or ()) & _SHADOWABLE):
        builder.all_assigned[name] = tree
        builder.assigned.add(name)
    return builder.expr(tree.body)


def parse_values(text: str) -> dict[str, sp.Expr]:
    """Parse ``--at`` values ``a=2,b=-1.5,c=1e-3`` into exact SymPy numbers.

    Values are numbers, optionally signed, or constant expressions such as ``pi/2``.

    Examples
    --------
    >>> parse_values("a=2, b=-0.5")
    {'a': 2, 'b': -1/2}
    """
    out: dict[str, sp.Expr] = {}
    for col, part in _split_commas(text):
        if not part.strip():
            continue
        if "=" not in part:
            raise ParseError(f"expected NAME=VALUE, got {part.strip()!r}", text, 1, col + 1)
        name, _, value = part.partition("=")
        name = name.strip()
        norm_name = normalize(name).text
        if not norm_name.isidentifier() or not norm_name.isascii():
            raise ParseError(f"{name!r} is not a name (ASCII letters, digits, underscore)", text, 1, col + 1)
        if norm_name in out:
            raise ParseError(f"{norm_name!r} is given twice", text, 1, col + 1)
        try:
            v = parse_expression(value)
        except ParseError as exc:
            raise ParseError(f"value of {norm_name!r}: {exc.message}", text, 1,
                             col + len(name) + 2 + (exc.col or 1) - 1) from None
        if v.free_symbols or not v.is_number:
            raise ParseError(f"value of {norm_name!r} must be a number, got {value.strip()!r}",
                             text, 1, col + len(part.partition('=')[0]) + 2)
        v = v.doit()
        if not (v.is_real and v.is_finite):
            raise ParseError(f"value of {norm_name!r} must be a finite real number", text, 1, col + 1)
        out[norm_name] = v
    return out


def _split_commas(text: str):
    start = 0
    depth = 0
    for i, ch in enumerate(text + ","):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            yield start, text[start:i]
            start = i + 1

"""Safe parsing of the expression language into a :class:`~backproof.program.Program`.

The text is read by Python's own tokenizer and parser (``ast.parse``) and then walked
by a whitelist visitor: every AST node class that is not explicitly allowed is a
:class:`~backproof.errors.ParseError` naming the construct, its line and column, and
what is allowed. Nothing is ever evaluated: no ``eval``, ``exec``, ``sympify`` or
``parse_expr`` touches user text. SymPy objects are built with ``evaluate=False`` so
the structure the student wrote (``b - c``, ``a/b``, ``a + a``) survives into the
computational graph.

micrograd's programs are read as written: assigning a name again or updating it
(``c += c + 1``) makes a new version of it (``c_1``, ``c_2``, …, the last one keeping the name),
a method ``x.relu()`` is the function ``relu(x)``, and a closing ``y.backward()`` names the output.
"""

from __future__ import annotations

import ast
import io
import math
import operator
import re
import sys
import tokenize
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import numpy as np
import sympy as sp

from . import limits
from .errors import LimitError, ParseError, quote
from .ops import FUNCTIONS, OPS
from .program import CONSTANTS, Program, Statement
from .timeout import paused_gc

__all__ = ["parse_program", "parse_expression", "parse_statements", "parse_values", "normalize"]

_ALLOWED = ("numbers (2, 0.5, 1e-3), names, + - * / ** ^, unary minus, parentheses, "
            "calls to " + ", ".join(sorted(FUNCTIONS)) + ", methods x.relu() (any one-argument function), "
            "assignments `name = expr` and updates `name += expr` (-= *= /= **=)")

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
    "AugAssign": "augmented assignment", "AnnAssign": "annotated assignment",
    "For": "for loop", "While": "while loop", "If": "if statement", "With": "with",
    "Raise": "raise", "Try": "try", "Assert": "assert", "Delete": "del",
    "Global": "global", "Nonlocal": "nonlocal", "Pass": "pass", "Break": "break",
    "Continue": "continue", "Return": "return",
    "MatMult": "matrix multiplication (@)", "Mod": "modulo (%)", "FloorDiv": "floor division (//)",
    "BitAnd": "bitwise and (&)", "BitOr": "bitwise or (|)", "LShift": "shift (<<)",
    "RShift": "shift (>>)", "Invert": "bitwise not (~)", "Not": "not",
}

_CHAR_MAP = {"−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/", "⁄": "/", "^": "**"}
#: Constants a program may reuse as names: the seeds' own example names an intermediate
#: `e` (`e = b - c`). A program that assigns `e` uses it as that name throughout.
_SHADOWABLE = frozenset({"e"})
_MAX_EXPONENT = limits.value("power_exponent")  # a larger constant power could stall SymPy for minutes
#: Sums and products with fewer terms keep the left-to-right nesting written (``(a + b) + c``);
#: longer ones are grouped in a balanced tree, so no later recursion is deeper than log2(terms).
_CHAIN_NESTED = 32
#: One line with its end (``\r\n``, ``\r`` or ``\n``), split as Python's parser and
#: ``ast.get_source_segment`` split it (a form feed does not end a line).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


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


def _script_digit(ch: str) -> tuple[str, str] | None:
    """(``super`` or ``sub``, its ASCII) for a superscript digit or sign, or a subscript digit.

    >>> _script_digit("²"), _script_digit("⁻"), _script_digit("₁"), _script_digit("a")
    (('super', '2'), ('super', '-'), ('sub', '1'), None)
    """
    uname = unicodedata.name(ch, "")
    kind = "super" if uname.startswith("SUPERSCRIPT ") else "sub" if uname.startswith("SUBSCRIPT ") else None
    plain = unicodedata.normalize("NFKC", ch).replace("−", "-")
    if kind is None or not ((plain.isdigit() and plain.isascii()) or (kind == "super" and plain in "+-")):
        return None
    return kind, plain


def _fraction(ch: str) -> str | None:
    """``(1/2)`` for ``½`` (any vulgar fraction), else None."""
    if not unicodedata.name(ch, "").startswith("VULGAR FRACTION "):
        return None
    num, _, den = unicodedata.normalize("NFKC", ch).partition("\u2044")
    return f"({num}/{den})" if num.isdigit() and den.isdigit() else None


def _unicode_char(ch: str, line: str, col: int, source: str, lineno: int) -> str:
    """The ASCII a non-ASCII character stands for (``²`` -> ``**2``, ``½`` -> ``(1/2)``,
    ``w₁`` -> ``w1``, ``α`` -> ``alpha``); the one table of Unicode the language reads."""
    script = _script_digit(ch)
    if script is not None:
        kind, plain = script
        # A run of superscripts is one exponent: x⁻¹² is x**-12.
        starts_power = kind == "super" and (col == 0 or (_script_digit(line[col - 1]) or ("",))[0] != "super")
        return "**" + plain if starts_power else plain
    frac = _fraction(ch)
    if frac is not None:
        if col > 0 and line[col - 1].isdigit():
            raise ParseError(f"a mixed number such as {line[col - 1]}{ch} is ambiguous (write "
                             f"{line[col - 1]} + {frac[1:-1]} or a decimal)", source, lineno, col + 1)
        # ½(a − y)² and ½x: a fraction glyph is a coefficient, never a function.
        glued = col + 1 < len(line) and (line[col + 1] == "(" or line[col + 1].isalpha())
        return frac + "*" if glued else frac
    greek = _greek_name(ch)
    if greek is not None:
        # Keep Greek letters glued to neighbours as separate names: `2α` is 2*alpha.
        return greek
    if ch.isspace():
        return " "
    raise ParseError(
        f"character {ch!r} is not allowed (names use ASCII letters, digits, underscore or Greek "
        f"letters; operators are + - * / ** ^ − × ·, powers ² ³, fractions ½ ¼)", source, lineno, col + 1)


@dataclass(frozen=True)
class _Normalized:
    text: str
    colmap: tuple[tuple[int, ...], ...]  # per line: normalized column -> original column


def normalize(source: str) -> _Normalized:
    """Map ``− × · ^``, Greek letters, ``½``, ``²`` and ``w₁`` to ASCII, remembering original columns.

    The program parser and the answer parser both read text through here, so they agree
    on every character.

    Examples
    --------
    >>> normalize("y = α·x^2").text
    'y = alpha*x**2'
    >>> normalize("J = ½(a₂ − y)²").text
    'J = (1/2)*(a2 - y)**2'
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
                rep = _unicode_char(ch, line, col, source, lineno)
            if rep is None:
                rep = ch
            buf.append(rep)
            cmap.extend([col] * len(rep))
        cmap.append(len(line))
        out_lines.append("".join(buf))
        maps.append(tuple(cmap))
    return _Normalized("\n".join(out_lines), tuple(maps))


# --- limits checked on the text, before ast.parse and before SymPy ---------------------------

def _position(norm: _Normalized, line: int, col0: int) -> str:
    """``line L, column C`` in the original text for a 0-based column of the normalized text."""
    cmap = norm.colmap[line - 1] if 0 < line <= len(norm.colmap) else ()
    col = cmap[min(col0, len(cmap) - 1)] + 1 if cmap else col0 + 1
    return f"line {line}, column {col}"


def _check_text_size(source: str) -> None:
    """Bytes and lines, before normalizing (which allocates per character)."""
    n = len(source)
    if n <= limits.value("input_bytes"):  # characters <= bytes: encode only what is small
        n = len(source.encode("utf-8", "surrogatepass"))
    limits.check("input_bytes", n, "the program")
    limits.check("input_lines", source.count("\n") + 1, "the program")


def _literal_size(text: str) -> tuple[int, int]:
    """(digits, decimal exponent) of a number token, from its text alone (no conversion)."""
    t = text.replace("_", "").lower().rstrip("j")
    if t[:2] in ("0x", "0o", "0b"):
        return len(t) - 2, 0
    _, _, exponent = t.partition("e")
    digits = sum(ch.isdigit() for ch in t)
    if digits > limits.value("literal_digits") or not exponent.lstrip("+-").isdigit():
        return digits, 0
    return digits, abs(int(exponent))


_OPEN, _CLOSE = "([{", ")]}"
#: Operators after which a ``+``/``-`` is a sign, not a subtraction.
_BINARY_OPS = frozenset({"+", "-", "*", "/", "//", "%", "@", "<<", ">>", "&", "|", "<", ">", "<=", ">=",
                         "==", "!="})


class _TokenScan:
    """The token-level limits of one text: tokens, statements, nesting, chains and literals.

    Python's own parser and AST builder recurse, so nesting is measured here, on the
    tokens, and refused with its position before ``ast.parse`` runs. One method per kind
    of token; the state is the scan's own (no token is ever evaluated).
    """

    _SKIPPED = (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)

    def __init__(self, norm: _Normalized):
        self.norm = norm
        self.ntokens = 0
        self.statements = 1
        self.ops_in_statement = self.most_ops = 0
        # One frame per open bracket: [run of signs and powers, binary operators since the last ','].
        self.frames = [[0, 0]]
        self.nesting = 0
        self.prev: tokenize.TokenInfo | None = None
        self.max_nesting = limits.value("nesting_depth")
        self.max_terms = limits.value("chain_terms")

    def run(self) -> int:
        """Scan every token; return the most binary operators in one statement."""
        readline = io.StringIO(self.norm.text).readline
        try:
            for tok in tokenize.generate_tokens(readline):
                if tok.type not in self._SKIPPED:
                    self.token(tok)
        except (tokenize.TokenError, SyntaxError):
            pass  # unbalanced brackets, bad indentation: ast.parse reports them with their position
        return self.most_ops

    def where(self, tok: tokenize.TokenInfo) -> str:
        return _position(self.norm, *tok.start)

    def token(self, tok: tokenize.TokenInfo) -> None:
        self.ntokens += 1
        if self.ntokens > limits.value("tokens"):
            limits.check("tokens", self.ntokens, self.where(tok))
        if tok.type == tokenize.NEWLINE or (tok.type == tokenize.OP and tok.string == ";"
                                             and len(self.frames) == 1):
            self.end_statement(tok)
            return
        if tok.type == tokenize.NUMBER:
            self.number(tok)
        elif tok.type == tokenize.OP:
            self.operator(tok)
        self.prev = tok

    def end_statement(self, tok: tokenize.TokenInfo) -> None:
        if self.prev is not None:
            self.statements += 1
            limits.check("statements", self.statements - 1, self.where(tok))
        self.frames = [[0, 0]]
        self.nesting = self.ops_in_statement = 0
        self.prev = None

    def number(self, tok: tokenize.TokenInfo) -> None:
        digits, exponent = _literal_size(tok.string)
        where = self.where(tok)
        limits.check("literal_digits", digits, f"{where}: the number")
        limits.check("literal_exponent", exponent, f"{where}: the exponent of the number")

    def operator(self, tok: tokenize.TokenInfo) -> None:
        text, frame, prev = tok.string, self.frames[-1], self.prev
        operand_before = prev is not None and (prev.type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
                                               or prev.string in _CLOSE)
        if text in _OPEN:
            self.frames.append([0, 0])
            self.nesting += 1
        elif text in _CLOSE:
            if len(self.frames) > 1:
                self.nesting -= 1 + self.frames.pop()[0]
        elif (text in ("+", "-", "~") and not operand_before) or text in ("**", "^", "."):
            # A method call (x.relu()) nests its receiver one level deeper, like a sign or a power:
            # a chain x.relu().relu()… never opens a bracket that stays open.
            frame[0] += 1
            self.nesting += 1
        elif text in _BINARY_OPS:
            self.binary(tok, frame)
        elif text in (",", "=", ":="):
            self.nesting -= frame[0]
            frame[0] = frame[1] = 0
        if self.nesting > self.max_nesting:
            limits.check("nesting_depth", self.nesting, self.where(tok))

    def binary(self, tok: tokenize.TokenInfo, frame: list[int]) -> None:
        self.nesting -= frame[0]
        frame[0] = 0
        frame[1] += 1
        self.ops_in_statement += 1
        self.most_ops = max(self.most_ops, self.ops_in_statement)
        if frame[1] + 1 > self.max_terms:
            limits.check("chain_terms", frame[1] + 1, self.where(tok))


def _scan_tokens(norm: _Normalized) -> int:
    """Check tokens, statements, nesting, chains and number literals; return the most
    binary operators in one statement (the depth Python's ``ast`` needs for it)."""
    return _TokenScan(norm).run()


@contextmanager
def _recursion_room(extra: int) -> Iterator[None]:
    """Let Python's AST builder (which recurses once per operator of a flat chain, in C)
    take a chain the token scan has already bounded by :data:`limits.LIMITS`."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(old + extra)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


@dataclass(frozen=True)
class _Size:
    """What the text says about a subexpression's size, before anything is computed.

    ``const``: no input in it. ``mag``: upper bound of log10 |value| (constants).
    ``digits``: upper bound of the digits of its exact constants (and of log10 1/|value|).
    ``degree``: upper bound of the power an input is raised to through ``**``.
    """

    const: bool
    mag: float = 0.0
    digits: float = 0.0
    degree: float = 0.0
    approx: float | None = None  # a constant's float64 value, when float64 holds it


def _approx(node: ast.AST, args: list[float | None]) -> float | None:
    """A constant's value in float64 arithmetic (``None`` on overflow or outside the domain):
    it tightens the bounds for ordinary constants such as ``0.5**2`` or ``tan(0.6)``.

    Functions are evaluated by their op row's NumPy forward, so a new row needs nothing here.
    """
    known = [a for a in args if a is not None]
    if len(known) < len(args):
        return None
    try:
        with np.errstate(all="ignore"):  # overflow and domain errors give inf or nan: refused below
            value = _approx_value(node, known)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return value if value is not None and math.isfinite(value) else None


def _approx_value(node: ast.AST, args: list[float]) -> float | None:
    if isinstance(node, ast.UnaryOp):
        return -args[0] if isinstance(node.op, ast.USub) else args[0]
    if isinstance(node, ast.BinOp):
        arithmetic = _ARITHMETIC.get(type(node.op))
        return None if arithmetic is None else arithmetic(*args)
    fname = _called(node)
    if fname in FUNCTIONS:
        op = OPS[FUNCTIONS[fname]]
        if op.arity is not None and op.arity != len(args):
            return None
        return float(np.asarray(op.np_forward(*args), dtype=float))
    return None


#: Python's float arithmetic for the binary operators of the language.
_ARITHMETIC: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: math.pow}


def _times(a: float, b: float) -> float:
    return 0.0 if a == 0 or b == 0 else a * b


def _pow10(x: float) -> float:
    return math.inf if x > 300 else 10.0 ** x


def _arithmetic_size(op: ast.operator, a: _Size, b: _Size) -> _Size:
    """Size of ``a + b``, ``a - b``, ``a * b`` or ``a / b``."""
    const = a.const and b.const
    degree = max(a.degree, b.degree)
    if isinstance(op, (ast.Add, ast.Sub)):
        return _Size(const, max(a.mag, b.mag) + 0.31, a.digits + b.digits, degree)
    if isinstance(op, ast.Div):
        return _Size(const, a.mag + b.digits, a.digits + b.digits, degree)
    return _Size(const, a.mag + b.mag, a.digits + b.digits, degree)


def _call_size(name: str | None, args: list[_Size]) -> _Size:
    """Size of a function of ``args`` (``name`` is its op name)."""
    digits = max(a.digits for a in args)
    degree = max(a.degree for a in args)
    if not all(a.const for a in args):  # only exact constants have digits; a function of an input has none
        return _Size(False, 0.0, digits, degree)
    mag = max(a.mag for a in args)
    if name == "exp":  # e**x: |x| <= 10**mag, so log10 e**x <= 0.4343 * 10**mag (or as small)
        mag = 0.4343 * _pow10(mag)
        digits = max(digits, mag) + 1
    elif name == "log":
        mag = math.log10(2.31 * max(mag, digits) + 1)
        digits += 1
    elif name == "sqrt":
        mag /= 2
        digits += 1
    else:  # bounded functions, and tan (whose poles a constant can only approach)
        mag = max(mag, digits) + 1 if name == "tan" else mag + 1
        digits += 1
    return _Size(True, mag, digits, degree)




@dataclass(frozen=True)
class _Declared:
    """One statement's form: the name it assigns (None: a last bare expression), its value
    (an update ``c += x`` as ``c + (x)``), and whether it is micrograd's ``y.backward()``."""

    name: str | None
    value: ast.expr | None
    backward: bool = False


#: The updates a program may write, ``c += x`` as ``c = c + (x)`` (a new version of ``c``).
_UPDATES: dict[type, str] = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.Pow: "**="}


def _backward_of(node: ast.AST) -> ast.Name | None:
    """The ``y`` of micrograd's ``y.backward()``, else None."""
    method = _method(node)
    if method is not None and method.attr == "backward" and isinstance(method.value, ast.Name) \
            and isinstance(node, ast.Call) and not node.args and not node.keywords:
        return method.value
    return None


class _Builder:
    """Whitelist visitor from Python AST to SymPy, with source positions for errors."""

    def __init__(self, source: str, norm: _Normalized, tree: ast.Module | ast.Expression):
        self.source = source
        self.norm = norm
        self.tree = tree
        self.assigned: set[str] = set()
        self.all_assigned: dict[str, int] = {}  # every name the text assigns -> its line
        self.deps: dict[str, set[str]] = {}
        self.current = ""  # the name being defined
        self.sizes: dict[int, _Size] = {}       # id(ast node) -> its estimated size
        self.named_sizes: dict[str, _Size] = {}  # a statement's name -> its value's size
        self.latest: dict[str, str] = {}  # an assigned name -> the name of its latest version
        self.version_names: frozenset[str] = frozenset()  # the names made for earlier versions
        self._lines: list[bytes] | None = None   # norm.text's lines, UTF-8, split once

    def segment(self, node: ast.AST) -> str | None:
        """``ast.get_source_segment(self.norm.text, node)``, in time of the segment's length.

        ``ast.get_source_segment`` splits the whole text into lines on every call; called once
        per number literal, it made parsing quadratic (issue 13: 95 % of the time). The lines
        are split and encoded once here and sliced by the same byte offsets.
        """
        line, col = getattr(node, "lineno", None), getattr(node, "col_offset", None)
        end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        if line is None or col is None or end_line is None or end_col is None:
            return None
        if self._lines is None:
            self._lines = [text.encode() for text in _LINE.findall(self.norm.text)]
        first, last = line - 1, end_line - 1
        if first == last:
            return self._lines[first][col:end_col].decode()
        middle = b"".join(self._lines[first + 1:last])
        return (self._lines[first][col:] + middle + self._lines[last][:end_col]).decode()

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

    def where(self, node: ast.AST) -> str:
        line, col = self.pos(node)
        return f"line {line}, column {col}"

    # --- sizes estimated from the syntax tree (no SymPy) -----------------------------------
    def estimate(self, root: ast.AST) -> _Size:
        """Bound every constant, power and exponent under ``root`` from the text alone.

        Refuses (before SymPy builds or evaluates anything) constants over ``constant_digits``,
        constant exponents over ``power_exponent`` and powers of an input whose combined
        exponent, through towers such as ``(x**100)**100``, is over ``power_exponent``.
        Iterative: a flat chain of 10,000 terms is 10,000 levels of ``ast``.
        """
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if id(node) in self.sizes:
                continue
            kids = _children(node)
            if not ready and kids:
                stack.append((node, True))
                stack.extend((k, False) for k in kids)
                continue
            self.sizes[id(node)] = self._size(node, [self.sizes[id(k)] for k in kids])
        return self.sizes[id(root)]

    def _size(self, node: ast.AST, args: list[_Size]) -> _Size:
        size = self._raw_size(node, args)
        if size.const:
            approx = _approx(node, [a.approx for a in args]) if args else size.approx
            if approx is not None:  # float64 knows the value: its magnitude is exact
                size = _Size(True, max(math.log10(abs(approx)), 0.0) if approx else 0.0, size.digits,
                             size.degree, approx)
        if size.digits > limits.value("constant_digits"):
            limits.check("constant_digits", _rounded(size.digits),
                         f"{self.where(node)}: the estimated size of the constants here")
        return size

    def _raw_size(self, node: ast.AST, args: list[_Size]) -> _Size:
        if isinstance(node, ast.Constant):
            return self._constant_size(node)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS and node.id not in self.all_assigned:
                return _Size(True, 1.0, 1.0, 0.0, math.pi if node.id == "pi" else math.e)
            return self.named_sizes.get(node.id, _Size(False, degree=1.0))
        if isinstance(node, ast.UnaryOp) and args:
            return args[0]
        if isinstance(node, ast.BinOp) and len(args) == 2:
            if isinstance(node.op, ast.Pow):
                return self._power_size(node, *args)
            return _arithmetic_size(node.op, *args)
        if isinstance(node, ast.Call) and _called(node) is not None and args:
            return _call_size(FUNCTIONS.get(_called(node) or ""), args)
        return _Size(False)

    def _constant_size(self, node: ast.Constant) -> _Size:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return _Size(True)
        digits, exponent = _literal_size(self.segment(node) or "0")
        approx: float | None = float(v) if isinstance(v, float) or abs(v) < 10**300 else None
        if approx is not None and not math.isfinite(approx):
            approx = None
        return _Size(True, float(exponent + digits), digits + exponent + 1.0, 0.0, approx)

    def _power_size(self, node: ast.BinOp, base: _Size, exp: _Size) -> _Size:
        """Size of ``base ** exp``; refuses an exponent that may exceed ``power_exponent``."""
        if not exp.const:
            return _Size(False, digits=base.digits, degree=base.degree)
        # |exp| <= bound: its float64 value when known, else the bound on its magnitude.
        bound = abs(exp.approx) * (1 + 1e-9) if exp.approx is not None else _pow10(exp.mag)
        exact_check_is_cheap = bound <= 1e6 and exp.digits <= 1000
        named = any(isinstance(n, ast.Name) and n.id not in CONSTANTS for n in ast.walk(node.right))
        if not exact_check_is_cheap or (named and bound > _MAX_EXPONENT * (1 + 1e-9)):
            segment = self.segment(node.right) or "?"
            shown = segment if len(segment) <= 40 else segment[:37] + "..."
            raise self.error(node, f"constant exponent {shown} must be a real number of at most "
                                   f"{_MAX_EXPONENT} in absolute value (limit power_exponent = "
                                   f"{_MAX_EXPONENT}; its size is estimated at up to {_rounded(bound)})")
        if base.const:
            mag = _times(bound, max(base.mag, base.digits))
            return _Size(True, mag, _times(bound, max(base.digits, 1.0)) + exp.digits)
        degree = _times(bound, max(base.degree, 1.0))
        # A plain input's exponent (x**1001) gets the exact check and its message in visit_BinOp.
        if degree > _MAX_EXPONENT * (1 + 1e-9) and (base.degree > 1 or named):
            limits.check("power_exponent", _rounded(degree),
                         f"{self.where(node)}: the estimated exponent of an input in this power")
        # (2*x)**n raises the coefficient's digits to the n-th power too.
        return _Size(False, digits=_times(bound, base.digits) + exp.digits, degree=degree)

    # --- statements ------------------------------------------------------------------
    def program(self, tree: ast.Module) -> Program:
        body = tree.body
        if not body:
            raise ParseError("the program is empty (write at least one `name = expression`)",
                             self.source, 1, 1)
        declared = [self._declare(stmt, last=i == len(body) - 1) for i, stmt in enumerate(body)]
        internal = self._versions(declared)
        statements: list[Statement] = []
        output = None
        for d, stmt, iname in zip(declared, body, internal):
            if d.backward:  # `y.backward()`: the output is y as it stands here
                output = self.latest[d.name or ""]
                continue
            statements.append(self._statement(d.name or self._fresh_output_name(), iname, d.value, stmt.lineno))
        if not statements:
            raise ParseError("the program has no assignment (write at least one `name = expression`)",
                             self.source, 1, 1)
        return Program(tuple(statements), output or statements[-1].name, self.source)

    def _declare(self, stmt: ast.stmt, last: bool) -> _Declared:
        """Check one statement's form before any is read: the name it assigns and its value.
        The name is ``None`` for a last bare expression (named when all names are known)."""
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            if len(stmt.targets) != 1 or not isinstance(target, ast.Name):
                raise self.error(stmt, "an assignment must have exactly one name on the left "
                                       "(chained `a = b = ...` and tuples are not allowed)")
            self._check_target(target)
            self.all_assigned.setdefault(target.id, target.lineno)
            return _Declared(target.id, stmt.value)
        if isinstance(stmt, ast.AugAssign):
            return _Declared(stmt.target.id if isinstance(stmt.target, ast.Name) else "", self._update(stmt))
        if isinstance(stmt, ast.Expr):
            receiver = _backward_of(stmt.value)
            if receiver is not None:
                return self._backward(stmt, receiver, last)
            if not last:
                raise self.error(stmt, "an expression without `name =` is allowed only as the "
                                       "last statement (it becomes the output `f`)")
            return _Declared(None, stmt.value)
        raise self.error(stmt, f"{_describe(stmt)} is not allowed (allowed: {_ALLOWED})")

    def _check_target(self, target: ast.Name) -> None:
        name = target.id
        if name in FUNCTIONS:
            raise self.error(target, f"cannot assign to {quote(name)}: it is a function name")
        if name in CONSTANTS and name not in _SHADOWABLE:
            raise self.error(target, f"cannot assign to {quote(name)}: it is a constant")

    def _update(self, stmt: ast.AugAssign) -> ast.expr:
        """``c += expr`` as the value ``c + (expr)`` of a new version of ``c`` (micrograd's programs).

        The value is the syntax tree Python would evaluate, so every check of ``c + (expr)`` applies.
        """
        target = stmt.target
        if not isinstance(target, ast.Name):
            raise self.error(stmt, "an update `x += …` must have one name on the left")
        self._check_target(target)
        symbol = _UPDATES.get(type(stmt.op))
        if symbol is None:
            raise self.error(stmt, f"update with {_describe(stmt.op)} is not allowed (allowed: += -= *= /= **=)")
        if target.id not in self.all_assigned:
            raise self.error(target, f"`{target.id} {symbol} …` updates {quote(target.id)}, which is not assigned "
                                     f"before this line (assign it first, `{target.id} = …`; an input cannot "
                                     f"be updated: its value comes from --at)")
        left = ast.Name(id=target.id, ctx=ast.Load())
        ast.copy_location(left, target)
        return ast.copy_location(ast.BinOp(left=left, op=stmt.op, right=stmt.value), stmt)

    def _backward(self, stmt: ast.Expr, receiver: ast.Name, last: bool) -> _Declared:
        """``y.backward()`` (micrograd's last line): the output is ``y``."""
        if not last:
            raise self.error(stmt, f"{receiver.id}.backward() is allowed only as the last statement "
                                   f"(it names the output)")
        if receiver.id not in self.all_assigned:
            raise self.error(receiver, f"{receiver.id}.backward(): {quote(receiver.id)} is not assigned "
                                       f"(the output must be an assigned name)")
        return _Declared(receiver.id, None, backward=True)

    def _versions(self, declared: list[_Declared]) -> list[str]:
        """The name each statement defines: a name assigned n times (``c = …; c += …``) is n
        versions, ``c_1 … c_(n-1)`` and, last, ``c`` itself, so that the user's name is the final
        value (as micrograd's ``c.grad`` is). A version name never collides with a name of the text."""
        counts: dict[str, int] = {}
        for d in declared:
            if d.name is not None and not d.backward:
                counts[d.name] = counts.get(d.name, 0) + 1
        used = set(self.all_assigned) | {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}
        used |= set(FUNCTIONS) | set(CONSTANTS)
        bars: dict[str, str] = {}  # one separator per name, so that its versions read c_1, c_2, …
        for name, n in counts.items():
            bar = "_"  # c_1, c_2; if the text has such names, c_v1, c_vv1, … (a subscript in LaTeX too)
            while any(f"{name}{bar}{k}" in used for k in range(1, n)):
                bar = "_v" if bar == "_" else bar + "v"
            bars[name] = bar
            used |= {f"{name}{bar}{k}" for k in range(1, n)}
        seen: dict[str, int] = {}
        out: list[str] = []
        for d in declared:
            if d.name is None or d.backward:
                out.append(d.name or "")
                continue
            k = seen[d.name] = seen.get(d.name, 0) + 1
            out.append(d.name if k == counts[d.name] else f"{d.name}{bars[d.name]}{k}")
        self.version_names = frozenset(n for n, d in zip(out, declared) if n and n != d.name)
        return out

    def _statement(self, name: str, internal: str, value: ast.expr | None, line: int) -> Statement:
        """Read ``name = value`` as the statement defining ``internal`` (the name, or a version
        of it): sizes first (nothing is built before they are bounded)."""
        assert value is not None, "a statement with a value"
        self.current = name
        self.deps.setdefault(name, set())
        size = self.estimate(value)
        expr = self.expr(value)
        self.assigned.add(name)
        self.latest[name] = internal or name
        if size.const:
            self.named_sizes[name] = size
        else:  # a later version of a name that held a constant
            self.named_sizes.pop(name, None)
        return Statement(internal or name, expr, line)

    def _fresh_output_name(self) -> str:
        used = set(self.all_assigned) | {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}
        used |= self.version_names
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
            shown = quote(v) if isinstance(v, str) else repr(v)[:80]
            raise self.error(node, f"{type(v).__name__} literal {shown} is not allowed "
                                   f"(only decimal and scientific numbers such as 2, 0.5, 1e-3)")
        text = self.segment(node) or repr(v)
        if isinstance(v, float) and (v != v or abs(v) == float("inf")):
            raise self.error(node, f"number {text} is too large (must be finite)")
        # Exact decimal: 0.1 means 1/10, so exact symbolic comparisons stay exact.
        return sp.Integer(v) if isinstance(v, int) else sp.Rational(text.replace("_", ""))

    def visit_Name(self, node: ast.Name) -> sp.Expr:
        name = node.id
        if name in CONSTANTS and name not in self.all_assigned:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self.error(node, f"{quote(name)} is a function; call it like {name}(x)")
        if not name.isascii():
            raise self.error(node, f"name {quote(name)} is not allowed (ASCII letters, digits, underscore)")
        if name == self.current and name not in self.assigned:
            raise self.error(node, f"{quote(name)} is used in its own definition (a cycle)")
        if name in self.all_assigned and name not in self.assigned:
            cycle = self._cycle(name)
            if cycle:
                raise self.error(node, f"cycle: {' -> '.join(cycle)} (a name cannot depend on itself)")
            later = self.all_assigned[name]
            hint = " (this program assigns e, so e is not Euler's number here: use exp(1) for it)" \
                if name in _SHADOWABLE else ""
            raise self.error(node, f"{quote(name)} is used before it is assigned (on line {later}); "
                                   f"assign it first{hint}")
        self.deps[self.current].add(name)
        # A name assigned again (`c += c + 1`) means its latest version here.
        return sp.Symbol(self.latest.get(name, name), real=True)

    def _cycle(self, name: str) -> list[str] | None:
        """If `name`'s later definition uses the current statement, the chain that does."""
        body = self.tree.body if isinstance(self.tree, ast.Module) else []
        uses: dict[str, set[str]] = {}
        for stmt in body:
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
        op = node.op
        if isinstance(op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            return self._chain(node)
        if isinstance(op, ast.Pow):
            left, right = self.expr(node.left), self.expr(node.right)
            if right.is_number:  # whatever the base: x**1000000 at x = 1.1 is as slow as 2**1000000
                try:
                    ev = complex(sp.N(right.doit(), 15))
                except (TypeError, ValueError, ArithmeticError):  # not a plain number (e.g. step at 0)
                    ev = complex("nan")
                if not (ev.imag == 0 and abs(ev.real) <= _MAX_EXPONENT):
                    shown = self.segment(node.right)
                    raise self.error(node, f"constant exponent {shown} must be a real number of at most "
                                           f"{_MAX_EXPONENT} in absolute value (limit power_exponent = "
                                           f"{_MAX_EXPONENT})")
            return sp.Pow(left, right, evaluate=False)
        raise self.error(node, f"operator {_describe(op)} is not allowed (allowed: + - * / ** ^)")

    def _chain(self, node: ast.BinOp) -> sp.Expr:
        """A left-nested run of ``+ -`` (or ``* /``), walked without recursion.

        Short runs keep the nesting written, ``(a + b) - c``; long ones become a balanced
        tree of the same terms (``b - c`` as ``b + (-1)*c``, ``a/b`` as ``a*b**-1``, which the
        graph draws as ``-`` and ``/`` gates again), so nothing later recurses deeper than
        log2(terms).
        """
        additive = isinstance(node.op, (ast.Add, ast.Sub))
        same = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
        spine: list[ast.BinOp] = []
        first: ast.AST = node
        while isinstance(first, ast.BinOp) and isinstance(first.op, same):
            spine.append(first)
            first = first.left
        spine.reverse()
        acc = self.expr(first)
        if len(spine) < _CHAIN_NESTED:
            for link in spine:
                acc = _combine(link.op, acc, self.expr(link.right))
            return acc
        terms = [acc] + [_term(link.op, self.expr(link.right)) for link in spine]
        join = sp.Add if additive else sp.Mul
        while len(terms) > 1:
            terms = [join(*terms[i:i + 2], evaluate=False) if i + 1 < len(terms) else terms[i]
                     for i in range(0, len(terms), 2)]
        return terms[0]

    def implied_product(self, node: ast.Call) -> ParseError:
        """``0.5(a2 - y)``: a number or a bracket before a bracket is a missing ``*``.

        The error points at the bracket and shows the text with the ``*`` put in.
        """
        func = node.func
        line, end = getattr(func, "end_lineno", None), getattr(func, "end_col_offset", None)
        if line is None or end is None or line != node.end_lineno or line != node.lineno:
            return self.error(node, "a missing * (implied multiplication is not allowed): write a*(b)")
        cmap = self.norm.colmap[line - 1]
        norm_line = self.norm.text.split("\n")[line - 1]
        # The argument bracket: after the callee and any bracket closing it (``(a+b)(b-c)``).
        while end < len(norm_line) and norm_line[end] in ") \t":
            end += 1
        src_line = self.source.split("\n")[line - 1]

        def orig(col: int) -> int:
            return cmap[min(col, len(cmap) - 1)]
        start, mid, stop = orig(node.col_offset), orig(end), orig(node.end_col_offset or end)
        while start > 0 and src_line[start - 1] == "(" and src_line[start:mid].count("(") < \
                src_line[start:mid].count(")"):
            start -= 1  # the callee's own opening bracket lies before the node's start
        left, right = src_line[start:mid].rstrip(), src_line[mid:stop].strip()
        hint = f"{left}*{right}" if len(left) + len(right) <= 60 else f"{left[:40]}*(…)"
        return ParseError(f"a missing * (implied multiplication is not allowed); did you mean {hint}?",
                          self.source, line, mid + 1)

    def visit_Call(self, node: ast.Call) -> sp.Expr:
        method = _method(node)
        if method is not None:
            return self.method_call(node, method)
        if not isinstance(node.func, ast.Name):
            if _implied_product(node):
                raise self.implied_product(node)
            raise self.error(node, f"only named functions can be called (allowed: {', '.join(sorted(FUNCTIONS))})")
        fname = node.func.id
        if fname not in FUNCTIONS:
            raise self.error(node.func, f"unknown function {quote(fname)} "
                                        f"(allowed: {', '.join(sorted(FUNCTIONS))}; for a product "
                                        f"write {fname}*(…))")
        if node.keywords:
            raise self.error(node.keywords[0], f"{fname}() takes no keyword arguments")
        op = OPS[FUNCTIONS[fname]]
        if op.name == "log" and len(node.args) == 2:
            return self.log_base(node)
        if op.arity is None:
            if len(node.args) < 2:
                raise self.error(node, f"{fname}() takes at least 2 arguments, got {len(node.args)}")
            limits.check("function_arguments", len(node.args), f"{self.where(node)}: {fname}()")
        elif len(node.args) != op.arity:
            raise self.error(node, f"{fname}() takes {op.arity} argument{'s' if op.arity != 1 else ''}, "
                                   f"got {len(node.args)}{' (or log(x, base))' if op.name == 'log' else ''}")
        args = [self.expr(a) for a in node.args]
        return op.write(*args)

    def log_base(self, node: ast.Call) -> sp.Expr:
        """``log(x, b)``: log₂ and log₁₀ for bases 2 and 10 (rows of their own), otherwise the
        change of base log(x)/log(b) as a ÷ gate, which is how a calculus text differentiates it."""
        x, base = (self.expr(a) for a in node.args)
        if base.is_number and (base.is_positive is False or base == 1):
            raise self.error(node.args[1], f"the base of log(x, base) must be a positive number other than 1, "
                                           f"got {self.segment(node.args[1])}")
        if base == 2 or base == 10:
            return OPS[f"log{base}"].write(x)
        return OPS["div"].write(OPS["log"].write(x), OPS["log"].write(base))

    def method_call(self, node: ast.Call, method: ast.Attribute) -> sp.Expr:
        """``x.relu()``, micrograd's spelling of ``relu(x)``: any one-argument function as a method."""
        unary = sorted(f for f, name in FUNCTIONS.items() if OPS[name].arity == 1)
        fname = method.attr
        if fname not in FUNCTIONS or OPS[FUNCTIONS[fname]].arity != 1:
            raise self.error(node, f"unknown method {quote('.' + fname + '()')} (allowed: a one-argument "
                                   f"function as a method, x.relu(), x.tanh(), x.exp(), x.log(), x.sigmoid(); "
                                   f"all: {', '.join(unary)})")
        if node.args or node.keywords:
            raise self.error(node, f".{fname}() takes no arguments (it applies {fname} to the value before the dot)")
        return OPS[FUNCTIONS[fname]].write(self.expr(method.value))


def _implied_product(node: ast.Call) -> bool:
    """Whether ``callee(args)`` reads as a product with the ``*`` left out: the callee is a
    number, a bracketed expression or a call of a known function (``σ(z)(1 − σ(z))``)."""
    func = node.func
    if node.keywords or len(node.args) != 1:
        return False
    if isinstance(func, ast.Call):
        return isinstance(func.func, ast.Name) and func.func.id in FUNCTIONS
    return isinstance(func, (ast.Constant, ast.BinOp, ast.UnaryOp))


def _method(node: ast.AST) -> ast.Attribute | None:
    """The ``x.relu`` of a method call ``x.relu()`` (micrograd's spelling of ``relu(x)``), else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func
    return None


def _called(node: ast.AST) -> str | None:
    """The function name of a call ``f(x)`` or a method call ``x.f()``; None for anything else."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
    method = _method(node)
    return method.attr if method is not None else None


def _children(node: ast.AST) -> list[ast.AST]:
    method = _method(node)
    if method is not None:  # the receiver is the first operand
        return [method.value, *node.args] if isinstance(node, ast.Call) else [method.value]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _rounded(x: float) -> int | float:
    return int(x) if x < 1e15 else float(f"{x:.3g}")


def _term(op: ast.operator, right: sp.Expr) -> sp.Expr:
    """``right`` as a term of a sum (``- c`` -> ``(-1)*c``) or a factor of a product (``/ c``)."""
    if isinstance(op, ast.Sub):
        return -right if right.is_Number else sp.Mul(sp.Integer(-1), right, evaluate=False)
    if isinstance(op, ast.Div):
        return sp.Pow(right, sp.Integer(-1), evaluate=False)
    return right


def _combine(op: ast.operator, left: sp.Expr, right: sp.Expr) -> sp.Expr:
    """``left op right`` as written, unevaluated."""
    join = sp.Add if isinstance(op, (ast.Add, ast.Sub)) else sp.Mul
    return join(left, _term(op, right), evaluate=False)


def _describe(node: ast.AST) -> str:
    cls = type(node).__name__
    return _CONSTRUCTS.get(cls, cls)


#: A number glued to a name (``2x``, ``0.5a2``): Python's "invalid decimal literal".
_NUMBER_NAME = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)([A-Za-z_]\w*)")


def _syntax_error(source: str, norm: _Normalized, exc: SyntaxError) -> ParseError:
    line = exc.lineno or 1
    col = (exc.offset or 1) - 1
    cmap = norm.colmap[line - 1] if 0 < line <= len(norm.colmap) else ()
    orig = (cmap[min(col, len(cmap) - 1)] + 1) if cmap else col + 1
    msg = (exc.msg or "invalid syntax").replace("invalid syntax", "syntax error")
    if "decimal literal" in msg and 0 < line <= len(norm.colmap):
        text = norm.text.split("\n")[line - 1]
        for m in _NUMBER_NAME.finditer(text):
            if m.start() <= col <= m.end():
                at = cmap[min(m.start(2), len(cmap) - 1)] + 1
                return ParseError(f"a missing * (implied multiplication is not allowed); did you mean "
                                  f"{m.group(1)}*{m.group(2)[:40]}?", source, line, at)
    return ParseError(f"{msg} (allowed: {_ALLOWED})", source, line, orig)


def parse_program(source: str) -> Program:
    """Parse expression-language text into a Program.

    Parameters
    ----------
    source : str
        Statements ``name = expr`` (or updates ``name += expr``, ``-=``, ``*=``, ``/=``, ``**=``)
        separated by newlines or ``;``. ``#`` starts a comment.

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
    >>> parse_program("c = a + b; c += c*a; c.backward()").assigned
    ('c_1', 'c')
    """
    if not isinstance(source, str):
        raise ParseError(f"expected program text, got {type(source).__name__}")
    _check_text_size(source)
    with paused_gc():  # no cycles to reclaim; full collections made the parse grow as n^1.14
        return _parse_checked(source)


def _parse_checked(source: str) -> Program:
    """:func:`parse_program` on text of an allowed size."""
    norm = normalize(source)
    if not norm.text.strip():
        raise ParseError("the program is empty (write at least one `name = expression`)", source, 1, 1)
    tree = cast(ast.Module, _parse_ast(source, norm, "exec"))
    try:
        return _Builder(source, norm, tree).program(tree)
    except RecursionError:  # a bug: the token scan bounds every nesting the builder recurses on
        raise ParseError(f"the expression is nested too deeply (limit nesting_depth = "
                         f"{limits.value('nesting_depth')})", source, 1, 1) from None


def _parse_ast(source: str, norm: _Normalized, mode: str) -> ast.AST:
    """``ast.parse`` after the token-level limits, with room for the flat chains they allow."""
    most_ops = _scan_tokens(norm)
    try:
        with _recursion_room(most_ops + 100):
            return ast.parse(norm.text, mode=mode)
    except SyntaxError as exc:
        raise _syntax_error(source, norm, exc) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ParseError(f"cannot read the program: {str(exc)[:200]}") from None


def parse_expression(text: str, known: set[str] | None = None) -> sp.Expr:
    """Parse one expression (no assignment), for answers and values.

    Examples
    --------
    >>> parse_expression("b - c")
    b - c
    """
    # Leading blanks would be an "unexpected indent"; parenthesising keeps every column
    # (shifted by one, mapped back below) and allows the expression to span lines.
    if not isinstance(text, str):
        raise ParseError(f"expected expression text, got {type(text).__name__}")
    _check_text_size(text)
    norm = normalize(text)
    wrapped = _Normalized("(" + norm.text + "\n)",
                          ((0,) + norm.colmap[0],) + norm.colmap[1:] + ((len(text),),))
    if not norm.text.strip():
        raise ParseError("the expression is empty", text, 1, 1)
    tree = cast(ast.Expression, _parse_ast(text, wrapped, "eval"))
    builder = _Builder(text, wrapped, tree)
    builder.current = "\0"
    builder.deps["\0"] = set()
    # Names the program assigns (``known``) shadow constants there, so here too: `e`.
    for name in sorted(set(known or ()) & _SHADOWABLE):
        builder.all_assigned[name] = 1
        builder.assigned.add(name)
    try:
        builder.estimate(tree.body)
        return builder.expr(tree.body)
    except RecursionError:  # a bug: the token scan bounds every nesting the builder recurses on
        raise ParseError(f"the expression is nested too deeply (limit nesting_depth = "
                         f"{limits.value('nesting_depth')})", text, 1, 1) from None


def parse_statements(pairs: Mapping[str, str | sp.Expr] | Iterable[tuple[str, str | sp.Expr]],
                     output: str | None = None) -> Program:
    """A Program from ``name -> expression`` pairs whose expressions may be text.

    Text goes through :func:`parse_expression` (never ``sympify``), with the pairs' names
    known, so a program that assigns ``e`` means that name, as in :func:`parse_program`;
    SymPy expressions are taken as they are. :meth:`Program.from_sympy` takes the SymPy-only form.

    Examples
    --------
    >>> parse_statements({"d": "a + b", "y": "2*d"}).expanded()["y"]
    2*a + 2*b
    """
    items = list(pairs.items() if isinstance(pairs, Mapping) else pairs)
    known = {str(name) for name, _ in items}  # as in parse_program, an assigned `e` is that name
    return Program.from_sympy([(name, parse_expression(e, known) if isinstance(e, str) else e)
                               for name, e in items], output=output)


def parse_values(text: str) -> dict[str, sp.Expr]:
    """Parse ``--at`` values ``a=2,b=-1.5,c=1e-3`` into exact SymPy numbers.

    Values are numbers, optionally signed, or constant expressions such as ``pi/2``.

    Examples
    --------
    >>> parse_values("a=2, b=-0.5")
    {'a': 2, 'b': -1/2}
    """
    out: dict[str, sp.Expr] = {}
    _check_text_size(text)
    for col, part in _split_commas(text):
        if not part.strip():
            continue
        if "=" not in part:
            raise ParseError(f"expected NAME=VALUE, got {quote(part.strip())}", text, 1, col + 1)
        name, _, value = part.partition("=")
        name = name.strip()
        norm_name = normalize(name).text
        if not norm_name.isidentifier() or not norm_name.isascii():
            raise ParseError(f"{quote(name)} is not a name (ASCII letters, digits, underscore)",
                             text, 1, col + 1)
        if norm_name in out:
            raise ParseError(f"{quote(norm_name)} is given twice", text, 1, col + 1)
        try:
            v = parse_expression(value)
        except ParseError as exc:
            raise ParseError(f"value of {quote(norm_name)}: {exc.message}", text, 1,
                             col + len(name) + 2 + (exc.col or 1) - 1) from None
        except LimitError as exc:
            raise LimitError(exc.limit, f"--at value of {quote(norm_name)}: {exc}") from None
        if v.free_symbols or not v.is_number:
            raise ParseError(f"value of {quote(norm_name)} must be a number, got {quote(value.strip())}",
                             text, 1, col + len(part.partition('=')[0]) + 2)
        try:  # the sizes were bounded by the parser: this evaluates small constants only
            v = v.doit()
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise ParseError(f"value of {quote(norm_name)} cannot be computed: {str(exc)[:80]}",
                             text, 1, col + 1) from None
        if not (v.is_real and v.is_finite):
            raise ParseError(f"value of {quote(norm_name)} must be a finite real number", text, 1, col + 1)
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

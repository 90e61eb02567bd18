"""The limits backproof checks before it starts any work, in one table.

Every limit has a name, a value and a sentence saying what it bounds. Readers (parser,
spec and answer loaders, commands) call :func:`check` with the measured size *before*
they allocate or call SymPy, so oversized input is refused in bounded time and memory
with one line naming the limit and its value. The README's "Limits and safety" table
is generated from :data:`LIMITS` (see ``tests/test_limits_doc.py``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from .errors import LimitError

__all__ = ["Limit", "LIMITS", "check", "value", "markdown_table"]


@dataclass(frozen=True)
class Limit:
    """One documented limit: ``name``, its ``value`` (in ``unit``) and what it bounds."""

    name: str
    value: int | float
    unit: str
    what: str


def _table(*rows: Limit) -> dict[str, Limit]:
    return {row.name: row for row in rows}


#: Every limit, by name. Keep one row per limit; the README table is made from these.
LIMITS: dict[str, Limit] = _table(
    Limit("input_bytes", 1_000_000, "bytes", "size of a program, spec, answer or key file"),
    Limit("message_quote", 80, "characters", "longest user value quoted in an error message"),
    # expressions: programs, --at values and answers in the expression language (parse,
    # program, graph, derive) and the expression commands' options (explain, graph, crosscheck)
    Limit("input_lines", 20_000, "lines", "lines of a program"),
    Limit("tokens", 200_000, "tokens", "tokens (names, numbers, operators) of a program or value"),
    Limit("statements", 20_000, "statements", "statements of a program"),
    Limit("nesting_depth", 50, "levels",
          "nesting of parentheses, calls, unary signs and powers (a ** b ** c) in one expression"),
    Limit("chain_terms", 10_000, "terms",
          "terms of one flat run of + - * / between parentheses (a + b*c - d ...); longer runs "
          "are grouped in a balanced tree, so they work up to this size"),
    Limit("literal_digits", 100, "digits", "digits of one number literal"),
    # issue 14 (expression language): n-ary max/min, whose local derivatives at a tie are
    # products of step functions of every pair of operands
    Limit("function_arguments", 8, "arguments", "arguments of one max(...) or min(...); nest calls "
          "for more (max(max(a, b, ...), ...))"),
    Limit("literal_exponent", 400, "", "decimal exponent of one number literal (1e-400), "
          "in absolute value (float64 reaches 1e±308, subnormals 1e-324)"),
    Limit("power_exponent", 1000, "", "constant exponent of a power (x**1000), in absolute value, "
          "estimated from the text for towers and nested constants"),
    Limit("constant_digits", 10_000, "digits",
          "estimated size of a constant (such as 2**1000 or (10**100)**50), from the text"),
    Limit("exact_bits", 100_000, "bits", "exact value (numerator plus denominator) of one node at "
          "--at; larger values are computed as 30-digit decimals and the write-up says so"),
    Limit("graph_nodes", 60_000, "nodes", "nodes of a computational graph"),
    Limit("points", 100_000, "points", "--points of explain and crosscheck"),
    Limit("diagram_nodes", 300, "nodes", "nodes drawn in one diagram (graph --max-nodes; 0: never "
          "fold, allowed up to this size)"),
    # networks and answers
    Limit("file_nesting_depth", 40, "levels", "nesting of lists and mappings in a spec or answer file"),
    Limit("file_values", 100_000, "values", "values of a YAML file with its aliases expanded"),
    Limit("file_number_digits", 100, "digits", "digits of a number in a spec or answer file"),
    Limit("file_number_exponent", 1000, "in magnitude",
          "decimal exponent of a number in an answer file, as in 1e-1000"),
    Limit("net_units", 1000, "units", "units of one layer of a network spec"),
    Limit("net_features", 1000, "features", "input features of a network spec: inputs or data.features"),
    Limit("net_samples", 1000, "samples", "samples of a network spec: rows of inputs or data.samples"),
    Limit("net_parameters", 10_000, "parameters", "weights and biases of a network spec"),
    Limit("net_graph_nodes", 15_000, "nodes",
          "estimated graph of a network spec, about parameters × samples; ~10 s to derive"),
    Limit("net_steps", 20_000, "steps", "training steps of a network: the spec's steps or --steps"),
    # training loops of real courses (issue 14): CS231n's spiral case study trains 3,000+ steps
    # of 603 parameters on 300 samples (5.4e8) and its notes 10,000 (1.8e9, about 1 ms a step: 10 s).
    Limit("net_training_work", 2_000_000_000, "parameter-steps",
          "training steps × parameters × samples of a network"),
    Limit("answer_count", 500, "answers", "answers in one answer file, submission or key"),
    Limit("answer_chars", 2000, "characters", "length of one answer"),
    Limit("answer_key_chars", 80, "characters", "length of an answer's quantity name, its key"),
    # grading
    Limit("submission_bytes", 262_144, "bytes", "size of one submission file in a folder given to grade"),
    Limit("submission_files", 10_000, "files", "submission files (.yaml, .yml, .json, .toml) in one folder"),
    Limit("worker_memory", 2 << 30, "bytes",
          "address space a grading or SymPy worker process may add to what it starts with"),
    # assign (issue 12): per-student variants of a key
    Limit("roster_students", 2000, "students", "students in a roster given to assign (and keys in its folder)"),
    Limit("assign_attempts", 50, "draws",
          "draws tried per student before assign gives up (a draw on a kink or undefined point is redrawn)"),
    # grading feedback (issue 12): the points a key may give one question
    Limit("question_points", 10_000, "points", "points one question of a grading key is worth (key: points)"),
    # diagrams (issue 11): PNG resolution of graph, explain and net diagrams
    Limit("diagram_dpi", 600, "dots per inch", "--dpi of a PNG diagram (the pixels grow with its square)"),
    # one-line checks (issue 12): argparse's option parsing is quadratic in the options given,
    # so repeated options (--answer) are bounded before it runs
    Limit("cli_arguments", 2000, "arguments", "arguments of one command line (check's --answer repeats)"),
    # performance (issue 13): work budgets of the cross-check and of the symbolic stages; past
    # them a stage is skipped or narrowed, and the write-up says what and why
    Limit("crosscheck_fd_work", 10_000_000, "node-differences",
          "finite differences of one cross-check: gradients differenced × graph nodes (each "
          "difference is a forward pass); past it, evenly spread gradients up to the budget are "
          "differenced and the others checked symbolic against engine, as the write-up says"),
)


def value(name: str) -> int | float:
    """The value of limit ``name``.

    Examples
    --------
    >>> value("message_quote")
    80
    """
    return LIMITS[name].value


def check(name: str, actual: int | float, where: str = "") -> None:
    """Raise :class:`~backproof.errors.LimitError` when ``actual`` exceeds limit ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`LIMITS`.
    actual : int or float
        The measured size.
    where : str, optional
        What was measured, e.g. ``"line 3"`` or ``"layers[0].units"``.

    Examples
    --------
    >>> check("input_bytes", 10)
    >>> check("input_bytes", 2_000_000, "prog.txt")
    Traceback (most recent call last):
    ...
    backproof.errors.LimitError: prog.txt: 2000000 bytes is over the limit input_bytes = 1000000 bytes (size of a program, spec, answer or key file)
    """
    lim = LIMITS[name]
    if actual > lim.value:
        prefix = f"{where}: " if where else ""
        unit = f" {lim.unit}" if lim.unit else ""
        raise LimitError(name, f"{prefix}{actual}{unit} is over the limit {name} = {lim.value}"
                               f"{unit} ({lim.what})")


def _format_value(v: int | float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def markdown_table(limits: dict[str, Limit] | None = None) -> str:
    """The README's "Limits and safety" table: one row per limit, in table order.

    Parameters
    ----------
    limits : dict, optional
        Rows to render (default: :data:`LIMITS`).

    Returns
    -------
    str
        A Markdown table ending with a newline.

    Examples
    --------
    >>> print(markdown_table({"message_quote": LIMITS["message_quote"]}))
    | limit | value | what it bounds |
    |---|---|---|
    | `message_quote` | 80 characters | longest user value quoted in an error message |
    <BLANKLINE>
    """
    rows = ["| limit | value | what it bounds |", "|---|---|---|"]
    for lim in (LIMITS if limits is None else limits).values():
        value_text = f"{_format_value(lim.value)} {lim.unit}".strip()
        what = lim.what.replace("|", "\\|")  # a bar would end the cell
        rows.append(f"| `{lim.name}` | {value_text} | {what} |")
    return "\n".join(rows) + "\n"


def _main(argv: list[str] | None = None) -> int:
    """``python -m backproof.limits --markdown``: print the README table (the lead pastes it
    between the ``<!-- limits:start -->`` and ``<!-- limits:end -->`` markers)."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m backproof.limits",
                                     description="Print the table of limits backproof checks before work.")
    parser.add_argument("--markdown", action="store_true", help="print the README's Markdown table")
    parser.parse_args(argv)
    sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())

"""Hypothesis strategies shared by the property tests: random expression-language programs."""

from __future__ import annotations

from hypothesis import strategies as st


def expressions(names, unary):
    """Random expressions over ``names`` built from the op table's functions (safe domains)."""
    leaves = st.one_of(st.sampled_from(names), st.sampled_from(["0.5", "2", "1.5", "-3"]))

    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(unary), children).map(
                lambda t: f"-({t[1]})" if t[0] == "-" else f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["+", "-", "*"]), children, children).map(
                lambda t: f"({t[1]} {t[0]} {t[2]})"),
            st.tuples(children, children).map(lambda t: f"({t[0]}) / (1 + ({t[1]})**2)"),
            children.map(lambda c: f"log(1 + ({c})**2)"),
            children.map(lambda c: f"sqrt(2 + sin({c}))"),
            children.map(lambda c: f"tan(sigmoid({c}))"),
            st.tuples(st.sampled_from(["max", "min"]), children, children).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(children, st.sampled_from(["2", "3"])).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(children, children).map(lambda t: f"(1 + sigmoid({t[0]}))**({t[1]})"),
            # step(... - x): keep a variable inside so the step is not a constant.
            st.tuples(children, children).map(lambda t: f"({t[0]})*step({t[1]} - x)"),
        )

    return st.recursive(leaves, extend, max_leaves=6)

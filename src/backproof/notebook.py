"""Notebook entry points for networks and homework checks: records that display themselves.

:func:`network` runs a network spec the way ``backproof net`` does (the same
:func:`~backproof.nn.run.resolve_run` and :func:`~backproof.nn.run.run_network`) and returns a
:class:`NetworkExplanation`; :func:`check_answers` judges answers the way ``backproof check``
does (:func:`~backproof.check.diagnose.diagnose`) and returns a :class:`Feedback`. Both are
frozen records holding the domain result; Jupyter displays them through ``_repr_html_`` /
``_repr_markdown_``, which only call the presentation layer's printers
(:mod:`backproof.nn.report`, :mod:`backproof.check.report`). Their ``repr`` is one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .check import Problem, diagnose, parse_answers
from .check import report as check_report
from .check.answers import load_check
from .check.diagnose import CheckResult, check
from .errors import BackproofError
from .nn import NetOptions, NetResult, Network, program_from_spec, program_from_spec_file, resolve_run, run_network
from .nn import report as net_report
from .nn.run import check_options
from .report.document import Figure
from .report.embed import document_fragment

__all__ = ["NetworkExplanation", "Feedback", "network", "check_answers"]

#: Suffixes of spec and answer files (a program text never ends with one).
_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_VIEWS = ("scalar", "matrix", "both")


@dataclass(frozen=True)
class NetworkExplanation:
    """One explained step of a network (and its training, when asked), for a notebook.

    Attributes
    ----------
    result : NetResult
        Everything the step holds: derivation, views, update, checks, history.
    view : {"scalar", "matrix", "both"}
        The backward pass per unit (δ, ∂J/∂w = δ·a) or per matrix.
    digits : int
        Significant digits of the numbers shown.
    appendix : bool
        Also show every scalar chain-rule step (long: off by default).
    """

    result: NetResult
    view: str = "scalar"
    digits: int = 6
    appendix: bool = False

    @property
    def ok(self) -> bool:
        """False only when the gradients disagree with the NumPy engine or central differences."""
        return self.result.check is None or self.result.check.ok

    def to_markdown(self) -> str:
        """The Markdown write-up (GitHub maths), as ``backproof net --format md`` writes it."""
        return net_report.render_markdown(self.result, view=self.view, digits=self.digits,
                                          appendix=self.appendix)

    def to_text(self) -> str:
        """The terminal write-up."""
        return net_report.render_text(self.result, view=self.view, digits=self.digits,
                                      appendix=self.appendix)

    def to_json(self) -> str:
        """The JSON write-up (full precision)."""
        return net_report.render_json(self.result)

    def diagram(self, **kwargs: Any) -> Any:
        """The network diagram (one box per layer, δ per unit), as a ``graphviz.Digraph``
        (keywords of :func:`backproof.render.build_network_diagram`)."""
        from .render import build_network_diagram
        return build_network_diagram(self.result, **kwargs)

    def _svg(self) -> str | None:
        from .render import network_diagram_fits, render_bytes
        if not network_diagram_fits(self.result.net.spec):
            return None
        return render_bytes(self.diagram(), "svg").decode("utf-8")

    def to_html(self) -> str:
        """One self-contained HTML page, as ``backproof net --format html`` writes it."""
        return net_report.render_html(self.result, view=self.view, digits=self.digits,
                                      appendix=self.appendix, diagram=self._svg())

    def _repr_html_(self) -> str:
        svg = self._svg()
        figure = Figure("Computational graph of J, one box per layer", svg=svg) if svg else None
        options = net_report.NetWriteup(view=self.view, digits=self.digits, appendix=self.appendix,
                                        figure=figure)
        return document_fragment(net_report.network_document(self.result, options))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return "<NetworkExplanation" + repr(self.result)[len("<NetResult"):]

    def __str__(self) -> str:
        return self.to_text()


@dataclass(frozen=True)
class Feedback:
    """The verdicts on one set of answers, for a notebook.

    Attributes
    ----------
    result : CheckResult
        Every answer with its verdict, the first wrong step and the likely mistake.
    title : str or None
        The heading of the feedback.
    """

    result: CheckResult
    title: str | None = None

    @property
    def all_correct(self) -> bool:
        """Every answer is right."""
        return self.result.all_correct

    def to_html(self) -> str:
        """The stand-alone feedback page (what ``backproof check --format html`` writes)."""
        return check_report.render_html(self.result, title=self.title)

    def to_markdown(self) -> str:
        """The Markdown feedback."""
        return check_report.render_markdown(self.result, title=self.title)

    def to_text(self) -> str:
        """The terminal table and explanations."""
        return check_report.render_text(self.result)

    def to_json(self) -> str:
        """The JSON verdicts."""
        return check_report.render_json(self.result)

    def _repr_html_(self) -> str:
        return document_fragment(check_report.feedback_document(self.result, title=self.title))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return "<Feedback" + repr(self.result)[len("<CheckResult"):]

    def __str__(self) -> str:
        return self.to_text()


def _is_file(spec: Any) -> bool:
    return isinstance(spec, os.PathLike) or (isinstance(spec, str) and spec.lower().endswith(_FILE_SUFFIXES))


def network(spec: Any, *, view: str = "scalar", digits: int = 6, appendix: bool = False,
            steps: int | None = None, learning_rate: float | None = None, mode: str | None = None,
            tolerance: float | None = None) -> NetworkExplanation:
    """Explain one forward pass, backward pass and update of a network, for a notebook.

    Parameters
    ----------
    spec : path, mapping or Network
        A spec file (``.yaml``, ``.yml``, ``.json``, ``.toml``), a spec mapping, or a
        :class:`backproof.nn.Network`.
    view : {"scalar", "matrix", "both"}
    digits : int
        Significant digits shown (1 to 30).
    appendix : bool
        Also show every scalar chain-rule step.
    steps, learning_rate, mode, tolerance : optional
        As ``backproof net``'s options: train ``steps`` steps on the NumPy engine, override η,
        the update order and the training tolerance.

    Returns
    -------
    NetworkExplanation

    Raises
    ------
    SpecError
        A spec or option that is not valid (the message names the field).

    Examples
    --------
    >>> r = network({"inputs": [1], "targets": [2], "loss": "half_sse", "learning_rate": 0.5,
    ...              "layers": [{"units": 1, "activation": "identity", "weights": [[0]], "bias": 0}]})
    >>> r.result.loss, r.ok
    (2, True)
    """
    if view not in _VIEWS:
        raise BackproofError(f"view: expected one of {', '.join(_VIEWS)}, got {view!r}")
    if not 1 <= digits <= 30:
        raise BackproofError(f"digits: expected 1 to 30, got {digits!r}")
    options = NetOptions(steps=steps, tolerance=tolerance, learning_rate=learning_rate, mode=mode)
    check_options(options)
    if isinstance(spec, Network):
        net = spec.program()
    elif _is_file(spec):
        net = program_from_spec_file(str(spec))
    elif isinstance(spec, Mapping):
        net = program_from_spec(dict(spec), "")
    else:
        raise BackproofError(f"network: expected a spec file path, a spec mapping or a Network, "
                             f"got {type(spec).__name__}")
    result = run_network(resolve_run(net, options))
    return NetworkExplanation(result, view, digits, appendix)


def check_answers(problem: Any, answers: Mapping[str, Any] | None = None, *, at: Any = None,
                  learning_rate: Any = None, carried_credit: float = 1.0,
                  title: str | None = None) -> Feedback:
    """Check a student's answers and explain the first wrong step, for a notebook.

    Parameters
    ----------
    problem : path, str or Problem
        An answer file (``.yaml``, ``.yml``, ``.json``, ``.toml``, as ``backproof check``
        reads; then ``answers`` is not given), or the program in the expression language,
        or a :class:`backproof.check.Problem`.
    answers : mapping, optional
        Quantity -> the student's answer as text or a number: ``{"d": 3, "dy/db": "5"}``.
    at, learning_rate : optional
        The point and η, when ``problem`` is a program's text.
    carried_credit : float
        Points for an answer wrong only because an earlier one was (0 to 1).
    title : str, optional

    Returns
    -------
    Feedback

    Examples
    --------
    >>> f = check_answers("d = a + b; e = b - c; y = d*e", {"d": 3, "dy/db": 5}, at="a=2,b=1,c=0")
    >>> [(i.name, i.verdict) for i in f.result.items]
    [('d', 'correct'), ('dy/db', 'incorrect')]
    """
    if not 0 <= carried_credit <= 1:
        raise BackproofError(f"carried_credit: expected a number from 0 to 1, got {carried_credit!r}")
    if _is_file(problem):
        if answers is not None or at is not None or learning_rate is not None:
            raise BackproofError("check_answers: an answer file holds its problem and answers; "
                                 "give answers, at and learning_rate only with a program")
        return Feedback(check(load_check(Path(problem)), carried_credit=carried_credit), title)
    if answers is None:
        raise BackproofError("check_answers: expected the answers as a mapping {quantity: answer}")
    prob = problem if isinstance(problem, Problem) else Problem(problem, at=at, learning_rate=learning_rate)
    result = diagnose(prob, parse_answers(prob, dict(answers)), carried_credit=carried_credit)
    return Feedback(result, title)


# --- display of the plain records -----------------------------------------------------------
# A Derivation, a NetResult and a CheckResult live in layers that may not import the
# presentation layer, so they cannot carry _repr_html_ themselves. IPython lets the face layer
# register how they display instead (by class name: nothing heavy is imported to register).

_DISPLAYED = (("backproof.derivation", "Derivation", "derivation"),
              ("backproof.nn.explain", "NetResult", "network"),
              ("backproof.check.diagnose", "CheckResult", "feedback"))


def _document(kind: str, record) -> Any:
    if kind == "derivation":
        from .report.derivation_doc import derivation_document
        return derivation_document(record)
    if kind == "network":
        return net_report.network_document(record)
    return check_report.feedback_document(record)


def _html(kind: str):
    return lambda record: document_fragment(_document(kind, record))


def _markdown(kind: str):
    from .report.markdown import print_markdown
    return lambda record: print_markdown(_document(kind, record))


def register_display(shell) -> None:
    """Make Derivation, NetResult and CheckResult display themselves in ``shell`` (IPython).

    The package calls this when it is imported inside a running IPython; call it yourself if
    you import backproof before IPython starts.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from IPython.core.formatters import DisplayFormatter
    >>> shell = SimpleNamespace(display_formatter=DisplayFormatter())  # the part of a shell used
    >>> register_display(shell)
    >>> from backproof import derive
    >>> data, _ = shell.display_formatter.format(derive("y = 2*x", at={"x": 3}, verify=False))
    >>> "<math" in data["text/html"], data["text/plain"].startswith("<Derivation of y")
    (True, True)
    """
    formatters = shell.display_formatter.formatters
    for module, name, kind in _DISPLAYED:
        formatters["text/html"].for_type_by_name(module, name, _html(kind))
        formatters["text/markdown"].for_type_by_name(module, name, _markdown(kind))

"""Write examples/tour.ipynb, the notebook tour of backproof (run: python examples/make_tour.py).

The notebook is generated so that it is reproducible and reviewable as code; it is committed
without outputs (tests/test_notebook.py executes a copy with nbclient and checks what each
cell displays). Each code cell carries a tag naming the output it must show: ``html``,
``markdown``, ``svg`` or ``text``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
TOUR = HERE / "tour.ipynb"

CELLS = [
    ("md", """# A tour of backproof in a notebook

Every result below displays itself: the derivation as a write-up with MathML maths and the
computational graph inline (nothing is loaded from the network), a network's forward and
backward pass, and feedback on a student's homework. Each record's `repr` is one line.

The seeds' example is the fork $y = (a+b)(b-c)$ at $a=2$, $b=1$, $c=0$: $b$ feeds two gates,
so its gradient is a sum over two paths."""),
    ("html", """import backproof

fork = backproof.explain("d = a + b; e = b - c; y = d*e", at={"a": 2, "b": 1, "c": 0})
fork"""),
    ("md", """The same derivation in CS231n's notation (`db` for ∂y/∂b), one line per edge, without the
diagram:"""),
    ("html", """fork.writeup(notation="cs231n", compact=True, diagram=False)"""),
    ("md", "Its computational graph (values and gradients on the nodes, local derivatives on the edges):"),
    ("svg", """fork.diagram()"""),
    ("md", "A record's `repr` is one line, not a dump of its fields:"),
    ("text", """print(repr(fork.derivation))
print(repr(fork.crosscheck))"""),
    ("md", """## A network

Matt Mazur's 2-2-2 sigmoid network (`mazur.yaml`): the forward pass, the δ of every unit,
∂J/∂w = δ·a for every weight and one gradient-descent update, each checked against the NumPy
engine and central differences."""),
    ("markdown", """mazur = backproof.network("mazur.yaml")
mazur"""),
    ("md", """## Checking homework

A student's answers for the fork, with one slip: ∂y/∂b takes only the path through $d$."""),
    ("html", """backproof.check_answers("d = a + b; e = b - c; y = d*e",
                        {"d": 3, "e": 1, "y": 3, "dy/dd": 1, "dy/de": 3, "dy/db": 1},
                        at="a=2,b=1,c=0", title="Feedback: the fork")"""),
]


def build() -> nbformat.NotebookNode:
    """The tour notebook, without outputs."""
    cells = []
    for kind, source in CELLS:
        if kind == "md":
            cells.append(new_markdown_cell(source))
        else:
            cells.append(new_code_cell(source, metadata={"tags": [kind]}))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    # Fixed cell ids keep the file identical from run to run.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"tour-{i:02d}"
    return nb


def text() -> str:
    """The notebook file's text."""
    return nbformat.writes(build()) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if TOUR.read_text(encoding="utf-8") == text() else 1)
    TOUR.write_text(text(), encoding="utf-8")

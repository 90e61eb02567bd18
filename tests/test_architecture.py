"""The package's import graph: layers that import only downward, no cycles, no private names.

Oracle: the ``import`` statements of every module under ``src/backproof``, read with
``ast`` (module level and function level alike: a function-level import is still a
dependency). ``python -m pytest tests/test_architecture.py -q`` shows any violation.
The layers are the ones ``docs/architecture.md`` describes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "backproof"

#: Layer of each module (longest matching prefix wins); a module may import its own
#: layer and the layers below it, never above.
LAYERS: dict[str, int] = {
    # 0 base: errors, limits, file and number helpers, budgets, typed records
    "backproof.errors": 0, "backproof.limits": 0, "backproof.io": 0, "backproof.timeout": 0,
    "backproof.datafiles": 0, "backproof.printing": 0, "backproof.steps": 0, "backproof.tape": 0,
    # 1 the operation and loss tables
    "backproof.ops": 1, "backproof.losses": 1, "backproof.functions": 1,
    # 2 front: program, parser, input coercion
    "backproof.program": 2, "backproof.parse": 2, "backproof.inputs": 2,
    # 3 structure: the graph
    "backproof.graph": 3,
    # 4 maths: derivation, engines, finite differences
    "backproof.derivation": 4, "backproof.engine": 4, "backproof.fdiff": 4,
    # 5 oracles
    "backproof.verify": 5, "backproof.threeway": 5,
    # 6 domains
    "backproof.nn": 6, "backproof.check": 6,
    # 7 presentation
    "backproof.report": 7, "backproof.render": 7,
    # each domain's own presentation: builds its documents, plots and tables from domain results
    "backproof.check.report": 7, "backproof.check.sheet": 7, "backproof.check.plots": 7,
    "backproof.nn.report": 7, "backproof.nn.plots": 7,
    "backproof.nn.notation": 7,
    # 8 face
    "backproof.api": 8, "backproof.notebook": 8, "backproof.commands": 8, "backproof.cli": 8, "backproof.__main__": 8,
    "backproof": 8,
}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(mod: str) -> int:
    best = max((p for p in LAYERS if mod == p or mod.startswith(p + ".")), key=len, default=None)
    assert best is not None, f"{mod} has no layer in LAYERS (add it, and to docs/architecture.md)"
    return LAYERS[best]


def _exists(mod: str) -> bool:
    rel = Path(*mod.split("."))
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def _imports():
    """Yield (importer, imported module, imported name or None, line)."""
    for path in sorted(PKG.rglob("*.py")):
        mod = _module(path)
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "backproof":
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if _exists(sub):
                        yield mod, sub, None, node.lineno
                    else:
                        yield mod, target, alias.name, node.lineno
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "backproof":
                        yield mod, alias.name, None, node.lineno


IMPORTS = list(_imports())


def test_no_upward_import():
    bad = [f"{a}:{line} imports {b} (layer {_layer(b)} above {_layer(a)})"
           for a, b, _, line in IMPORTS if a != b and _layer(b) > _layer(a)
           and not (b == "backproof" and a.startswith("backproof."))]
    assert bad == []


def test_no_import_cycle():
    g = nx.DiGraph((a, b) for a, b, _, _ in IMPORTS if a != b and b != "backproof")
    assert sorted(sorted(c) for c in nx.simple_cycles(g)) == []


def test_no_private_name_from_another_module():
    bad = [f"{a}:{line} imports {b}.{name}" for a, b, name, line in IMPORTS
           if name and name.startswith("_") and not name.startswith("__") and a != b]
    assert bad == []


@pytest.mark.parametrize("mod", ["backproof.engine", "backproof.ops", "backproof.losses"])
def test_numeric_core_imports_no_sympy_module(mod):
    deps = nx.descendants(nx.DiGraph((a, b) for a, b, _, _ in IMPORTS), mod) | {mod}
    sympy_users = []
    for m in deps:
        rel = Path(*m.split("."))
        path = (SRC / rel).with_suffix(".py") if (SRC / rel).with_suffix(".py").exists() else SRC / rel / "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        if any((isinstance(n, ast.Import) and any(a.name.split(".")[0] == "sympy" for a in n.names))
               or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "sympy") for n in top):
            sympy_users.append(m)
    assert sympy_users == []

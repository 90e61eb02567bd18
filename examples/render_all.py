"""Render every example in this folder into ``output/`` (the README's main job).

- ``examples/*.txt``: programs; a ``# at: ...`` comment gives the point. Each becomes
  ``output/<name>.txt``, ``.md`` (with an SVG diagram beside it), ``.json``, ``.tex`` (a LaTeX
  article with its PDF diagram ``<name>-graph.pdf``) and ``.html`` (one self-contained page).
- ``examples/*.yaml``: network specs, rendered by ``backproof net`` (text, Markdown with plots,
  JSON, LaTeX with ``<name>-graph.pdf``, HTML).
- ``examples/homework/``: answer files checked by ``backproof check``, a class graded by
  ``backproof grade`` (with a feedback page per student), and per-student variants made by
  ``backproof assign``.

Every file is produced through the public CLI (``backproof.cli.main``), so the gallery
shows exactly what a user gets. Exits non-zero if any example fails.

The gallery is byte-identical on every machine: the script runs with NumPy's dispatched SIMD
loops switched off (``NPY_DISABLE_CPU_FEATURES``; it re-executes itself with that set unless
the variable is already given), because AVX-512 and the baseline loops differ in the last
digit and central differences magnify that into the printed error columns. JSON floats are
rounded to 12 significant figures by backproof itself. Its time budgets are scaled by 3
(``BACKPROOF_TIME_SCALE``, unless already given): whether SymPy finishes a simplification or
a proof within its budget must not depend on how busy the machine is.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("BACKPROOF_TIME_SCALE", "3")  # see the module docstring; inherited by a re-exec
HERE = Path(os.path.relpath(Path(__file__).resolve().parent))  # relative: no machine paths in output
#: Commands whose exit status 1 means "the check found mistakes", which is the point
#: of those examples, not a failure of the gallery.
CHECKS = {"check", "grade"}


def at_of(path: Path) -> str | None:
    m = re.search(r"^#\s*at:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)
    return m.group(1).replace(" ", "") if m else None


def commands(out: Path) -> list[list[str]]:
    cmds: list[list[str]] = []
    for src in sorted(HERE.glob("*.txt")):
        at = at_of(src)
        base = ["explain", f"@{src}"] + (["--at", at] if at else [])
        cmds.append(base + ["--format", "text", "-o", str(out / f"{src.stem}.txt")])
        cmds.append(base + ["--format", "md", "-o", str(out / f"{src.stem}.md")])
        cmds.append(base + ["--format", "json", "-o", str(out / f"{src.stem}.json")])
        cmds.append(base + ["--format", "tex", "-o", str(out / f"{src.stem}.tex")])
        cmds.append(base + ["--format", "html", "-o", str(out / f"{src.stem}.html")])
    for spec in sorted(list(HERE.glob("*.yaml")) + list(HERE.glob("*.yml"))):
        # --plot: the loss curve, loss against one weight and the loss surface, with the
        # gradient-descent path (a spec's own `steps:` decides how long it trains).
        cmds.append(["net", str(spec), "--format", "md", "-o", str(out / f"{spec.stem}.md"),
                     "--plot", str(out / "plots")])
        cmds.append(["net", str(spec), "--format", "json", "-o", str(out / f"{spec.stem}.json")])
        cmds.append(["net", str(spec), "--format", "text", "-o", str(out / f"{spec.stem}.txt")])
        # The article (with <name>-graph.pdf) and the self-contained page (issue 11, networks).
        cmds.append(["net", str(spec), "--format", "tex", "-o", str(out / f"{spec.stem}.tex")])
        cmds.append(["net", str(spec), "--format", "html", "-o", str(out / f"{spec.stem}.html")])
    hw = HERE / "homework"
    if hw.is_dir():
        for sub in sorted(hw.glob("*.yaml")):
            if sub.name.startswith("key"):
                continue
            for fmt, ext in (("md", "md"), ("text", "txt"), ("json", "json"), ("tex", "tex"), ("html", "html")):
                cmds.append(["check", str(sub), "--format", fmt, "-o", str(out / "homework" / f"{sub.stem}.{ext}")])
        key = hw / "class" / "key.yaml"
        if key.exists():
            cmds.append(["grade", str(key), str(hw / "class" / "submissions"),
                         "-o", str(out / "homework" / "class-grades.csv")])
            cmds.append(["grade", str(key), str(hw / "class" / "submissions"),
                         "-o", str(out / "homework" / "class-grades.md")])
            cmds.append(["grade", str(key), str(hw / "class" / "submissions"),
                         "-o", str(out / "homework" / "class-grades.html")])
            # A feedback page per student, the class summary, its histogram and the gradebook.
            cmds.append(["grade", str(key), str(hw / "class" / "submissions"),
                         "--feedback", str(out / "homework" / "class-feedback")])
        assign = hw / "assign" / "key.yaml"
        if assign.exists():  # a variant of the problem per student, with its own proven key
            cmds.append(["assign", str(assign), "--students", str(hw / "assign" / "roster.csv"),
                         "-o", str(out / "homework" / "assign")])
    return cmds


def dispatched_simd_features() -> list[str]:
    """NumPy's dispatched (non-baseline) SIMD features this CPU has: the ones that can be off.

    The same rule as ``tests/simd_features.py`` (kept apart: the gallery needs no tests).
    """
    try:
        from numpy._core import _multiarray_umath as m  # NumPy >= 2
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as m
    have = {name for name, on in m.__cpu_features__.items() if on}
    baseline = set(getattr(m, "__cpu_baseline__", ()))
    targets = getattr(m, "__cpu_dispatch__", None) or [n for n in m.__cpu_features__ if n not in baseline]
    return [n for n in targets if n in have and n not in baseline]


def pin_numpy_loops() -> None:
    """Re-execute this script with NumPy's SIMD dispatch off, unless the caller chose already."""
    if "NPY_DISABLE_CPU_FEATURES" in os.environ:
        return
    features = dispatched_simd_features()
    # NumPy reads the variable when it is imported, so it takes a fresh process.
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(features)}
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def run(out: Path) -> int:
    from backproof.cli import main
    failures = 0
    for cmd in commands(out):
        status = main(cmd)
        ok = status == 0 or (cmd[0] in CHECKS and status == 1)
        print(f"{'ok ' if ok else 'FAIL'} backproof {' '.join(cmd)}")
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    pin_numpy_loops()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "output"
    raise SystemExit(run(target))

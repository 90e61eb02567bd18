"""Render every example in this folder into ``output/`` (the README's main job).

- ``examples/*.txt``: programs; a ``# at: ...`` comment gives the point. Each becomes
  ``output/<name>.txt``, ``.md`` (with an SVG diagram beside it) and ``.json``.
- ``examples/*.yaml``: network specs, rendered by ``backproof net``.
- ``examples/homework/``: answer files checked by ``backproof check`` and a class graded
  by ``backproof grade``.

Every file is produced through the public CLI (``backproof.cli.main``), so the gallery
shows exactly what a user gets. Exits non-zero if any example fails.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from backproof.cli import main

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
    for spec in sorted(list(HERE.glob("*.yaml")) + list(HERE.glob("*.yml"))):
        # --plot: the loss curve, loss against one weight and the loss surface, with the
        # gradient-descent path (a spec's own `steps:` decides how long it trains).
        cmds.append(["net", str(spec), "--format", "md", "-o", str(out / f"{spec.stem}.md"),
                     "--plot", str(out / "plots")])
        cmds.append(["net", str(spec), "--format", "json", "-o", str(out / f"{spec.stem}.json")])
    hw = HERE / "homework"
    if hw.is_dir():
        for sub in sorted(hw.glob("*.yaml")):
            if sub.name.startswith("key"):
                continue
            cmds.append(["check", str(sub), "--format", "md", "-o", str(out / "homework" / f"{sub.stem}.md")])
        key = hw / "class" / "key.yaml"
        if key.exists():
            cmds.append(["grade", str(key), str(hw / "class" / "submissions"),
                         "-o", str(out / "homework" / "class-grades.csv")])
            cmds.append(["grade", str(key), str(hw / "class" / "submissions"),
                         "-o", str(out / "homework" / "class-grades.md")])
    return cmds


def run(out: Path) -> int:
    failures = 0
    for cmd in commands(out):
        status = main(cmd)
        ok = status == 0 or (cmd[0] in CHECKS and status == 1)
        print(f"{'ok ' if ok else 'FAIL'} backproof {' '.join(cmd)}")
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "output"
    raise SystemExit(run(target))

"""The committed gallery (``output/``) is the same bytes on every CPU.

Oracle: two renders of ``examples/`` by ``examples/render_all.py`` — as a user runs it, and
with every NumPy SIMD feature this CPU could switch off switched off (what a CPU without
AVX2/AVX-512 computes) — must be byte-identical, and no JSON float may carry more than 12
significant figures (the rest is last-digit noise that differs between machines).
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RENDER = ROOT / "examples" / "render_all.py"

pytestmark = pytest.mark.skipif(not RENDER.exists(), reason="examples/ is not in this copy")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}


def _simd_features() -> str:
    # Asked in a fresh process: this one may itself run with features off (the SIMD-off pass),
    # and NumPy then reports them as absent.
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("simd_features.py"))],
                          env=_clean_env(), capture_output=True, text=True, check=True, timeout=300)
    return proc.stdout.strip()


def _render(out: Path, simd_off: str | None) -> None:
    env = _clean_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MPLBACKEND"] = "Agg"
    if simd_off is not None:
        env["NPY_DISABLE_CPU_FEATURES"] = simd_off
    # The timeout only guards against a hang (a render takes about 20 s); it asserts nothing.
    proc = subprocess.run([sys.executable, "examples/render_all.py", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _floats(obj):
    if isinstance(obj, float):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _floats(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _floats(v)


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """The examples rendered twice: as a user runs them, and with SIMD features switched off."""
    root = tmp_path_factory.mktemp("gallery")
    native, plain = root / "native", root / "simd-off"
    _render(native, None)
    _render(plain, _simd_features())
    return native, plain


@pytest.mark.slow
def test_finding_gallery_renders_byte_identical_with_simd_on_and_off(renders):
    native, plain = renders
    names = _files(native)
    assert names == _files(plain)
    assert any(n.endswith(".json") for n in names) and any(n.endswith(".svg") for n in names)
    _, mismatch, errors = filecmp.cmpfiles(native, plain, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    for name in names:
        if name.endswith(".json"):
            doc = json.loads((native / name).read_text(encoding="utf-8"))
            long = [x for x in _floats(doc) if len(re.sub(r"e.*|[-.]|^0+", "", repr(x)).lstrip("0")) > 12]
            assert long == [], (name, long[:5])


#: Write-up formats whose committed copies in output/ are golden files: every example's text,
#: Markdown and JSON (explain, net, check) and the grade sheets. Diagrams and plots are left
#: out: their bytes depend on the Graphviz and font versions of the machine, not on backproof.
GOLDEN_SUFFIXES = (".txt", ".md", ".json", ".csv", ".tex", ".html")


def _without_svg(path: Path) -> str:
    """A page's text with its inline diagram left out (its bytes are Graphviz's, see above)."""
    return re.sub(r"<svg.*?</svg>", "<svg/>", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.slow
def test_writeups_equal_the_committed_gallery(renders):
    """Golden files: a restructuring must not change one byte of what a reader gets (regenerate
    with `bash .ci/render` and review the diff when a change is meant)."""
    native, _ = renders
    committed = ROOT / "output"
    names = [n for n in _files(native) if n.endswith(GOLDEN_SUFFIXES)]
    assert {"seed_fork.txt", "seed_fork.md", "seed_fork.json", "mazur.txt", "mazur.md", "mazur.json",
            "homework/seed.txt", "homework/seed.md", "homework/seed.json"} <= set(names)
    assert names == [n for n in _files(committed) if n.endswith(GOLDEN_SUFFIXES)]
    pages = [n for n in names if n.endswith(".html")]
    _, mismatch, errors = filecmp.cmpfiles(native, committed, [n for n in names if n not in pages],
                                           shallow=False)
    assert (mismatch, errors) == ([], [])
    assert [n for n in pages if _without_svg(native / n) != _without_svg(committed / n)] == []

"""Tests of ``backproof graph``: options, output files, and one-line errors with exit 2."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from backproof.cli import main
from backproof.derivation import derive
from backproof.render import COLORS, build_diagram, dot_available

FORK = "d = a + b; e = b - c; y = d*e"
FORK_AT = "a=2,b=1,c=0"
GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert not dot_available()


def run(capsys, *argv):
    code = main(["graph", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_dot_on_stdout_is_the_golden_diagram(capsys):
    code, out, err = run(capsys, FORK, "--at", FORK_AT)
    assert code == 0 and err == ""
    assert out == (GOLDEN / "fork_backward.dot").read_text(encoding="utf-8")


@pytest.mark.parametrize("ext", ["svg", "dot", "gv"])
def test_writes_the_file_named_by_o(capsys, tmp_path, ext, no_dot):
    target = tmp_path / "output" / f"fork.{ext}"
    code, out, err = run(capsys, FORK, "--at", FORK_AT, "-o", str(target))
    assert code == 0 and err == "" and out == f"wrote {target}\n"
    data = target.read_bytes()
    if ext == "svg":
        texts = [t.text for t in ET.fromstring(data).iter(f"{SVG}text")]
        assert "∂y/∂b = 1·e + 1·d" in texts and "= 1 + 3 = 4" in texts
    else:
        assert data.decode() == build_diagram(derive(FORK, at=FORK_AT)).source


@pytest.mark.needs_dot
@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-")])
def test_png_and_pdf_with_dot(capsys, tmp_path, ext, magic):
    target = tmp_path / f"fork.{ext}"
    code, _, err = run(capsys, FORK, "--at", FORK_AT, "-o", str(target), "--rankdir", "TB")
    assert code == 0 and err == ""
    assert target.read_bytes().startswith(magic)


@pytest.mark.parametrize("ext", ["png", "pdf"])
def test_png_without_dot_exits_2_with_install_hint_and_no_file(capsys, tmp_path, ext, no_dot):
    target = tmp_path / f"fork.{ext}"
    code, out, err = run(capsys, FORK, "--at", FORK_AT, "-o", str(target))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("backproof: error: Graphviz is needed for")
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, expected", [
    (["-o", "x.jpg"], "cannot tell the diagram format of 'x.jpg'"),
    (["--highlight", "q"], "unknown name 'q' for --highlight (must be one of: a, b, d, c, e, y)"),
    (["--of", "zz"], "unknown output 'zz'"),
    (["--at", "a=2,b=1"], "no value given for input c"),
], ids=["extension", "highlight", "of", "missing-value"])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    extra = [] if "--at" in argv else ["--at", FORK_AT]
    code, out, err = run(capsys, FORK, *extra, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and expected in err
    assert list(tmp_path.iterdir()) == []


def test_parse_error_exit_2(capsys):
    code, out, err = run(capsys, "y = a +* b")
    assert code == 2 and out == "" and err.startswith("backproof: error:")


@pytest.mark.parametrize("argv", [["--view", "sideways"], ["--rankdir", "RL"], ["--max-nodes", "-1"]],
                         ids=["view", "rankdir", "max-nodes"])
def test_bad_option_values_exit_2(capsys, argv):
    assert main(["graph", FORK, *argv]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("argv, present, absent", [
    (["--view", "forward"], ["forward view at a = 2"], [COLORS["gradient"]]),
    (["--view", "symbolic"], ["symbolic view", "∂y/∂b = 1·e + 1·d\\n= d + e"], [" at a = 2"]),
    (["--rankdir", "TB"], ["rankdir=TB"], ["rankdir=LR"]),
    (["--highlight", "b", "--highlight", "c"], [COLORS["highlight"], "paths from b, c to y"], []),
    (["--of", "e"], ["computational graph of e", "∂e/∂b = 1"], ['"bp:y']),
], ids=["forward", "symbolic", "TB", "highlight", "of"])
def test_options_reach_the_diagram(capsys, argv, present, absent):
    code, out, _ = run(capsys, FORK, "--at", FORK_AT, *argv)
    assert code == 0
    for text in present:
        assert text in out
    for text in absent:
        assert text not in out


def test_without_at_draws_the_symbolic_view(capsys):
    code, out, _ = run(capsys, FORK)
    assert code == 0 and "symbolic view" in out and "∂y/∂a = e" in out


def test_program_from_file_and_stdin(capsys, tmp_path, monkeypatch):
    src = tmp_path / "fork.txt"
    src.write_text(FORK.replace("; ", "\n") + "\n")
    _, from_file, _ = run(capsys, f"@{src}", "--at", FORK_AT)
    monkeypatch.setattr("sys.stdin", io.StringIO(FORK))
    _, from_stdin, _ = run(capsys, "-", "--at", FORK_AT)
    _, from_text, _ = run(capsys, FORK, "--at", FORK_AT)
    assert from_file == from_stdin == from_text


def test_max_nodes(capsys):
    program = "; ".join(f"s{i} = x{i}*w{i} + b{i}" for i in range(1, 21)) + "; L = " + \
        " + ".join(f"s{i}" for i in range(1, 21))
    _, folded, _ = run(capsys, program, "--max-nodes", "30")
    _, full, _ = run(capsys, program, "--max-nodes", "0")
    assert "folded into the dashed edges" in folded and folded.count('id="bp:') <= 30
    assert "folded" not in full and full.count('id="bp:') == len(derive(program, expand=False).units)


def test_help_has_examples(capsys):
    assert main(["graph", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "-o output/fork.svg" in out and "apt-get install graphviz" in out


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("form", ["@path", "path", "@copy.txt"])
@pytest.mark.parametrize("spec", ["mazur.yaml", "json", "toml"])
def test_finding_graph_given_a_network_spec_points_to_net(tmp_path, capsys, form, spec):
    # A spec file (YAML, JSON or TOML with `layers`) used to fail with a parse error about
    # its first line; now one line says `graph` takes programs and names `backproof net`.
    import json

    import yaml
    data = yaml.safe_load((EXAMPLES / "mazur.yaml").read_text(encoding="utf-8"))
    if spec == "json":
        path = tmp_path / "net.json"
        path.write_text(json.dumps(data), encoding="utf-8")
    elif spec == "toml":
        path = tmp_path / "net.toml"
        path.write_text("learning_rate = 0.5\n[[layers]]\nunits = 2\nactivation = \"sigmoid\"\n",
                        encoding="utf-8")
    else:
        path = EXAMPLES / spec
    if form == "@copy.txt":  # the content, not the suffix, gives it away
        copy = tmp_path / "copy.txt"
        copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        path = copy
    arg = str(path) if form == "path" else f"@{path}"
    out_file = tmp_path / "g.svg"
    code, out, err = run(capsys, arg, "-o", str(out_file))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "network spec" in err and f"backproof net {path}" in err
    assert not out_file.exists()


def test_a_program_file_is_still_a_program(tmp_path, capsys):
    prog = tmp_path / "fork.yaml"  # an odd suffix, but the content is a program
    prog.write_text(FORK + "\n", encoding="utf-8")
    code, out, _ = run(capsys, f"@{prog}", "--at", FORK_AT)
    assert code == 0 and out.startswith("// backproof")

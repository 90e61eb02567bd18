"""``backproof net``: formats, views, training, plots, and bad input (exit 2, no partial output)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from backproof.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MAZUR = str(EXAMPLES / "mazur.yaml")


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("view,fragments", [
    # The δ view in textbook indices (1-based; the spec's names w1 … w8), adapted from the
    # 0-based scalar names the write-up printed before issue 11; since issue 14 the spec
    # also names Mazur's nodes (out_o1 = a2[0], net_o1 = z2[0], E_total = J).
    ("scalar", ["Backward pass", "δ⁽²⁾₁ = ∂E_total/∂out_o1 · ∂out_o1/∂net_o1",
                "∂E_total/∂out_h1 = w₅ · δ⁽²⁾₁ + w₇ · δ⁽²⁾₂",
                "∂E_total/∂w₅ = δ⁽²⁾₁ · out_h1 = 0.138498562 · 0.593269992 = 0.0821670406"]),
    ("matrix", ["as matrices", "δ⁽¹⁾ = ∂E_total/∂a⁽¹⁾ ⊙ σ′(z⁽¹⁾) = [0.00877135469; 0.00995425471]   (2×1)",
                "∂E_total/∂a⁽¹⁾ = (W⁽²⁾)ᵀδ⁽²⁾", "∂E_total/∂W⁽²⁾ = δ⁽²⁾(a⁽¹⁾)ᵀ   (2×2 = 2×1 · 1×2)"]),
], ids=["scalar", "matrix"])
def test_text_views(capsys, view, fragments):
    code, out, err = run(["net", MAZUR, "--view", view, "--no-steps", "--digits", "9"], capsys)
    assert code == 0 and err == ""
    for frag in fragments:
        assert frag in out, frag
    assert "w₅         0.4   0.0821670406    0.35891648" in out
    assert "Every chain-rule step" not in out


def test_markdown_with_plots_and_diagram(tmp_path, capsys):
    md = tmp_path / "out" / "mazur.md"
    plots = tmp_path / "out" / "plots"
    code, out, err = run(["net", MAZUR, "--steps", "5", "--plot", str(plots), "--view", "both",
                          "--appendix", "-o", str(md)], capsys)
    assert code == 0 and out == "" and err == ""
    text = md.read_text()
    for frag in ["# mazur: a 2-2-2 network", "## Backward pass", "## Backward pass, as matrices",
                 "## Gradient-descent update", "## Training", "![Loss per gradient-descent step](plots/mazur_loss.png)",
                 "## Every chain-rule step", r"\delta^{(2)}_{1}"]:
        assert frag in text, frag
    names = sorted(p.name for p in plots.iterdir())
    assert names == sorted(f"mazur_{k}.{e}" for k in ("loss", "loss_vs_w5", "surface_w5_w6") for e in ("png", "svg"))
    assert (plots / "mazur_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if (tmp_path / "out" / "mazur.svg").exists():  # the diagram, when a renderer is available
        assert "mazur.svg" in text


def test_json_has_history_and_keyed_matrices(tmp_path, capsys):
    code, out, _ = run(["net", str(EXAMPLES / "softmax_blobs.yaml"), "--steps", "20", "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "network" and doc["network"]["sizes"] == [2, 4, 3]
    assert len(doc["values"]["a2"]) == 60 and len(doc["values"]["a2"][0]) == 3
    assert [len(r) for r in doc["gradients"]["W1"]] == [2, 2, 2, 2] and len(doc["gradients"]["b2"]) == 3
    h = doc["history"]
    assert len(h["loss"]) == h["steps"] + 1 == 21 and h["loss"][-1] < h["loss"][0]
    assert doc["check"]["ok"] and doc["views_max_rel_diff"] < 1e-25
    assert "derivation" not in doc  # 4,000-node graph: too large to list every step


def test_stdin_and_overrides(capsys, monkeypatch):
    spec = ("inputs: [1]\ntargets: [2]\nloss: half_sse\nlayers:\n"
            "  - {units: 1, activation: identity, weights: [[0]], bias: 0}\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(spec))
    code, out, _ = run(["net", "-", "--learning-rate", "0.5", "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["updated"] == {"W1": [[1.0]], "b1": [1.0]} and doc["loss"] == 2.0


def test_plot_parameter_options(tmp_path, capsys):
    code, _, _ = run(["net", MAZUR, "--plot", str(tmp_path), "--plot-weight", "W1[0][0]",
                      "--plot-surface", "w7,b2", "--format", "json"], capsys)
    assert code == 0  # b2: Mazur's one shared bias of layer 2 (issue 14; it was b2_1)
    assert (tmp_path / "mazur_loss_vs_w1.png").exists() and (tmp_path / "mazur_surface_w7_b2.svg").exists()


@pytest.mark.parametrize("argv,fragment", [
    (["net", "missing.yaml"], "missing.yaml: file not found"),
    (["net", MAZUR, "--plot-weight", "w99", "--plot", "PLOTS"], "--plot-weight: unknown parameter 'w99'"),
    (["net", MAZUR, "--plot-surface", "w1", "--plot", "PLOTS"], "--plot-surface: expected two different"),
    (["net", MAZUR, "--steps", "-1"], "--steps: expected an integer >= 0"),
    (["net", MAZUR, "--learning-rate", "0"], "--learning-rate: expected a number > 0"),
    (["net", MAZUR, "--digits", "0"], "--digits must be between 1 and 30"),
], ids=["missing", "plot-weight", "plot-surface", "steps", "rate", "digits"])
def test_bad_arguments(tmp_path, capsys, argv, fragment):
    argv = [a.replace("PLOTS", str(tmp_path / "plots")) for a in argv] + ["-o", str(tmp_path / "out.md")]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err
    assert not (tmp_path / "out.md").exists() and not (tmp_path / "plots").exists()


def test_bad_spec_leaves_no_output(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(MAZUR).read_text().replace("[0.40, 0.45]", "[0.40, 0.45, 0.1]"))
    code, _out, err = run(["net", str(bad), "--steps", "3", "--plot", str(tmp_path / "p"), "-o",
                          str(tmp_path / "o.md")], capsys)
    assert code == 2
    assert "layers[1].weights: ragged matrix" in err
    assert not (tmp_path / "o.md").exists() and not (tmp_path / "p").exists()


def test_training_without_learning_rate(tmp_path, capsys):
    spec = tmp_path / "n.json"
    spec.write_text(json.dumps({"inputs": [1], "targets": [2], "loss": "sse",
                                "layers": [{"units": 1, "activation": "identity"}]}))
    code, out, err = run(["net", str(spec), "--steps", "3"], capsys)
    assert code == 2 and "learning_rate: missing field" in err
    code, out, err = run(["net", str(spec)], capsys)  # one derivation needs no η
    assert code == 0 and "Gradient-descent update" not in out


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
def test_finding_net_says_nothing_was_skipped_on_request(capsys, fmt):
    # `net` never asks for the expansion to be skipped by the user; the derivation appendix
    # used to say "skipped on request" all the same. Now it gives the network's reason.
    code, out, _ = run(["net", MAZUR, "--format", fmt], capsys)
    assert code == 0
    assert "on request" not in out
    assert "nested activations make that take minutes" in out

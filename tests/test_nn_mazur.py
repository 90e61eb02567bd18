"""Published worked examples reproduced by the tool: Mazur's 2-2-2 network and the seeds'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backproof.cli import main
from backproof.nn import explain_network, program_from_spec_file, train_network

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Matt Mazur, "A Step by Step Backpropagation Example" (2015), rounded to ~9 digits there.
MAZUR_UPDATED = {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
                 "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121}
MAZUR_VALUES = {"z1_0": 0.3775, "a1_0": 0.593269992, "a1_1": 0.596884378,
                "a2_0": 0.75136507, "a2_1": 0.772928465}
MAZUR_GRADIENTS = {"w5": 0.082167041, "w1": 0.000438568}
MAZUR_DELTAS = {"z2_0": 0.138498562}  # δ_o1 = ∂E/∂out_o1 · ∂out_o1/∂net_o1


def _close(ours: float, published: float) -> bool:
    # Published figures are rounded: allow half a unit in their last printed digit, and 1e-8.
    digits = len(repr(published).split(".")[1])
    return abs(ours - published) <= max(1e-8, 0.5 * 10.0 ** -digits)


@pytest.fixture(scope="module")
def mazur():
    return explain_network(EXAMPLES / "mazur.yaml")


def test_mazur_total_error(mazur):
    assert _close(float(mazur.loss), 0.298371109)


@pytest.mark.parametrize("name", sorted(MAZUR_UPDATED))
def test_mazur_updated_weights(mazur, name):
    assert _close(float(mazur.updated()[name]), MAZUR_UPDATED[name]), (name, float(mazur.updated()[name]))


@pytest.mark.parametrize("name", sorted(MAZUR_VALUES))
def test_mazur_forward_values(mazur, name):
    assert _close(float(mazur.derivation.values[name]), MAZUR_VALUES[name])


def test_mazur_gradients_and_delta(mazur):
    for name, published in MAZUR_GRADIENTS.items():
        assert _close(float(mazur.gradients()[name]), published)
    for z, published in MAZUR_DELTAS.items():
        assert _close(float(next(d.delta for d in mazur.scalar.deltas if d.z == z)), published)
    assert mazur.check.ok


def test_mazur_through_the_cli(tmp_path):
    out = tmp_path / "mazur.json"
    assert main(["net", str(EXAMPLES / "mazur.yaml"), "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert _close(doc["loss"], 0.298371109)
    for name, published in MAZUR_UPDATED.items():
        assert _close(doc["names"][name]["updated"], published)
    # Keyed matrices in the spec's shapes: W2 = [[w5, w6], [w7, w8]].
    assert _close(doc["updated"]["W2"][1][0], MAZUR_UPDATED["w7"])
    assert _close(doc["updated"]["W1"][0][1], MAZUR_UPDATED["w2"])
    assert doc["update"]["mode"] == "simultaneous"
    assert [s["target"] for s in doc["update"]["steps"]][:4] == ["w1", "w2", "w3", "w4"]


def test_mazur_sequential_mode_differs_only_below_the_output():
    seq = explain_network(EXAMPLES / "mazur.yaml", mode="sequential").updated()
    for name in ("w5", "w6", "w7", "w8"):
        assert _close(float(seq[name]), MAZUR_UPDATED[name])
    assert not _close(float(seq["w1"]), MAZUR_UPDATED["w1"])


def test_seed_linear_chain_corrects_the_slip():
    """Seed 004 lists ∂J/∂w1 = 4; the chain rule gives 2·w2·x = 6, as its own update uses."""
    r = explain_network(EXAMPLES / "linear_chain.yaml")
    assert r.loss == 2
    assert r.gradients() == {"w1": 6, "b1": 6, "w2": 4, "b2": 2}
    assert {k: float(v) for k, v in r.updated().items()} == {"w1": 1.4, "b1": -0.6, "w2": 2.6, "b2": 0.8}


def test_seed_wx_plus_b_converges_in_two_iterations():
    r = explain_network(EXAMPLES / "wx_plus_b.yaml")
    assert (r.loss, r.gradients(), r.updated()) == (2, {"w": -2, "b": -2}, {"w": 1, "b": 1})
    h = train_network(EXAMPLES / "wx_plus_b.yaml")
    assert h.losses == (2.0, 0.0) and h.stopped_because == "gradient_norm"
    assert h.path["w"] == (0.0, 1.0) and h.path["b"] == (0.0, 1.0)


def test_sigmoid_bce_delta_is_prediction_minus_target():
    r = explain_network(EXAMPLES / "sigmoid_bce.yaml")
    (d,) = r.scalar.deltas
    assert abs(d.delta - (d.a_value - 1)) < 1e-25
    assert "ŷ − y" in d.note


def test_program_names_are_the_textbook_names():
    net = program_from_spec_file(EXAMPLES / "mazur.yaml")
    assert net.params == ("w1", "w2", "w3", "w4", "b1_0", "b1_1", "w5", "w6", "w7", "w8", "b2_0", "b2_1")
    assert str(net.program).splitlines()[4] == "z2_0 = b2_0 + a1_0*w5 + a1_1*w6"

"""Published worked examples reproduced by the tool: Mazur's 2-2-2 network and the seeds'."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from backproof.cli import main
from backproof.nn import explain_network, program_from_spec_file, train_network

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Matt Mazur, "A Step by Step Backpropagation Example" (2015), rounded to ~9 digits there.
MAZUR_UPDATED = {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
                 "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121}
# The spec names the nodes as the post does (net_h1 = z1[0], out_h1 = a1[0], …).
MAZUR_VALUES = {"net_h1": 0.3775, "out_h1": 0.593269992, "out_h2": 0.596884378,
                "out_o1": 0.75136507, "out_o2": 0.772928465, "E_o1": 0.274811083, "E_o2": 0.023560026}
MAZUR_GRADIENTS = {"w5": 0.082167041, "w1": 0.000438568}
MAZUR_DELTAS = {"net_o1": 0.138498562}  # δ_o1 = ∂E/∂out_o1 · ∂out_o1/∂net_o1


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
    # One shared bias per layer, as in the post (and frozen: only w1 … w8 are trained).
    assert net.params == ("w1", "w2", "w3", "w4", "b1", "w5", "w6", "w7", "w8", "b2")
    assert net.trainable == ("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8")
    assert str(net.program).splitlines()[4] == "net_o1 = b2 + out_h1*w5 + out_h2*w6"
    assert str(net.program).splitlines()[-1] == "E_total = E_o1 + E_o2"


# --- Mazur's published figures, against an independent hand-written computation ---------------

MAZUR_X, MAZUR_T = (0.05, 0.10), (0.01, 0.99)
MAZUR_W0 = (0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55)
MAZUR_B = (0.35, 0.60)


def _sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _mazur_forward(w):
    """The post's forward pass in plain Python: hidden outputs, outputs, E_total."""
    h = (_sig(w[0] * MAZUR_X[0] + w[1] * MAZUR_X[1] + MAZUR_B[0]),
         _sig(w[2] * MAZUR_X[0] + w[3] * MAZUR_X[1] + MAZUR_B[0]))
    o = (_sig(w[4] * h[0] + w[5] * h[1] + MAZUR_B[1]), _sig(w[6] * h[0] + w[7] * h[1] + MAZUR_B[1]))
    return h, o, sum(0.5 * (t - y) ** 2 for t, y in zip(MAZUR_T, o))


def _mazur_step(w, sequential=False):
    """One update, written out as the post does. Simultaneous: every gradient with the old
    weights ("we use the original weights, not the updated weights"); sequential: the
    hidden layer's error flows back through the already updated w5 … w8."""
    h, o, _ = _mazur_forward(w)
    d_o = [(o[k] - MAZUR_T[k]) * o[k] * (1 - o[k]) for k in range(2)]
    g = [0.0] * 8
    g[4], g[5], g[6], g[7] = d_o[0] * h[0], d_o[0] * h[1], d_o[1] * h[0], d_o[1] * h[1]
    up = [w[i] - 0.5 * g[i] for i in range(8)] if sequential else list(w)
    d_h = [(d_o[0] * up[4] + d_o[1] * up[6]) * h[0] * (1 - h[0]),
           (d_o[0] * up[5] + d_o[1] * up[7]) * h[1] * (1 - h[1])]
    g[0], g[1], g[2], g[3] = d_h[0] * MAZUR_X[0], d_h[0] * MAZUR_X[1], d_h[1] * MAZUR_X[0], d_h[1] * MAZUR_X[1]
    return tuple(w[i] - 0.5 * g[i] for i in range(8))


@pytest.fixture(scope="module")
def hand():
    """Losses of the hand computation: before, after 1, 9,999 and 10,000 steps (simultaneous)."""
    w, losses = MAZUR_W0, [_mazur_forward(MAZUR_W0)[2]]
    for _ in range(10_000):
        w = _mazur_step(w)
        losses.append(_mazur_forward(w)[2])
    return losses


@pytest.fixture(scope="module")
def trained():
    return train_network(EXAMPLES / "mazur.yaml", steps=10_000)  # the post's 10,000 steps


def _digits(x: float, published: str) -> bool:
    """``x`` printed to the published number's decimals is the published number."""
    decimals = len(published.split(".")[1])
    return f"{x:.{decimals}f}" == published


def test_mazur_hand_computation_agrees_with_backproof(mazur, hand, trained):
    assert float(mazur.loss) == pytest.approx(hand[0], rel=1e-14)
    new = _mazur_step(MAZUR_W0)
    for k, name in enumerate(("w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8")):
        assert float(mazur.updated()[name]) == pytest.approx(new[k], rel=1e-13, abs=1e-16)
    # The engine's training (frozen shared biases) follows the hand loop step by step.
    assert trained.steps == 10_000 and len(trained.losses) == 10_001
    for k in (1, 2, 100, 9_999, 10_000):
        assert trained.losses[k] == pytest.approx(hand[k], rel=1e-9), k
    assert trained.final["b1"] == 0.35 and trained.final["b2"] == 0.6


def test_mazur_published_figures(mazur, hand, trained):
    """The post's numbers to every digit it prints, and where its figures come from."""
    assert _digits(float(mazur.loss), "0.298371109")
    for name, published in MAZUR_UPDATED.items():
        assert _digits(float(mazur.updated()[name]), repr(published)), name
    # The post's loss after the step, 0.291027924, is the sequential order's to all nine digits;
    # the order it states and uses for its weights gives 0.291027774 (1.5e-7 lower).
    assert _digits(hand[1], "0.291027774") and abs(hand[1] - 0.291027924) < 2e-7
    sequential = _mazur_forward(_mazur_step(MAZUR_W0, sequential=True))[2]
    assert _digits(sequential, "0.291027924")
    seq_trained = train_network(EXAMPLES / "mazur.yaml", steps=1, mode="sequential")
    assert seq_trained.losses[1] == pytest.approx(sequential, rel=1e-12)
    # "after repeating this process 10,000 times ... 0.0000351085": the loss after 9,999 updates
    # (measured on the 10,000th pass, before its update); after 10,000 it is 0.0000351019.
    assert _digits(trained.losses[9_999], "0.0000351085")
    assert _digits(trained.losses[10_000], "0.0000351019")


def test_mazur_write_up_says_frozen_shared_and_the_order(tmp_path):
    out = tmp_path / "mazur.txt"
    assert main(["net", str(EXAMPLES / "mazur.yaml"), "--steps", "1", "--format", "text", "-o", str(out)]) == 0
    text = " ".join(out.read_text().split())  # the text printer wraps lines
    assert "frozen (no update changes them): b⁽¹⁾ = 0.35, b⁽²⁾ = 0.6" in text
    assert "shared: b⁽¹⁾ is one bias that all 2 units of layer 1 use" in text
    assert "mode simultaneous: every parameter moves by the gradients of the same forward and backward pass" in text
    assert "E_total = E_o1 + E_o2 = 0.298371" in text
    assert "∂E_total/∂b⁽¹⁾ = δ⁽¹⁾₁ + δ⁽¹⁾₂" in text


def test_mazur_with_pytorch_frozen_shared_biases():
    """The same network in PyTorch: one bias tensor per layer (requires_grad, so its gradient
    is checked, but left out of the optimiser), SGD(lr=0.5) on the weights only."""
    torch = pytest.importorskip("torch")
    dt = torch.float64
    x, t = torch.tensor(MAZUR_X, dtype=dt), torch.tensor(MAZUR_T, dtype=dt)
    W1 = torch.tensor([[0.15, 0.20], [0.25, 0.30]], dtype=dt, requires_grad=True)
    W2 = torch.tensor([[0.40, 0.45], [0.50, 0.55]], dtype=dt, requires_grad=True)
    b1 = torch.tensor(0.35, dtype=dt, requires_grad=True)
    b2 = torch.tensor(0.60, dtype=dt, requires_grad=True)

    def loss():
        o = torch.sigmoid(W2 @ torch.sigmoid(W1 @ x + b1) + b2)
        return 0.5 * torch.sum((t - o) ** 2)

    opt = torch.optim.SGD([W1, W2], lr=0.5)
    E = loss()
    E.backward()
    E = E.detach()
    r = explain_network(EXAMPLES / "mazur.yaml")
    G = r.gradients()
    assert float(E) == pytest.approx(float(r.loss), rel=1e-14)
    ours = [[G["w1"], G["w2"]], [G["w3"], G["w4"]]], [[G["w5"], G["w6"]], [G["w7"], G["w8"]]]
    for mine, theirs in zip(ours, (W1.grad, W2.grad)):
        for i in range(2):
            for j in range(2):
                assert float(mine[i][j]) == pytest.approx(float(theirs[i, j]), rel=1e-12)
    # A shared bias's gradient is the sum of its uses', in both.
    assert float(G["b1"]) == pytest.approx(float(b1.grad), rel=1e-12)
    assert float(G["b2"]) == pytest.approx(float(b2.grad), rel=1e-12)
    h = train_network(EXAMPLES / "mazur.yaml", steps=10_000)
    losses = [float(E)]
    for _ in range(10_000):
        opt.step()
        opt.zero_grad()
        E = loss()
        E.backward()
        losses.append(float(E.detach()))
    for k in (1, 10, 1_000, 9_999, 10_000):
        assert h.losses[k] == pytest.approx(losses[k], rel=1e-10), k
    assert float(b1.detach()) == 0.35 and float(b2.detach()) == 0.6
    for mine, theirs in zip(("w1", "w2", "w3", "w4"), W1.detach().flatten().tolist()):
        assert h.final[mine] == pytest.approx(theirs, rel=1e-10)

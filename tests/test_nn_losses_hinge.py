"""The hinge losses (issue 14): micrograd's binary max(0, 1 − y·s) and CS231n's multiclass SVM.

Oracles: PyTorch (``relu`` for the binary hinge, ``multi_margin_loss`` — which divides by
the number of classes — for the multiclass one), gradients at the kink against PyTorch's
(0, ReLU′(0) = 0) and CS231n's ``margins > 0``, and the symbolic derivation of a network
spec with a hinge loss against the NumPy engine (the spec's own cross-check).
"""

from __future__ import annotations

import numpy as np
import pytest

from backproof.errors import SpecError
from backproof.losses import LOSS_ROWS
from backproof.nn import explain_network
from backproof.nn.spec import validate_spec

HINGE, SVM = LOSS_ROWS["hinge"], LOSS_ROWS["multiclass_hinge"]


def _cs231n_svm(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """CS231n's vectorised SVM loss (assignment 1, without regularisation), written out."""
    n = scores.shape[0]
    correct = scores[np.arange(n), y][:, None]
    margins = np.maximum(0, scores - correct + 1.0)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n
    binary = (margins > 0).astype(float)
    binary[np.arange(n), y] = -binary.sum(axis=1)
    return loss, binary / n


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_hinge_is_cs231n_svm_loss(seed):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, 6)
    t = np.eye(4)[y]
    loss, grad = _cs231n_svm(s, y)
    assert np.mean(SVM.np_per_sample(s, s, t)) == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(SVM.np_gradient(s, s, t), grad, rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", range(4))
def test_hinge_losses_equal_torch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(6, 3))
    y = rng.integers(0, 3, 6)
    st = torch.tensor(s, requires_grad=True)
    ref = torch.nn.functional.multi_margin_loss(st, torch.tensor(y), margin=1.0) * 3  # torch divides by C
    ref.backward()
    t = np.eye(3)[y]
    assert np.mean(SVM.np_per_sample(s, s, t)) == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(SVM.np_gradient(s, s, t), st.grad.numpy(), rtol=0, atol=1e-15)

    b = rng.normal(size=(6, 1))
    lab = rng.choice([-1.0, 1.0], size=(6, 1))
    bt = torch.tensor(b, requires_grad=True)
    ref = torch.mean(torch.relu(1 - torch.tensor(lab) * bt))  # micrograd's data loss
    ref.backward()
    assert np.mean(HINGE.np_per_sample(b, b, lab)) == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(HINGE.np_gradient(b, b, lab), bt.grad.numpy(), rtol=0, atol=1e-15)


def test_gradient_at_the_kink_is_zero_as_torch():
    torch = pytest.importorskip("torch")
    # Margins exactly 0: y·s = 1 (binary) and s_j = s_y − 1 (multiclass).
    b, lab = np.array([[1.0], [-1.0], [0.5]]), np.array([[1.0], [1.0], [-1.0]])
    bt = torch.tensor(b, requires_grad=True)
    torch.mean(torch.relu(1 - torch.tensor(lab) * bt)).backward()
    got = HINGE.np_gradient(b, b, lab)
    assert got[0, 0] == 0.0
    np.testing.assert_array_equal(got, bt.grad.numpy())
    s = np.array([[2.0, 1.0, 0.0]])
    t = np.array([[1.0, 0.0, 0.0]])
    st = torch.tensor(s, requires_grad=True)
    (torch.nn.functional.multi_margin_loss(st, torch.tensor([0])) * 3).backward()
    np.testing.assert_array_equal(SVM.np_gradient(s, s, t), st.grad.numpy())
    np.testing.assert_array_equal(SVM.np_gradient(s, s, t), _cs231n_svm(s, np.array([0]))[1])


def _spec(loss, units, targets, act="identity", **extra):
    spec = {"inputs": [[0.3, -0.7], [1.1, 0.4], [-0.5, 0.9]], "targets": targets, "loss": loss,
            "learning_rate": 0.1, "seed": 3,
            "layers": [{"units": 3, "activation": "tanh"}, {"units": units, "activation": act}]}
    spec.update(extra)
    return spec


@pytest.mark.parametrize(("loss", "units", "targets"), [
    ("hinge", 1, [[1], [-1], [1]]),
    ("multiclass_hinge", 3, [[1, 0, 0], [0, 0, 1], [0, 1, 0]]),
], ids=["binary", "multiclass"])
def test_hinge_in_a_network_spec_derives_what_the_engine_computes(loss, units, targets):
    result = explain_network(_spec(loss, units, targets))
    assert result.check is not None and result.check.ok, result.check.summary
    lay = result.net.layout
    per = LOSS_ROWS[loss]
    assert per.convention and "0" in per.convention
    assert float(result.loss) > 0 and lay.loss  # a loss that is not flat at these weights


@pytest.mark.parametrize(("loss", "units", "targets", "where"), [
    ("hinge", 1, [[1], [0], [1]], "targets[1][0]"),
    ("multiclass_hinge", 3, [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0]], "targets[1]"),
], ids=["binary-0-label", "multiclass-not-one-hot"])
def test_hinge_targets_are_checked(loss, units, targets, where):
    with pytest.raises(SpecError) as info:
        validate_spec(_spec(loss, units, targets))
    assert str(info.value).startswith(f"{where}: ") and "\n" not in str(info.value)


def test_moons_labels_become_signed_for_the_hinge():
    spec = validate_spec({"data": {"generator": "moons", "samples": 10}, "loss": "hinge",
                          "layers": [{"units": 1, "activation": "identity"}]})
    assert {int(t[0]) for t in spec.targets} == {-1, 1}

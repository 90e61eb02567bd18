"""Optimisers, schedules, penalties and batching of the NumPy training loop (issue 14, item 2).

Oracles: ``torch.optim`` (SGD with momentum and Nesterov, Adagrad, RMSprop, Adam) on the
same random small networks in float64 — the first three updates agree to 1e-12; the
penalty's gradient against central differences; the schedules against their formulas
written out; the batches against the definition (every sample once per epoch).
"""

from __future__ import annotations

import numpy as np
import pytest

from backproof.engine import Dense, gd_step, train
from backproof.engine.optim import (
    OPTIMIZERS,
    Batching,
    Regularization,
    Schedule,
    make_optimizer,
    params_of,
)

#: Our optimiser name -> (torch.optim class name, its keyword arguments).
TORCH = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
}


def _fit(layers, X, T, loss, lr, steps, **kw):
    """The engine's loop with keywords only (``train``'s optional parts)."""
    return train(layers, X, T, loss, lr, steps, **kw)


def _net(seed: int, sizes=(3, 4, 2), acts=("tanh", "sigmoid")):
    rng = np.random.default_rng(seed)
    layers = [Dense(rng.normal(size=(u, f)), rng.normal(size=u), a)
              for f, u, a in zip(sizes[:-1], sizes[1:], acts)]
    X = rng.normal(size=(5, sizes[0]))
    T = rng.normal(size=(5, sizes[-1]))
    return layers, X, T


def _torch_steps(torch, layers, X, T, name, lr, steps, reg=None, batches=None):
    """Parameters after each of ``steps`` torch.optim updates of the mse loss (+ penalty)."""
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params_of(layers)]
    cls, kw = TORCH[name]
    opt = getattr(torch.optim, cls)(params, lr=lr, **kw)
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda z: z, "relu": torch.relu}
    Xt, Tt = torch.tensor(X), torch.tensor(T)
    out = []
    for k in range(steps):
        idx = list(range(len(X))) if batches is None else batches[k]
        a = Xt[idx]
        for i, layer in enumerate(layers):
            a = acts[layer.activation](a @ params[2 * i].T + params[2 * i + 1])
        J = torch.mean((a - Tt[idx]) ** 2)
        if reg is not None:
            J = J + reg(params)
        opt.zero_grad()
        J.backward()
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_first_three_steps_equal_torch_optim(name, seed):
    torch = pytest.importorskip("torch")
    layers, X, T = _net(seed)
    lr = 0.05
    ours = _fit(layers, X, T, "mse", lr, 3, optimizer=make_optimizer(name), show=(1, 2, 3))
    theirs = _torch_steps(torch, layers, X, T, name, lr, 3)
    assert [s.k for s in ours.shown] == [1, 2, 3]
    for step, ref in zip(ours.shown, theirs):
        for p, q in zip(step.new, ref):
            np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_penalty_and_minibatches_equal_torch(name):
    """L2 (½λΣW², weights only, CS231n's) and minibatches of 2, against torch with the
    same penalty written into its loss and the same batches."""
    torch = pytest.importorskip("torch")
    layers, X, T = _net(7)
    reg = Regularization("l2", 0.3, half=True, biases=False)
    batching = Batching(2, seed=3)
    ours = _fit(layers, X, T, "mse", 0.1, 3, optimizer=make_optimizer(name), regularization=reg,
               batching=batching, show=(1, 2, 3))
    batches = [list(batching.indices(k, len(X))) for k in range(3)]
    theirs = _torch_steps(torch, layers, X, T, name, 0.1, 3, batches=batches,
                          reg=lambda ps: 0.5 * 0.3 * sum((w ** 2).sum() for w in ps[0::2]))
    for step, ref in zip(ours.shown, theirs):
        for p, q in zip(step.new, ref):
            np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("reg", [Regularization("l2", 1e-2), Regularization("l2", 0.2, half=True, biases=False),
                                 Regularization("l1", 0.1)], ids=["l2-alpha", "l2-half-weights", "l1"])
def test_penalty_gradient_matches_central_differences(reg):
    layers, _, _ = _net(3)
    grads = reg.gradient(layers)
    h = 1e-6
    for l, layer in enumerate(layers):
        for kind in ("W", "b"):
            arr = getattr(layer, kind)
            for idx in np.ndindex(arr.shape):
                def at(d, arr=arr, idx=idx, kind=kind, l=l, layer=layer):
                    moved = arr.copy()
                    moved[idx] += d
                    new = list(layers)
                    new[l] = layer.replace(**{kind: moved})
                    return reg.penalty(new)
                fd = (at(h) - at(-h)) / (2 * h)
                got = grads[l][0 if kind == "W" else 1][idx]
                assert got == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_penalty_values_follow_the_two_conventions():
    net = [Dense([[1.0, -2.0]], [3.0], "identity")]
    assert Regularization("l2", 1e-4).penalty(net) == pytest.approx(1e-4 * 14)        # micrograd: alpha·Σp²
    assert Regularization("l2", 1e-3, half=True, biases=False).penalty(net) == pytest.approx(0.5e-3 * 5)  # CS231n
    assert Regularization("l1", 0.5).penalty(net) == pytest.approx(0.5 * 6)


@pytest.mark.parametrize(("schedule", "formula"), [
    (Schedule("constant"), lambda k: 0.5),
    (Schedule("step", gamma=0.1, step_size=3), lambda k: 0.5 * 0.1 ** (k // 3)),
    (Schedule("linear", final=0.05), lambda k: 0.5 + (0.05 - 0.5) * k / 10),
    (Schedule("exponential", gamma=0.9), lambda k: 0.5 * 0.9 ** k),
], ids=["constant", "step", "linear", "exponential"])
def test_schedules_give_their_formula(schedule, formula):
    for k in range(10):
        assert schedule.rate(0.5, k, 10) == pytest.approx(formula(k), rel=1e-15)


def test_micrograd_linear_schedule():
    s = Schedule("linear", final=0.1)
    for k in range(100):
        assert s.rate(1.0, k, 100) == pytest.approx(1.0 - 0.9 * k / 100, rel=1e-14)


def test_scheduled_rate_is_the_one_applied():
    layers, X, T = _net(4)
    r = _fit(layers, X, T, "mse", 0.2, 3, schedule=Schedule("exponential", gamma=0.5), show=(1, 2, 3))
    assert [s.lr for s in r.shown] == [0.2, 0.1, 0.05]
    for s in r.shown:
        for p, g, q in zip(s.params, s.grads, s.new):
            np.testing.assert_allclose(q, p - s.lr * g, rtol=0, atol=1e-15)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_batches_visit_every_sample_once_per_epoch(size):
    n = 7
    b = Batching(size, seed=11)
    per_epoch = -(-n // size)
    for epoch in range(3):
        seen = np.concatenate([b.indices(epoch * per_epoch + j, n) for j in range(per_epoch)])
        assert sorted(seen.tolist()) == list(range(n))
    assert b.indices(4, n).tolist() == Batching(size, seed=11).indices(4, n).tolist()  # seeded


def test_online_step_uses_one_sample():
    layers, X, T = _net(5)
    r = _fit(layers, X, T, "mse", 0.1, 2, batching=Batching(1, seed=0), show=(1, 2))
    assert [len(s.batch) for s in r.shown] == [1, 1]
    # The update is the gradient of that one sample's loss.
    one = _fit(layers, X[list(r.shown[0].batch)], T[list(r.shown[0].batch)], "mse", 0.1, 1, show=(1,))
    for p, q in zip(r.shown[0].new, one.shown[0].new):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-15)


def test_plain_loop_is_gd_step_repeated():
    """With the defaults the loop's updates are gd_step's (the sequential mode relies on it)."""
    from backproof.engine import back_propagation, forward_prop
    layers, X, T = _net(6)
    a = _fit(layers, X, T, "mse", 0.3, 4, show=(1, 2, 3, 4))
    current = layers
    for step in a.shown:
        current = gd_step(current, back_propagation(forward_prop(X, current), current, T, "mse"), 0.3)
        for p, q in zip(step.new, params_of(current)):
            np.testing.assert_array_equal(p, q)


def test_sequential_mode_needs_plain_descent():
    from backproof.engine import EngineError
    layers, X, T = _net(2)
    with pytest.raises(EngineError, match="'sequential' works with plain"):
        train(layers, X, T, "mse", 0.1, 2, mode="sequential", optimizer=make_optimizer("adam"))


def test_unknown_optimizer_and_hyper_parameter():
    from backproof.engine import EngineError
    with pytest.raises(EngineError, match="unknown optimizer 'adamw'"):
        make_optimizer("adamw")
    with pytest.raises(EngineError, match="unknown hyper-parameter 'beta1'"):
        make_optimizer("momentum", beta1=0.9)


def test_update_table_of_shown_steps_in_the_writeups(tmp_path, capsys):
    """``show_steps`` puts each asked update in the write-up: the optimiser's state before and
    after, and the new value, equal to the engine's (JSON) and listed in the text."""
    import json

    from backproof.cli import main
    spec = tmp_path / "n.yaml"
    spec.write_text("inputs: [[0.5, -1.0], [1.0, 2.0], [0.1, 0.3]]\ntargets: [[1], [0], [1]]\nloss: bce\n"
                    "learning_rate: 0.1\nsteps: 3\nseed: 1\noptimizer: {name: adam, beta1: 0.8}\n"
                    "regularization: {kind: l2, strength: 0.01}\nshow_steps: [2, 3]\n"
                    "layers:\n  - {units: 2, activation: tanh}\n  - {units: 1, activation: sigmoid}\n",
                    encoding="utf-8")
    out = tmp_path / "n.json"
    assert main(["net", str(spec), "--format", "json", "-o", str(out)]) == 0
    h = json.loads(out.read_text(encoding="utf-8"))["history"]
    assert [s["step"] for s in h["shown_steps"]] == [2, 3]
    assert h["shown_steps"][0]["columns"] == ["θ", "g", "m", "m′", "v", "v′", "θ′"]
    assert any("adam (β₁ = 0.8" in line for line in h["setup"])
    assert any("R = 0.01·Σp²" in line for line in h["setup"])
    # Step 3 starts where step 2 ended, and its m is β₁·m + (1 − β₁)·g of the table's own numbers.
    s2, s3 = h["shown_steps"]
    for name, row in s3["rows"].items():
        theta, g, m0, m1 = row[:4]
        assert theta == pytest.approx(s2["rows"][name][-1], rel=1e-12, abs=1e-15)
        assert m0 == pytest.approx(s2["rows"][name][3], rel=1e-12, abs=1e-15)
        assert m1 == pytest.approx(0.8 * m0 + 0.2 * g, rel=1e-9, abs=1e-15)
    text = tmp_path / "n.txt"
    assert main(["net", str(spec), "--format", "text", "-o", str(text)]) == 0
    body = text.read_text(encoding="utf-8")
    assert "Update 2" in body and "Update 3" in body and "m′" in body
    capsys.readouterr()


@pytest.mark.parametrize("reg", [{"kind": "l2", "strength": 0.01}, {"kind": "l2", "strength": 0.2, "half": True,
                                                                      "biases": False},
                                 {"kind": "l1", "strength": 0.05}], ids=["l2", "l2-half-weights", "l1"])
def test_penalty_section_is_the_engines_first_update_gradient(reg):
    """The write-up's ∂(J + R)/∂p (symbolic ∂J/∂p plus the exact ∂R/∂p) is the gradient the
    engine's first update uses."""
    from backproof.nn import explain_network, train_network
    from backproof.nn.train import param_positions, penalty_view
    spec = {"inputs": [[0.5, -1.0], [1.0, 2.0]], "targets": [[1, 0], [0, 1]], "loss": "ce", "seed": 4,
            "learning_rate": 0.1, "regularization": reg, "show_steps": [1],
            "layers": [{"units": 3, "activation": "tanh"}, {"units": 2, "activation": "softmax"}]}
    result = explain_network(spec)
    view = penalty_view(result.net, result.gradients())
    h = train_network(result.net, steps=1)
    where = param_positions(result.net)
    g = h.shown[0].grads
    penalised = {name for name, *_ in view.rows}
    assert len(penalised) == (17 if reg.get("biases", True) else 12)
    for name, _p, _dJ, _dR, total in view.rows:
        l, kind, idx = where[name]
        assert float(total) == pytest.approx(float(g[2 * l + (kind == "b")][idx]), rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("name", ["momentum", "nesterov"])
def test_cs231n_update_forms_give_the_same_parameters(name):
    """CS231n's notes: ``v = mu*v - lr*dx; x += v`` and, for Nesterov, ``v_prev = v;
    v = mu*v - lr*dx; x += -mu*v_prev + (1 + mu)*v`` — the same parameters as ours."""
    rng = np.random.default_rng(9)
    x0 = rng.normal(size=5)
    grads = [rng.normal(size=5) for _ in range(6)]
    mu, lr = 0.9, 0.05
    x, v = x0.copy(), np.zeros(5)
    ours_p = (x0.copy(),)
    opt = make_optimizer(name, momentum=mu)
    state = opt.init(ours_p)
    for dx in grads:
        if name == "momentum":
            v = mu * v - lr * dx
            x = x + v
        else:
            v_prev = v
            v = mu * v - lr * dx
            x = x - mu * v_prev + (1 + mu) * v
        ours_p, state = opt.step(ours_p, (dx,), state, lr)
        np.testing.assert_allclose(ours_p[0], x, rtol=0, atol=1e-13)

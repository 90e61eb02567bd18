"""Tests of the NumPy engine's activations, losses, Dense networks and training loop.

Gradients are checked against central differences, never against hand-typed numbers;
the only typed numbers are Matt Mazur's published figures, which the engine must
reproduce to the precision they were printed with.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backproof.engine import (
    ACTIVATIONS,
    LOSSES,
    Dense,
    EngineError,
    NumericalError,
    back_propagation,
    forward_prop,
    gd_step,
    get_activation,
    get_loss,
    gradient_norm,
    loss_value,
    sequential_gradients,
    sigmoid,
    softmax,
    train,
)
from backproof.errors import BackproofError
from backproof.ops import OPS

SRC = Path(__file__).resolve().parents[1] / "src"

ACTS = sorted(ACTIVATIONS)
ELEMENTWISE = [a for a in ACTS if ACTIVATIONS[a].elementwise]
REGRESSION = ["mse", "sse", "half_sse"]
FUSED = {"bce": "sigmoid", "ce": "softmax"}


def STRICT():
    """The engine's floating-point policy; underflow to 0 is harmless and allowed."""
    return np.errstate(over="raise", divide="raise", invalid="raise")


def compatible_losses(output_activation: str) -> list[str]:
    return REGRESSION + [name for name, act in FUSED.items() if act == output_activation]


# ---------------------------------------------------------------- oracles


def central_jvp(f, z, v, h=1e-6):
    """Directional derivative (f(z + h v) − f(z − h v)) / 2h, i.e. J(z) v."""
    return (f(z + h * v) - f(z - h * v)) / (2 * h)


def central_grad(f, x, h=2e-5):
    """Gradient of the scalar f at x by central differences, entry by entry, Richardson-
    extrapolated over h and h/2: truncation error O(h⁴) and rounding noise about
    1.5·eps·|f|/h. (A plain difference at h = 1e-6 had rounding noise of 2e-8 on gelu/silu
    networks, over the 1e-8 tolerance, while the engine's gradient agreed with PyTorch to 1e-12.)"""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)

    def diff(idx, step):
        xp, xm = x.copy(), x.copy()
        xp[idx] += step
        xm[idx] -= step
        return (f(xp) - f(xm)) / (2 * step)

    for idx in np.ndindex(x.shape):
        g[idx] = (4 * diff(idx, h / 2) - diff(idx, h)) / 3
    return g


def numeric_network_grads(layers, X, T, loss, h=2e-5):
    """Central differences of the batch loss on every weight and bias."""
    out = []
    for i, layer in enumerate(layers):
        def J_W(W, i=i, layer=layer):
            net = list(layers)
            net[i] = layer.replace(W=W)
            return loss_value(forward_prop(X, net), net, T, loss)

        def J_b(b, i=i, layer=layer):
            net = list(layers)
            net[i] = layer.replace(b=b)
            return loss_value(forward_prop(X, net), net, T, loss)

        out.append((central_grad(J_W, layer.W, h), central_grad(J_b, layer.b, h)))
    return out


def assert_grads_close(got, want, rtol=1e-6, atol=1e-8):
    assert len(got) == len(want)
    for (dW, db), (nW, nb) in zip(got, want):
        np.testing.assert_allclose(dW, nW, rtol=rtol, atol=atol)
        np.testing.assert_allclose(db, nb, rtol=rtol, atol=atol)


def kinked(name: str) -> bool:
    """The activation has a kink (at z = 0: every op-table activation with one has it there)."""
    return name in OPS and OPS[name].nondiff is not None


def relu_margin(layers, X) -> float:
    """Smallest |z| feeding a kinked activation (ReLU, …): central differences are wrong
    within h of the kink."""
    cache = forward_prop(X, layers)
    margins = [np.min(np.abs(z)) for z, layer in zip(cache.zs, layers)
               if kinked(layer.activation)]
    return min(margins, default=np.inf)


def random_targets(rng, loss, n, k):
    if loss == "ce":
        return rng.dirichlet(np.ones(k), size=n)  # probability vectors
    if loss == "bce":
        return rng.uniform(0.0, 1.0, size=(n, k))
    return rng.normal(size=(n, k))


def random_network(rng, widths, activations):
    return [Dense(rng.normal(size=(w_out, w_in)), rng.normal(size=w_out), act)
            for w_in, w_out, act in zip(widths[:-1], widths[1:], activations)]


def kink_free_problem(seed, widths, activations, loss, n):
    """A random network and batch with every ReLU input at least 1e-3 from 0."""
    for s in itertools.count(seed * 1000):
        rng = np.random.default_rng(s)
        layers = random_network(rng, widths, activations)
        X = rng.normal(size=(n, widths[0]))
        if relu_margin(layers, X) > 1e-3:
            return layers, X, random_targets(rng, loss, n, widths[-1])


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("name", ACTS)
def test_activation_jvp_matches_central_differences(name):
    act = get_activation(name)
    rng = np.random.default_rng(1)
    z = rng.normal(scale=3.0, size=(4, 5))
    if kinked(name):
        z = np.where(np.abs(z) < 1e-3, 0.5, z)  # stay off the kink
    v = rng.normal(size=z.shape)
    np.testing.assert_allclose(act.jvp(z, v), central_jvp(act, z, v), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ACTS)
def test_activation_jacobian_matches_central_differences(name):
    act = get_activation(name)
    z = np.random.default_rng(2).normal(scale=2.0, size=(4,))
    if kinked(name):
        z = np.where(np.abs(z) < 1e-3, 0.5, z)
    numeric = np.stack([central_jvp(act, z, e) for e in np.eye(4)], axis=-1)
    np.testing.assert_allclose(act.jacobian(z), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_jacobian_is_diagonal(name):
    z = np.array([-2.0, 0.3, 1.7])
    J = get_activation(name).jacobian(z)
    np.testing.assert_array_equal(J, np.diag(np.diag(J)))


def test_softmax_jvp_is_not_just_the_diagonal():
    z = np.array([[0.1, 0.7, -0.4]])
    v = np.array([[1.0, 0.0, 0.0]])
    s = softmax(z)
    diagonal_only = s * (1 - s) * v
    assert not np.allclose(ACTIVATIONS["softmax"].jvp(z, v), diagonal_only)


EXTREME = np.array([[-1000.0, -710.0, -40.0, 0.0, 40.0, 710.0, 1000.0]])


@pytest.mark.parametrize("name", ACTS)
def test_activation_extreme_inputs_are_finite(name):
    act = get_activation(name)
    v = np.ones_like(EXTREME)
    with STRICT():
        a = act(EXTREME)
        d = act.jvp(EXTREME, v)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))
    # Away from 0, the finite differences are well-defined and agree even at ±1000.
    h = 1e-3
    with STRICT():
        numeric = central_jvp(act, EXTREME, v, h)
    # elu and softsign are C¹ but their second derivative jumps at 0: a secant of width 2h
    # is O(h) off there.
    near_zero_ok = not kinked(name) and name not in ("elu", "softsign")
    keep = np.ones_like(EXTREME, dtype=bool) if near_zero_ok else np.abs(EXTREME) > h
    np.testing.assert_allclose(d[keep], numeric[keep], rtol=1e-6, atol=1e-9)


def test_sigmoid_saturates_exactly():
    assert sigmoid([1000.0]).tolist() == [1.0]
    assert sigmoid([-1000.0]).tolist() == [0.0]


def test_relu_derivative_at_zero_is_zero():
    # The PyTorch convention, documented in backproof.engine.layers.
    assert ACTIVATIONS["relu"].jvp([0.0], [1.0]).tolist() == [0.0]


# ---------------------------------------------------------------- losses


LOSS_CASES = [pytest.param(name, id=name) for name in sorted(LOSSES)]


def _loss_problem(name, scale=2.0, seed=3, n=3, k=4):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=scale, size=(n, k))
    act = get_loss(name).requires or "identity"
    return z, get_activation(act), random_targets(rng, name, n, k)


@pytest.mark.parametrize("name", LOSS_CASES)
def test_loss_gradient_matches_central_differences(name):
    loss = get_loss(name)
    z, g, t = _loss_problem(name)
    if loss.wrt == "z":
        def J(x):
            return loss.value(x, g(x), t)
        at = z
    else:
        def J(x):
            return loss.value(None, x, t)
        at = g(z)
    np.testing.assert_allclose(loss.gradient(z, g(z), t), central_grad(J, at),
                               rtol=1e-7, atol=1e-10)


def test_ce_gradient_is_exact_for_unnormalised_targets():
    # The fused gradient is ŷ·Σt − t, which reduces to ŷ − t for one-hot targets.
    loss = get_loss("ce")
    z = np.array([[0.3, -1.2, 2.0]])
    t = np.array([[0.5, 2.0, 0.0]])
    numeric = central_grad(lambda x: loss.value(x, softmax(x), t), z)
    np.testing.assert_allclose(loss.gradient(z, softmax(z), t), numeric, rtol=1e-7)


def _naive_bce(z, t):
    y = 1 / (1 + np.exp(-z))
    return np.mean(-t * np.log(y) - (1 - t) * np.log(1 - y), axis=-1)


def _naive_ce(z, t):
    return -np.sum(t * np.log(np.exp(z) / np.sum(np.exp(z), axis=-1, keepdims=True)), axis=-1)


@pytest.mark.parametrize("name, naive", [("bce", _naive_bce), ("ce", _naive_ce)],
                         ids=["bce", "ce"])
def test_logit_losses_equal_their_textbook_definition(name, naive):
    z, g, t = _loss_problem(name)
    np.testing.assert_allclose(get_loss(name).per_sample(z, g(z), t), naive(z, t), rtol=1e-12)


@pytest.mark.parametrize("name", ["bce", "ce"])
def test_logit_losses_are_finite_at_extreme_logits(name):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 3.0]])
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss = get_loss(name)
    g = get_activation(loss.requires)
    with STRICT():
        value = loss.value(z, g(z), t)
        grad = loss.gradient(z, g(z), t)
    assert np.isfinite(value) and value > 500  # confidently wrong costs about 1000
    assert np.all(np.isfinite(grad))


# ---------------------------------------------------------------- networks


NETWORK_CASES = [
    pytest.param(hidden, out, loss, n, seed, id=f"{hidden}-{out}-{loss}-n{n}")
    for seed, (hidden, out, loss, n) in enumerate(
        (hidden, out, loss, n)
        for hidden in ACTS
        for out in ACTS
        for loss in compatible_losses(out)
        for n in (1, 3)
    )
]


@pytest.mark.parametrize("hidden, out, loss, n, seed", NETWORK_CASES)
def test_network_gradients_match_central_differences(hidden, out, loss, n, seed):
    layers, X, T = kink_free_problem(seed, [3, 4, 3], [hidden, out], loss, n)
    got = back_propagation(forward_prop(X, layers), layers, T, loss)
    assert_grads_close(got, numeric_network_grads(layers, X, T, loss))


@st.composite
def small_problems(draw):
    depth = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    acts = draw(st.lists(st.sampled_from(ACTS), min_size=depth, max_size=depth))
    loss = draw(st.sampled_from(compatible_losses(acts[-1])))
    n = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    return widths, acts, loss, n, seed


@settings(max_examples=50, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_property_random_networks_match_central_differences(problem):
    widths, acts, loss, n, seed = problem
    rng = np.random.default_rng(seed)
    layers = random_network(rng, widths, acts)
    X = rng.normal(size=(n, widths[0]))
    T = random_targets(rng, loss, n, widths[-1])
    assume(relu_margin(layers, X) > 1e-3)
    got = back_propagation(forward_prop(X, layers), layers, T, loss)
    assert_grads_close(got, numeric_network_grads(layers, X, T, loss))


@pytest.mark.parametrize("out, loss", [
    pytest.param(out, loss, id=f"{out}-{loss}")
    for out in ("sigmoid", "softmax", "tanh") for loss in compatible_losses(out)
])
def test_network_with_extreme_logits_is_finite(out, loss):
    layers = [Dense([[1000.0], [-1000.0], [0.0]], [0.0, 0.0, 0.0], out)]
    X = np.array([[1.0], [-1.0]])
    T = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    cache = forward_prop(X, layers)
    value = loss_value(cache, layers, T, loss)
    grads = back_propagation(cache, layers, T, loss)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(x)) for pair in grads for x in pair)


# ---------------------------------------------------------------- Mazur (2015)

# "A Step by Step Backpropagation Example", Matt Mazur, 2015: figures as published.
MAZUR_LAYERS = [
    Dense([[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35], "sigmoid"),
    Dense([[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60], "sigmoid"),
]
MAZUR_X, MAZUR_T, MAZUR_ETA = [0.05, 0.10], [0.01, 0.99], 0.5
MAZUR_UPDATED = {  # name: (layer index, row, column, published value)
    "w1": (0, 0, 0, "0.149780716"),
    "w2": (0, 0, 1, "0.19956143"),
    "w3": (0, 1, 0, "0.24975114"),
    "w4": (0, 1, 1, "0.29950229"),
    "w5": (1, 0, 0, "0.35891648"),
    "w6": (1, 0, 1, "0.408666186"),
    "w7": (1, 1, 0, "0.511301270"),
    "w8": (1, 1, 1, "0.561370121"),
}


def printed_tolerance(published: str) -> float:
    """Half a unit in the last printed digit, plus float slack."""
    decimals = len(published.split(".")[1])
    return 0.5 * 10.0 ** -decimals + 1e-12


def test_mazur_total_error():
    cache = forward_prop(MAZUR_X, MAZUR_LAYERS)
    published = "0.298371109"
    assert loss_value(cache, MAZUR_LAYERS, MAZUR_T, "half_sse") == pytest.approx(
        float(published), abs=printed_tolerance(published))


@pytest.mark.parametrize("name", sorted(MAZUR_UPDATED))
def test_mazur_updated_weights(name):
    layer, row, col, published = MAZUR_UPDATED[name]
    cache = forward_prop(MAZUR_X, MAZUR_LAYERS)
    grads = back_propagation(cache, MAZUR_LAYERS, MAZUR_T, "half_sse")
    # Mazur computes the hidden gradients with the old output weights: simultaneous.
    new = gd_step(MAZUR_LAYERS, grads, MAZUR_ETA, "simultaneous")
    assert new[layer].W[row, col] == pytest.approx(
        float(published), abs=printed_tolerance(published))


# ---------------------------------------------------------------- update orders


def _mazur_cache_and_grads():
    cache = forward_prop(MAZUR_X, MAZUR_LAYERS)
    return cache, back_propagation(cache, MAZUR_LAYERS, MAZUR_T, "half_sse")


def test_sequential_and_simultaneous_share_the_output_update_only():
    cache, grads = _mazur_cache_and_grads()
    sim = gd_step(MAZUR_LAYERS, grads, MAZUR_ETA, "simultaneous")
    seq = gd_step(MAZUR_LAYERS, grads, MAZUR_ETA, "sequential",
                  cache=cache, T=MAZUR_T, loss="half_sse")
    # Exact on purpose: both modes apply the same update code to the same arrays.
    np.testing.assert_array_equal(seq[1].W, sim[1].W)
    np.testing.assert_array_equal(seq[1].b, sim[1].b)
    assert not np.allclose(seq[0].W, sim[0].W, rtol=0, atol=1e-9)
    assert not np.allclose(seq[0].b, sim[0].b, rtol=0, atol=1e-9)


def test_sequential_hidden_gradient_uses_updated_output_weights():
    cache, grads = _mazur_cache_and_grads()
    updated_output = gd_step(MAZUR_LAYERS, grads, MAZUR_ETA)[1]
    # Oracle: ordinary backprop through a network whose output layer is already
    # updated, with the forward values of the original pass.
    oracle = back_propagation(cache, [MAZUR_LAYERS[0], updated_output], MAZUR_T, "half_sse")
    seq = sequential_gradients(cache, MAZUR_LAYERS, MAZUR_T, "half_sse", MAZUR_ETA)
    assert_grads_close(seq[:1], oracle[:1], rtol=1e-14, atol=0)
    assert_grads_close(seq[1:], grads[1:], rtol=0, atol=0)


def test_gd_step_sequential_equals_step_with_sequential_gradients():
    cache, grads = _mazur_cache_and_grads()
    seq_grads = sequential_gradients(cache, MAZUR_LAYERS, MAZUR_T, "half_sse", MAZUR_ETA)
    a = gd_step(MAZUR_LAYERS, grads, MAZUR_ETA, "sequential", cache=cache, T=MAZUR_T,
                loss="half_sse")
    b = gd_step(MAZUR_LAYERS, seq_grads, MAZUR_ETA)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.W, y.W)
        np.testing.assert_array_equal(x.b, y.b)


# ---------------------------------------------------------------- training


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([[0.0], [1.0], [1.0], [0.0]])


def xor_network():
    return [Dense.init(4, 2, "tanh", "xavier", rng=0), Dense.init(1, 4, "sigmoid", "xavier", rng=1)]


def test_seed_training_loop_written_correctly_decreases_the_loss():
    # The seeds' epoch loop, with forward_prop carrying activations on, derivatives
    # at z and pure updates.
    layers, learning_rate, epochs = xor_network(), 1.0, 2000
    losses = []
    for _ in range(epochs):
        cache = forward_prop(XOR_X, layers)
        losses.append(loss_value(cache, layers, XOR_T, "bce"))
        gradients = back_propagation(cache, layers, XOR_T, "bce")
        layers = gd_step(layers, gradients, learning_rate)
    assert losses[-1] < 0.05 * losses[0]
    predictions = forward_prop(XOR_X, layers).output
    np.testing.assert_array_equal(predictions > 0.5, XOR_T > 0.5)


def test_train_matches_the_hand_written_loop():
    layers = xor_network()
    result = train(layers, XOR_X, XOR_T, "bce", 1.0, 50)
    for _ in range(50):
        cache = forward_prop(XOR_X, layers)
        layers = gd_step(layers, back_propagation(cache, layers, XOR_T, "bce"), 1.0)
    assert result.steps == 50 and result.stopped_because == "steps"
    assert len(result.losses) == len(result.grad_norms) == 51
    # Exact on purpose: train() runs these same engine functions on the same arrays.
    for x, y in zip(result.layers, layers):
        np.testing.assert_array_equal(x.W, y.W)
    assert result.final_loss == loss_value(forward_prop(XOR_X, layers), layers, XOR_T, "bce")


def test_train_records_every_network_it_visits():
    """``record(k, layers)`` sees the initial network and the one after each update: the
    same networks as the hand-written loop of gd_step (exact: the same engine functions)."""
    seen = []
    result = train(xor_network(), XOR_X, XOR_T, "bce", 1.0, 4, record=lambda k, ls: seen.append((k, ls)))
    assert [k for k, _ in seen] == [0, 1, 2, 3, 4]
    layers = xor_network()
    for k, visited in seen:
        for x, y in zip(visited, layers):
            np.testing.assert_array_equal(x.W, y.W)
        cache = forward_prop(XOR_X, layers)
        assert result.losses[k] == loss_value(cache, layers, XOR_T, "bce")
        layers = gd_step(layers, back_propagation(cache, layers, XOR_T, "bce"), 1.0)
    assert seen[-1][1] == result.layers


@pytest.mark.parametrize("mode", ["simultaneous", "sequential"])
def test_train_fits_a_linear_regression(mode):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(32, 3))
    T = X @ np.array([[1.5, -2.0, 0.5]]).T + 0.25
    layers = [Dense.init(4, 3, "identity", rng=5), Dense.init(1, 4, "identity", rng=6)]
    result = train(layers, X, T, "mse", 0.05, 500, mode=mode)
    assert result.final_loss < 1e-3 * result.losses[0]


@pytest.mark.parametrize("learning_rate, tolerance, reason, steps", [
    pytest.param(1e-12, 1e-6, "loss_decrease", 1, id="tiny-step-stalls"),
    pytest.param(0.1, 1e6, "gradient_norm", 0, id="huge-tolerance"),
    pytest.param(0.1, 0.0, "steps", 7, id="no-tolerance"),
])
def test_train_stopping_rules(learning_rate, tolerance, reason, steps):
    result = train(xor_network(), XOR_X, XOR_T, "bce", learning_rate, 7, tolerance)
    assert (result.stopped_because, result.steps) == (reason, steps)


def test_train_stops_on_gradient_norm_at_a_minimum():
    # An exact least-squares fit has zero gradient from the start.
    layers = [Dense([[2.0]], [1.0], "identity")]
    result = train(layers, [[1.0], [2.0]], [[3.0], [5.0]], "mse", 0.1, 10, tolerance=1e-12)
    assert (result.stopped_because, result.steps, result.grad_norms) == ("gradient_norm", 0, (0.0,))


# ---------------------------------------------------------------- purity


def test_nothing_is_mutated_and_gradients_are_fresh():
    layers = xor_network()
    before = [(layer.W.copy(), layer.b.copy()) for layer in layers]
    cache = forward_prop(XOR_X, layers)
    g1 = back_propagation(cache, layers, XOR_T, "bce")
    g2 = back_propagation(cache, layers, XOR_T, "bce")  # no doubling on a second run
    assert_grads_close(g1, g2, rtol=0, atol=0)
    g1[0][0][...] = 99.0  # fresh, writeable arrays: the caller may scribble on them
    assert not np.any(g2[0][0] == 99.0)
    gd_step(layers, g2, 0.5)
    train(layers, XOR_X, XOR_T, "bce", 0.5, 3)
    for layer, (W, b) in zip(layers, before):
        np.testing.assert_array_equal(layer.W, W)
        np.testing.assert_array_equal(layer.b, b)
    with pytest.raises(ValueError):
        layers[0].W[0, 0] = 1.0  # read-only
    with pytest.raises(ValueError):
        cache.zs[0][0, 0] = 1.0


def test_dense_copies_its_inputs():
    W = np.ones((2, 2))
    layer = Dense(W, np.zeros(2), "relu")
    W[0, 0] = 5.0
    assert layer.W[0, 0] == 1.0


def test_forward_prop_carries_activations_on():
    layers = [Dense([[1.0]], [0.0], "relu"), Dense([[1.0]], [0.0], "sigmoid")]
    cache = forward_prop([[-2.0]], layers)
    # relu(−2) = 0 must be fed on, so the output is σ(0), not σ(−2).
    assert cache.output.tolist() == [[0.5]]
    assert len(cache.zs) == 2 and len(cache.activations) == 3


@pytest.mark.parametrize("initializer", ["xavier", "he", "zeros", "normal"])
def test_init_is_deterministic_and_shaped(initializer):
    a = Dense.init(5, 3, "tanh", initializer, rng=7)
    b = Dense.init(5, 3, "tanh", initializer, rng=np.random.default_rng(7))
    assert a.W.shape == (5, 3) and a.b.shape == (5,)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.b, np.zeros(5))
    if initializer == "xavier":
        assert np.max(np.abs(a.W)) <= np.sqrt(6 / 8)
    if initializer == "zeros":
        assert not np.any(a.W)


# ---------------------------------------------------------------- errors


def _sig_net():
    return [Dense([[1.0, 1.0]], [0.0], "sigmoid")]


ENGINE_ERRORS = [
    pytest.param(lambda: Dense([[1.0]], [0.0], "swish"), "unknown activation 'swish'",
                 id="unknown-activation"),
    pytest.param(lambda: Dense([[1.0, 2.0]], [0.0, 1.0]), "b must have shape (1,)",
                 id="bias-shape"),
    pytest.param(lambda: Dense([1.0], [0.0]), "expected 2-D", id="weights-1d"),
    pytest.param(lambda: Dense([[np.nan]], [0.0]), "non-finite", id="nan-weight"),
    pytest.param(lambda: Dense.init(2, 2, "relu", "glorot"), "unknown initializer",
                 id="unknown-initializer"),
    pytest.param(lambda: forward_prop([[1.0, 2.0]], [Dense([[1.0]], [0.0])]),
                 "expects fan_in 1", id="input-width"),
    pytest.param(lambda: forward_prop([[1.0]], [Dense([[1.0]], [0.0]), Dense([[1.0, 1.0]], [0.0])]),
                 "layer 2: fan_in 2", id="layer-width"),
    pytest.param(lambda: forward_prop([[1.0]], []), "at least one layer", id="no-layers"),
    pytest.param(lambda: forward_prop([[np.inf, 0.0]], _sig_net()), "X: contains",
                 id="inf-input"),
    pytest.param(lambda: loss_value(forward_prop([[1.0, 1.0]], _sig_net()), _sig_net(),
                                    [[1.0, 0.0]], "mse"),
                 "T: has shape (1, 2)", id="target-shape"),
    pytest.param(lambda: loss_value(forward_prop([[1.0, 1.0]], _sig_net()), _sig_net(),
                                    [[1.0]], "huber"),
                 "unknown loss 'huber'", id="unknown-loss"),
    pytest.param(lambda: back_propagation(forward_prop([[1.0]], [Dense([[1.0]], [0.0], "tanh")]),
                                          [Dense([[1.0]], [0.0], "tanh")], [[1.0]], "bce"),
                 "requires a sigmoid output layer", id="bce-without-sigmoid"),
    pytest.param(lambda: loss_value(forward_prop([[1.0, 1.0]], _sig_net()), _sig_net(),
                                    [[1.0]], "ce"),
                 "requires a softmax output layer", id="ce-without-softmax"),
    pytest.param(lambda: gd_step(_sig_net(), [(np.zeros((1, 2)), np.zeros(1))], 0.0),
                 "learning_rate", id="zero-learning-rate"),
    pytest.param(lambda: gd_step(_sig_net(), [(np.zeros((1, 2)), np.zeros(1))], 0.1, "lazy"),
                 "unknown mode 'lazy'", id="unknown-mode"),
    pytest.param(lambda: gd_step(_sig_net(), [(np.zeros((1, 2)), np.zeros(1))], 0.1,
                                 "sequential"),
                 "needs cache=", id="sequential-without-cache"),
    pytest.param(lambda: gd_step(_sig_net(), [(np.zeros((2, 2)), np.zeros(1))], 0.1),
                 "grads: layer 1 has shapes", id="gradient-shape"),
    pytest.param(lambda: train(_sig_net(), [[1.0, 1.0]], [[1.0]], "bce", 0.1, -1),
                 "steps", id="negative-steps"),
]


@pytest.mark.parametrize("call, message", ENGINE_ERRORS)
def test_engine_errors_name_the_problem(call, message):
    with pytest.raises(EngineError) as info:
        call()
    assert message in str(info.value)


def test_error_hierarchy():
    assert issubclass(EngineError, ValueError)
    assert issubclass(EngineError, BackproofError)
    assert issubclass(NumericalError, EngineError)


NUMERICAL_ERRORS = [
    pytest.param(lambda: forward_prop([[1e300, 1e300]], [Dense([[1e300, 1e300]], [0.0])]),
                 "layer 1 (identity) forward", id="matmul-overflow"),
    pytest.param(lambda: loss_value(forward_prop([[1e200]], [Dense([[1.0]], [0.0])]),
                                    [Dense([[1.0]], [0.0])], [[0.0]], "mse"),
                 "loss (mse)", id="loss-overflow"),
    pytest.param(lambda: train([Dense([[1.0]], [0.0])], [[1e100]], [[0.0]], "sse", 1e100, 5),
                 "step ", id="training-diverges"),
]


@pytest.mark.parametrize("call, where", NUMERICAL_ERRORS)
def test_numerical_errors_say_where(call, where):
    with pytest.raises(NumericalError) as info:
        call()
    assert info.value.where.startswith(where)
    assert str(info.value).startswith(where)


def test_gradient_norm_is_the_euclidean_norm_of_everything():
    grads = [(np.array([[1.0, 2.0]]), np.array([2.0])), (np.array([[4.0]]), np.array([0.0]))]
    assert gradient_norm(grads) == pytest.approx(5.0)


# ---------------------------------------------------------------- independence


def test_engine_does_not_import_sympy():
    code = "import sys, backproof.engine; print('sympy' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    assert out.stdout.strip() == "False"

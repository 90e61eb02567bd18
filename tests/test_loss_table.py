"""Every row of the loss table, every facet: the SymPy forms against the NumPy ones.

Oracles: ``sympy.diff`` of the written per-sample loss (for ∇ₐJ), the NumPy
per-sample value (for the written loss and the matrix view's value), and the chain
rule through the required output activation (for the fused gradients ∂J/∂z).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from backproof.losses import LOSS_ROWS

N, K = 3, 2


def _batch(row, seed=7):
    """Predictions a (and logits z) the loss accepts, and targets it accepts."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.1, 0.9, (N, K))
    if row.requires == "softmax":
        a = a / a.sum(axis=1, keepdims=True)
        z = np.log(a)
    elif row.requires == "sigmoid":
        z = np.log(a / (1 - a))
    else:
        z = a
    t = rng.uniform(0, 1, (N, K))
    if row.signed_targets:
        t = rng.choice([-1.0, 1.0], (N, K))
    elif row.one_hot:
        t = np.eye(K)[rng.integers(0, K, N)]
    elif row.targets_sum_to_one:
        t = t / t.sum(axis=1, keepdims=True)
    elif not row.probability_targets:
        t = rng.normal(size=(N, K))
    return z, a, t


def _exact(x):
    return sp.Rational(float(x))


@pytest.mark.parametrize("name", sorted(LOSS_ROWS))
def test_written_loss_and_matrix_value_equal_numpy(name):
    row = LOSS_ROWS[name]
    z, a, t = _batch(row)
    per = row.np_per_sample(z, a, t)
    A = sp.Matrix(K, N, lambda i, c: _exact(a[c, i]))
    Y = sp.Matrix(K, N, lambda i, c: _exact(t[c, i]))
    for c in range(N):
        written = row.written([A[k, c] for k in range(K)], [Y[k, c] for k in range(K)])
        assert float(sp.N(written, 30)) == pytest.approx(per[c], rel=1e-12)
        assert float(sp.N(row.sample_value(A, Y, c), 30)) == pytest.approx(per[c], rel=1e-12)


@pytest.mark.parametrize("name", sorted(LOSS_ROWS))
def test_grad_a_is_the_derivative_of_the_written_batch_loss(name):
    row = LOSS_ROWS[name]
    _z, a, t = _batch(row)
    syms = sp.Matrix(K, N, lambda i, c: sp.Symbol(f"a{i}_{c}", positive=True))
    Y = sp.Matrix(K, N, lambda i, c: _exact(t[c, i]))
    J = sum(row.written([syms[k, c] for k in range(K)], [Y[k, c] for k in range(K)]) for c in range(N)) / N
    at = {syms[i, c]: _exact(a[c, i]) for i in range(K) for c in range(N)}
    A = syms.xreplace(at)
    G = row.grad_a(A, Y)
    for i in range(K):
        for c in range(N):
            oracle = float(sp.N(sp.diff(J, syms[i, c]).xreplace(at), 30))
            assert float(sp.N(G[i, c], 30)) == pytest.approx(oracle, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", sorted(LOSS_ROWS))
def test_numpy_gradient_is_grad_a_chained_to_its_variable(name):
    """wrt a: ∇ₐJ itself; wrt z: ∇ₐJ through the required activation's Jacobian."""
    row = LOSS_ROWS[name]
    z, a, t = _batch(row)
    A = sp.Matrix(K, N, lambda i, c: _exact(a[c, i]))
    Y = sp.Matrix(K, N, lambda i, c: _exact(t[c, i]))
    ga = np.array(sp.N(row.grad_a(A, Y), 30).tolist(), dtype=float).T  # samples × K
    if row.wrt == "a":
        expected = ga
    elif row.requires == "sigmoid":
        expected = ga * a * (1 - a)
    else:
        assert row.requires == "softmax", name
        expected = a * (ga - np.sum(a * ga, axis=1, keepdims=True))
    np.testing.assert_allclose(row.np_gradient(z, a, t), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(LOSS_ROWS))
def test_fused_loss_names_its_activation(name):
    row = LOSS_ROWS[name]
    assert (row.wrt == "z") == (row.requires is not None)
    if row.targets_sum_to_one:
        assert row.probability_targets


def test_finding_one_loss_vocabulary():
    """The spec and the layer engine take their losses (and fused pairs) from the rows."""
    from backproof.engine import LOSSES
    from backproof.nn.spec import LOSS_NEEDS
    from backproof.nn.spec import LOSSES as SPEC_LOSSES
    assert tuple(SPEC_LOSSES) == tuple(LOSSES) == tuple(LOSS_ROWS)
    assert {n: r.requires for n, r in LOSS_ROWS.items() if r.requires} == LOSS_NEEDS
    for name, row in LOSS_ROWS.items():
        assert LOSSES[name].per_sample is row.np_per_sample and LOSSES[name].gradient is row.np_gradient

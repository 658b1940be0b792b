"""linmass.hessian_density (stochastic Lanczos quadrature, docs/theory.md §7.5) against closed
forms: a linear model's MSE loss Hessian is I_K (x) A with A = mean_i [x_i; 1][x_i; 1]^T, so every
Ritz value of a Krylov space that closes is an eigenvalue of A (no torch needed)."""
import numpy as np
import pytest

import linmass


def test_linear_model_nodes_are_the_eigenvalues():
    rng = np.random.default_rng(3)
    n, d, k = 7, 4, 3
    m = linmass.Model(f"dense:{k}", (d,), seed=1)
    X, y = rng.standard_normal((n, d)), rng.standard_normal((n, k))
    Z = np.hstack([X, np.ones((n, 1))])
    ev = np.linalg.eigvalsh(Z.T @ Z / n)  # 5 distinct values: the Krylov space closes in 5 steps
    for vectors in ("rademacher", "gaussian"):
        D = linmass.hessian_density(m, X, y, probes=4, steps=15, vectors=vectors, seed=2)
        assert D.count.sum() == D.nodes.size == D.weights.size and (D.count <= d + 1).all()
        assert abs(D.weights.sum() - 1) < 1e-12
        assert np.abs(D.nodes[:, None] - ev[None, :]).min(axis=1).max() < 1e-10
        assert abs(D.nodes.max() - ev[-1]) < 1e-10 and abs(D.nodes.min() - ev[0]) < 1e-10
        # Gauss quadrature of t -> t: sum_j tau_j^2 theta_j = alpha_1 = v^T H v for each unit
        # probe v, so dim times the weighted mean of the nodes is the trace estimate
        dim = k * (d + 1)
        assert abs(D.trace - dim * (D.weights @ D.nodes)) < 1e-12 * dim * ev[-1]


def test_mlp_top_node_gauss_newton_and_smoothing():
    rng = np.random.default_rng(5)
    m = linmass.Model("dense:4,tanh,dense:2", (3,), seed=7)
    X, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    p = m.num_params
    top = linmass.loss_hessian(m, X, y, top=1, trace_samples=0, tol=1e-13).eigenvalues[0]
    D = linmass.hessian_density(m, X, y, probes=3, steps=p, seed=1)
    assert abs(D.nodes.max() - top) < 1e-8 * abs(top)
    G = linmass.hessian_density(m, X, y, of="gauss_newton", probes=3, steps=p, seed=1)
    assert G.nodes.min() >= -1e-10 * G.nodes.max()  # J^T H_l J is positive semi-definite
    R = linmass.hessian_density(m, X, y, of="residual", probes=3, steps=p, seed=1)
    # the same vectors for the three: v^T H v = v^T G v + v^T R v probe by probe, so do the traces
    assert abs(D.trace - G.trace - R.trace) < 1e-10 * p * abs(top)
    sigma = 0.01 * (D.nodes.max() - D.nodes.min())
    t = np.linspace(D.nodes.min() - 8 * sigma, D.nodes.max() + 8 * sigma, 4001)
    assert abs(np.trapz(D.smooth(t, sigma), t) - 1) < 1e-6
    Mo = linmass.hessian_density(m, X, of="model", probes=2, steps=p, seed=1)
    assert abs(Mo.weights.sum() - 1) < 1e-12 and Mo.nodes.min() < 0 < Mo.nodes.max()


def test_bad_arguments():
    m = linmass.Model("dense:2", (3,))
    X = np.zeros((2, 3))
    with pytest.raises(ValueError):
        linmass.hessian_density(m, X, np.zeros((2, 2)), of="fisher")
    with pytest.raises(ValueError):
        linmass.hessian_density(m, X, np.zeros((2, 2)), vectors="sobol")

"""linmass.constants and linmass.theory_rate against closed forms (docs/theory.md §2)."""
import numpy as np
import pytest

import linmass


def test_constants_of_two_axis_rows():
    """Rows (1, 0) and (0, 0.1): H = diag(1/2, 1/200), L = 1/2, mu = 1/200, kappa = 100;
    E[|x|^2 x x^T] = diag(1/2, 1e-4/2) = L1 H with L1 = 1; x^T H^+ x = 2 for both rows, so
    kappa_tilde = 2."""
    X = np.array([[1.0, 0.0], [0.0, 0.1]])
    m = 4
    c = linmass.constants(X, batch=m)
    want = {"d": 2, "rank": 2, "m": m, "L": 0.5, "mu": 0.005, "kappa": 100.0, "L1": 1.0,
            "kappa_tilde": 2.0, "kappa_1": 200.0}
    for k, v in want.items():
        assert c[k] == pytest.approx(v, rel=1e-12), k
    L_m = 1.0 / m + (m - 1) * 0.5 / m
    kt_m = 2.0 / m + (m - 1) / m
    assert c["L_m"] == pytest.approx(L_m, rel=1e-12)
    assert c["kappa_tilde_m"] == pytest.approx(kt_m, rel=1e-12)
    assert c["sgd_lr"] == pytest.approx(1 / L_m, rel=1e-12)
    assert c["mass_speed"] == pytest.approx(1 / np.sqrt(L_m / 0.005 * kt_m), rel=1e-12)


def test_sgd_rate_on_scalar_data_is_the_mean_squared_factor():
    """1-D data x in {1, 2}, batch 1: e' = (1 - eta x^2) e, so rho = mean (1 - eta x_i^2)^2."""
    X = np.array([[1.0], [2.0]])
    eta = 0.15
    want = np.mean((1 - eta * X[:, 0] ** 2) ** 2)
    assert linmass.theory_rate(X, "sgd", batch=1, lr=eta) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("optim,hyper", [("mass", dict(eta1=0.3, eta2=0.1, gamma=0.6)),
                                         ("nesterov", dict(lr=0.3, gamma=0.6)),
                                         ("mass", dict(lr=0.3, alpha=0.25, kappa_tilde=2.0))])
def test_momentum_rate_on_one_point_is_the_squared_spectral_radius(optim, hyper):
    """All rows equal x = 1.5: the error pair (w, u) evolves deterministically by
    A = [[0, 1 - eta1 h], [-gamma, (1 + gamma)(1 - eta1 h) + eta2 h]], h = x^2, so
    rho = max |eig A|^2."""
    X = np.full((3, 1), 1.5)
    h = 2.25
    if "alpha" in hyper:
        a, k = hyper["alpha"], hyper["kappa_tilde"]
        eta1, eta2, gamma = hyper["lr"], hyper["lr"] * (1 - 1 / k) / (1 + a), (1 - a) / (1 + a)
    else:
        eta1, eta2, gamma = hyper.get("eta1", hyper.get("lr")), hyper.get("eta2", 0.0), hyper["gamma"]
    A = np.array([[0, 1 - eta1 * h], [-gamma, (1 + gamma) * (1 - eta1 * h) + eta2 * h]])
    want = np.max(np.abs(np.linalg.eigvals(A))) ** 2
    assert linmass.theory_rate(X, optim, batch=2, **hyper) == pytest.approx(want, rel=1e-10)


def test_default_hyper_parameters_are_the_theory_choice():
    X = np.random.default_rng(0).standard_normal((40, 3))
    c = linmass.constants(X, batch=2)
    assert linmass.theory_rate(X, "mass", batch=2) == linmass.theory_rate(
        X, "mass", batch=2, eta1=c["mass_eta1"], eta2=c["mass_eta2"], gamma=c["mass_gamma"])
    assert linmass.theory_rate(X, "sgd", batch=2) == linmass.theory_rate(X, "sgd", batch=2, lr=c["sgd_lr"])


def test_theory_bad_inputs():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="unknown hyper-parameters"):
        linmass.theory_rate(X, "sgd", momentum=0.9)
    with pytest.raises(ValueError, match="lr .or eta1. and gamma"):
        linmass.theory_rate(X, "nesterov")
    with pytest.raises(ValueError, match="optim"):
        linmass.theory_rate(X, "adam")
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        linmass.constants(np.ones(3))
    with pytest.raises(ValueError, match="integer|dtype"):
        linmass.constants(np.ones((3, 2), dtype=int))
    with pytest.raises(linmass.LinmassError):
        linmass.theory_rate(np.random.default_rng(0).standard_normal((40, 31)), "sgd", lr=0.01)

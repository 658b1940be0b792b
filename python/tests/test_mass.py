"""linmass.torch.MaSS against the library's C MaSS steps (lm_mass_step_f64, lm_mass3_step_f64),
torch's Nesterov SGD and quasi-hyperbolic momentum, on a float64 quadratic."""
import ctypes

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from linmass import _lib  # noqa: E402
from linmass.torch import MaSS  # noqa: E402

STEPS, DIM = 200, 10


def quadratic(seed=0):
    """f(x) = 1/2 x^T A x - b^T x with A's eigenvalues in [0.05, 1]."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    A = Q @ np.diag(np.linspace(0.05, 1.0, DIM)) @ Q.T
    return A, rng.standard_normal(DIM), rng.standard_normal(DIM)


def c_mass(A, b, x0, hp):
    """The C steps on numpy arrays, gradients at u: the u of every step, and the last w, v.
    (Whole trajectories are compared: a wrong update that converges to the same minimum would
    agree at the end.)"""
    w, u, v = x0.copy(), x0.copy(), x0.copy()
    p = lambda a: _lib.ptr(a)  # noqa: E731
    us = []
    for _ in range(STEPS):
        g = A @ u - b
        if isinstance(hp, _lib.MassHp):
            _lib.lib.lm_mass_step_f64(DIM, p(w), p(u), p(g), ctypes.byref(hp))
        else:
            _lib.lib.lm_mass3_step_f64(DIM, p(w), p(u), p(v), p(g), ctypes.byref(hp))
        us.append(u.copy())
    return np.array(us), w, v


def torch_run(A, b, x0, make_opt):
    """The torch optimizer on the same quadratic, the gradient computed as the C side's."""
    x = torch.tensor(x0, requires_grad=True)
    opt = make_opt([x])
    us = []
    for _ in range(STEPS):
        opt.zero_grad()
        x.grad = torch.from_numpy(A @ x.detach().numpy() - b)
        opt.step()
        us.append(x.detach().numpy().copy())
    return np.array(us), opt


def test_authors_form_equals_c_mass3():
    A, b, x0 = quadratic(1)
    u, w, v = c_mass(A, b, x0, _lib.Mass3Hp(0.8, 0.1, 4.0, 0.01))
    tu, opt = torch_run(A, b, x0, lambda p: MaSS(p, lr=0.8, alpha=0.1, kappa_tilde=4.0, weight_decay=0.01))
    state = next(iter(opt.state.values()))
    np.testing.assert_allclose(tu, u, rtol=0, atol=1e-12)
    np.testing.assert_allclose(state["w"].numpy(), w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(state["v"].numpy(), v, rtol=0, atol=1e-12)
    assert np.linalg.norm(w - np.linalg.solve(A + 0.01 * np.eye(DIM), b)) < 1e-3  # it converges


def test_two_sequence_form_equals_c_mass():
    A, b, x0 = quadratic(2)
    u, w, _ = c_mass(A, b, x0, _lib.MassHp(0.9, 0.2, 0.8, 0.0))
    tu, opt = torch_run(A, b, x0, lambda p: MaSS(p, eta1=0.9, eta2=0.2, gamma=0.8))
    np.testing.assert_allclose(tu, u, rtol=0, atol=1e-12)
    np.testing.assert_allclose(opt.state[opt.param_groups[0]["params"][0]]["w"].numpy(), w, rtol=0, atol=1e-12)
    assert "v" not in opt.state[opt.param_groups[0]["params"][0]]


def test_kappa_tilde_one_is_nesterov_sgd():
    A, b, x0 = quadratic(3)
    lr, alpha = 0.7, 0.2
    tu, _ = torch_run(A, b, x0, lambda p: MaSS(p, lr=lr, alpha=alpha, kappa_tilde=1.0))
    su, _ = torch_run(A, b, x0, lambda p: torch.optim.SGD(p, lr=lr, momentum=(1 - alpha) / (1 + alpha),
                                                          nesterov=True))
    np.testing.assert_allclose(tu, su, rtol=0, atol=1e-12)


def test_constant_mass_is_quasi_hyperbolic_momentum():
    """The docstring's map: beta = gamma, a = (eta1 - eta2)/(1 - gamma),
    nu = (gamma eta1 - eta2)/(eta1 - eta2), on the u iterates, QHM's buffer starting at 0."""
    A, b, x0 = quadratic(4)
    eta1, eta2, gamma = 0.9, 0.2, 0.8
    tu, _ = torch_run(A, b, x0, lambda p: MaSS(p, eta1=eta1, eta2=eta2, gamma=gamma))
    a, nu = (eta1 - eta2) / (1 - gamma), (gamma * eta1 - eta2) / (eta1 - eta2)
    theta, m, thetas = x0.copy(), np.zeros(DIM), []
    for _ in range(STEPS):
        g = A @ theta - b
        m = gamma * m + (1 - gamma) * g
        theta = theta - a * ((1 - nu) * g + nu * m)
        thetas.append(theta)
    np.testing.assert_allclose(tu, thetas, rtol=0, atol=1e-10)


def test_at_w_swaps_w_in_and_u_back():
    A, b, x0 = quadratic(5)
    x = torch.tensor(x0, requires_grad=True)
    opt = MaSS([x], lr=0.5)
    with opt.at_w():  # before any step: nothing to swap
        assert torch.equal(x.detach(), torch.from_numpy(x0))
    for _ in range(3):
        x.grad = torch.from_numpy(A @ x.detach().numpy() - b)
        opt.step()
    u, w = x.detach().clone(), opt.state[x]["w"].clone()
    assert not torch.equal(u, w)
    with pytest.raises(KeyError):
        with opt.at_w():
            assert torch.equal(x.detach(), w)
            x.data.zero_()
            raise KeyError("inside")
    assert torch.equal(x.detach(), u)


def test_bad_hyper_parameters():
    x = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="either"):
        MaSS(x, lr=0.1, eta1=0.1, eta2=0.0, gamma=0.5)
    with pytest.raises(ValueError, match="eta1, eta2 and gamma"):
        MaSS(x, eta1=0.1)
    with pytest.raises(ValueError, match="kappa_tilde >= 1"):
        MaSS(x, lr=0.1, kappa_tilde=0.5)
    with pytest.raises(ValueError, match="lr must be positive"):
        MaSS(x)

"""ntk and hessian_norm against float64 torch references built from autograd."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import linmass  # noqa: E402
from test_torch_convert import inputs, randomize  # noqa: E402


def mlp():
    return randomize(nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 12), nn.Tanh(),
                                   nn.Linear(12, 2)), 11), (6,)


def cnn():
    return randomize(nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Tanh(),
                                   nn.MaxPool2d(2), nn.Conv2d(3, 4, 3), nn.Softplus(), nn.Flatten(),
                                   nn.Linear(16, 1)), 12), (1, 8, 8)


def jacobian_rows(module, X, k):
    """Per-sample gradient rows of output k (or the list of all outputs for k None)."""
    params = list(module.parameters())
    rows = []
    for x in X:
        out = module(x.unsqueeze(0))[0]
        g = torch.autograd.grad(out[k], params)
        rows.append(torch.cat([t.reshape(-1) for t in g]))
    return torch.stack(rows)


def ntk_reference(module, X, output):
    ks = range(module(X[:1]).shape[1]) if output == "sum" else [output]
    K = sum(J @ J.T for J in (jacobian_rows(module, X, k) for k in ks))
    return K.detach().numpy()


@pytest.mark.parametrize("make,output", [(mlp, "sum"), (mlp, 1), (cnn, "sum")])
def test_ntk_equals_per_sample_autograd(make, output):
    module, shape = make()
    X = inputs(shape, n=7, seed=3)
    model = linmass.from_torch(module, shape)
    want = ntk_reference(module, X, output)
    for method in ("auto", "per_sample"):
        K = linmass.ntk(model, X, output=output, method=method)
        np.testing.assert_allclose(K, want, rtol=0, atol=1e-10 * np.abs(want).max())


def hvp_operator(module, phi):
    """v -> H v for the scalar phi(module) by double backward."""
    params = list(module.parameters())
    grads = torch.autograd.grad(phi(), params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])

    def apply(v):
        hv = torch.autograd.grad(flat, params, grad_outputs=v, retain_graph=True, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if h is None else h).reshape(-1) for p, h in zip(params, hv)])
    return apply, flat.numel()


def lanczos_norm(apply, dim, steps=120, seed=0):
    """The spectral norm of a symmetric operator: Lanczos with full reorthogonalization, the
    largest |Ritz value| of `steps` (<= dim) steps."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(dim, generator=g, dtype=torch.float64)
    Q, alphas, betas = [q / q.norm()], [], []
    for j in range(min(steps, dim)):
        w = apply(Q[j])
        alphas.append(torch.dot(w, Q[j]))
        for qi in Q:  # full reorthogonalization, twice
            w = w - torch.dot(w, qi) * qi
        for qi in Q:
            w = w - torch.dot(w, qi) * qi
        beta = w.norm()
        if j + 1 == min(steps, dim) or beta < 1e-12:
            break
        betas.append(beta)
        Q.append(w / beta)
    T = torch.diag(torch.stack(alphas))
    for i, b in enumerate(betas[:len(alphas) - 1]):
        T[i, i + 1] = T[i + 1, i] = b
    return torch.linalg.eigvalsh(T).abs().max().item()


@pytest.mark.parametrize("make", [mlp, cnn])
def test_hessian_norm_equals_torch_lanczos_on_double_backward(make):
    module, shape = make()
    X = inputs(shape, n=4, seed=5)
    model = linmass.from_torch(module, shape)
    h = linmass.hessian_norm(model, X)
    assert h.converged
    apply, dim = hvp_operator(module, lambda: module(X).sum(1).mean())  # fbar, outputs summed
    want_fbar = lanczos_norm(apply, dim)
    per_input = []
    for i in range(len(X)):
        apply, dim = hvp_operator(module, lambda: module(X[i:i + 1]).sum())
        per_input.append(lanczos_norm(apply, dim, seed=i + 1))
    assert h.fbar == pytest.approx(want_fbar, rel=1e-6)
    np.testing.assert_allclose(h.per_input, per_input, rtol=1e-6)
    assert h.max == pytest.approx(max(per_input), rel=1e-6)
    assert h.mean == pytest.approx(np.mean(per_input), rel=1e-6)
    assert h.argmax == int(np.argmax(per_input))


def test_loss_hessian_mse_top_eigenvalues_equal_the_dense_hessian():
    module, shape = mlp()
    X = inputs(shape, n=6, seed=6)
    y = inputs((2,), n=6, seed=7)
    model = linmass.from_torch(module, shape)
    r = linmass.loss_hessian(model, X, y.numpy(), top=3, trace_samples=0)
    apply, dim = hvp_operator(module, lambda: 0.5 * ((module(X) - y) ** 2).sum() / len(X))
    H = torch.stack([apply(e) for e in torch.eye(dim, dtype=torch.float64)])
    ev = torch.linalg.eigvalsh(H).flip(0)[:3].numpy()
    np.testing.assert_allclose(r.eigenvalues, ev, rtol=1e-8)
    loss = (0.5 * ((module(X) - y) ** 2).sum() / len(X)).item()
    assert r.loss == pytest.approx(loss, rel=1e-12)
    assert np.isnan(r.trace)
    r = linmass.loss_hessian(model, X, y, trace_samples=2000)  # Hutchinson: within 5 standard errors
    assert abs(r.trace - torch.trace(H).item()) < 5 * r.trace_se

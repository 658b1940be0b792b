"""linmass.Model, state_dict, forward, train and the input checks, against numpy closed forms
(no torch needed)."""
import ctypes

import numpy as np
import pytest

import linmass
from linmass import _lib


def mlp_numpy(sd, X):
    """dense:H,tanh,dense:K by hand."""
    h = np.tanh(X @ sd["0.weight"].T + sd["0.bias"])
    return h @ sd["2.weight"].T + sd["2.bias"]


def test_state_dict_names_shapes_and_forward():
    m = linmass.Model("dense:16,tanh,dense:3", (5,), seed=4)
    sd = m.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [v.shape for v in sd.values()] == [(16, 5), (16,), (3, 16), (3,)]
    assert m.num_params == 16 * 5 + 16 + 3 * 16 + 3
    rng = np.random.default_rng(0)
    sd = {k: rng.standard_normal(v.shape) for k, v in sd.items()}  # float64 values, kept exactly
    m.load_state_dict(sd)
    for k, v in m.state_dict().items():
        assert np.array_equal(v, sd[k])
    X = rng.standard_normal((9, 5))
    np.testing.assert_allclose(m.forward(X), mlp_numpy(sd, X), rtol=0, atol=1e-13)


def test_batchnorm_buffers_and_image_names():
    m = linmass.Model("conv:4x3,bn,relu,maxpool:2,dense:2", (1, 6, 6))
    names = list(m.state_dict())
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                     "1.num_batches_tracked", "5.weight", "5.bias"]  # 4: the implied flatten
    assert m.state_dict()["1.num_batches_tracked"].dtype == np.int64
    assert m.state_dict()["1.num_batches_tracked"].shape == ()
    assert m.output_shape == (2,)


def test_forward_takes_float32_and_strided_inputs():
    m = linmass.Model("dense:4,tanh,dense:1", (3,))
    X = np.random.default_rng(1).standard_normal((6, 6))[:, ::2]  # not contiguous
    assert not X.flags.c_contiguous
    np.testing.assert_array_equal(m.forward(X), m.forward(np.ascontiguousarray(X)))
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(m.forward(X32), m.forward(X32.astype(np.float64)))


def test_bad_inputs_raise_value_errors():
    m = linmass.Model("dense:4,tanh,dense:1", (3,))
    with pytest.raises(ValueError, match="integer|dtype int"):
        m.forward(np.ones((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="NaN"):
        m.forward(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(2, 4\).*\(n, 3\)"):
        m.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        linmass.ntk(m, np.array([[np.inf, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="shape"):
        linmass.hessian_norm(m, np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="output"):
        linmass.ntk(m, np.zeros((2, 3)), output=1)
    with pytest.raises(ValueError, match="input_shape"):
        linmass.Model("dense:1", (3, 4))
    with pytest.raises(ValueError, match="param"):
        linmass.Model("dense:1", (3,), param="mup")
    with pytest.raises(ValueError, match="kernel machines"):
        linmass.Model("kernelfeat:gaussian:1:10,flatten,dense:1", (3,))
    with pytest.raises(AttributeError):
        m.params = np.zeros(3)  # a wrong-sized array would reach the library


def test_state_dict_of_another_spec_names_the_tensor():
    a = linmass.Model("dense:4,tanh,dense:1", (3,))
    b = linmass.Model("dense:5,tanh,dense:1", (3,))
    before = a.params.copy()
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(5, 3\).*\(4, 3\)"):
        a.load_state_dict(b.state_dict())
    np.testing.assert_array_equal(a.params, before)  # nothing changed
    with pytest.raises(ValueError, match="missing.*2.bias"):
        a.load_state_dict({k: v for k, v in a.state_dict().items() if k != "2.bias"})
    with pytest.raises(ValueError, match="unexpected.*3.weight"):
        a.load_state_dict(dict(a.state_dict(), **{"3.weight": np.zeros(1)}))
    with pytest.raises(ValueError, match="NaN"):
        a.load_state_dict(dict(a.state_dict(), **{"0.bias": np.full(4, np.nan)}))


def test_library_failures_raise_linmass_error_with_its_message():
    with pytest.raises(linmass.LinmassError, match="model spec 'dense:4,frob'.*layer 2 'frob'"):
        linmass.Model("dense:4,frob", (3,))
    m = linmass.Model("dense:4,tanh,dense:1", (3,))
    with pytest.raises(linmass.LinmassError) as e:
        linmass.ntk(m, np.zeros((64, 3)), method="per_sample", mem_cap=100)
    assert e.value.status == "ENOMEM" and "bytes" in str(e.value)
    with pytest.raises(linmass.LinmassError, match="optimizer 'rmsprop' is unknown"):
        linmass.train(m, np.zeros((4, 3)), np.zeros(4), optim="rmsprop")
    with pytest.raises(linmass.LinmassError, match="kappa_tilde"):
        linmass.train(m, np.zeros((4, 3)), np.zeros(4), optim="mass", lr=0.1, kappa_tilde=0.5)


def test_abi_guard_refuses_a_drifted_struct():
    class Drifted(ctypes.Structure):  # lm_shape with a field too many
        _fields_ = [("c", ctypes.c_int), ("h", ctypes.c_int), ("w", ctypes.c_int), ("d", ctypes.c_int)]
    with pytest.raises(linmass.LinmassError, match="lm_shape is 12 bytes.*16") as e:
        _lib.check_abi({"lm_shape": Drifted})
    assert e.value.status == "ABI"
    assert _lib.lib.lm_abi_struct_size(b"no_such_struct") == 0
    _lib.check_abi(_lib.MIRRORS)  # the package's own mirrors fit


def test_train_sgd_equals_numpy_minibatch_sgd():
    """dense:1:nobias is f(x) = <w, x>: SGD on (1/2b) sum (f(x) - y)^2 by hand, in float32, over
    the library's epoch order, against linmass.train's steps and losses."""
    rng = np.random.default_rng(2)
    n, d, b, lr, epochs, seed = 10, 4, 3, 0.1, 2, 7
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    m = linmass.Model("dense:1:nobias", (d,))
    w = m.params.astype(np.float32)
    losses = []
    for epoch in range(epochs):
        perm = np.empty(n, dtype=np.uint32)
        _lib.lib.lm_batch_order(n, seed, epoch, _lib.ptr(perm, ctypes.c_uint32))
        assert sorted(perm) == list(range(n))
        for s in range(0, n, b):
            idx = perm[s:s + b]
            r = X[idx] @ w - y[idx]
            losses.append(0.5 * np.mean(r.astype(np.float64) ** 2))
            w = w - np.float32(lr) * (X[idx].T @ r) / np.float32(len(idx))
    res = linmass.train(m, X, y, optim="sgd", lr=lr, batch=b, epochs=epochs, seed=seed)
    assert res.steps == epochs * 4
    np.testing.assert_allclose(res.losses, losses, rtol=1e-5)
    np.testing.assert_allclose(m.params, w, rtol=1e-5, atol=1e-6)
    assert m.params.dtype == np.float64
    np.testing.assert_array_equal(m.params, m.params.astype(np.float32))  # float32 values after


def test_train_classes_and_failures_leave_the_model():
    m = linmass.Model("dense:8,relu,dense:3", (4,))
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 4))
    y = rng.integers(0, 3, 30)
    res = linmass.train(m, X, y, optim="mass", lr=0.05, batch=8, epochs=3)
    assert res.epoch_losses.shape == (3,) and np.all((res.epoch_accuracy >= 0) & (res.epoch_accuracy <= 1))
    with pytest.raises(ValueError, match="class indices from 0 to 3"):
        linmass.train(m, X, np.arange(30) % 4)
    before = m.params.copy()
    with pytest.raises(linmass.LinmassError) as e:
        linmass.train(m, X * 1e30, y, optim="sgd", lr=1e30, batch=8, epochs=2)
    assert e.value.status == "EDIVERGED"
    np.testing.assert_array_equal(m.params, before)

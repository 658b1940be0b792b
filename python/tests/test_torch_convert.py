"""from_torch / to_torch against torch's own float64 outputs."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import linmass  # noqa: E402
from linmass.torch import BasicBlock  # noqa: E402


def randomize(module, seed):
    """Random values for every parameter and batch-norm buffer (so that eval-mode batch norm
    is not the identity), in float64."""
    g = torch.Generator().manual_seed(seed)
    module.double()
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g, dtype=t.dtype))
            elif t.dtype == torch.float64:
                t.copy_(0.5 * torch.randn(t.shape, generator=g, dtype=t.dtype))
    return module.eval()


def mlp():
    return randomize(nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 16),
                                   nn.GELU(), nn.Dropout(0.25), nn.Linear(16, 3)), 1), (1, 3, 4)


def cnn_bn():
    return randomize(nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                   nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
                                   nn.Softplus(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6, 5),
                                   nn.BatchNorm1d(5), nn.Sigmoid(), nn.Linear(5, 2)), 2), (2, 8, 8)


def resnet():
    return randomize(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                   BasicBlock(4, 4), BasicBlock(4, 8, 2), BasicBlock(8, 12, 2, pad_shortcut=True),
                                   nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 2)), 3), (3, 8, 8)


def inputs(shape, n=5, seed=0):
    return torch.randn((n,) + shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("make", [mlp, cnn_bn, resnet])
def test_from_torch_forward_equals_torch(make):
    module, shape = make()
    X = inputs(shape)
    model = linmass.from_torch(module, shape)
    with torch.no_grad():
        want = module(X).numpy()
    np.testing.assert_allclose(model.forward(X), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.forward(X.numpy()), want, rtol=0, atol=1e-12)


def test_resnet_spec_and_names():
    module, shape = resnet()
    model = linmass.from_torch(module, shape)
    assert model.spec == "conv:4x3:nobias,bn,relu,res:4,res:8/2,res:12/2:pad,gap,flatten,dense:2"
    assert list(model.state_dict()) == list(module.state_dict())


@pytest.mark.parametrize("make", [mlp, cnn_bn, resnet])
def test_to_torch_round_trip(make):
    module, shape = make()
    back = linmass.to_torch(linmass.from_torch(module, shape))
    assert [type(m) for m in back] == [type(m) for m in module]
    sd, sd_back = module.state_dict(), back.state_dict()
    assert list(sd) == list(sd_back)
    for k in sd:
        assert torch.equal(sd[k], sd_back[k].to(sd[k].dtype)), k
    X = inputs(shape, seed=1)
    with torch.no_grad():
        assert torch.equal(back(X), module(X))


def test_to_torch_inserts_linmass_implied_flatten():
    model = linmass.Model("conv:3x3,relu,dense:2", (1, 4, 4), seed=5)
    back = linmass.to_torch(model)
    assert [type(m) for m in back] == [nn.Conv2d, nn.ReLU, nn.Flatten, nn.Linear]
    X = inputs((1, 4, 4))
    with torch.no_grad():
        np.testing.assert_allclose(back(X).numpy(), model.forward(X), rtol=0, atol=1e-13)


def test_unsupported_modules_name_themselves():
    with pytest.raises(ValueError, match=r"module 1 \(LSTM.*not supported; supported: Linear"):
        linmass.from_torch(nn.Sequential(nn.Flatten(), nn.LSTM(4, 4)), (4,))
    with pytest.raises(ValueError, match=r"module 0 \(Conv2d.*pads by"):
        linmass.from_torch(nn.Sequential(nn.Conv2d(1, 2, 5, padding=1)), (1, 8, 8))
    with pytest.raises(ValueError, match=r"module 0 \(BatchNorm2d.*eps"):
        linmass.from_torch(nn.Sequential(nn.BatchNorm2d(1, eps=1e-3)), (1, 4, 4))
    with pytest.raises(ValueError, match="Sequential"):
        linmass.from_torch(nn.Linear(3, 1), (3,))
    with pytest.raises(ValueError, match="NTK parameterization"):
        linmass.to_torch(linmass.Model("dense:2", (3,), param="ntk"))


def test_wrong_input_shape():
    module, _ = mlp()
    with pytest.raises(ValueError, match=r"module 1 \(Linear.*shape \(10,\).*flat vector of 12"):
        linmass.from_torch(module, (1, 2, 5))
    with pytest.raises(ValueError, match=r"module 0 \(Linear.*add nn.Flatten"):
        linmass.from_torch(nn.Sequential(nn.Linear(4, 1)), (1, 2, 2))
    model = linmass.from_torch(module, (1, 3, 4))
    with pytest.raises(ValueError, match=r"shape \(5, 12\).*\(n, 1, 3, 4\)"):
        model.forward(np.zeros((5, 12)))


def test_load_state_dict_takes_torch_tensors_and_rejects_other_specs():
    module, shape = cnn_bn()
    model = linmass.Model(linmass.from_torch(module, shape).spec, shape)
    model.load_state_dict(module.state_dict())
    X = inputs(shape)
    with torch.no_grad():
        np.testing.assert_allclose(model.forward(X), module(X).numpy(), rtol=0, atol=1e-12)
    other, _ = resnet()
    with pytest.raises(ValueError, match="missing|shape"):
        model.load_state_dict(other.state_dict())

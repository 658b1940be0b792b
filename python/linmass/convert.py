"""torch.nn.Sequential <-> linmass.Model with the same weights (torch is imported on use)."""
import re

import numpy as np

from .model import Model, _check_model, _shape

SUPPORTED = ("Linear, Conv2d (square kernel and stride, padding 0 or (k-1)/2, no dilation or "
             "groups), ReLU, Tanh, Sigmoid, Softplus (beta 1, threshold 20), GELU (exact), "
             "Identity, MaxPool2d(k) and AvgPool2d(k) (stride k, no padding, floor mode), "
             "AdaptiveAvgPool2d(1), Flatten, Dropout, BatchNorm1d/2d (eps 1e-5, momentum 0.1, "
             "affine, running statistics), linmass.torch.BasicBlock")


def _unsupported(name, module, why=""):
    return ValueError(f"from_torch: module {name} ({module!r}) {why or 'is not supported'}; "
                      f"supported: {SUPPORTED}")


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _conv(name, m, shape):
    k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
    if k[0] != k[1] or s[0] != s[1] or d != (1, 1) or m.groups != 1 or m.padding_mode != "zeros":
        raise _unsupported(name, m, "has a form linmass's conv has not")
    k, s = k[0], s[0]
    pad = m.padding
    if isinstance(pad, str):
        pad = 0 if pad == "valid" else (k - 1) // 2 if (k % 2 and s == 1) else None
    else:
        pad = pad[0] if pad[0] == pad[1] else None
    if pad not in (0, (k - 1) // 2):
        raise _unsupported(name, m, f"pads by {m.padding}: linmass pads by 0 or (k-1)/2")
    if m.in_channels != shape[0]:
        raise ValueError(f"from_torch: module {name} ({m!r}) takes {m.in_channels} channels but gets "
                         f"{shape[0]}")
    h, w = ((x + 2 * pad - k) // s + 1 for x in shape[1:])
    if h < 1 or w < 1:
        raise ValueError(f"from_torch: module {name} ({m!r}) does not fit its {shape} input")
    tok = f"conv:{m.out_channels}x{k}" + (f"/{s}" if s != 1 else "") + \
        (":valid" if pad != (k - 1) // 2 else "") + ("" if m.bias is not None else ":nobias")
    return tok, (m.out_channels, h, w)


def _pool(name, m, shape, word):
    k, s = m.kernel_size, m.stride
    s = k if s is None else s
    if isinstance(k, (tuple, list)) and k[0] == k[1]:
        k = k[0]
    if isinstance(s, (tuple, list)) and s[0] == s[1]:
        s = s[0]
    extra = [getattr(m, a, v) != v for a, v in (("ceil_mode", False), ("return_indices", False),
                                                ("divisor_override", None))]
    extra += [_pair(m.padding) != (0, 0), _pair(getattr(m, "dilation", 1)) != (1, 1)]
    if not isinstance(k, int) or s != k or any(extra):
        raise _unsupported(name, m, "is not a plain k x k pooling with stride k")
    if shape[1] < k or shape[2] < k:
        raise ValueError(f"from_torch: module {name} ({m!r}) does not fit its {shape} input")
    return f"{word}:{k}", (shape[0], shape[1] // k, shape[2] // k)


def _batchnorm(name, m, shape, nn):
    flat = isinstance(m, nn.BatchNorm1d)
    if (len(shape) == 1) != flat or m.num_features != shape[0]:
        raise ValueError(f"from_torch: module {name} ({m!r}) does not fit its {shape} input")
    if m.eps != 1e-5 or m.momentum != 0.1 or not m.affine or not m.track_running_stats:
        raise _unsupported(name, m, "differs from linmass's bn (eps 1e-5, momentum 0.1, affine, "
                                    "running statistics)")
    return "bn", shape


def _token(name, m, shape):
    """One module -> (spec token, the torch shape of one sample after it)."""
    from torch import nn
    from .torch import BasicBlock
    acts = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Identity: "identity"}
    if type(m) in acts:
        return acts[type(m)], shape
    if isinstance(m, nn.Softplus) and m.beta == 1 and m.threshold == 20:
        return "softplus", shape
    if isinstance(m, nn.GELU) and m.approximate == "none":
        return "gelu", shape
    if isinstance(m, nn.Linear):
        if shape != (m.in_features,):
            raise ValueError(f"from_torch: module {name} ({m!r}) gets samples of shape {shape}; "
                             f"linmass's dense takes a flat vector of {m.in_features} (add nn.Flatten())")
        return f"dense:{m.out_features}" + ("" if m.bias is not None else ":nobias"), (m.out_features,)
    if type(m) is nn.Flatten and m.start_dim == 1 and m.end_dim == -1:
        return "flatten", (int(np.prod(shape)),)
    if type(m) is nn.Dropout:
        return f"dropout:{m.p!r}", shape
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and type(m) in (nn.BatchNorm1d, nn.BatchNorm2d):
        return _batchnorm(name, m, shape, nn)
    if len(shape) != 3 and isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d,
                                          nn.AdaptiveAvgPool2d, BasicBlock)):
        raise ValueError(f"from_torch: module {name} ({m!r}) needs an image input (C, H, W) but "
                         f"gets samples of shape {shape}")
    if type(m) is nn.Conv2d:
        return _conv(name, m, shape)
    if type(m) is nn.MaxPool2d:
        return _pool(name, m, shape, "maxpool")
    if type(m) is nn.AvgPool2d:
        return _pool(name, m, shape, "avgpool")
    if type(m) is nn.AdaptiveAvgPool2d and _pair(m.output_size) == (1, 1):
        return "gap", (shape[0], 1, 1)
    if type(m) is BasicBlock:
        if m.in_channels != shape[0]:
            raise ValueError(f"from_torch: module {name} ({m!r}) takes {m.in_channels} channels "
                             f"but gets {shape[0]}")
        tok = f"res:{m.channels}" + (f"/{m.stride}" if m.stride != 1 else "") + \
            (":pad" if m.pad_shortcut else "")
        return tok, (m.channels, (shape[1] - 1) // m.stride + 1, (shape[2] - 1) // m.stride + 1)
    raise _unsupported(name, m)


def from_torch(module, input_shape):
    """A linmass.Model with the layers and weights of a torch.nn.Sequential whose samples have
    shape input_shape ((C, H, W) or (d,)). The module's own values are copied in float64 (a
    float64 module's exactly; see Model for the precision model). The model runs in evaluation
    mode, as module.eval() does. ValueError naming the module for anything linmass cannot
    express."""
    from torch import nn
    if not isinstance(module, nn.Sequential):
        raise ValueError(f"from_torch: expected a torch.nn.Sequential, not {type(module).__name__}")
    shape, _ = _shape(input_shape)
    tokens = []
    for i, (name, m) in enumerate(module.named_children()):
        if name != str(i):
            raise ValueError(f"from_torch: child {name!r} of the Sequential: linmass names layers "
                             "by their position (0, 1, ...)")
        tok, shape = _token(name, m, shape)
        tokens.append(tok)
    if not tokens:
        raise ValueError("from_torch: the Sequential is empty")
    model = Model(",".join(tokens), input_shape)
    model.load_state_dict(module.state_dict())
    return model


# ---- linmass.Model -> torch.nn.Sequential ----

_TOKEN = re.compile(r"^([a-z]+)(?::(\d+))?(?:x(\d+))?(?:/(\d+))?((?::[a-z]+)*)$")


def _module(tok, idx, sd, flat, nn):
    from .torch import BasicBlock
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus,
            "gelu": nn.GELU, "identity": nn.Identity}
    word = tok.split(":")[0]
    if word in acts:
        return acts[word]()
    if word == "dropout":
        return nn.Dropout(float(tok.split(":")[1]) if ":" in tok else 0.5)
    if word == "flatten":
        return nn.Flatten()
    if word == "gap":
        return nn.AdaptiveAvgPool2d(1)
    g = _TOKEN.match(tok)
    if not g:
        raise ValueError(f"to_torch: layer {idx} '{tok}' has no torch.nn counterpart")
    num, stride, flags = g.group(2), int(g.group(4) or 1), g.group(5)
    if word in ("maxpool", "avgpool"):
        return (nn.MaxPool2d if word == "maxpool" else nn.AvgPool2d)(int(num or 2))
    if word == "dense":
        out, inp = sd[f"{idx}.weight"].shape
        return nn.Linear(inp, out, bias=":nobias" not in flags)
    if word == "conv":
        o, c, k, _ = sd[f"{idx}.weight"].shape
        return nn.Conv2d(c, o, k, stride, 0 if ":valid" in flags else (k - 1) // 2,
                         bias=":nobias" not in flags)
    if word == "bn":
        c = sd[f"{idx}.weight"].shape[0]
        return nn.BatchNorm1d(c) if flat else nn.BatchNorm2d(c)
    if word == "res":
        c, inp = sd[f"{idx}.a.0.weight"].shape[:2]
        return BasicBlock(inp, c, stride, ":pad" in flags)
    raise ValueError(f"to_torch: layer {idx} '{tok}' has no torch.nn counterpart")


def to_torch(model):
    """The torch.nn.Sequential of a standard-parameterization linmass.Model, in float64, with
    the model's values and state_dict names, in evaluation mode (call .train() to train it,
    .float() for float32). The flatten linmass implies before a dense layer on an image is
    an explicit nn.Flatten, as in linmass's names."""
    import torch
    from torch import nn
    _check_model(model)
    if model.param != "standard":
        raise ValueError("to_torch: torch.nn layers have no NTK parameterization factor; only "
                         "param='standard' models convert")
    sd = model.state_dict()
    flat = len(model.input_shape) == 1
    spatial = not flat and (model.input_shape[1] > 1 or model.input_shape[2] > 1)
    mods = []
    for tok in model.spec.split(","):
        word = tok.split(":")[0]
        if word == "dense" and spatial:  # linmass's implied flatten is a layer of its own
            mods.append(nn.Flatten())
            flat, spatial = True, False
        if word == "dense" and not flat:
            raise ValueError("to_torch: a dense layer on a C x 1 x 1 input has no "
                             "torch.nn.Sequential form with linmass's names")
        mods.append(_module(tok, len(mods), sd, flat, nn))
        if word in ("dense", "flatten"):
            flat, spatial = True, False
    seq = nn.Sequential(*mods).double()
    seq.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    return seq.eval()

#!/usr/bin/python3
"""Generate the PyTorch golden fixtures for tests/test_golden.c.

    /usr/bin/python3 tools/gen_golden.py [outdir]        # default tests/fixtures

Run with Debian's python3-torch. For the presets fcn (1x28x28), cnn (1x28x28: 28 -> 14 -> 7 -> 3,
so the floor mode of the pooling counts) and resnet20 (3x32x32) it builds the torch.nn module
that linmass's spec describes, with state_dict names equal to linmass's (the implied flatten
before a dense layer is a module of its own; a residual block has children `a` (conv, bn, relu,
conv, bn) and `s` (1x1 conv, bn) and computes relu(a(x) + s(x))), fixes its weights from a
torch seed, and writes the weights, inputs, labels, outputs, mean cross-entropy loss and every
parameter gradient. Reference values are computed in float64 from the float32 weights and
inputs and then stored as float32, so they are the exact answers to float32 rounding.

What each fixture holds:
  fcn, cnn   eval mode (dropout off, which equals train mode with dropout 0: no batch norm):
             eval.out, eval.loss, eval.grad:<param>
  resnet20   eval mode (batch norm with the stored running statistics): eval.out, eval.loss;
             train mode (batch statistics; running statistics move with momentum 0.1 and the
             unbiased variance, num_batches_tracked + 1): train.out, train.loss,
             train.grad:<param>, train.buf:<buffer> (the buffers after that one forward)

File format (all little-endian):
  8 bytes   magic "LMGOLD01"
  u32       L, then L bytes: the linmass spec (a preset name)
  i32 x 4   input c, h, w and the batch size n
  u32       number of records, then the records:
    u16       name length, then the name (ASCII)
    u8        encoding: 0 float32; 1 int8 (value = q * scale); 2 float32 subsample
    u8        ndim, then ndim x i64 dims (ndim 0: a scalar, one element)
    encoding 0: numel x f32
    encoding 1: f32 scale (a power of two), numel x i8 q; q * scale is exact in float32
    encoding 2: u32 stride, ceil(numel / stride) x f32 (the elements at flat indices 0, stride,
                2 stride, ...), then f64 L2 norm and f64 L1 norm of the whole tensor
  Record names: w:<state_dict name> (weights and buffers; num_batches_tracked as a float),
  x (n x c x h x w), y (n class indices as floats), <mode>.out (n x 10), <mode>.loss (scalar),
  <mode>.grad:<param name>, train.buf:<buffer name>.
Weights are drawn by torch's default initialisation from seed 1234 (batch-norm weights, biases
and running statistics are randomised too) and rounded to int8 x 2^e, so they are stored in a
byte each and are bit-identical in both frameworks. Gradients of more than 32768 elements are
stored as a strided subsample plus their full norms, which keeps the files small.

It also prints the parameter counts of the presets as torch counts them (test_model_spec.c
hard-codes them).
"""
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_LIMIT = 32768
QUANT_MIN = 1024  # tensors with at least this many elements are stored as int8


class Block(nn.Module):
    """linmass's res:C[/S]: relu(a(x) + s(x)); s is a projection when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.proj = stride != 1 or cin != cout
        if self.proj:
            self.s = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.a(x) + (self.s(x) if self.proj else x))


def fcn(in_shape, classes=10):
    c, h, w = in_shape
    return nn.Sequential(
        nn.Flatten(), nn.Linear(c * h * w, 100), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(100, 100), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(100, 100), nn.ReLU(), nn.Dropout(0.5), nn.Linear(100, classes))


def cnn(in_shape, classes=10):
    c, h, w = in_shape
    for _ in range(3):
        h, w = h // 2, w // 2
    return nn.Sequential(
        nn.Conv2d(c, 64, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * h * w, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, classes))


def resnet(in_shape, blocks, classes=10):
    layers = [nn.Conv2d(in_shape[0], 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage in range(3):
        for b in range(blocks):
            cout = 16 << stage
            layers.append(Block(cin, cout, 2 if stage and not b else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


def quantize(t):
    """Round t to int8 x 2^e; returns (q, scale) with q * scale exact in float32."""
    m = t.abs().max().item()
    e = math.ceil(math.log2(m / 127)) if m > 0 else 0
    scale = 2.0 ** e
    q = torch.clamp(torch.round(t / scale), -127, 127).to(torch.int8)
    return q, scale


class Writer:
    def __init__(self, spec, in_shape, n):
        self.head = b"LMGOLD01" + struct.pack("<I", len(spec)) + spec.encode()
        self.head += struct.pack("<4i", *in_shape, n)
        self.records = []

    def _start(self, name, enc, shape):
        shape = list(shape)
        return (struct.pack("<H", len(name)) + name.encode() + struct.pack("<BB", enc, len(shape))
                + struct.pack(f"<{len(shape)}q", *shape))

    def f32(self, name, t):
        t = t.detach().to(torch.float32).contiguous()
        self.records.append(self._start(name, 0, t.shape) + t.numpy().astype("<f4").tobytes())

    def int8(self, name, q, scale):
        self.records.append(self._start(name, 1, q.shape) + struct.pack("<f", scale)
                            + q.contiguous().numpy().astype("i1").tobytes())

    def sampled(self, name, t):
        t = t.detach()
        flat = t.reshape(-1).to(torch.float64)
        if flat.numel() <= SAMPLE_LIMIT:
            return self.f32(name, t)
        stride = -(-flat.numel() // SAMPLE_LIMIT)
        sub = flat[::stride].to(torch.float32).numpy().astype("<f4").tobytes()
        norms = struct.pack("<dd", flat.norm().item(), flat.abs().sum().item())
        self.records.append(self._start(name, 2, t.shape) + struct.pack("<I", stride) + sub + norms)

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.head + struct.pack("<I", len(self.records)) + b"".join(self.records))
        return os.path.getsize(path)


def randomise(model, gen):
    """Quantise every weight to int8 x 2^e and give batch norms non-trivial parameters and
    running statistics; returns the float32 state_dict."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(1 + 0.2 * torch.randn(c, generator=gen))
                mod.bias.copy_(0.1 * torch.randn(c, generator=gen))
                mod.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                mod.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                mod.num_batches_tracked.fill_(3)
        for name, p in model.state_dict().items():
            if p.dtype == torch.float32 and p.numel() >= QUANT_MIN:
                q, scale = quantize(p)
                p.copy_(q.to(torch.float32) * scale)
    return {k: v.clone() for k, v in model.state_dict().items()}


def run(model, x, y, train):
    """Forward, mean cross-entropy and backward in float64; returns (out, loss, grads)."""
    model.zero_grad(set_to_none=True)
    model.train(train)
    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    return out, loss, {k: p.grad.clone() for k, p in model.named_parameters()}


def make(name, build, in_shape, n, path, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = build(in_shape)
    state = randomise(model, gen)
    x = torch.randn(n, *in_shape, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    wr = Writer(name, in_shape, n)
    for k, v in state.items():
        if v.dtype == torch.float32 and v.numel() >= QUANT_MIN:
            q, scale = quantize(v)
            assert torch.equal(q.to(torch.float32) * scale, v)
            wr.int8("w:" + k, q, scale)
        else:
            wr.f32("w:" + k, v)
    wr.f32("x", x)
    wr.f32("y", y.to(torch.float32))

    model.double()
    xd = x.double()
    has_bn = any(isinstance(mod, nn.BatchNorm2d) for mod in model.modules())
    out, loss, grads = run(model, xd, y, train=False)
    wr.f32("eval.out", out)
    wr.f32("eval.loss", loss)
    if not has_bn:
        for k, g in grads.items():
            wr.sampled("eval.grad:" + k, g)
    # the same in float32, to report how far torch's own float32 result is from the reference
    m32 = build(in_shape)
    m32.load_state_dict(state)
    out32, _, _ = run(m32, x, y, train=False)
    print(f"{name}: torch float32 vs float64 eval logits rel err "
          f"{((out32.double() - out).norm() / out.norm()).item():.2e}")
    if has_bn:
        out, loss, grads = run(model, xd, y, train=True)
        wr.f32("train.out", out)
        wr.f32("train.loss", loss)
        for k, g in grads.items():
            wr.sampled("train.grad:" + k, g)
        for k, v in model.state_dict().items():
            if "running" in k or "num_batches" in k:
                wr.f32("train.buf:" + k, v)
    size = wr.save(path)
    print(f"{name}: {sum(p.numel() for p in model.parameters())} params, loss {loss.item():.6f}, "
          f"{size} bytes -> {path}")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    make("fcn", fcn, (1, 28, 28), 4, os.path.join(outdir, "golden_fcn.bin"), 1234)
    make("cnn", cnn, (1, 28, 28), 4, os.path.join(outdir, "golden_cnn.bin"), 1235)
    make("resnet20", lambda s: resnet(s, 3), (3, 32, 32), 2, os.path.join(outdir, "golden_resnet20.bin"), 1236)
    for label, mod in [("fcn 1x28x28", fcn((1, 28, 28))), ("cnn 1x28x28", cnn((1, 28, 28))),
                       ("cnn 3x32x32", cnn((3, 32, 32))), ("resnet20 3x32x32", resnet((3, 32, 32), 3)),
                       ("resnet32 3x32x32", resnet((3, 32, 32), 5))]:
        print(f"param count {label}: {sum(p.numel() for p in mod.parameters())}, "
              f"buffers {sum(b.numel() for b in mod.buffers())}")


if __name__ == "__main__":
    main()

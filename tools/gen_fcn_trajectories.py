#!/usr/bin/python3
"""Golden optimizer trajectories on the fcn preset, for tests/test_fcn_trajectories.c.

    /usr/bin/python3 tools/gen_fcn_trajectories.py [outdir]     # default tests/fixtures

Run with Debian's python3-torch. The network is the paper's FCN with dropout p = 0, i.e. linmass's
"dense:100,relu,dense:100,relu,dense:100,relu,dense:10" on 1x28x28 inputs, as the
torch.nn.Sequential (Flatten, Linear, ReLU, Linear, ReLU, Linear, ReLU, Linear) whose state_dict
names are linmass's (index 0 is the Flatten: 1.weight, 1.bias, 3.*, 5.*, 7.*). Weights come from
torch's default initialisation (seed 4321) rounded to int8 x 2^e, inputs are 16 images with
pixels k/128, labels 16 classes: all exact in float32 and in both frameworks.

Each case runs 20 steps of a torch.optim optimizer on that one fixed batch (mean cross-entropy,
the same batch every step), with torch's schedulers stepped like linmass's schedules (warm-up per
step, multistep and cosine per epoch of 5 steps). The trajectory is computed in float64 from the
exact float32 start, so it is the exact answer that linmass's float32 run approximates.

Files (little-endian):
  fcn_traj_init.bin   magic "LMTRAJ01"; u32 L + L bytes: the linmass spec; i32 c, h, w, n;
                      u32 count, then records: w:<name> (the start weights), x (n x c x h x w),
                      y (n class indices as numbers)
  fcn_traj_<case>.bin magic "LMTRAJ01"; u32 L + the options in linmass's spelling
                      ("optim=sgd lr=0.05 ..."); u32 L + the schedule; i32 steps,
                      steps_per_epoch; u32 count, then records: loss (the loss before each step,
                      float64) and d:<name> (the displacement w_20 - w_0 of every parameter)
  A record: u16 name length, the name, u8 encoding, u8 ndim, ndim x i64 dims, then
    encoding 0: numel x f32
    encoding 1: f32 scale (a power of two), numel x i8 q: the value is q * scale
    encoding 2: u32 stride, ceil(numel / stride) x f32 (flat indices 0, stride, 2 stride, ...),
                then f64 L2 norm and f64 L1 norm of the whole tensor
    encoding 3: numel x f64
  Displacements of more than 4096 elements are stored as encoding 2; the others as encoding 3.
The final weights are w_0 + d; storing d keeps its own precision where w_20 would round it.
"""
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SPEC = "dense:100,relu,dense:100,relu,dense:100,relu,dense:10"
IN_SHAPE, BATCH, STEPS, STEPS_PER_EPOCH = (1, 28, 28), 16, 20, 5
SAMPLE_LIMIT = 4096

# name, linmass options, torch optimizer factory, schedule (linmass spelling)
CASES = [
    ("sgd", "optim=sgd lr=0.05 momentum=0.9 weight-decay=0.0001",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4), "constant"),
    ("heavyball", "optim=heavyball lr=0.05 momentum=0.9 weight-decay=0.0001",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4), "constant"),
    ("nesterov", "optim=nesterov lr=0.05 momentum=0.9 weight-decay=0.0001",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4), "constant"),
    ("adam", "optim=adam lr=0.001 weight-decay=0.0001",
     lambda p: torch.optim.Adam(p, lr=1e-3, weight_decay=1e-4), "constant"),
    ("adamw", "optim=adamw lr=0.001 weight-decay=0.01",
     lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01), "constant"),
    ("sgd_warmup_multistep", "optim=sgd lr=0.1 momentum=0.9 weight-decay=0.0001",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4), "warmup:5+multistep:2,3"),
    ("adamw_cosine", "optim=adamw lr=0.002 weight-decay=0.01",
     lambda p: torch.optim.AdamW(p, lr=2e-3, weight_decay=0.01), "cosine"),
]


def fcn():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))


def quantize(t):
    """Round t to int8 x 2^e; returns (q, scale) with q * scale exact in float32."""
    m = t.abs().max().item()
    e = math.ceil(math.log2(m / 127)) if m > 0 else 0
    scale = 2.0 ** e
    return torch.clamp(torch.round(t / scale), -127, 127).to(torch.int8), scale


class Writer:
    def __init__(self, head):
        self.head = b"LMTRAJ01" + head
        self.records = []

    @staticmethod
    def text(s):
        return struct.pack("<I", len(s)) + s.encode()

    def _start(self, name, enc, shape):
        shape = list(shape)
        return (struct.pack("<H", len(name)) + name.encode() + struct.pack("<BB", enc, len(shape))
                + struct.pack(f"<{len(shape)}q", *shape))

    def f32(self, name, t):
        t = t.detach().to(torch.float32).contiguous()
        self.records.append(self._start(name, 0, t.shape) + t.numpy().astype("<f4").tobytes())

    def f64(self, name, t):
        t = t.detach().to(torch.float64).contiguous()
        self.records.append(self._start(name, 3, t.shape) + t.numpy().astype("<f8").tobytes())

    def int8(self, name, q, scale):
        self.records.append(self._start(name, 1, q.shape) + struct.pack("<f", scale)
                            + q.contiguous().numpy().astype("i1").tobytes())

    def sampled(self, name, t):
        flat = t.detach().reshape(-1).to(torch.float64)
        if flat.numel() <= SAMPLE_LIMIT:
            return self.f64(name, t)
        stride = -(-flat.numel() // SAMPLE_LIMIT)
        sub = flat[::stride].to(torch.float32).numpy().astype("<f4").tobytes()
        norms = struct.pack("<dd", flat.norm().item(), flat.abs().sum().item())
        self.records.append(self._start(name, 2, t.shape) + struct.pack("<I", stride) + sub + norms)

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.head + struct.pack("<I", len(self.records)) + b"".join(self.records))
        return os.path.getsize(path)


def schedulers(opt, spec, epochs):
    """The torch schedulers that linmass's schedule spec names: (per-step, per-epoch)."""
    per_step, per_epoch = [], []
    for part in spec.split("+"):
        if part.startswith("warmup:"):
            n = int(part[7:])
            per_step.append(torch.optim.lr_scheduler.LinearLR(
                opt, start_factor=1.0 / n, end_factor=1.0, total_iters=n - 1))
        elif part.startswith("multistep:"):
            ms = [int(e) for e in part[10:].split(",")]
            per_epoch.append(torch.optim.lr_scheduler.MultiStepLR(opt, ms, gamma=0.1))
        elif part == "cosine":
            per_epoch.append(torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs))
    return per_step, per_epoch


def trajectory(state, x, y, make, spec, dtype):
    """20 steps from `state` in `dtype`; returns (losses, final state_dict)."""
    model = fcn().to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    opt = make(model.parameters())
    per_step, per_epoch = schedulers(opt, spec, STEPS // STEPS_PER_EPOCH)
    losses = []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x.to(dtype)), y)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        for s in per_step:
            s.step()
        if (step + 1) % STEPS_PER_EPOCH == 0:
            for s in per_epoch:
                s.step()
    return losses, {k: v.detach().clone() for k, v in model.state_dict().items()}


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(4321)
    gen = torch.Generator().manual_seed(4322)
    model = fcn()
    init = Writer(Writer.text(SPEC) + struct.pack("<4i", *IN_SHAPE, BATCH))
    state = {}
    for k, v in model.state_dict().items():
        q, scale = quantize(v)
        state[k] = q.to(torch.float32) * scale
        init.int8("w:" + k, q, scale)
    xq = torch.randint(0, 128, (BATCH, *IN_SHAPE), generator=gen)
    x = xq.to(torch.float32) / 128
    y = torch.randint(0, 10, (BATCH,), generator=gen)
    init.f32("x", x)
    init.f32("y", y.to(torch.float32))
    total = init.save(os.path.join(outdir, "fcn_traj_init.bin"))
    for name, options, make, spec in CASES:
        losses, final = trajectory(state, x, y, make, spec, torch.float64)
        _, final32 = trajectory(state, x, y, make, spec, torch.float32)
        wr = Writer(Writer.text(options) + Writer.text(spec) + struct.pack("<2i", STEPS, STEPS_PER_EPOCH))
        wr.f64("loss", torch.tensor(losses, dtype=torch.float64))
        worst_w = worst_d = 0.0
        for k, v in final.items():
            d = v - state[k].double()
            wr.sampled("d:" + k, d)
            d32 = final32[k].double() - state[k].double()
            worst_w = max(worst_w, ((final32[k].double() - v).norm() / v.norm()).item())
            worst_d = max(worst_d, ((d32 - d).norm() / d.norm()).item())
        path = os.path.join(outdir, f"fcn_traj_{name}.bin")
        size = wr.save(path)
        total += size
        print(f"{name:22s} loss {losses[0]:.5f} -> {losses[-1]:.5f}; torch float32 vs float64: weights "
              f"{worst_w:.1e}, displacement {worst_d:.1e} (worst tensor); {size} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()

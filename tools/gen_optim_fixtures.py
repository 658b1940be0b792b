#!/usr/bin/python3
"""Golden trajectories for linmass's optimizers, written by PyTorch itself.

Each case runs 20 steps of a torch.optim optimizer on a fixed 8-dimensional quadratic
f(w) = 1/2 w^T A w - b^T w, whose gradient A w - b depends on the iterate, and writes one text
file tests/fixtures/optim_<case>.txt: the options (in linmass's command-line spelling), the
schedule, A, b, w0, then the learning rate used at each step and the parameters after it.
The gradient is computed in float64 from the float32 parameters and rounded to float32, which
tests/test_optim_golden.c does the same way, so only the optimizer's arithmetic is compared.

Run: /usr/bin/python3 tools/gen_optim_fixtures.py   (Debian's python3-torch)
"""
import math
import os

import numpy as np
import torch

DIM, STEPS, STEPS_PER_EPOCH = 8, 20, 4
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def problem():
    rng = np.random.RandomState(20200101)
    q, _ = np.linalg.qr(rng.randn(DIM, DIM))
    eig = np.logspace(-1, 0.5, DIM)
    a = (q * eig) @ q.T
    a = 0.5 * (a + a.T)
    b = rng.randn(DIM)
    w0 = rng.randn(DIM)
    return a, b, w0


# name, linmass options, torch optimizer factory, schedule spec, dtype
CASES = [
    ("sgd_plain", "optim=sgd lr=0.1 weight-decay=0.01",
     lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01), "constant", torch.float32),
    ("sgd_momentum", "optim=sgd lr=0.05 momentum=0.9 dampening=0.3 weight-decay=0.01",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
     "constant", torch.float32),
    ("heavyball", "optim=heavyball lr=0.05 momentum=0.9 weight-decay=0.01",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01), "constant",
     torch.float32),
    ("nesterov", "optim=nesterov lr=0.05 momentum=0.9 weight-decay=0.01",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     "constant", torch.float32),
    ("nesterov_f64", "optim=nesterov lr=0.05 momentum=0.9 weight-decay=0.01",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
     "constant", torch.float64),
    ("adam", "optim=adam lr=0.05 beta1=0.9 beta2=0.99 eps=1e-8 weight-decay=0.01",
     lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01),
     "constant", torch.float32),
    ("adamw", "optim=adamw lr=0.05 beta1=0.8 beta2=0.999 eps=1e-6 weight-decay=0.1",
     lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.8, 0.999), eps=1e-6, weight_decay=0.1),
     "constant", torch.float32),
    ("sgd_warmup_multistep", "optim=sgd lr=0.1 momentum=0.9 weight-decay=0.01",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
     "warmup:6+multistep:1,3", torch.float32),
    ("adamw_cosine", "optim=adamw lr=0.05 weight-decay=0.05",
     lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.05), "cosine", torch.float32),
]


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


def run(case, a, b, w0):
    name, options, make, spec, dtype = case
    p = torch.nn.Parameter(torch.tensor(w0, dtype=dtype))
    opt = make([p])
    epochs = STEPS // STEPS_PER_EPOCH
    per_step, per_epoch = schedulers(opt, spec, epochs)
    lrs, traj = [], []
    for step in range(STEPS):
        g = a @ p.detach().double().numpy() - b
        p.grad = torch.tensor(g, dtype=torch.float64).to(dtype)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        traj.append(p.detach().double().numpy().copy())
        for s in per_step:
            s.step()
        if (step + 1) % STEPS_PER_EPOCH == 0:
            for s in per_epoch:
                s.step()
    return lrs, traj, epochs


def line(key, values):
    return key + " " + " ".join("%.17g" % v for v in values) + "\n"


def main():
    a, b, w0 = problem()
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        name, options, _, spec, dtype = case
        w0c = torch.tensor(w0, dtype=dtype).double().numpy()
        lrs, traj, epochs = run(case, a, b, w0)
        path = os.path.join(OUT, "optim_%s.txt" % name)
        with open(path, "w") as f:
            f.write("# linmass golden optimizer trajectory; written by tools/gen_optim_fixtures.py"
                    " with torch %s; do not edit\n" % torch.__version__)
            f.write("case %s\n" % name)
            f.write("dtype %s\n" % ("float64" if dtype == torch.float64 else "float32"))
            f.write("options %s\n" % options)
            f.write("schedule %s\n" % spec)
            f.write("epochs %d\nsteps_per_epoch %d\ndim %d\nsteps %d\n"
                    % (epochs, STEPS_PER_EPOCH, DIM, STEPS))
            f.write(line("A", a.ravel()))
            f.write(line("b", b))
            f.write(line("w0", w0c))
            for k in range(STEPS):
                f.write(line("lr", [lrs[k]]))
                f.write(line("w", traj[k]))
        print("wrote", os.path.relpath(path))


if __name__ == "__main__":
    main()

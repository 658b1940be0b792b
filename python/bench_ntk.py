#!/usr/bin/python3
"""The empirical tangent kernel of a torch model: linmass.ntk(linmass.from_torch(m), X)
(float64, exact) against functorch's vmap(jacrev) (torch 1.13, float32 as usual, or float64)
on the same model and inputs. Prints one JSON object per workload, with the kernels per
second of each, their ratio, and the largest difference between the two kernels relative to
the kernel's largest entry.

  PYTHONPATH=python /usr/bin/python3 python/bench_ntk.py                 # both workloads
  PYTHONPATH=python /usr/bin/python3 python/bench_ntk.py mlp --seconds 10

Workloads: mlp, the dense 784-1024-1024-1 ReLU net on 128 inputs; cnn, conv:32x3, relu,
maxpool:2, conv:64x3, relu, maxpool:2, dense:128, relu, dense:1 on 64 inputs of 1x28x28.
functorch runs with 1 and with 2 threads and the faster counts (--torch-threads); linmass
with --threads (0: every core).
"""
import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # torch's own BLAS; linmass sets its own
import torch  # noqa: E402
from torch import nn  # noqa: E402

import linmass  # noqa: E402


def mlp():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                      nn.Linear(1024, 1))
    return m, (1, 28, 28), 128


def cnn():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 1))
    return m, (1, 28, 28), 64


WORKLOADS = {"mlp": mlp, "cnn": cnn}


def rate(fn, seconds):
    """Calls per second over at least `seconds` (after one warm-up call) and the last result."""
    out = fn()
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or reps == 0:
        out = fn()
        reps += 1
    return reps / (time.perf_counter() - t0), out


def functorch_kernel(model, x):
    from functorch import jacrev, make_functional, vmap
    fmodel, params = make_functional(model)
    n = x.shape[0]

    def kernel():
        jac = vmap(jacrev(lambda p, xi: fmodel(p, xi.unsqueeze(0)).squeeze()), (None, 0))(params, x)
        flat = torch.cat([j.reshape(n, -1) for j in jac], 1)
        return flat @ flat.T
    return kernel


def run(name, a):
    module, shape, n = WORKLOADS[name]()
    dtype = getattr(torch, a.torch_dtype)
    x = torch.randn((n,) + shape, generator=torch.Generator().manual_seed(1))
    t0 = time.perf_counter()
    model = linmass.from_torch(module, shape)
    convert = time.perf_counter() - t0
    X = x.double().numpy()
    linmass.set_threads(a.threads)
    lm_rate, K = rate(lambda: linmass.ntk(model, X), a.seconds)
    best = None
    for t in ([1, 2] if a.torch_threads == "best" else [int(a.torch_threads)]):
        torch.set_num_threads(t)
        r, Kt = rate(functorch_kernel(module.to(dtype), x.to(dtype)), a.seconds)
        if best is None or r > best[0]:
            best = (r, t, Kt)
    ft_rate, ft_threads, Kt = best
    diff = float(abs(K - Kt.detach().double().numpy()).max() / abs(K).max())
    return {"workload": name, "n": n, "num_params": model.num_params,
            "linmass_kernels_per_sec": lm_rate, "linmass_threads": linmass.get_threads(),
            "from_torch_seconds": convert,
            "functorch_kernels_per_sec": ft_rate, "functorch_threads": ft_threads,
            "functorch_dtype": a.torch_dtype, "ratio": lm_rate / ft_rate, "max_rel_diff": diff,
            "torch": torch.__version__, "linmass": linmass.library_version()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS), help="mlp, cnn (default: both)")
    ap.add_argument("--seconds", type=float, default=3.0, help="timing window per measurement")
    ap.add_argument("--threads", type=int, default=0, help="linmass threads (0: every core)")
    ap.add_argument("--torch-threads", default="best", help="1, 2 or best (default)")
    ap.add_argument("--torch-dtype", default="float32", choices=["float32", "float64"])
    a = ap.parse_args()
    for name in a.workloads:
        if name not in WORKLOADS:
            ap.error(f"unknown workload {name!r}: choose from {', '.join(WORKLOADS)}")
    for name in a.workloads:
        print(json.dumps(run(name, a)), flush=True)


if __name__ == "__main__":
    main()

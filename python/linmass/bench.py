"""Speed on the fixed workloads of linmass bench (linmass/bench.h): the training step on the
fcn, mlp, cnn and resnet20 shapes of the PyTorch reference timings, the float64 ntk, ntk-cnn and
hvp probes, and the sgemm ceiling (gemm)."""
import ctypes
from ctypes import c_char_p, c_double, c_int

from ._lib import _STATUS, check_abi, declare, lib

_MAX_EXTRA = 10


class BenchOpts(ctypes.Structure):
    _fields_ = [("seconds", c_double), ("steps", c_int), ("overlap", c_int)]


class BenchResult(ctypes.Structure):
    _fields_ = [("workload", c_char_p), ("rate_key", c_char_p), ("rate", c_double), ("gflops", c_double),
                ("ceiling", c_double), ("n_extra", c_int), ("extra_key", c_char_p * _MAX_EXTRA),
                ("extra", c_double * _MAX_EXTRA)]


declare({
    "lm_bench_workload_count": (c_int, []),
    "lm_bench_workload_name": (c_char_p, [c_int]),
    "lm_bench_run": (_STATUS, [c_char_p, ctypes.POINTER(BenchOpts), ctypes.POINTER(BenchResult)]),
})
check_abi({"lm_bench_opts": BenchOpts, "lm_bench_result": BenchResult})


def workloads():
    """The workload names, in linmass bench's order."""
    return [lib.lm_bench_workload_name(i).decode() for i in range(lib.lm_bench_workload_count())]


def run(workload, seconds=3.0, steps=0):
    """Time one workload: 5 warm-up steps, then `seconds` of timed steps (training workloads:
    exactly `steps` steps when steps > 0). A dict with linmass bench --json's measured keys: the
    rate under its own key (samples_per_sec, kernels_per_sec, hvp_over_grad_time or gflops),
    the workload's further numbers, and for training gflops and the sgemm ceiling."""
    name = workload.encode()
    r = BenchResult()
    lib.lm_bench_run(name, ctypes.byref(BenchOpts(float(seconds), int(steps), 1)), ctypes.byref(r))
    out = {"workload": workload, r.rate_key.decode(): r.rate}
    out.update({r.extra_key[i].decode(): r.extra[i] for i in range(r.n_extra)})
    if r.gflops >= 0:
        out["gflops"] = r.gflops
        out["ceiling_gflops"] = r.ceiling
    return out

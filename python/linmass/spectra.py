"""The Hessian's spectral density by stochastic Lanczos quadrature (docs/theory.md §7.5), as
`linmass probe hessian --density` computes it: the probes' Ritz values (nodes) and weights."""
import ctypes
from ctypes import POINTER, c_double, c_int, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass

import numpy as np

from . import _arrays
from ._lib import _STATUS, LM_OUTPUT_SUM, ProbeNet, check_abi, declare, lib, ptr
from ._lib import threads as _threads
from .model import _check_model
from .probes import _LOSSES, _loss_targets, _named, _net

_TARGETS = {"model": 0, "loss": 1, "gauss_newton": 2, "residual": 3}


class HvpOpts(ctypes.Structure):
    _fields_ = [("net", ProbeNet), ("target", c_int), ("coef", POINTER(c_double)), ("loss", c_int),
                ("targets", POINTER(c_double)), ("coll", c_void_p)]


class SlqOpts(ctypes.Structure):
    _fields_ = [("probes", c_int), ("steps", c_int), ("vectors", c_int), ("seed", c_uint64),
                ("mem_cap", c_size_t)]


class Density(ctypes.Structure):
    _fields_ = [("dim", c_size_t), ("probes", c_int), ("steps", c_int), ("n", c_int),
                ("nodes", POINTER(c_double)), ("weights", POINTER(c_double)), ("count", POINTER(c_int)),
                ("lambda_min", c_double), ("lambda_max", c_double), ("trace", c_double),
                ("trace_se", c_double), ("products", c_int), ("vectors", c_int)]


declare({
    "lm_probe_hessian_density": (_STATUS, [c_void_p, POINTER(c_double), c_int, POINTER(HvpOpts),
                                           POINTER(SlqOpts), POINTER(Density)]),
    "lm_density_free": (None, [POINTER(Density)]),
})
check_abi({"lm_hvp_opts": HvpOpts, "lm_slq_opts": SlqOpts, "lm_density": Density})


@dataclass(frozen=True)
class SpectralDensity:
    """The spectral density of a Hessian: nodes (Ritz values, probe by probe, ascending within
    each) and weights (summing to 1), count nodes per probe, and the trace estimate."""
    nodes: np.ndarray
    weights: np.ndarray
    count: np.ndarray
    trace: float
    trace_se: float

    def smooth(self, grid, sigma):
        """The density smoothed by a Gaussian of width sigma on the points grid."""
        t = np.asarray(grid, dtype=np.float64)[:, None]
        g = np.exp(-(t - self.nodes) ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))
        return g @ self.weights


def hessian_density(model, X, y=None, of="loss", loss="mse", probes=10, steps=80,
                    vectors="rademacher", seed=0, threads=None):
    """The spectral density of a Hessian over X by stochastic Lanczos quadrature: `probes`
    random unit vectors, `steps` fully reorthogonalised Lanczos steps each. of: "model" (the
    Hessian of the mean over X of the sum of the outputs; y unused), "loss" (the loss Hessian,
    loss "mse" or "xent" against y as in loss_hessian), or its parts "gauss_newton" (J^T H_l J)
    and "residual" (the rest)."""
    _check_model(model)
    X = _arrays.inputs(model, X)
    n = X.shape[0]
    if of not in _TARGETS:
        raise ValueError(f"of {of!r}: choose one of {', '.join(_TARGETS)}")
    vectors = _named(lib.lm_random_vectors_parse, "vectors", vectors, "'rademacher' or 'gaussian'")
    if int(probes) < 1 or int(steps) < 1:
        raise ValueError(f"probes {probes}, steps {steps}: both must be at least 1")
    h, o, d = HvpOpts(), SlqOpts(), Density()
    _net(h, model, LM_OUTPUT_SUM if of == "model" else 0)
    h.target = _TARGETS[of]
    t = None
    if of != "model":
        t = _loss_targets(model, y, n, loss)
        h.loss, h.targets = _LOSSES[loss], ptr(t)
    o.probes, o.steps, o.vectors, o.seed = int(probes), int(steps), vectors, int(seed)
    with _threads(threads):
        lib.lm_probe_hessian_density(model._ptr, ptr(X), n, ctypes.byref(h), ctypes.byref(o),
                                     ctypes.byref(d))
    try:
        return SpectralDensity(np.ctypeslib.as_array(d.nodes, (d.n,)).copy(),
                               np.ctypeslib.as_array(d.weights, (d.n,)).copy(),
                               np.ctypeslib.as_array(d.count, (d.probes,)).copy(), d.trace, d.trace_se)
    finally:
        lib.lm_density_free(ctypes.byref(d))

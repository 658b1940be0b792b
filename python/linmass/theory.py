"""The linear-regression theory of MaSS (docs/theory.md §2): the constants of a data set and the
exact expected rate of SGD, Nesterov and MaSS at given hyper-parameters."""
import ctypes
from ctypes import c_double, c_int

from . import _arrays
from ._lib import _STATUS, check_abi, declare, lib, ptr

_CONSTANT_FIELDS = ("L", "mu", "kappa", "trace", "L1", "L1_bound", "kappa_tilde",
                    "kappa_tilde_bound", "kappa_1", "L_m", "kappa_m", "kappa_tilde_m", "sgd_lr",
                    "sgd_rate", "mass_eta1", "mass_eta2", "mass_gamma", "mass_eta", "mass_alpha",
                    "mass_kappa_tilde", "mass_delta", "mass_speed", "mass_rate", "m1_star",
                    "m2_star")


class Constants(ctypes.Structure):
    _fields_ = [("d", c_int), ("rank", c_int), ("m", c_int)] + [(k, c_double) for k in _CONSTANT_FIELDS]


class Moments(ctypes.Structure):
    _fields_ = [("kind", c_int), ("d", c_int), ("X", ctypes.POINTER(c_double)), ("n", c_int),
                ("H", ctypes.POINTER(c_double)), ("sigma2", ctypes.POINTER(c_double))]


class TheoryHp(ctypes.Structure):
    _fields_ = [("eta1", c_double), ("eta2", c_double), ("gamma", c_double)]


declare({
    "lm_linreg_constants": (_STATUS, [ctypes.POINTER(c_double), c_int, c_int, c_int,
                                       ctypes.POINTER(Constants)]),
    "lm_theory_rate": (_STATUS, [ctypes.POINTER(Moments), c_int, TheoryHp, c_int,
                                  ctypes.POINTER(c_double)]),
})
check_abi({"lm_constants": Constants, "lm_moments": Moments, "lm_theory_hp": TheoryHp})

_METHODS = {"sgd": 0, "nesterov": 1, "mass": 2}


def _data(X, batch):
    a = _arrays.to_numpy(X)
    if a.ndim != 2 or min(a.shape) < 1:
        raise ValueError(f"X has shape {tuple(a.shape)}; expected (n, d) data rows")
    if int(batch) < 1:
        raise ValueError(f"batch {batch} must be >= 1")
    return _arrays.floats(a, "X"), int(batch)


def constants(X, batch=1):
    """The constants of linear regression on the rows of X (n, d) for mini-batches of `batch`
    (docs/theory.md §2.1-2.2): a dict with d, rank, m, L, mu, kappa, trace, L1 (and the bound
    max |x|^2), kappa_tilde (and its bound), kappa_1, L_m, kappa_m, kappa_tilde_m, sgd_lr and
    sgd_rate (1/L_m, 1 - 1/kappa_m), mass_eta1, mass_eta2, mass_gamma (and the authors' form
    mass_eta, mass_alpha, mass_kappa_tilde, mass_delta), mass_speed, mass_rate, m1_star, m2_star."""
    X, m = _data(X, batch)
    c = Constants()
    lib.lm_linreg_constants(ptr(X), X.shape[0], X.shape[1], m, ctypes.byref(c))
    return {k: getattr(c, k) for k, _ in Constants._fields_}


def _hyper(optim, c, hyper):
    """(eta1, eta2, gamma) from the keyword hyper-parameters, the theory's choice by default."""
    h = dict(hyper)
    if "lr" in h:
        if "eta1" in h:
            raise ValueError("give lr or eta1, not both")
        h["eta1"] = h.pop("lr")
    allowed = {"sgd": {"eta1"}, "nesterov": {"eta1", "gamma"},
               "mass": {"eta1", "eta2", "gamma", "alpha", "kappa_tilde"}}[optim]
    unknown = set(h) - allowed
    if unknown:
        raise ValueError(f"theory_rate {optim}: unknown hyper-parameters {sorted(unknown)} "
                         f"(takes {sorted(allowed | {'lr'})})")
    if {"alpha", "kappa_tilde"} & set(h):  # the authors' form (lr, alpha, kappa_tilde)
        if not {"eta1", "alpha", "kappa_tilde"} <= set(h) or {"eta2", "gamma"} & set(h):
            raise ValueError("theory_rate mass: give lr, alpha, kappa_tilde or eta1, eta2, gamma")
        a, k = float(h["alpha"]), float(h["kappa_tilde"])
        return float(h["eta1"]), float(h["eta1"]) * (1 - 1 / k) / (1 + a), (1 - a) / (1 + a)
    if optim == "sgd":
        return float(h["eta1"] if h else c["sgd_lr"]), 0.0, 0.0
    if optim == "nesterov":
        if set(h) != {"eta1", "gamma"}:
            raise ValueError("theory_rate nesterov: give lr (or eta1) and gamma")
        return float(h["eta1"]), 0.0, float(h["gamma"])
    if h and set(h) != {"eta1", "eta2", "gamma"}:
        raise ValueError("theory_rate mass: give lr, alpha, kappa_tilde or eta1, eta2, gamma (or "
                         "none: the theory's choice)")
    return tuple(float(h[k] if h else c["mass_" + k]) for k in ("eta1", "eta2", "gamma"))


def theory_rate(X, optim="mass", batch=1, **hyper):
    """rho, the exact per-step contraction of E|w - w*|^2 (docs/theory.md §2.3) of `optim`
    ("sgd", "nesterov" or "mass") on linear regression over the rows of X (n, d; d up to 30)
    with mini-batches of `batch` drawn with replacement. Hyper-parameters: sgd lr (default the
    theory's 1/L_m); nesterov lr and gamma; mass eta1, eta2, gamma or lr, alpha, kappa_tilde
    (default the theory's choice, docs/theory.md §2.2). rho > 1: divergence in expectation."""
    if optim not in _METHODS:
        raise ValueError(f"optim {optim!r}: choose 'sgd', 'nesterov' or 'mass'")
    X, m = _data(X, batch)
    eta1, eta2, gamma = _hyper(optim, constants(X, m) if not hyper else {}, hyper)
    mo = Moments(kind=0, d=X.shape[1], X=ptr(X), n=X.shape[0])
    rho = c_double()
    lib.lm_theory_rate(ctypes.byref(mo), _METHODS[optim], TheoryHp(eta1, eta2, gamma), m,
                       ctypes.byref(rho))
    return rho.value

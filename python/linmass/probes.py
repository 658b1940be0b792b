"""Probes of a model in float64 (docs/theory.md §4-6): the tangent kernel, the model Hessian's
norm, the loss Hessian's top eigenvalues and trace, and linearity / PL* along gradient descent.

Every probe runs on the model's float64 parameters and buffers (Model.params, Model.buffers)
in evaluation mode. Randomness (Lanczos start vectors, Hutchinson probes) comes from `seed`.
"""
import ctypes
from dataclasses import dataclass

import numpy as np

from . import _arrays
from ._lib import (LM_EIG_MAX_TOP, LM_OUTPUT_SUM, STATUS_NAMES, HessianOpts, HessianResult,
                   LinearityOpts, LinearityResult, LinmassError, LossHessianOpts,
                   LossHessianResult, NtkInfo, NtkOpts, RECORD_FIELDS, declare, lib, ptr)
from ._lib import threads as _threads
from .model import _check_model

_LOSSES = {"mse": 0, "xent": 1}
_PARSE = (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)])  # 0, or the refusal
declare({"lm_ntk_method_parse": _PARSE, "lm_random_vectors_parse": _PARSE})


def _named(parse, what, name, choices):
    """The library's value of the spelling `name` by its parse (lm_*_parse; '_' read as '-', so
    that "per_sample" is "per-sample"); ValueError naming the choices otherwise."""
    v = ctypes.c_int()
    if parse(str(name).replace("_", "-").encode(), ctypes.byref(v)) != 0:
        raise ValueError(f"{what} {name!r}: choose {choices}")
    return v.value


def _ntk_method(method):
    return _named(lib.lm_ntk_method_parse, "method", method,
                  "'auto', 'gram', 'layerwise' or 'per_sample'")


def _output(model, output):
    if output == "sum":
        return LM_OUTPUT_SUM
    if isinstance(output, (int, np.integer)) and 0 <= output < model.num_outputs:
        return int(output)
    raise ValueError(f"output {output!r}: choose 'sum' or an output index in 0..{model.num_outputs - 1}")


def _net(opts, model, output=0, max_batch=0):
    opts.net.params = ptr(model.params)
    opts.net.buffers = ptr(model.buffers)
    opts.net.mode = 0  # evaluation
    opts.net.output = output
    opts.net.max_batch = int(max_batch)


def _eig(opts, max_steps, tol, seed, top_k=1):
    opts.eig.method = 0  # Lanczos
    opts.eig.max_steps = int(max_steps)
    opts.eig.tol = float(tol)
    opts.eig.top_k = int(top_k)
    opts.eig.seed = int(seed)


def ntk(model, X, output="sum", method="auto", mem_cap=0, threads=None):
    """The empirical tangent kernel K = J J^T on the inputs X (n, *input_shape): an (n, n)
    float64 array. output: an output index k (K_k = J_k J_k^T), or "sum", the sum over the
    outputs (neural-tangents' trace_axes=(-1,)). method: "gram" (the Gram identity of
    all-dense nets), "per_sample" (per-sample gradients, any model), "layerwise" (any model:
    per-sample gradients of the non-dense layers plus the dense layers' Gram terms) or "auto"
    (gram where it applies, else layerwise). mem_cap: bytes
    for the kernel and its scratch (0: 1 GiB); a larger need raises LinmassError naming it."""
    _check_model(model)
    X = _arrays.inputs(model, X)
    method = _ntk_method(method)
    n = X.shape[0]
    opts = NtkOpts()
    _net(opts, model, _output(model, output))
    opts.method = method
    opts.mem_cap = int(mem_cap)
    K = np.empty((n, n))
    with _threads(threads):
        lib.lm_probe_ntk(model._ptr, ptr(X), n, ctypes.byref(opts), ptr(K), ctypes.byref(NtkInfo()))
    return K


@dataclass(frozen=True)
class HessianNorm:
    """Spectral norms of the model Hessian d^2 f / dw^2 (as `linmass probe hessian`)."""
    fbar: float             # ||H(fbar)|| of the averaged model fbar = mean_i f(x_i)
    max: float              # max_i ||H(f(x_i))||
    mean: float             # mean_i ||H(f(x_i))||
    argmax: int             # the input where the max is reached
    per_input: np.ndarray   # ||H(f(x_i))|| for each input
    steps: int              # Hessian-vector products in all
    converged: bool         # every Lanczos run passed its convergence test


def hessian_norm(model, X, output="sum", max_steps=0, tol=0.0, seed=0, threads=None):
    """The spectral norm of the model Hessian, exact products (forward-over-reverse) and
    Lanczos, for the averaged model and for each input. output: an output index, or "sum"
    (the Hessian of the sum of the outputs). max_steps and tol: Lanczos's (0: 100 steps, a
    residual bound of 1e-10 relative)."""
    _check_model(model)
    X = _arrays.inputs(model, X)
    n = X.shape[0]
    opts, res = HessianOpts(), HessianResult()
    _net(opts, model, _output(model, output))
    _eig(opts, max_steps, tol, seed)
    per_input = np.empty(n)
    res.per_input = ptr(per_input)
    with _threads(threads):
        lib.lm_probe_model_hessian(model._ptr, ptr(X), n, ctypes.byref(opts), ctypes.byref(res))
    return HessianNorm(res.avg_norm, res.max_norm, res.mean_norm, res.argmax, per_input,
                       res.steps, res.unconverged == 0)


@dataclass(frozen=True)
class LossHessian:
    """The loss Hessian's top eigenvalues and trace (as PyHessian reports them)."""
    eigenvalues: np.ndarray  # the top eigenvalues, descending
    trace: float             # Hutchinson's estimate (NaN when trace_samples is 0)
    trace_se: float          # its standard error
    loss: float              # the loss at the parameters


def _loss_targets(model, y, n, loss):
    if loss not in _LOSSES:
        raise ValueError(f"loss {loss!r}: choose 'mse' or 'xent'")
    if loss == "xent":
        return _arrays.labels(y, n, model.num_outputs)
    return _arrays.targets(y, n, model.num_outputs)


def loss_hessian(model, X, y, top=1, trace_samples=100, loss="mse", max_steps=0, tol=0.0, seed=0,
                 threads=None):
    """The top `top` eigenvalues and the trace of the Hessian of the loss over (X, y):
    loss "mse", (1/2n) sum ||f(x_i) - y_i||^2 with y of shape (n, K) (or (n,) for K = 1), or
    "xent", the mean cross-entropy with y the class indices. trace_samples: Rademacher vectors
    for Hutchinson's trace (0: no trace)."""
    _check_model(model)
    X = _arrays.inputs(model, X)
    n = X.shape[0]
    t = _loss_targets(model, y, n, loss)
    if not 1 <= int(top) <= LM_EIG_MAX_TOP:
        raise ValueError(f"top {top}: ask for 1 to {LM_EIG_MAX_TOP} eigenvalues")
    if int(trace_samples) < 0:
        raise ValueError(f"trace_samples {trace_samples} is negative")
    opts, res = LossHessianOpts(), LossHessianResult()
    _net(opts, model)
    _eig(opts, max_steps, tol, seed, top)
    opts.loss = _LOSSES[loss]
    opts.targets = ptr(t)
    opts.hutchinson = int(trace_samples) if trace_samples else -1
    with _threads(threads):
        lib.lm_probe_loss_hessian(model._ptr, ptr(X), n, ctypes.byref(opts), ctypes.byref(res))
    trace = res.trace if trace_samples else float("nan")
    se = res.trace_se if trace_samples else float("nan")
    return LossHessian(np.array(res.eig.top[:res.eig.ntop]), trace, se, res.loss)


@dataclass(frozen=True)
class Linearity:
    """Full-batch gradient descent on L(w) = 1/2 ||F(w) - y||^2 from the model's parameters,
    recorded against its linearization and the PL* bound (docs/theory.md §4-5)."""
    lr: float               # the step used (the given lr, or 1/lambda_max(K_0))
    lr_auto: bool
    lambda_min0: float      # of the tangent kernel at the start
    lambda_max0: float
    lr_catapult: float      # 2 / lambda_max(K_0)
    catapult: bool          # lr > lr_catapult
    loss0: float
    loss_final: float
    steps_done: int
    records: dict           # name -> array over the records: "step" and the lm_linearity_record fields
    plstar: dict            # mu, loss_next, rate_bound, worst_excess, below_bound, pl_ge_lambda_min
    params_final: np.ndarray  # w_T


def _linearity_result(res, num_params):
    recs = res.records[:res.n_records] if res.records else []
    records = {"step": np.array([r.step for r in recs], dtype=np.int64)}
    records.update({k: np.array([getattr(r, k) for r in recs]) for k in RECORD_FIELDS})
    p = res.plstar
    plstar = {k: getattr(p, k) for k, _ in type(p)._fields_}
    final = np.ctypeslib.as_array(res.params_final, (num_params,)).copy() if res.params_final \
        else np.empty(0)
    return Linearity(res.lr, bool(res.lr_auto), res.lambda_min0, res.lambda_max0, res.lr_catapult,
                     bool(res.catapult), res.loss0, res.loss_final, res.steps_done, records, plstar,
                     final)


def linearity(model, X, y, steps=100, lr=None, record_every=0, X_test=None, output=0,
              method="auto", threads=None):
    """Run `steps` steps of full-batch gradient descent w <- w - lr J^T (F - y) on one scalar
    output (an index) and record, at t = 0, k, 2k, ..., T (record_every k; 0: T/10): the loss,
    ||w_t - w_0||, the kernel's relative change, |f - f_lin| on X_test, lambda_min and
    lambda_max of K_t, the PL ratio and the PL* bounds. lr None: 1/lambda_max(K_0). The model
    itself is left unchanged (w_T is in the result's params_final). LinmassError (status
    EDIVERGED, with the records so far in its `result`) when the loss stops being finite."""
    _check_model(model)
    X = _arrays.inputs(model, X)
    n = X.shape[0]
    yv = _arrays.targets(y, n, 1).ravel()
    Xt = _arrays.inputs(model, X_test, "X_test") if X_test is not None else None
    method = _ntk_method(method)
    if int(steps) < 0 or int(record_every) < 0:
        raise ValueError("steps and record_every must not be negative")
    if lr is not None and not lr > 0:
        raise ValueError(f"lr {lr} must be positive (None: 1/lambda_max(K_0))")
    opts, res = LinearityOpts(), LinearityResult()
    out = _output(model, output)
    if out == LM_OUTPUT_SUM:
        raise ValueError("linearity needs one scalar output: give an output index")
    _net(opts, model, out)
    opts.y = ptr(yv)
    opts.lr = float(lr) if lr is not None else 0.0
    opts.steps, opts.record_every = int(steps), int(record_every)
    opts.x_test, opts.n_test = ptr(Xt), Xt.shape[0] if Xt is not None else 0
    opts.ntk.method = method
    with _threads(threads):
        st = lib.lm_probe_linearity(model._ptr, ptr(X), n, ctypes.byref(opts), ctypes.byref(res))
    msg = lib.lm_error_message().decode(errors="replace") if st else ""
    try:
        result = _linearity_result(res, model.num_params)
    finally:
        lib.lm_linearity_free(ctypes.byref(res))
    if st:
        err = LinmassError(msg, STATUS_NAMES.get(st, str(st)))
        err.result = result
        raise err
    return result

"""The ctypes binding of liblinmass.so: finding the library, the mirrors of its public structs
(checked against the library's own sizes at import, linmass/abi.h), the prototypes of the
functions the package calls, and the translation of a failed lm_status into LinmassError.

ctypes.CDLL releases the GIL for the duration of every foreign call.
"""
import contextlib
import ctypes
import ctypes.util
import os
from ctypes import POINTER, c_char, c_char_p, c_double, c_float, c_int, c_int64, c_long, c_size_t
from ctypes import c_uint, c_uint32, c_uint64, c_void_p
from pathlib import Path


class LinmassError(RuntimeError):
    """A failure reported by the linmass library, with the library's own message.

    `status` is the library's status name ("EINVAL", "EIO", "ENOMEM", "EDIVERGED", or "ABI" for
    a library whose structs do not match this package)."""

    def __init__(self, message, status="EINVAL"):
        super().__init__(message)
        self.status = status


# ---- finding and loading the library ---------------------------------------------------------

def _candidates():
    env = os.environ.get("LINMASS_LIBRARY")
    if env:
        return [env]
    build = Path(__file__).resolve().parent.parent.parent / "build" / "liblinmass.so"
    found = ctypes.util.find_library("linmass")
    return [str(p) for p in (build,) if p.exists()] + ["liblinmass.so.0", "liblinmass.so"] + \
        ([found] if found else [])


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("linmass: cannot load liblinmass.so; tried " + "; ".join(tried) +
                      ". Build it (cmake --build build) or install it (make install, then ldconfig), "
                      "or set LINMASS_LIBRARY to its path")


lib = _load()

# ---- struct mirrors (include/linmass/*.h) ----------------------------------------------------

LM_OUTPUT_SUM = -1
LM_EIG_MAX_TOP = 32
STATUS_NAMES = {1: "EINVAL", 2: "EIO", 3: "ENOMEM", 4: "EDIVERGED"}


class Shape(ctypes.Structure):
    _fields_ = [("c", c_int), ("h", c_int), ("w", c_int)]


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", c_char * 64), ("offset", c_size_t), ("numel", c_size_t), ("ndim", c_int),
                ("dims", c_int64 * 4), ("trainable", c_int), ("integer", c_int)]


class Collective(ctypes.Structure):
    _fields_ = [("rank", c_int), ("size", c_int), ("ctx", c_void_p), ("sum_f64", c_void_p),
                ("gather_rows_f64", c_void_p), ("agree", c_void_p)]


class ProbeNet(ctypes.Structure):
    _fields_ = [("params", POINTER(c_double)), ("buffers", POINTER(c_double)), ("mode", c_int),
                ("output", c_int), ("max_batch", c_int)]


class EigOpts(ctypes.Structure):
    _fields_ = [("method", c_int), ("max_steps", c_int), ("tol", c_double), ("top_k", c_int),
                ("reorth", c_int), ("mem_cap", c_size_t), ("seed", c_uint64)]


class EigResult(ctypes.Structure):
    _fields_ = [("norm", c_double), ("extreme", c_double), ("lambda_max", c_double),
                ("lambda_min", c_double), ("top", c_double * LM_EIG_MAX_TOP), ("ntop", c_int),
                ("residual", c_double), ("steps", c_int), ("converged", c_int), ("reorth", c_int)]


class HessianOpts(ctypes.Structure):
    _fields_ = [("net", ProbeNet), ("eig", EigOpts), ("skip_per_input", c_int),
                ("skip_average", c_int), ("coll", POINTER(Collective))]


class HessianResult(ctypes.Structure):
    _fields_ = [("avg_norm", c_double), ("avg", EigResult), ("max_norm", c_double),
                ("mean_norm", c_double), ("argmax", c_int), ("per_input", POINTER(c_double)),
                ("steps", c_int), ("unconverged", c_int)]


class LossHessianOpts(ctypes.Structure):
    _fields_ = [("net", ProbeNet), ("loss", c_int), ("targets", POINTER(c_double)), ("eig", EigOpts),
                ("hutchinson", c_int), ("coll", POINTER(Collective))]


class LossHessianResult(ctypes.Structure):
    _fields_ = [("loss", c_double), ("eig", EigResult), ("trace", c_double), ("trace_se", c_double),
                ("samples", c_int)]


class NtkOpts(ctypes.Structure):
    _fields_ = [("net", ProbeNet), ("method", c_int), ("mem_cap", c_size_t),
                ("coll", POINTER(Collective))]


class NtkInfo(ctypes.Structure):
    _fields_ = [("method", c_int), ("bytes", c_size_t), ("block", c_int), ("passes", c_long)]


class LinearityOpts(ctypes.Structure):
    _fields_ = [("net", ProbeNet), ("y", POINTER(c_double)), ("lr", c_double), ("steps", c_int),
                ("record_every", c_int), ("x_test", POINTER(c_double)), ("n_test", c_int),
                ("ntk", NtkOpts)]


RECORD_FIELDS = ("loss", "dist", "kernel_change", "lin_gap_max", "lin_gap_rms", "lambda_min",
                 "lambda_max", "pl_ratio", "pl_over_lambda_min", "loss_ratio", "bound",
                 "rate_bound", "path_bound")


class LinearityRecord(ctypes.Structure):
    _fields_ = [("step", c_int)] + [(k, c_double) for k in RECORD_FIELDS]


class PlstarSummary(ctypes.Structure):
    _fields_ = [("mu", c_double), ("loss_next", c_double), ("rate_bound", c_double),
                ("worst_excess", c_double), ("below_bound", c_int), ("pl_ge_lambda_min", c_int)]


class LinearityResult(ctypes.Structure):
    _fields_ = [("lr", c_double), ("lr_auto", c_int), ("lambda_min0", c_double),
                ("lambda_max0", c_double), ("lr_catapult", c_double), ("catapult", c_int),
                ("loss0", c_double), ("loss_final", c_double), ("steps_done", c_int),
                ("records", POINTER(LinearityRecord)), ("n_records", c_int),
                ("plstar", PlstarSummary), ("params_final", POINTER(c_double))]


class Schedule(ctypes.Structure):
    _fields_ = [("kind", c_int), ("milestones", c_int * 16), ("n_milestones", c_int),
                ("warmup", c_long), ("total_epochs", c_int)]


class OptimConfig(ctypes.Structure):
    _fields_ = [("kind", c_int), ("lr", c_double), ("momentum", c_double), ("dampening", c_double),
                ("weight_decay", c_double), ("nesterov", c_int), ("beta1", c_double),
                ("beta2", c_double), ("eps", c_double), ("mass_form", c_int), ("eta1", c_double),
                ("eta2", c_double), ("gamma", c_double), ("alpha", c_double),
                ("kappa_tilde", c_double), ("schedule", Schedule), ("restart", c_int),
                ("auto_hp", c_int), ("given", c_uint)]


class MassHp(ctypes.Structure):
    _fields_ = [("eta1", c_double), ("eta2", c_double), ("gamma", c_double),
                ("weight_decay", c_double)]


class Mass3Hp(ctypes.Structure):
    _fields_ = [("eta", c_double), ("alpha", c_double), ("kappa_tilde", c_double),
                ("weight_decay", c_double)]


class TrainerOpts(ctypes.Structure):
    _fields_ = [("loss", c_int), ("classes", c_int), ("seed", c_uint64), ("sync_bn", c_int),
                ("overlap", c_int)]


class StepInfo(ctypes.Structure):
    _fields_ = [("step", c_long), ("b", c_int), ("loss", c_double), ("acc", c_double),
                ("lr_factor", c_double)]


MIRRORS = {"lm_shape": Shape, "lm_tensor_info": TensorInfo, "lm_collective": Collective,
           "lm_probe_net": ProbeNet, "lm_eig_opts": EigOpts, "lm_eig_result": EigResult,
           "lm_hessian_opts": HessianOpts, "lm_hessian_result": HessianResult,
           "lm_loss_hessian_opts": LossHessianOpts, "lm_loss_hessian_result": LossHessianResult,
           "lm_ntk_opts": NtkOpts, "lm_ntk_info": NtkInfo,
           "lm_linearity_opts": LinearityOpts, "lm_linearity_record": LinearityRecord,
           "lm_plstar_summary": PlstarSummary, "lm_linearity_result": LinearityResult,
           "lm_schedule": Schedule, "lm_optim_config": OptimConfig, "lm_mass_hp": MassHp,
           "lm_mass3_hp": Mass3Hp, "lm_trainer_opts": TrainerOpts, "lm_step_info": StepInfo}


def check_abi(mirrors):
    """Compare each mirror's ctypes.sizeof with the library's sizeof; LinmassError on a drift."""
    if not hasattr(lib, "lm_abi_struct_size"):
        raise LinmassError(f"linmass: {lib._name} has no lm_abi_struct_size: it is older than this "
                           "package; rebuild or reinstall the library", "ABI")
    for name, mirror in mirrors.items():
        size = lib.lm_abi_struct_size(name.encode())
        if size != ctypes.sizeof(mirror):
            raise LinmassError(f"linmass: struct {name} is {size} bytes in {lib._name} but "
                               f"{ctypes.sizeof(mirror)} in the Python package: the library and "
                               "the package come from different versions", "ABI")


# ---- prototypes ------------------------------------------------------------------------------

def _errcheck(status, fn, args):
    if status != 0:
        msg = lib.lm_error_message().decode(errors="replace")
        raise LinmassError(msg or f"linmass: {fn.__name__} failed", STATUS_NAMES.get(status, str(status)))
    return status


P = POINTER
c_double_p, c_float_p = P(c_double), P(c_float)
_STATUS = "status"  # marks a function that returns lm_status
_PROTOTYPES = {
    "lm_abi_struct_size": (c_size_t, [c_char_p]),
    "lm_error_message": (c_char_p, []),
    "lm_version": (c_char_p, []),
    "lm_set_threads": (None, [c_int]),
    "lm_get_threads": (c_int, []),
    "lm_model_create": (_STATUS, [c_char_p, Shape, c_int, c_uint64, P(c_void_p)]),
    "lm_model_free": (None, [c_void_p]),
    "lm_model_num_params": (c_size_t, [c_void_p]),
    "lm_model_num_buffers": (c_size_t, [c_void_p]),
    "lm_model_input_shape": (Shape, [c_void_p]),
    "lm_model_output_shape": (Shape, [c_void_p]),
    "lm_model_spec": (c_char_p, [c_void_p]),
    "lm_model_params": (c_float_p, [c_void_p]),
    "lm_model_buffers": (c_float_p, [c_void_p]),
    "lm_model_num_tensors": (c_int, [c_void_p]),
    "lm_model_tensor": (P(TensorInfo), [c_void_p, c_int]),
    "lm_model_kernel_centres": (c_size_t, [c_void_p]),
    "lm_exec_create_f64": (_STATUS, [c_void_p, c_int, c_uint, P(c_void_p)]),
    "lm_exec_free_f64": (None, [c_void_p]),
    "lm_exec_bind_f64": (None, [c_void_p, c_double_p, c_double_p]),
    "lm_forward_f64": (c_double_p, [c_void_p, c_double_p, c_int, c_int, c_double_p]),
    "lm_probe_ntk": (_STATUS, [c_void_p, c_double_p, c_int, P(NtkOpts), c_double_p, P(NtkInfo)]),
    "lm_probe_model_hessian": (_STATUS, [c_void_p, c_double_p, c_int, P(HessianOpts),
                                         P(HessianResult)]),
    "lm_probe_loss_hessian": (_STATUS, [c_void_p, c_double_p, c_int, P(LossHessianOpts),
                                        P(LossHessianResult)]),
    "lm_probe_linearity": (c_int, [c_void_p, c_double_p, c_int, P(LinearityOpts),
                                   P(LinearityResult)]),
    "lm_linearity_free": (None, [P(LinearityResult)]),
    "lm_optim_kind_parse": (_STATUS, [c_char_p, P(c_int)]),
    "lm_optim_config_init": (None, [P(OptimConfig), c_int]),
    "lm_optim_config_set": (_STATUS, [P(OptimConfig), c_char_p, c_char_p]),
    "lm_optim_config_validate": (_STATUS, [P(OptimConfig)]),
    "lm_mass_step_f64": (None, [c_size_t, c_double_p, c_double_p, c_double_p, P(MassHp)]),
    "lm_mass3_step_f64": (None, [c_size_t, c_double_p, c_double_p, c_double_p, c_double_p,
                                 P(Mass3Hp)]),
    "lm_trainer_opts_init": (None, [P(TrainerOpts), c_int]),
    "lm_trainer_create": (_STATUS, [c_void_p, P(OptimConfig), P(TrainerOpts), c_int,
                                    P(c_void_p)]),
    "lm_trainer_free": (None, [c_void_p]),
    "lm_trainer_step": (_STATUS, [c_void_p, c_float_p, c_float_p, c_int, P(StepInfo)]),
    "lm_trainer_begin_epoch": (None, [c_void_p, c_int]),
    "lm_trainer_check_weights": (_STATUS, [c_void_p]),
    "lm_batch_order": (None, [c_uint32, c_uint64, c_uint64, P(c_uint32)]),
}


def declare(prototypes):
    for name, (restype, argtypes) in prototypes.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        if restype is _STATUS:
            fn.restype = c_int
            fn.errcheck = _errcheck
        else:
            fn.restype = restype


declare(_PROTOTYPES)
check_abi(MIRRORS)


def ptr(a, ctype=c_double):
    """A pointer to a C-contiguous numpy array's data (NULL for None)."""
    return None if a is None else a.ctypes.data_as(POINTER(ctype))


@contextlib.contextmanager
def threads(t):
    """Run the enclosed library calls with t threads of the matrix products (None: as set)."""
    if t is None:
        yield
        return
    t = int(t)
    if t < 0:
        raise ValueError(f"threads must be >= 0 (0: every core), not {t}")
    old = lib.lm_get_threads()
    lib.lm_set_threads(t)
    try:
        yield
    finally:
        lib.lm_set_threads(old)

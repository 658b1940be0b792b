"""linmass for Python: the tangent kernel, Hessian norms, linearity and PL* probes of
linmass (exact, float64) on your own models, the MaSS theory, and training through the
library's trainer step; `linmass.torch` adds MaSS as a torch.optim.Optimizer and the residual
block of linmass's `res` layer.

    import linmass
    model = linmass.from_torch(torch_sequential, input_shape=(1, 28, 28))
    K = linmass.ntk(model, X)                  # (n, n) tangent kernel, float64
    h = linmass.hessian_norm(model, X)         # h.fbar, h.max, h.mean
    linmass.train(model, X, y, optim="mass", lr=0.01, batch=64, epochs=1)

The package is pure Python over liblinmass.so (ctypes); it finds the library through
$LINMASS_LIBRARY, else build/liblinmass.so of the source tree it lies in, else the system's.
Long calls release the GIL. See docs/python.md.
"""
from . import _lib
from ._lib import LinmassError
from .convert import from_torch, to_torch
from .model import Model
from .probes import HessianNorm, Linearity, LossHessian, hessian_norm, linearity, loss_hessian, ntk
from .theory import constants, theory_rate
from .training import TrainResult, train

__version__ = "0.1.0"

__all__ = ["LinmassError", "Model", "from_torch", "to_torch", "ntk", "hessian_norm",
           "loss_hessian", "linearity", "constants", "theory_rate", "train", "set_threads", "get_threads",
           "library_version", "HessianNorm", "LossHessian", "Linearity", "TrainResult"]


def set_threads(t):
    """Threads of the library's matrix products for every later call (0: every core)."""
    _lib.lib.lm_set_threads(int(t))


def get_threads():
    return _lib.lib.lm_get_threads()


def library_version():
    """The version of the liblinmass.so in use."""
    return _lib.lib.lm_version().decode()


def __getattr__(name):  # linmass.torch imports torch: only on first use
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'linmass' has no attribute {name!r}")

"""Checking and converting the arrays that cross into the library.

Floating-point arrays that are already of the wanted dtype and C-contiguous cross without a copy;
other floating-point arrays (another precision, strided, a torch tensor) are converted; integer,
boolean, complex or object arrays raise ValueError, and so do wrong shapes and NaN or Inf.
"""
import numpy as np


def to_numpy(a):
    """A torch tensor (detached, on the CPU) or anything numpy takes, as a numpy array."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def floats(a, name, dtype=np.float64, finite=True):
    """a as a C-contiguous array of `dtype`; ValueError for non-floating dtypes and NaN/Inf."""
    a = to_numpy(a)
    if a.dtype.kind != "f":
        raise ValueError(f"{name} has dtype {a.dtype}; linmass takes floating-point arrays "
                         f"(convert with {name}.astype(numpy.float64), scaled as intended)")
    a = np.ascontiguousarray(a, dtype=dtype)
    if finite and not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} holds NaN or Inf (first at index {tuple(int(i) for i in bad)})")
    return a


def inputs(model, X, name="X", dtype=np.float64):
    """Model inputs: an array of shape (n, *model.input_shape) with n >= 1."""
    a = to_numpy(X)
    shape = tuple(model.input_shape)
    if a.ndim != 1 + len(shape) or tuple(a.shape[1:]) != shape or a.shape[0] < 1:
        raise ValueError(f"{name} has shape {tuple(a.shape)}; the model takes (n, "
                         f"{', '.join(map(str, shape))}) with n >= 1")
    if a.shape[0] > 2**31 - 1:
        raise ValueError(f"{name} has {a.shape[0]} samples, more than one call takes (2^31 - 1)")
    return floats(a, name, dtype)


def targets(y, n, k, name="y", dtype=np.float64):
    """Regression targets: n rows of k values, given as (n, k), or (n,) when k == 1."""
    a = to_numpy(y)
    if a.shape == (n,) and k == 1:
        a = a.reshape(n, 1)
    if a.shape != (n, k):
        want = f"({n}, {k})" + (f" or ({n},)" if k == 1 else "")
        raise ValueError(f"{name} has shape {tuple(a.shape)}; expected {want} for {n} inputs and a "
                         f"model with {k} outputs")
    return floats(a, name, dtype)


def labels(y, n, classes, name="y", dtype=np.float64):
    """Class indices 0..classes-1, one per input, stored as numbers of `dtype`."""
    a = to_numpy(y)
    if a.shape != (n,):
        raise ValueError(f"{name} has shape {tuple(a.shape)}; expected ({n},) class indices")
    if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
        raise ValueError(f"{name} must hold integer class indices, not {a.dtype} values")
    if n and (a.min() < 0 or a.max() >= classes):
        raise ValueError(f"{name} holds class indices from {a.min()} to {a.max()}; the model has "
                         f"{classes} outputs (classes 0..{classes - 1})")
    return np.ascontiguousarray(a, dtype=dtype)

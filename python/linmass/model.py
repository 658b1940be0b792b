"""linmass.Model: a linmass model with float64 parameters of its own."""
from collections import OrderedDict
import ctypes

import numpy as np

from . import _arrays
from ._lib import Shape, lib, ptr, threads as _threads

_PARAM_KINDS = {"standard": 0, "ntk": 1}


def _shape(input_shape):
    """(C, H, W), (d,) or d -> the tuple and the library's lm_shape."""
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
    if len(shape) not in (1, 3) or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in shape):
        raise ValueError(f"input_shape {input_shape!r}: give (C, H, W) for images or (d,) for "
                         "vectors, positive integers")
    shape = tuple(int(s) for s in shape)
    return shape, Shape(*(shape if len(shape) == 3 else (shape[0], 1, 1)))


class Tensor:
    """Where one named tensor lives in the flat parameter or buffer array."""
    __slots__ = ("name", "offset", "shape", "trainable", "integer")

    def __init__(self, info):
        self.name = info.name.decode()
        self.offset = info.offset
        self.shape = tuple(info.dims[:info.ndim])
        self.trainable = bool(info.trainable)
        self.integer = bool(info.integer)

    @property
    def numel(self):
        return int(np.prod(self.shape, dtype=np.int64))


class Model:
    """A linmass model: a sequence of layers built from a spec string.

    Model(spec, input_shape, param="standard"|"ntk", seed=0)

    spec is linmass's layer syntax ("conv:32x3,relu,maxpool:2,dense:10"; see `linmass train
    --help`) or a preset ("fcn", "cnn", "resnet20", "resnet32"); input_shape is (C, H, W) for
    images or (d,) for vectors; param chooses the standard parameterization (LeCun/He weights)
    or the NTK one (N(0,1) weights and 1/sqrt(fan-in) in the forward pass); seed draws the
    initial weights. `state_dict()` names the tensors as the equivalent torch.nn.Sequential
    does ("1.weight", residual blocks "3.a.0.weight", "3.s.1.running_mean").

    Precision. The library's model stores float32 parameters (training runs in float32). This
    object keeps float64 parameters and buffers of its own, `params` and `buffers` (flat,
    num_params and num_buffers values, in the state_dict's order); they are the model's
    values. `forward` and every probe (ntk, hessian_norm, loss_hessian, linearity) run in
    float64 on them, so a model loaded from a float64 torch module gives that module's
    outputs, kernels and Hessians to float64 rounding. At creation they are the float32
    initial weights, converted exactly. `linmass.train` rounds them to float32, trains in
    float32, and copies the trained float32 values back (exactly): after training they hold
    float32-representable numbers. `load_state_dict` keeps float64 values as given.

    Everything runs in evaluation mode, as torch's module.eval(): dropout is off and batch norm
    uses its running statistics.
    """

    def __init__(self, spec, input_shape, param="standard", seed=0):
        if param not in _PARAM_KINDS:
            raise ValueError(f"param {param!r}: choose 'standard' or 'ntk'")
        if not isinstance(spec, str) or not spec:
            raise ValueError(f"spec must be a non-empty string, not {spec!r}")
        self._ptr = None
        self.input_shape, shape = _shape(input_shape)
        if not 0 <= int(seed) < 2**64:
            raise ValueError(f"seed {seed} is not in 0..2^64-1")
        handle = ctypes.c_void_p()
        lib.lm_model_create(spec.encode(), shape, _PARAM_KINDS[param], int(seed), ctypes.byref(handle))
        self._ptr = handle
        if lib.lm_model_kernel_centres(handle):
            raise ValueError(f"spec {spec!r}: kernel machines (kernelfeat) need their centres, which "
                             "the Python package does not set; use linmass train")
        self.param = param
        self.spec = lib.lm_model_spec(handle).decode()
        self.num_params = lib.lm_model_num_params(handle)
        self.num_buffers = lib.lm_model_num_buffers(handle)
        out = lib.lm_model_output_shape(handle)
        self.output_shape = (out.c,) if out.h == out.w == 1 else (out.c, out.h, out.w)
        self.num_outputs = out.c * out.h * out.w
        self.tensors = [Tensor(lib.lm_model_tensor(handle, i).contents)
                        for i in range(lib.lm_model_num_tensors(handle))]
        self._params = np.empty(self.num_params)
        self._buffers = np.empty(self.num_buffers)
        self._pull()

    @property
    def params(self):
        """The float64 parameters, flat (num_params values in state_dict order); change them in
        place (model.params[:] = ...)."""
        return self._params

    @property
    def buffers(self):
        """The float64 buffers (batch-norm statistics), flat, in state_dict order."""
        return self._buffers

    def __del__(self, _free=lib.lm_model_free):  # bound now: module globals may be gone at exit
        if getattr(self, "_ptr", None):
            _free(self._ptr)
            self._ptr = None

    def __repr__(self):
        return (f"linmass.Model({self.spec!r}, input_shape={self.input_shape}, "
                f"param={self.param!r}, num_params={self.num_params})")

    # ---- the float32 copy inside the library ----

    def _f32(self):
        p = np.ctypeslib.as_array(lib.lm_model_params(self._ptr), (max(self.num_params, 1),))
        b = np.ctypeslib.as_array(lib.lm_model_buffers(self._ptr), (max(self.num_buffers, 1),))
        return p[:self.num_params], b[:self.num_buffers]

    def _pull(self):
        """float64 <- the library's float32 values (exact)."""
        p, b = self._f32()
        self.params[:] = p
        self.buffers[:] = b

    def _push(self):
        """The library's float32 values <- float64 (rounded)."""
        p, b = self._f32()
        p[:] = self.params
        b[:] = self.buffers

    # ---- state_dict ----

    def _flat(self, t):
        return self.params if t.trainable else self.buffers

    def state_dict(self):
        """An OrderedDict of numpy arrays (copies) under the torch.nn.Sequential names: float64,
        and int64 for batch norm's num_batches_tracked."""
        out = OrderedDict()
        for t in self.tensors:
            a = self._flat(t)[t.offset:t.offset + t.numel].reshape(t.shape)
            out[t.name] = a.astype(np.int64) if t.integer else a.copy()
        return out

    def load_state_dict(self, state_dict):
        """Load numpy arrays or torch tensors under this model's names (every name, no other).
        ValueError, naming the tensor, for a missing or unknown name, a shape that differs (a
        state_dict of another spec) or NaN/Inf values. Nothing is changed unless all fit."""
        names = [t.name for t in self.tensors]
        missing = [k for k in names if k not in state_dict]
        unexpected = [k for k in state_dict if k not in names]
        if missing or unexpected:
            raise ValueError(f"state_dict does not fit model {self.spec!r}: "
                             + "; ".join(s for s in (f"missing {missing}" if missing else "",
                                                     f"unexpected {unexpected}" if unexpected else "") if s))
        values = []
        for t in self.tensors:
            a = _arrays.to_numpy(state_dict[t.name])
            if tuple(a.shape) != t.shape:
                raise ValueError(f"state_dict tensor {t.name!r} has shape {tuple(a.shape)}, but model "
                                 f"{self.spec!r} has {t.shape} there")
            if a.dtype.kind not in "fiub":
                raise ValueError(f"state_dict tensor {t.name!r} has dtype {a.dtype}")
            values.append(_arrays.floats(a.astype(np.float64, copy=False), f"state_dict[{t.name!r}]"))
        for t, a in zip(self.tensors, values):
            self._flat(t)[t.offset:t.offset + t.numel] = a.ravel()

    # ---- forward ----

    def forward(self, X, batch=256, threads=None):
        """The float64 outputs on inputs X (n, *input_shape), in evaluation mode: (n, K) for a
        flat output of K values, else (n, C, H, W)."""
        X = _arrays.inputs(self, X)
        n = X.shape[0]
        batch = max(1, min(int(batch), n))
        out = np.empty((n, self.num_outputs))
        ex = ctypes.c_void_p()
        lib.lm_exec_create_f64(self._ptr, batch, 0, ctypes.byref(ex))
        try:
            lib.lm_exec_bind_f64(ex, ptr(self.params), ptr(self.buffers))
            with _threads(threads):
                for s in range(0, n, batch):
                    b = min(batch, n - s)
                    z = lib.lm_forward_f64(ex, ptr(X[s:]), b, 0, None)
                    out[s:s + b] = np.ctypeslib.as_array(z, (b, self.num_outputs))
        finally:
            lib.lm_exec_free_f64(ex)
        return out.reshape((n,) + self.output_shape)

    __call__ = forward


def _check_model(model):
    if not isinstance(model, Model):
        raise TypeError(f"expected a linmass.Model, not {type(model).__name__} (convert a torch "
                        "module with linmass.from_torch)")
    return model


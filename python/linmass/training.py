"""linmass.train: epochs over in-memory arrays through the library's trainer step."""
import ctypes
from dataclasses import dataclass

import numpy as np

from . import _arrays
from ._lib import OptimConfig, StepInfo, TrainerOpts, lib, ptr
from ._lib import threads as _threads
from .model import _check_model


@dataclass(frozen=True)
class TrainResult:
    losses: np.ndarray        # the batch loss of every step (before the step)
    epoch_losses: np.ndarray  # the mean batch loss of every epoch, weighted by batch size
    epoch_accuracy: np.ndarray  # the same for the batch accuracy (NaN without classes)
    steps: int


def _optim_config(optim, lr, hyper, epochs):
    c = OptimConfig()
    kind = ctypes.c_int()
    lib.lm_optim_kind_parse(str(optim).encode(), ctypes.byref(kind))
    lib.lm_optim_config_init(ctypes.byref(c), kind.value)
    options = dict(hyper, lr=lr) if lr is not None else dict(hyper)
    for name, value in options.items():
        text = value if isinstance(value, str) else str(int(value)) \
            if isinstance(value, (bool, int, np.integer)) else repr(float(value))
        lib.lm_optim_config_set(ctypes.byref(c), name.encode(), text.encode())
    c.schedule.total_epochs = int(epochs)
    lib.lm_optim_config_validate(ctypes.byref(c))
    return c


def _train_targets(model, y, n, loss):
    """(targets as float32, classes, loss kind) for the trainer."""
    a = _arrays.to_numpy(y)
    classes = model.num_outputs if a.dtype.kind in "iu" else 0
    if loss is None:
        loss = "xent" if classes else "mse"
    if loss not in ("mse", "xent"):
        raise ValueError(f"loss {loss!r}: choose 'mse' or 'xent'")
    if loss == "xent" and not classes:
        raise ValueError("loss 'xent' needs integer class indices in y")
    if classes:  # class indices; with "mse" the square loss on one-hot rows
        return _arrays.labels(a, n, classes, dtype=np.float32), classes, 1 if loss == "xent" else 0
    return _arrays.targets(a, n, model.num_outputs, dtype=np.float32), 0, 0


def train(model, X, y, optim="mass", lr=None, batch=64, epochs=1, seed=0, loss=None, threads=None,
          **hyper):
    """Train `model` in place on the arrays X (n, *input_shape) and y with the library's
    trainer step (forward and backward in float32, training mode, MaSS's gradient at u).

    y: integer class indices (n,), trained with cross-entropy (loss="xent", the default for
    them) or the square loss on one-hot rows (loss="mse"); or float targets (n, K) (or (n,)
    for K = 1), the square loss (1/2b) sum |f(x) - y|^2. optim: sgd, heavyball, nesterov, adam,
    adamw or mass; lr and the other hyper-parameters by their library names (momentum,
    weight_decay, nesterov, beta1, beta2, eps, eta1, eta2, gamma, alpha, kappa_tilde,
    schedule, restart), e.g. train(m, X, y, "mass", lr=0.01, alpha=0.05, kappa_tilde=3) or
    train(m, X, y, "mass", eta1=0.01, eta2=0.003, gamma=0.9). Each epoch visits the samples
    in the order lm_batch_order draws from (seed, epoch), in batches of `batch` (the last one
    smaller), as `linmass train` does; dropout masks come from (seed, step). The optimizer
    starts fresh at every call. The model's float64 parameters are rounded to float32 before
    and hold the trained float32 values after (see Model). On failure (LinmassError, e.g.
    EDIVERGED) the model is left as it was."""
    _check_model(model)
    X32 = _arrays.inputs(model, X, dtype=np.float32)
    n = X32.shape[0]
    y32, classes, loss_kind = _train_targets(model, y, n, loss)
    batch, epochs = int(batch), int(epochs)
    if batch < 1 or epochs < 0:
        raise ValueError(f"batch {batch} must be >= 1 and epochs {epochs} >= 0")
    if n >= 2**32:
        raise ValueError(f"{n} samples: at most 2^32 - 1 per call")
    batch = min(batch, n)
    oc = _optim_config(optim, lr, hyper, epochs)
    opts = TrainerOpts()
    lib.lm_trainer_opts_init(ctypes.byref(opts), classes)
    opts.loss, opts.seed = loss_kind, int(seed)
    model._push()
    trainer = ctypes.c_void_p()
    lib.lm_trainer_create(model._ptr, ctypes.byref(oc), ctypes.byref(opts), batch, ctypes.byref(trainer))
    losses, ep_loss, ep_acc = [], [], []
    try:
        perm = np.empty(n, dtype=np.uint32)
        xb = np.empty((batch,) + X32.shape[1:], dtype=np.float32)
        yb = np.empty((batch,) + y32.shape[1:], dtype=np.float32)
        info = StepInfo()
        with _threads(threads):
            for epoch in range(epochs):
                lib.lm_trainer_begin_epoch(trainer, epoch)
                lib.lm_batch_order(n, int(seed), epoch, ptr(perm, ctypes.c_uint32))
                total = acc = 0.0
                for s in range(0, n, batch):
                    b = min(batch, n - s)
                    np.take(X32, perm[s:s + b], axis=0, out=xb[:b])
                    np.take(y32, perm[s:s + b], axis=0, out=yb[:b])
                    lib.lm_trainer_step(trainer, ptr(xb, ctypes.c_float), ptr(yb, ctypes.c_float), b,
                                        ctypes.byref(info))
                    losses.append(info.loss)
                    total += info.loss * b
                    acc += info.acc * b
                lib.lm_trainer_check_weights(trainer)
                ep_loss.append(total / n)
                ep_acc.append(acc / n)
    finally:
        lib.lm_trainer_free(trainer)
    model._pull()
    return TrainResult(np.array(losses), np.array(ep_loss), np.array(ep_acc), len(losses))

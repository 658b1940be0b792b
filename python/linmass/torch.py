"""linmass for PyTorch: the residual block that linmass's `res:C/S` layer is, and MaSS as a
torch.optim.Optimizer. Importing this module imports torch."""
import contextlib

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BasicBlock", "MaSS"]


class BasicBlock(nn.Module):
    """linmass's residual block `res:C[/S][:pad]` (CIFAR-style basic block):
    y = relu(a(x) + shortcut(x)) with

      a = Sequential(Conv2d(in, C, 3, S, 1, bias=False), BatchNorm2d(C), ReLU(),
                     Conv2d(C, C, 3, 1, 1, bias=False), BatchNorm2d(C))

    and the shortcut the identity when the shape does not change (S = 1, in = C); otherwise
    the projection s = Sequential(Conv2d(in, C, 1, S, bias=False), BatchNorm2d(C)), or with
    pad_shortcut=True (`:pad`, He et al.'s option A) x subsampled by S and padded with zero
    channels, (C - in) // 2 before and the rest after. The state_dict names ("a.0.weight",
    "s.1.running_var") are those of the linmass layer, so a Sequential holding these blocks
    loads into linmass.from_torch's model and back."""

    def __init__(self, in_channels, channels, stride=1, pad_shortcut=False):
        super().__init__()
        if min(in_channels, channels, stride) < 1:
            raise ValueError("BasicBlock: in_channels, channels and stride must be >= 1")
        if pad_shortcut and channels < in_channels:
            raise ValueError(f"BasicBlock: a zero-padding shortcut cannot shrink {in_channels} "
                             f"channels to {channels}")
        self.in_channels, self.channels, self.stride = in_channels, channels, stride
        self.pad_shortcut = bool(pad_shortcut)
        self.a = nn.Sequential(nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False),
                               nn.BatchNorm2d(channels), nn.ReLU(),
                               nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                               nn.BatchNorm2d(channels))
        changes = stride != 1 or in_channels != channels
        self.s = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                               nn.BatchNorm2d(channels)) if changes and not pad_shortcut else nn.Sequential()

    def extra_repr(self):
        return f"{self.in_channels}, {self.channels}, stride={self.stride}" + \
            (", pad_shortcut=True" if self.pad_shortcut else "")

    def forward(self, x):
        if len(self.s):
            short = self.s(x)
        elif self.stride != 1 or self.in_channels != self.channels:
            before = (self.channels - self.in_channels) // 2
            short = F.pad(x[:, :, ::self.stride, ::self.stride],
                          (0, 0, 0, 0, before, self.channels - self.in_channels - before))
        else:
            short = x
        return torch.relu(self.a(x) + short)


class MaSS(torch.optim.Optimizer):
    """MaSS (Liu and Belkin, "Accelerating SGD with momentum for over-parameterized learning"),
    step for step the iterates of linmass's C optimizer (docs/theory.md §1).

    Two parameterizations:

      MaSS(params, lr, alpha=0.05, kappa_tilde=3.0)            the authors' form
      MaSS(params, eta1=..., eta2=..., gamma=...)              the two-sequence form

    Two-sequence form, gradient g taken at u:
        w' = u - eta1 g
        u' = (1 + gamma) w' - gamma w + eta2 g
    Authors' form (eta = lr, delta = eta / (alpha kappa_tilde)), with a third sequence v:
        w' = u - eta g
        v' = (1 - alpha) v + alpha u - delta g
        u' = alpha / (1 + alpha) v' + 1 / (1 + alpha) w'
    which is the two-sequence form with eta1 = eta, gamma = (1 - alpha)/(1 + alpha),
    eta2 = eta (1 - 1/kappa_tilde)/(1 + alpha). At the start (and in the C optimizer after a
    restart) w = v = u. weight_decay adds coupled L2 at u: g + weight_decay u.

    Which point the parameters hold. During training the parameters hold u, the point where
    the next gradient is taken (as torch.optim.SGD(nesterov=True) holds its look-ahead
    point): compute the loss and backward as usual, then step(). w, the sequence the paper
    analyses and reports, is in opt.state[p]["w"] (and v, authors' form, in
    opt.state[p]["v"]); before the first step w is the initial parameters. For evaluation or
    saving,

        with opt.at_w():
            evaluate(model)          # the parameters hold w here
        # and u again here (restored even if the block raises)

    Changes made to the parameters inside the block are discarded on exit.

    With kappa_tilde = 1 (eta2 = 0) MaSS is Nesterov's method: its u iterates equal
    torch.optim.SGD(params, lr=eta, momentum=gamma, nesterov=True)'s parameters, with
    gamma = (1 - alpha)/(1 + alpha). With constant hyper-parameters MaSS is quasi-hyperbolic
    momentum (Ma and Yarats, QHM: m' = beta m + (1 - beta) g, u' = u - a ((1 - nu) g + nu m'),
    m = 0 at the start) on the u iterates, with beta = gamma, a = (eta1 - eta2)/(1 - gamma)
    and nu = (gamma eta1 - eta2)/(eta1 - eta2).

    Learning-rate schedulers change group["lr"]: in the authors' form that is eta; in the
    two-sequence form group["lr"] starts at eta1, and both eta1 and eta2 are scaled by
    lr / eta1 (as linmass's schedules scale both). Each step costs a few element-wise
    operations per parameter, in the parameters' dtype; the state (w, and v) doubles (triples)
    the optimizer's memory.
    """

    def __init__(self, params, lr=None, alpha=0.05, kappa_tilde=3.0, *, eta1=None, eta2=None,
                 gamma=None, weight_decay=0.0):
        two = (eta1, eta2, gamma) != (None, None, None)
        if two:
            if None in (eta1, eta2, gamma):
                raise ValueError("MaSS: the two-sequence form needs eta1, eta2 and gamma")
            if lr is not None or alpha != 0.05 or kappa_tilde != 3.0:
                raise ValueError("MaSS: give either lr, alpha, kappa_tilde (the authors' form) or "
                                 "eta1, eta2, gamma, not options of both forms")
            if not (eta1 > 0 and eta2 >= 0 and 0 <= gamma < 1):
                raise ValueError(f"MaSS: need eta1 > 0, eta2 >= 0, 0 <= gamma < 1 (got eta1={eta1}, "
                                 f"eta2={eta2}, gamma={gamma})")
            defaults = dict(lr=float(eta1), eta1=float(eta1), eta2=float(eta2), gamma=float(gamma))
        else:
            if lr is None or not lr > 0:
                raise ValueError(f"MaSS: lr must be positive (got {lr})")
            if not (0 < alpha < 1 and kappa_tilde >= 1):
                raise ValueError(f"MaSS: need 0 < alpha < 1 and kappa_tilde >= 1 (got alpha={alpha}, "
                                 f"kappa_tilde={kappa_tilde})")
            defaults = dict(lr=float(lr), alpha=float(alpha), kappa_tilde=float(kappa_tilde))
        if not weight_decay >= 0:
            raise ValueError(f"MaSS: weight_decay must be >= 0 (got {weight_decay})")
        defaults.update(weight_decay=float(weight_decay), two_sequence=two)
        super().__init__(params, defaults)

    def _state(self, p, group):
        state = self.state[p]
        if not state:
            state["w"] = p.detach().clone()
            if not group["two_sequence"]:
                state["v"] = p.detach().clone()
        return state

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            wd = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self._state(p, group)
                d = p.grad if wd == 0 else p.grad + wd * p
                if group["two_sequence"]:
                    self._step_two(p, state["w"], d, group)
                else:
                    self._step_authors(p, state["w"], state["v"], d, group)
        return loss

    @staticmethod
    def _step_two(u, w, d, group):
        factor = group["lr"] / group["eta1"]
        eta1, eta2, gamma = group["eta1"] * factor, group["eta2"] * factor, group["gamma"]
        w_next = u - eta1 * d
        u.copy_((1 + gamma) * w_next - gamma * w + eta2 * d)
        w.copy_(w_next)

    @staticmethod
    def _step_authors(u, w, v, d, group):
        eta, alpha = group["lr"], group["alpha"]
        delta = eta / (alpha * group["kappa_tilde"])
        to_v, to_w = alpha / (1 + alpha), 1 / (1 + alpha)
        w.copy_(u - eta * d)
        v.copy_((1 - alpha) * v + alpha * u - delta * d)
        u.copy_(to_v * v + to_w * w)

    @contextlib.contextmanager
    def at_w(self):
        """Hold w in the parameters inside the block, u again after it."""
        saved = []
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    w = self.state[p].get("w") if p in self.state else None
                    if w is not None:
                        saved.append((p, p.detach().clone()))
                        p.copy_(w)
        try:
            yield self
        finally:
            with torch.no_grad():
                for p, u in saved:
                    p.copy_(u)

#!/usr/bin/python3
"""Fixture for tests/test_state_dict.sh: plain PyTorch state_dicts and PyTorch's outputs.

    /usr/bin/python3 tools/gen_state_dict_torch.py

writes tests/fixtures/state_dict/:
  train-images-idx3-ubyte ...  a tiny image data set (idx:DIR): 40 training and 20 test images of
                               1 x 3 x 3 float32 pixels, 3 classes
  mlp.safetensors              nn.Sequential(Linear(9, 16), Tanh(), Linear(16, 3)), which flattens
                               in forward(): 0.weight ... 2.bias, one index below linmass's
  conv.safetensors             nn.Sequential(Conv2d(1, 4, 3, padding=1), BatchNorm2d(4), ReLU(),
                               Flatten(), Linear(36, 3)), batch-norm statistics moved by a few
                               training-mode passes: indices as linmass's
  torch.json                   per model: the --model spec (tools/export_torch.py), and in eval
                               mode the mean cross-entropy and accuracy on the test split and
                               the mean cross-entropy on the training split (float32), and the
                               tangent kernel sum_k J_k J_k^T of the first 6 training inputs
                               (float64: the float32 weights widened)
The files are written by tools/export_torch.py as safetensors.torch.save_file would write them.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torch import export  # noqa: E402

OUT = "tests/fixtures/state_dict"
N_NTK = 6


def write_idx(path, a, images):
    with open(path, "wb") as f:
        if images:
            f.write(struct.pack(">I", 0x00000D03) + struct.pack(">III", *a.shape))
            f.write(a.astype(">f4").tobytes())
        else:
            f.write(struct.pack(">I", 0x00000801) + struct.pack(">I", len(a)))
            f.write(a.astype(np.uint8).tobytes())


class Flat(torch.nn.Module):
    """The MLP as its user runs it: flatten in forward(), the Sequential holds the layers."""

    def __init__(self, seq):
        super().__init__()
        self.seq = seq

    def forward(self, x):
        return self.seq(x.view(len(x), -1))


def ntk(model, x):
    params = [p for p in model.parameters()]
    rows = []
    for i in range(len(x)):
        out = model(x[i:i + 1])[0]
        rows.append(torch.stack([torch.cat([g.flatten() for g in torch.autograd.grad(out[k], params, retain_graph=True)])
                                 for k in range(out.numel())]))
    j = torch.stack(rows)  # N x K x P
    return torch.einsum("ikp,jkp->ij", j, j)


def main():
    torch.manual_seed(7)
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(11)
    data = {}
    for split, n in (("train", 40), ("t10k", 20)):
        x = torch.rand(n, 3, 3, generator=g) * 2 - 1
        y = torch.randint(0, 3, (n,), generator=g)
        write_idx(f"{OUT}/{split}-images-idx3-ubyte", x.numpy(), True)
        write_idx(f"{OUT}/{split}-labels-idx1-ubyte", y.numpy(), False)
        data[split] = (x[:, None], y)  # N x 1 x 3 x 3
    nn = torch.nn
    mlp = nn.Sequential(nn.Linear(9, 16), nn.Tanh(), nn.Linear(16, 3))
    conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(36, 3))
    conv.train()
    with torch.no_grad():
        for _ in range(3):  # move the running statistics and num_batches_tracked
            conv(data["train"][0])
    ref = {}
    for name, seq, run in (("mlp", mlp, Flat(mlp)), ("conv", conv, conv)):
        spec = export(seq, f"{OUT}/{name}.safetensors", input_shape=(1, 3, 3), quiet=True)
        run.eval()
        r = {"spec": spec}
        with torch.no_grad():
            for split, key in (("t10k", "test"), ("train", "train")):
                x, y = data[split]
                z = run(x)
                r[f"{key}_loss"] = float(torch.nn.functional.cross_entropy(z, y))
                r[f"{key}_acc"] = float((z.argmax(1) == y).double().mean())
        run64 = Flat(mlp).double() if name == "mlp" else conv.double()
        run64.eval()
        r["ntk_inputs"] = N_NTK
        r["ntk"] = ntk(run64, data["train"][0][:N_NTK].double()).tolist()
        mlp.float(), conv.float()
        ref[name] = r
    with open(f"{OUT}/torch.json", "w") as f:
        json.dump(ref, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()

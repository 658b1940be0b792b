#!/usr/bin/python3
"""Fixture for tests/test_checkpoint_torch.c: a linmass checkpoint loaded into PyTorch.

    /usr/bin/python3 tools/gen_checkpoint_torch.py build/linmass

1. trains a small conv + batch-norm + dense net with linmass for a few steps (so the batch-norm
   running statistics and num_batches_tracked have moved) and keeps its checkpoint as
   tests/fixtures/ckpt_small.safetensors;
2. loads it into the equivalent torch.nn.Sequential with tools/read_checkpoint.py (standard
   library and numpy only) and load_state_dict(strict=True);
3. writes 4 fixed inputs and PyTorch's eval-mode outputs to tests/fixtures/ckpt_small_torch.txt:
   a line "n c h w k", the n*c*h*w inputs, then the n*k outputs, one number per line.
Inputs are raw data (the checkpoint's data.mean/data.std normalisation is applied by the test
before the forward pass, as `linmass eval` does).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from read_checkpoint import load, model_tensors  # noqa: E402

SPEC = "conv:4x3,bn,relu,maxpool:2,dense:16,tanh,dense:10"


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/linmass"
    out = tempfile.mkdtemp()
    subprocess.run([binary, "train", "--model", SPEC, "--max-train", "256", "--steps", "6", "--batch", "32",
                    "--optim", "adam", "--lr", "0.01", "--seed", "3", "--out", out], check=True,
                   stdout=subprocess.DEVNULL)
    ckpt = "tests/fixtures/ckpt_small.safetensors"
    shutil.copy(os.path.join(out, "checkpoints", "last.safetensors"), ckpt)
    t = load(ckpt)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 14 * 14, 16), nn.Tanh(), nn.Linear(16, 10))
    state = {k: torch.from_numpy(v.copy()) for k, v in model_tensors(t).items()}
    model.load_state_dict(state, strict=True)
    model.eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 1, 28, 28, generator=g)
    mean, std = float(t["data.mean"][0]), float(t["data.std"][0])
    with torch.no_grad():
        z = model((x - mean) / std)
    with open("tests/fixtures/ckpt_small_torch.txt", "w") as f:
        f.write("4 1 28 28 10\n")
        f.writelines(f"{v:.9g}\n" for v in x.flatten().tolist())
        f.writelines(f"{v:.9g}\n" for v in z.flatten().tolist())
    shutil.rmtree(out)
    print("wrote", ckpt, "and tests/fixtures/ckpt_small_torch.txt")


if __name__ == "__main__":
    main()

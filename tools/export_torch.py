#!/usr/bin/python3
"""Export a torch.nn.Sequential's weights for linmass and print the matching --model spec.

    python3 tools/export_torch.py MODEL.pt OUT.safetensors [--input C,H,W]

MODEL.pt is a whole nn.Sequential saved with torch.save(model, "MODEL.pt"). From Python:

    import sys; sys.path.insert(0, "tools")
    from export_torch import export
    spec = export(model, "weights.safetensors", input_shape=(1, 28, 28))  # prints the spec too

OUT.safetensors is what safetensors.torch.save_file(model.state_dict(), OUT) writes: the
state_dict's tensors (float32 weights, int64 num_batches_tracked) and no metadata; this script
writes the format itself (8-byte little-endian header length, a JSON header padded with spaces
to a multiple of 8, the raw little-endian tensors), so it needs torch but not the safetensors
package. linmass loads such a file with the spec printed here:

    linmass eval --checkpoint OUT.safetensors --model SPEC --data SRC
    linmass probe ntk --checkpoint OUT.safetensors --model SPEC --data SRC --no-normalize
    linmass train --init-from OUT.safetensors --model SPEC --data SRC --no-normalize ...

(the model sees the data as PyTorch gave it: give linmass the same inputs, raw unless the
file holds data.mean/data.std). Layers map one to one (Linear -> dense:N[:nobias], Conv2d ->
conv:CxK[/S][:valid][:nobias], BatchNorm -> bn, MaxPool2d/AvgPool2d -> maxpool:K/avgpool:K,
AdaptiveAvgPool2d(1) -> gap, Flatten -> flatten, Dropout -> dropout:P, activations by name),
so the indices of the state_dict are linmass's. A Sequential that starts with Linear on image
inputs (the model flattens in forward() with view) saves 0.weight where linmass, which counts
that flatten as layer 0, expects 1.weight: linmass notices the uniform shift and loads it so
(with a note); prepending nn.Flatten() to the Sequential avoids it.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64",
          np.dtype("<i4"): "I32", np.dtype("<i2"): "I16", np.dtype("i1"): "I8", np.dtype("u1"): "U8",
          np.dtype("?"): "BOOL"}


def write_safetensors(tensors, path, metadata=None):
    """Write {name: numpy array} as safetensors (data laid out in name order, as given)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, a in tensors.items():
        a = np.array(a, order="C")  # (ascontiguousarray would make a scalar 1-D)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        if a.dtype not in DTYPES:
            raise ValueError(f"tensor '{name}': dtype {a.dtype} has no safetensors name here")
        blob = a.tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def layer_spec(m):
    """The linmass layer of one torch module."""
    import torch.nn as nn

    def square(v, what):
        v = v if isinstance(v, tuple) else (v, v)
        if v[0] != v[1]:
            raise ValueError(f"{m}: linmass has square {what} only")
        return v[0]

    if isinstance(m, nn.Linear):
        return f"dense:{m.out_features}" + ("" if m.bias is not None else ":nobias")
    if isinstance(m, nn.Conv2d):
        k, s, p = square(m.kernel_size, "kernels"), square(m.stride, "strides"), square(m.padding, "padding")
        if p not in (0, k // 2) or (p and k % 2 == 0) or m.groups != 1 or square(m.dilation, "dilation") != 1:
            raise ValueError(f"{m}: linmass convolutions have 'same' padding (k // 2, odd k) or none, no groups or dilation")
        return (f"conv:{m.out_channels}x{k}" + (f"/{s}" if s != 1 else "") + ("" if p else ":valid")
                + ("" if m.bias is not None else ":nobias"))
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return "bn"
    for cls, name in ((nn.MaxPool2d, "maxpool"), (nn.AvgPool2d, "avgpool")):
        if isinstance(m, cls):
            k, s = square(m.kernel_size, "pools"), square(m.stride, "pools")
            if s != k:
                raise ValueError(f"{m}: linmass pools with stride = window")
            return f"{name}:{k}"
    if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
        return "gap"
    if isinstance(m, nn.Dropout):
        return f"dropout:{m.p:g}"
    names = {nn.Flatten: "flatten", nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Softplus: "softplus",
             nn.GELU: "gelu", nn.Identity: "identity"}
    for cls, name in names.items():
        if type(m) is cls:
            return name
    raise ValueError(f"{type(m).__name__}: no linmass layer for it")


def spec_of(model):
    """The --model spec of an nn.Sequential."""
    return ",".join(layer_spec(m) for m in model)


def state_dict_arrays(model):
    """The state_dict as numpy arrays, in its own order."""
    return {k: v.detach().cpu().contiguous().numpy() for k, v in model.state_dict().items()}


def export(model, path, input_shape=None, quiet=False):
    """Write model.state_dict() to path; print and return the --model spec."""
    spec = spec_of(model)
    write_safetensors(state_dict_arrays(model), path)
    if not quiet:
        print(f"--model {spec}")
        first = model[0] if len(model) else None
        import torch.nn as nn
        if isinstance(first, nn.Linear) and input_shape and len(input_shape) == 3 and input_shape[1] * input_shape[2] > 1:
            print("note: the first layer is Linear on image inputs: linmass counts the flatten before it as layer 0 and "
                  "loads these weights with their indices shifted by one (or prepend nn.Flatten())", file=sys.stderr)
    return spec


def main():
    import argparse

    import torch
    p = argparse.ArgumentParser(description="Write an nn.Sequential's state_dict as safetensors for linmass and print "
                                            "the matching --model spec.")
    p.add_argument("model", help="a whole nn.Sequential saved with torch.save(model, MODEL.pt)")
    p.add_argument("out", help="the safetensors file to write")
    p.add_argument("--input", help="C,H,W of one input (notes when linmass will shift the layer indices)")
    a = p.parse_args()
    model = torch.load(a.model, weights_only=False) if "weights_only" in torch.load.__code__.co_varnames else torch.load(a.model)
    if not isinstance(model, torch.nn.Sequential):
        p.error(f"{a.model} holds a {type(model).__name__}, not an nn.Sequential")
    try:
        export(model, a.out, tuple(int(v) for v in a.input.split(",")) if a.input else None)
    except ValueError as e:
        p.error(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())

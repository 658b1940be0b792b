#!/usr/bin/env python3
"""Read a linmass checkpoint (a safetensors file) with only the standard library and numpy.

    python3 tools/read_checkpoint.py run/checkpoints/last.safetensors   # names, shapes, metadata

    import read_checkpoint
    tensors = read_checkpoint.load(path)            # {"0.weight": np.ndarray, ...}
    tensors, meta = read_checkpoint.load_with_metadata(path)
    weights = read_checkpoint.model_tensors(tensors) # the model's alone (no optim.*, data.*)

Format (see include/linmass/io.h): 8 bytes little-endian header length N, N bytes of JSON
{"__metadata__": {...}, "name": {"dtype", "shape", "data_offsets": [begin, end]}, ...}, then
the little-endian data, offsets relative to its start. Besides the model's tensors a checkpoint
holds the optimizer's state ("optim.<state>.<param>") and, when training standardised its
inputs, "data.mean" and "data.std" (float32, one per input channel: the model sees
(x - mean) / std). The model's tensors carry PyTorch state_dict names, so
`model.load_state_dict({k: torch.from_numpy(v) for k, v in model_tensors(load(path)).items()})`
loads the weights into the equivalent nn.Sequential (standardise its inputs with data.mean and
data.std when they are there).
"""
import json
import struct
import sys

import numpy as np

DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}


def read_header(blob, path="checkpoint"):
    """Parse and check the header; returns (entries, metadata, data_start)."""
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data_len = len(blob) - 8 - n
    for name, e in header.items():
        if e["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor '{name}': unknown dtype {e['dtype']}")
        begin, end = e["data_offsets"]
        nbytes = int(np.prod(e["shape"], dtype=np.int64)) * np.dtype(DTYPES[e["dtype"]]).itemsize
        if not 0 <= begin <= end <= data_len or end - begin != nbytes:
            raise ValueError(f"{path}: tensor '{name}': bad data_offsets {e['data_offsets']}")
    return header, meta, 8 + n


def load_with_metadata(path):
    """Returns ({name: numpy array}, {metadata key: string})."""
    with open(path, "rb") as f:
        blob = f.read()
    header, meta, start = read_header(blob, path)
    tensors = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = e["data_offsets"]
        a = np.frombuffer(blob, dtype=DTYPES[e["dtype"]], count=int(np.prod(e["shape"])),
                          offset=start + begin)
        if e["dtype"] == "BF16":  # numpy has no bfloat16: widen to float32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = a.reshape(e["shape"]).copy()
    return tensors, meta


def load(path):
    """Returns {name: numpy array} in file order."""
    return load_with_metadata(path)[0]


def model_tensors(tensors):
    """The tensors of the model alone: without the optimizer state (optim.*) and the inputs'
    standardisation (data.mean, data.std)."""
    return {k: v for k, v in tensors.items() if not k.startswith(("optim.", "data."))}


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(f"usage: {argv[0]} CHECKPOINT.safetensors", file=sys.stderr)
        return 2
    try:
        tensors, meta = load_with_metadata(argv[1])
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, a in tensors.items():
        print(f"{name:40s} {str(a.dtype):8s} {list(a.shape)}")
    for k, v in sorted(meta.items()):
        print(f"meta {k} = {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

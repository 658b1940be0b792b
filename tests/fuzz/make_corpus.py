#!/usr/bin/env python3
"""Write the fuzzers' seed corpora into tests/fuzz/corpus/<target>/ (small, valid and nearly
valid inputs; the fuzzers mutate them). Run from the repository root, with build/linmass built:
the checkpoint seeds come from a real training run.

    /usr/bin/python3 tests/fuzz/make_corpus.py [build/linmass]
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = "tests/fuzz/corpus"


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(entries, meta=None):
    """entries: [(name, dtype, shape, bytes)] laid out in order."""
    header, blob = {}, b""
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if meta is not None:
        header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_input(mode, images, labels):
    return bytes([mode]) + struct.pack("<H", len(images)) + images + labels


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/linmass"
    shutil.rmtree(ROOT, ignore_errors=True)

    # ---- safetensors
    f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put("safetensors", "one_f32", safetensors([("w", "F32", [2, 3], f32)]))
    put("safetensors", "meta", safetensors([("a.weight", "F64", [2], struct.pack("<2d", 1, -1)),
                                            ("b", "I64", [], struct.pack("<q", 7)),
                                            ("c", "U8", [3], b"xyz")],
                                           {"format": "linmass-checkpoint", "step": "3"}))
    put("safetensors", "empty", safetensors([], {}))
    put("safetensors", "all_dtypes", safetensors(
        [(f"t{k}", dt, [2], b"\x01" * (2 * sz)) for k, (dt, sz) in enumerate(
            [("F64", 8), ("F32", 4), ("F16", 2), ("BF16", 2), ("I64", 8), ("I32", 4), ("I16", 2),
             ("I8", 1), ("U64", 8), ("U32", 4), ("U16", 2), ("U8", 1), ("BOOL", 1)])]))
    put("safetensors", "zero_size", safetensors([("z", "F32", [0, 5], b""), ("s", "F32", [], f32[:4])]))

    # ---- checkpoints: a real one from a tiny run, and hand-made ones
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "d.csv")
        with open(csv, "w") as f:
            f.write("a,b,c,d,y\n" + "".join(f"{i % 3},{i % 5},{i % 7},{i % 2},{i % 2}\n" for i in range(20)))
        for optim in ("sgd --momentum 0.9", "adam", "mass --alpha 0.05 --kappa-tilde 3"):
            out = os.path.join(tmp, optim.split()[0])
            subprocess.run([binary, "train", "--data", f"csv:{csv}:classes=2", "--model", "dense:3,bn,relu,dense:2",
                            "--steps", "2", "--batch", "4", "--lr", "0.01", "--optim", *optim.split(),
                            "--out", out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(os.path.join(out, "checkpoints", "last.safetensors"), "rb") as f:
                put("checkpoint", "run_" + optim.split()[0], f.read())
    put("checkpoint", "bare", safetensors([("0.weight", "F32", [3, 4], b"\0" * 48)],
                                          {"format": "linmass-checkpoint", "format_version": "1", "step": "0",
                                           "epoch": "0", "epoch_pos": "0", "seed": "0", "optimizer": "sgd",
                                           "optimizer_hparams": "{}"}))
    put("checkpoint", "no_meta", safetensors([("0.weight", "F32", [3, 4], b"\0" * 48)]))

    # ---- IDX: images then labels (see fuzz_idx.c for the input layout)
    lab3 = idx(8, [3], bytes([0, 1, 2]))
    k10 = 9 << 2  # classes=10 for idx:
    put("idx", "ubyte_2d", idx_input(k10, idx(8, [3, 4], bytes(range(12))), lab3))
    put("idx", "ubyte_3d", idx_input(k10 | 2, idx(8, [3, 2, 2], bytes(range(12))), lab3))
    put("idx", "ubyte_4d", idx_input(k10, idx(8, [3, 2, 1, 2], bytes(range(12))), lab3))
    put("idx", "float_3d", idx_input(2 << 2, idx(0x0D, [3, 1, 2], struct.pack(">6f", 0, .5, 1, -1, 2, 3)), lab3))
    put("idx", "mnist", idx_input(1, idx(8, [1, 28, 28], bytes(i % 256 for i in range(784))), idx(8, [1], b"\x07")))
    put("idx", "gzip", idx_input(k10, gzip.compress(idx(8, [3, 4], bytes(range(12))), mtime=0),
                                 gzip.compress(lab3, mtime=0)))
    put("idx", "short", idx_input(k10, idx(8, [3, 4], bytes(range(11))), lab3))
    put("idx", "label_range", idx_input(1 << 2, idx(8, [3, 4], bytes(range(12))), lab3))

    # ---- CIFAR-10: byte 0 (1: test split), then whole records
    rec = lambda label: bytes([label]) + bytes(i % 256 for i in range(3072))
    put("cifar", "test_1", b"\x01" + rec(3))
    put("cifar", "train_2", b"\x00" + rec(0) + rec(9))
    put("cifar", "bad_label", b"\x01" + rec(10))

    # ---- CSV: byte 0 (bit 0: test split, bit 1: an option line first), then the file
    put("csv", "header", b"\x00a,b,y\n1,2,3\n4,5,6\n7,8,9\n1.5,-2e3,0.25\n")
    put("csv", "no_header", b"\x01" + b"1,2,3\n4,5,6\n# comment\n\n7,8,9\r\n10,11,12\n")
    put("csv", "classes", b"\x02target=label:classes=3:test=0.5\nx1,label,x2\n0.1,0,5\n0.2,1,6\n0.3,2,7\n0.4,1,8\n")
    put("csv", "quoted", b"\x02target=2,test=0.25\n\"a\" , \"b\",\"c\"\n1,2,3\n4,5,6\n7,8,9\n10,11,12\n")
    put("csv", "nan", b"\x00a,b\n1,nan\n2,3\n")

    # ---- model specs: byte 0 picks the input shape (and bit 7 the ntk parameterization)
    shapes = {"img": 0, "cifar": 1, "vec": 2, "odd": 3, "one": 4, "small": 5}
    specs = [("vec", "dense:100,relu,dropout:0.5,dense:10"), ("img", "fcn"), ("img", "cnn"),
             ("cifar", "resnet20"), ("img", "conv:8x3/2:valid:nobias,bn,tanh,maxpool:2,gap,dense:3"),
             ("odd", "conv:4x3,avgpool:2,flatten,sigmoid,dense:2"), ("small", "res:8/2,res:8:pad,res:4,gap,dense:1"),
             ("vec", "dense:4,softplus,gelu,identity,bn,dense:1"), ("one", "dense:1")]
    for k, (shape, spec) in enumerate(specs):
        put("model_spec", f"spec{k}", bytes([shapes[shape] | (0x80 if k % 3 == 2 else 0)]) + spec.encode())

    # regression: a residual block refused by the size cap leaked its branches
    put("model_spec", "regress_res_leak", b"\x05res:8181")

    # ---- command lines: arguments separated by NUL bytes
    argvs = [["--model", "fcn", "--lr", "0.1", "--momentum", "0.9", "--batch", "64"],
             ["--optim", "mass", "--lr", "0.05", "--alpha", "0.05", "--kappa-tilde", "3", "--schedule", "multistep:60,120"],
             ["--optim=adam", "--beta1=0.9", "--beta2", "0.999", "--eps", "1e-8", "--schedule", "warmup:5+cosine"],
             ["--steps", "10", "--seed", "18446744073709551615", "--val-fraction", "0.1", "--resume", "--json"],
             ["--threads", "0", "--ckpt-every", "7", "--log-every", "1", "--max-train", "100", "--no-normalize", "--augment"],
             ["--help"], ["--restart", "--auto", "--param", "ntk", "--optim", "nesterov", "--weight-decay", "5e-4"],
             ["extra", "--batch"]]
    for k, argv in enumerate(argvs):
        put("cli", f"argv{k}", b"\0".join(a.encode() for a in argv))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""make_frame_seeds.py — writes the seed corpus of fuzz_frame (corpus/fuzz_frame/): real
safetensors files, written by the `safetensors` package (numpy and torch front ends) and by
fastserde's fsd_frame_write, each a few hundred bytes. Rerun after a format change:

    build/safetensors-venv/bin/python tests/fuzz/make_frame_seeds.py build/libfastserde.so

(tools/setup.sh makes that venv: Debian's python3 with torch and numpy, safetensors from PyPI.)
"""
import os
import sys

import numpy as np
import safetensors.numpy as stnp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "frame"))
from frames_ctypes import Frames, kDLBfloat, kF8E4M3FN, kF8E5M2  # noqa: E402

OUT = os.path.join(HERE, "corpus", "fuzz_frame")


def seeds(lib):
    yield "st_numpy_f32_i64", stnp.save({"w": np.arange(12, dtype=np.float32).reshape(3, 4),
                                          "idx": np.arange(5, dtype=np.int64)})
    yield "st_numpy_meta_all_types", stnp.save(
        {dt: np.arange(3).astype(dt) for dt in ("float64", "float16", "int32", "int16", "int8",
                                                  "uint64", "uint32", "uint16", "uint8", "bool")},
        metadata={"format": "np", "note": "é \"q\""})
    yield "st_numpy_empty_and_scalar", stnp.save({"e": np.zeros((0, 3), np.float32),
                                                   "s": np.array(7, np.int8)})
    yield "st_numpy_no_tensor", stnp.save({})
    try:
        import torch
        import safetensors.torch as stt
        yield "st_torch_bf16_bool", stt.save({"k": torch.arange(8).to(torch.bfloat16).reshape(2, 4),
                                              "mask": torch.tensor([True, False, True])},
                                             metadata={"format": "pt"})
    except ImportError:
        pass
    kv = np.arange(2 * 2 * 4 * 8, dtype=np.int16).reshape(2, 2, 4, 8)
    yield "fsd_kv_chunk_bf16", lib.write([("kv", kv.transpose(0, 1, 3, 2))],
                                         kv_layout="KV_2LTD", kv_tokens=4,
                                         metadata={"model": "llama"},
                                         dl_types={"kv": (kDLBfloat, 16)})
    yield "fsd_k_and_v_no_checksum", lib.write([("k", kv[0]), ("v", kv[1])], checksum=False)
    f8 = np.arange(16, dtype=np.uint8).reshape(4, 4)
    yield "fsd_fp8_two_kinds", lib.write([("e4m3", f8), ("e5m2", f8.T)],
                                         dl_types={"e4m3": (kF8E4M3FN, 8), "e5m2": (kF8E5M2, 8)})
    yield "fsd_odd_names", lib.write([("a\"b\\c\n\u00e9", np.arange(3, dtype=np.float64)),
                                      ("z", np.zeros((2, 0), np.uint8))])
    yield "fsd_1k_leaves", lib.write([("x", np.arange(700, dtype=np.float32))])


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make_frame_seeds.py path/to/libfastserde.so")
    lib = Frames(sys.argv[1])
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds(lib):
        with open(os.path.join(OUT, name), "wb") as fh:
            fh.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()

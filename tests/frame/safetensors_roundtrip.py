#!/usr/bin/env python3
"""safetensors_roundtrip.py — frames against the `safetensors` package, both ways (issue 16).

    <python with safetensors> tests/frame/safetensors_roundtrip.py path/to/libfastserde.so

  1. fastserde -> safetensors: frames of strided views (transposes, steps, slices, 0-d and empty
     tensors; every dtype numpy has, bf16 through torch) load with safetensors.numpy.load and
     safetensors.torch.load into exactly the views' contiguous values, with fastserde's
     metadata readable as plain __metadata__;
  2. safetensors -> fastserde: files written by safetensors.torch.save / safetensors.numpy.save
     (with and without metadata) open in fastserde (no checksums), and fsd_frame_read gives the
     tensors' bytes, also into strided numpy views;
  3. a fastserde frame loaded by safetensors and saved again with its metadata (safetensors
     reorders the tensors) still verifies: the checksums cover names, dtypes, shapes and bytes,
     not positions; one flipped data bit is then CORRUPT.
FSD_TEST_SEED replays a run.
"""
import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from frames_ctypes import CORRUPT, SUCCESS, Frames, kDLBfloat  # noqa: E402

try:
    import safetensors
    import safetensors.numpy as stnp
except ImportError:
    sys.exit("the safetensors package is not importable (tools/setup.sh installs it in a venv)")
try:
    import torch
    import safetensors.torch as stt
except ImportError:
    torch = None

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def views(rng):
    """(name, array) of strided views of every numpy dtype safetensors knows."""
    out = []
    for dt in (np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
               np.uint64, np.uint32, np.uint16, np.uint8, np.bool_):
        base = (rng.random((6, 10, 12)) * 200 - 100).astype(dt)
        pick = rng.integers(0, 5)
        v = [base, base.transpose(2, 0, 1), base[:, ::3, 1:9], base[::-1, 2], base[1:4, :0]][pick]
        out.append((f"{np.dtype(dt).name}.{pick}", v))
    out.append(("scalar", np.array(3.5, dtype=np.float32)))
    out.append(("named \"odd\" \\ é\n", np.arange(5, dtype=np.int16)))
    return out


def fastserde_to_safetensors(lib, rng):
    tensors = views(rng)
    data = lib.write(tensors, kv_layout="KV_2LTD", kv_tokens=256, metadata={"format": "np"})
    loaded = stnp.load(data)
    check(set(loaded) == {n for n, _ in tensors}, "names through safetensors.numpy")
    for n, v in tensors:
        got = loaded[n]
        check(got.dtype == v.dtype and got.shape == v.shape and np.array_equal(got, v),
              f"safetensors.numpy value of {n!r} ({v.dtype}, {v.shape})")
    with safetensors.safe_open_buffer(data) if hasattr(safetensors, "safe_open_buffer") else _open(data) as f:
        meta = f.metadata()
    check(meta.get("fastserde.frame") == "1" and meta.get("fastserde.kv_layout") == "KV_2LTD"
          and meta.get("fastserde.kv_tokens") == "256" and meta.get("format") == "np"
          and meta.get("fastserde.checksum") == "xxh3-1k", f"metadata through safetensors: {meta}")
    if torch is not None:
        t = torch.randn(4, 8, 16).to(torch.bfloat16)
        view = t.permute(2, 0, 1)[:, 1:3]
        raw = view.view(torch.int16).numpy()  # the bf16 bits as a strided int16 view
        data = lib.write([("bf16", raw)], dl_types={"bf16": (kDLBfloat, 16)})
        got = stt.load(data)["bf16"]
        check(got.dtype == torch.bfloat16 and torch.equal(got, view.contiguous()),
              "safetensors.torch value of a bf16 permute")
    return data


def _open(data):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "fsd-frame-%d.safetensors" % os.getpid())
    with open(path, "wb") as fh:
        fh.write(data)
    f = safetensors.safe_open(path, "np")
    os.unlink(path)
    return f


def safetensors_to_fastserde(lib, rng):
    arrays = {n: np.ascontiguousarray(v) for n, v in views(rng)}
    for meta in (None, {"format": "np", "k": "v"}):
        data = stnp.save(arrays, metadata=meta)
        with lib.open(data) as f:
            s = f.summary()
            check(s.fastserde == 0 and s.checksums == 0 and s.tensors == len(arrays),
                  "a safetensors file opens as a frame of others")
            check(f.metadata() == (meta or {}), "its metadata")
            for i, name in enumerate(f.names()):
                a = arrays[name]
                check(f.verify(i) == SUCCESS, f"verify without a checksum: {name!r}")
                got = f.read(i)
                check(got.dtype == a.dtype and got.shape == a.shape and np.array_equal(got, a),
                      f"fsd_frame_read of safetensors' {name!r}")
                if a.ndim >= 2:  # into a transposed destination
                    dst = np.zeros(a.shape[::-1], dtype=a.dtype).T
                    check(f.read_into(i, dst) == SUCCESS and np.array_equal(dst, a),
                          f"fsd_frame_read into a strided view: {name!r}")
    if torch is not None:
        t = {"b": torch.randn(3, 5).to(torch.bfloat16), "a": torch.arange(7, dtype=torch.int64),
             "z": torch.zeros(0, 4), "s": torch.tensor(True)}
        data = stt.save(t, metadata={"format": "pt"})
        with lib.open(data) as f:
            for i, name in enumerate(f.names()):
                raw = f.read(i)
                want = t[name].contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t[name].numel() else b""
                check(raw.tobytes() == want, f"bytes of safetensors.torch's {name!r}")
                check(tuple(raw.shape) == tuple(t[name].shape), f"shape of {name!r}")


def resaved_frame_verifies(lib, rng):
    tensors = views(rng)
    data = lib.write(tensors, metadata={"format": "np"})
    with _open(data) as f:
        meta = f.metadata()
    again = stnp.save(stnp.load(data), metadata=meta)
    check(again != data, "safetensors rewrote the frame (another order or header)")
    with lib.open(again) as f:
        s = f.summary()
        check(s.fastserde == 1 and s.checksums == 1, "the re-saved frame is a fastserde frame")
        for i in range(s.tensors):
            check(f.verify(i) == SUCCESS, f"re-saved tensor {i} verifies")
        info = f.info(0)
        big = max(range(s.tensors), key=lambda i: f.info(i).nbytes)
        info = f.info(big)
    flipped = bytearray(again)
    flipped[info.offset + info.nbytes // 2] ^= 0x10
    with lib.open(bytes(flipped)) as f:
        check(f.verify(big) == CORRUPT, "a flipped bit in the re-saved frame is CORRUPT")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: safetensors_roundtrip.py path/to/libfastserde.so")
    seed = int(os.environ.get("FSD_TEST_SEED", random.randrange(1 << 62)))
    print(f"seed: {seed} (replay with FSD_TEST_SEED={seed}); safetensors {safetensors.__version__}"
          f", torch {torch.__version__ if torch else 'absent'}")
    rng = np.random.default_rng(seed)
    lib = Frames(sys.argv[1])
    for _ in range(5):
        fastserde_to_safetensors(lib, rng)
        safetensors_to_fastserde(lib, rng)
        resaved_frame_verifies(lib, rng)
    print(f"{len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()

"""fastserde's module API on CPU tensors: pack, unpack, to_bytes, from_bytes, packed_size,
against torch on seeded random layouts."""
import os
import re

import numpy as np
import pytest
import torch

import fastserde
from conftest import CASES
from layouts import DTYPES, random_view, torch_bytes


def test_library_and_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", fastserde.library_version())
    assert fastserde.library_version().split(".")[0] == "0"
    if os.environ.get("FASTSERDE_LIBRARY"):
        assert fastserde.library_path() == os.environ["FASTSERDE_LIBRARY"]


def test_pack_random_layouts(rng):
    for i in range(CASES):
        v, _ = random_view(rng)
        want = torch_bytes(v)
        assert fastserde.packed_size(v) == len(want)
        p = fastserde.pack(v)
        assert p.dtype == torch.uint8 and p.dim() == 1 and p.device == v.device
        assert p.numpy().tobytes() == want, f"case {i}: {v.dtype} {tuple(v.shape)} {v.stride()}"
        assert fastserde.to_bytes(v) == want, f"case {i}"


def test_pack_into_out():
    v = torch.arange(24, dtype=torch.int32).reshape(4, 6)[:, 1::2]
    out = torch.full((100,), 0xEE, dtype=torch.uint8)
    p = fastserde.pack(v, out)
    assert p.data_ptr() == out.data_ptr() and p.numel() == 48
    assert p.numpy().tobytes() == torch_bytes(v)
    assert bool((out[48:] == 0xEE).all()), "pack wrote past the packed size"
    with pytest.raises(ValueError):
        fastserde.pack(v, torch.empty(47, dtype=torch.uint8))
    with pytest.raises(ValueError):
        fastserde.pack(v, torch.empty(48, dtype=torch.int8))


def _src_forms(b):
    """The packed bytes as every kind of source unpack takes."""
    as_tensor = torch.tensor(list(b), dtype=torch.uint8)
    return [as_tensor,
            b, bytearray(b), memoryview(bytearray(b)), np.frombuffer(b, dtype=np.uint8)]


def test_unpack_random_layouts(rng):
    for i in range(CASES // 2):
        v, base = random_view(rng, writable=True)
        n = v.numel()
        g = torch.Generator().manual_seed(rng.randrange(1 << 31))
        raw = torch.randint(0, 256, (n * v.element_size(),), dtype=torch.uint8, generator=g)
        if v.dtype == torch.bool:
            raw &= 1
        src_t = raw.view(v.dtype)
        b = src_t.view(torch.uint8).numpy().tobytes() if n else b""
        expect = base.clone()
        torch.as_strided(expect, v.shape, v.stride(), v.storage_offset()).copy_(
            src_t.reshape(v.shape))
        form = _src_forms(b)[i % 5]
        got_base = base.clone()
        dst = torch.as_strided(got_base, v.shape, v.stride(), v.storage_offset())
        assert fastserde.unpack(form, dst) is dst
        assert torch_bytes(got_base) == torch_bytes(expect), \
            f"case {i}: {v.dtype} {tuple(v.shape)} {v.stride()} src {type(form).__name__}"


@pytest.mark.parametrize("dtype", DTYPES + [torch.complex32], ids=str)
def test_every_dtype(dtype, rng):
    v, _ = random_view(rng, dtype)
    b = fastserde.to_bytes(v)
    assert b == torch_bytes(v)
    t = fastserde.from_bytes(b, dtype)
    assert t.dtype == dtype and t.shape == (v.numel(),)
    assert torch_bytes(t) == b


def test_from_bytes_sources():
    b = bytes(range(32))
    want = torch.frombuffer(bytearray(b), dtype=torch.int32)
    for src in [b, bytearray(b), memoryview(b), memoryview(bytearray(b)),
                np.frombuffer(b, dtype=np.uint8), memoryview(b)[:32]]:
        assert torch.equal(fastserde.from_bytes(src, torch.int32), want)
    # a 2-D numpy array is read as its bytes
    arr = np.arange(8, dtype=np.int32).reshape(2, 4)
    assert torch.equal(fastserde.from_bytes(arr, torch.int32), torch.arange(8, dtype=torch.int32))


def test_tensors_torch_cannot_export_directly():
    x = torch.randn(4, 5, requires_grad=True)[:, ::2]
    assert fastserde.to_bytes(x) == torch_bytes(x.detach())
    c = torch.randn(3, 4, dtype=torch.complex64).t().conj()
    assert fastserde.to_bytes(c) == torch_bytes(c.resolve_conj())
    n = torch.randn(3, 4, dtype=torch.complex64)._neg_view()
    assert fastserde.to_bytes(n) == torch_bytes(n.resolve_neg())
    bools = torch.rand(5, 6) > 0.5
    assert fastserde.to_bytes(bools.t()) == torch_bytes(bools.t())


def test_explicit_context():
    v = torch.randn(64, 64).t()
    with fastserde.Context(cpu_threads=1) as ctx:
        assert fastserde.to_bytes(v, ctx=ctx) == torch_bytes(v)
        t = fastserde.from_bytes(fastserde.to_bytes(v, ctx=ctx), torch.float32, ctx=ctx)
        out = torch.zeros(64, 64)
        fastserde.unpack(t, out.t(), ctx=ctx)
        assert torch.equal(out.t(), v)
        assert ctx.memory()["cpu_threads"] == 1
    assert "closed" in repr(ctx)


@pytest.mark.skipif(not os.environ.get("FASTSERDE_LIBRARY"), reason="FASTSERDE_LIBRARY not set")
def test_library_beside_the_package(tmp_path):
    """Without FASTSERDE_LIBRARY, a libfastserde.so copied into the package directory is used."""
    import shutil
    import subprocess
    import sys
    pkg = os.path.dirname(fastserde.__file__)
    shutil.copytree(pkg, tmp_path / "fastserde",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so*"))
    shutil.copy(os.environ["FASTSERDE_LIBRARY"], tmp_path / "fastserde" / "libfastserde.so")
    env = {k: v for k, v in os.environ.items() if k != "FASTSERDE_LIBRARY"}
    env["PYTHONPATH"] = str(tmp_path)
    code = ("import torch, fastserde\n"
            "t = torch.arange(3, dtype=torch.uint8).flip(0)\n"
            "assert fastserde.to_bytes(t) == bytes([2, 1, 0])\n"
            "print(fastserde.library_path())\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == str(tmp_path / "fastserde" / "libfastserde.so")


def test_every_host_path(rng, monkeypatch):
    """to_bytes/pack take a path by size (one copy by CPython, the context's threads, huge
    pages advised; fsd_pack on the calling thread below SMALL_HOST_BYTES): all give torch's
    bytes.
    The thresholds are lowered so that small random layouts take every path."""
    from fastserde import _serde
    for small, memmove, huge in [(1 << 20, 16 << 20, 4 << 20), (64, 256, 128), (0, 0, 0),
                                 (1 << 40, 1 << 40, 1 << 40)]:
        monkeypatch.setattr(_serde, "SMALL_HOST_BYTES", small)
        monkeypatch.setattr(_serde, "CONTIGUOUS_COPY_BYTES", memmove)
        monkeypatch.setattr(_serde, "HUGE_BYTES", huge)
        for i in range(CASES // 4):
            v, _ = random_view(rng)
            want = torch_bytes(v)
            assert fastserde.to_bytes(v) == want, f"case {i}: {tuple(v.shape)} {v.stride()}"
            assert fastserde.pack(v).numpy().tobytes() == want, f"case {i}"
            c = v.contiguous()
            assert fastserde.to_bytes(c) == want, f"case {i} contiguous"


def test_large_host_tensors():
    x = torch.randint(0, 256, (17 << 20,), dtype=torch.uint8)  # past every threshold
    assert fastserde.to_bytes(x) == x.numpy().tobytes()
    v = x.view(torch.int32).reshape(-1, 1024)[:, ::2]  # 8.5 MiB strided
    assert fastserde.to_bytes(v) == v.contiguous().numpy().tobytes()
    with fastserde.Context(cpu_threads=2) as ctx:
        assert fastserde.to_bytes(x[:4096], ctx=ctx) == x[:4096].numpy().tobytes()

"""fastserde.lmcache against LMCache's classes (conftest.LMCACHE: LMCache's own module when it
is importable, else the seed's code copied): same signatures, the same bytes and tensors on
random layouts and every dtype, the same exception types for the same bad inputs, and the
documented differences (docs/python.md), each checked here."""
import inspect
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import fastserde
import fastserde.lmcache as fl
from conftest import CASES, HERE, LMCACHE as seed, cuda, subprocess_env
from layouts import DTYPES, random_view, torch_bytes

as_bytes = torch_bytes  # a tensor's raw bytes (compares NaNs and -0.0 exactly)


def seed_bytes(t):
    """The seed's to_bytes, or None where the seed raises: 0-d tensors of wide dtypes, and
    tensors torch calls contiguous whose size-1 dims have strides other than the row-major
    ones (.contiguous() returns them as they are, and view(torch.uint8) refuses them)."""
    try:
        return seed.FastSerializer().to_bytes(t)
    except RuntimeError:
        return None


def test_signatures_match_the_seed():
    for ours, theirs in [(fl.FastSerializer.to_bytes, seed.FastSerializer.to_bytes),
                         (fl.FastDeserializer.from_bytes, seed.FastDeserializer.from_bytes),
                         (fl.FastDeserializer.from_bytes_normal,
                          seed.FastDeserializer.from_bytes_normal)]:
        assert list(inspect.signature(ours).parameters) == \
            list(inspect.signature(theirs).parameters)
    # constructors: FastSerializer() and FastDeserializer(dtype) positional, as in the seed
    fl.FastSerializer()
    assert fl.FastDeserializer(torch.float16).dtype == torch.float16


def test_to_bytes_identical_on_random_layouts(rng):
    ours = fl.FastSerializer()
    checked = 0
    for i in range(CASES):
        v, _ = random_view(rng)
        got = ours.to_bytes(v)
        assert type(got) is bytes
        what = f"case {i}: {v.dtype} shape {tuple(v.shape)} strides {v.stride()}"
        assert got == torch_bytes(v), what
        want = seed_bytes(v)
        if want is not None:
            assert got == want, what
            checked += 1
    assert checked > CASES // 2  # most layouts are ones the seed handles


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_from_bytes_identical(dtype, rng):
    v, _ = random_view(rng, dtype)
    b = torch_bytes(v) or torch_bytes(torch.zeros(3, dtype=dtype))
    for method in ("from_bytes", "from_bytes_normal"):
        want = getattr(seed.FastDeserializer(dtype), method)(b)
        got = getattr(fl.FastDeserializer(dtype), method)(b)
        assert got.dtype == want.dtype == dtype
        assert got.shape == want.shape and got.dim() == 1
        assert got.device.type == "cpu"
        assert as_bytes(got) == as_bytes(want) == b


def test_from_bytes_shares_memory_like_the_seed():
    """torch.frombuffer's tensor is a view of the buffer (no copy); so is ours (it was a copy:
    64 MiB took 11.8 ms against 1.3 us)."""
    src = bytearray(range(16))
    t = fl.FastDeserializer(torch.uint8).from_bytes(src)
    want = seed.FastDeserializer(torch.uint8).from_bytes(src)
    assert t.data_ptr() == want.data_ptr()
    t[0] = 99
    src[1] = 77
    assert src[0] == 99 and int(t[1]) == 77
    big = bytearray(64 << 20)
    assert fl.FastDeserializer(torch.float16).from_bytes_normal(big).data_ptr() == \
        torch.frombuffer(big, dtype=torch.uint8).data_ptr()


def test_from_bytes_prints_nothing(capsys):
    """LMCache 0.3.15's from_bytes_normal prints the dtype on every call; ours does not."""
    fl.FastDeserializer(torch.int16).from_bytes_normal(bytearray(8))
    fl.FastDeserializer(torch.int16).from_bytes(bytearray(8))
    assert capsys.readouterr().out == ""


def test_round_trip_random_layouts(rng):
    s = fl.FastSerializer()
    for i in range(CASES // 3):
        v, _ = random_view(rng)
        back = fl.FastDeserializer(v.dtype).from_bytes(s.to_bytes(v))
        assert back.shape == (v.numel(),)
        assert as_bytes(back.reshape(v.shape)) == as_bytes(v), f"case {i}"


def test_edge_cases_where_the_seed_works():
    ours, theirs = fl.FastSerializer(), seed.FastSerializer()
    for t in [torch.zeros(0, 3), torch.zeros(5, 0, 2, dtype=torch.int16),
              torch.arange(10, dtype=torch.uint8).reshape(1, 10),
              torch.tensor(7, dtype=torch.uint8), torch.randn(3, 4, requires_grad=True),
              torch.randn(4, 4).t(), torch.randn(2, 3)[:, :1]]:
        assert ours.to_bytes(t) == theirs.to_bytes(t)


def test_edge_cases_where_the_seed_raises():
    s = fl.FastSerializer()
    # "contiguous" to torch, but the last dim (size 1) has stride 3: the seed's view raises
    odd = torch.arange(6, dtype=torch.int16).reshape(2, 3).t()[:, :1]
    assert odd.is_contiguous() and odd.stride() == (1, 3) and seed_bytes(odd) is None
    assert s.to_bytes(odd) == torch_bytes(odd) == odd.numpy().tobytes()
    empty = torch.zeros(5, 0, 2, dtype=torch.int16)[:, :, ::2]
    assert seed_bytes(empty) is None and s.to_bytes(empty) == b""
    x = torch.tensor(1.5)  # 0-d float: the seed's view(uint8) raises
    with pytest.raises(RuntimeError):
        seed.FastSerializer().to_bytes(x)
    assert s.to_bytes(x) == x.reshape(1).view(torch.uint8).numpy().tobytes()
    c = torch.randn(5, dtype=torch.complex64).conj()  # a conjugate view: the seed raises
    assert seed_bytes(c) is None
    assert s.to_bytes(c) == c.resolve_conj().view(torch.uint8).numpy().tobytes()
    n = torch.randn(5, dtype=torch.complex64)._neg_view()  # a negative view: the seed raises
    assert n.is_neg() and seed_bytes(n) is None
    assert s.to_bytes(n) == n.resolve_neg().view(torch.uint8).numpy().tobytes()


def _outcome(f, *args):
    try:
        f(*args)
    except Exception as e:
        return type(e)
    return None


def _bad_buffers():
    return [b"", bytearray(), b"12345", bytes(6), None, "abcd", 12, [1, 2, 3, 4],
            torch.zeros(4), np.asfortranarray(np.zeros((2, 3), np.float32)),
            memoryview(bytearray(16))[::2]]


def test_from_bytes_raises_what_the_seed_raises():
    """Empty input and lengths that are not a multiple of the element size: ValueError, as
    LMCache (they gave a tensor and FastSerdeError); non-buffers, tensors, non-contiguous
    buffers, dtypes that are not torch dtypes: LMCache's types too."""
    checked = 0
    for dtype in (torch.float32, torch.int16, "float32", None):
        for b in _bad_buffers():
            for method in ("from_bytes", "from_bytes_normal"):
                want = _outcome(getattr(seed.FastDeserializer(dtype), method), b)
                got = _outcome(getattr(fl.FastDeserializer(dtype), method), b)
                assert got is want, f"{method}({b!r:.40}) with {dtype}: {got} vs {want}"
                checked += want is not None
    assert checked > 50
    with pytest.raises(ValueError):
        fl.FastDeserializer(torch.float32).from_bytes(b"")
    with pytest.raises(ValueError):
        fl.FastDeserializer(torch.float32).from_bytes(b"12345")


def test_the_cuda_extra_raises_what_the_seed_raises():
    """FastDeserializer(dtype, device="cuda") makes the same checks before any GPU work."""
    for dtype in (torch.float32, "float32"):
        for b in _bad_buffers():
            want = _outcome(seed.FastDeserializer(dtype).from_bytes, b)
            if want is not ValueError and not isinstance(dtype, str):
                continue  # a buffer the seed takes: the GPU path (or its absence) decides
            got = _outcome(fl.FastDeserializer(dtype, device="cuda").from_bytes, b)
            assert got is want, f"{b!r:.40} with {dtype}: {got} vs {want}"


def _odd_tensors():
    yield torch.zeros(3, device="meta")
    yield torch.zeros(3).to_sparse()
    yield torch.zeros(2, 2).to_mkldnn()
    if hasattr(torch, "nested"):
        yield torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)])


def test_to_bytes_raises_what_the_seed_raises():
    """None and other non-tensors: AttributeError, as LMCache (they gave TypeError); sparse,
    meta, nested and mkldnn tensors: LMCache's NotImplementedError."""
    for x in [None, np.zeros(3), [1, 2], 3, "abc", b"abc", *_odd_tensors()]:
        want = _outcome(seed.FastSerializer().to_bytes, x)
        assert want is not None, repr(x)
        got = _outcome(fl.FastSerializer().to_bytes, x)
        assert got is want, f"{type(x).__name__}: {got} vs {want}"


def _quantized():
    x = torch.randn(6, 10)
    for dtype, zp in ((torch.quint8, 3), (torch.qint8, 0), (torch.qint32, 5)):
        q = torch.quantize_per_tensor(x, 0.05, zp, dtype)
        pc = torch.quantize_per_channel(x, torch.rand(6) + 0.01,
                                        torch.zeros(6, dtype=torch.long), 0, dtype)
        yield from (q, q.t(), q[:, 1::3], q[2], pc)


def test_quantized_to_bytes_like_the_seed():
    """quint8, qint8, qint32 (per tensor and per channel, strided views): the seed's bytes,
    their integer representation. These killed the interpreter (a segfault in the uint8 view
    made before to_dlpack)."""
    for q in _quantized():
        want = seed.FastSerializer().to_bytes(q)
        assert want == q.int_repr().contiguous().view(torch.uint8).numpy().tobytes()
        assert fl.FastSerializer().to_bytes(q) == want, f"{q.dtype} {q.shape} {q.stride()}"
        assert fastserde.to_bytes(q) == want
        assert fastserde.pack(q).numpy().tobytes() == want


def test_sub_byte_quantized_refused():
    """quint4x2 (two elements a byte): TypeError. The seed's view(torch.uint8) reads numel()
    bytes from a storage of half as many (ASan reports the overflow in its tobytes)."""
    q = torch.quantize_per_tensor(torch.rand(4, 6), 0.1, 0, torch.quint4x2)
    assert q.numel() == 24 and q.int_repr().numel() == 12 and q.element_size() == 1
    for f in (fl.FastSerializer().to_bytes, fastserde.to_bytes, fastserde.pack):
        with pytest.raises(TypeError, match="quint4x2"):
            f(q)


@pytest.mark.parametrize("dtype", [torch.quint8, torch.qint8, torch.qint32, torch.quint4x2],
                         ids=str)
def test_from_bytes_of_quantized_dtypes_refused(dtype):
    """A quantized dtype cannot be rebuilt from bytes (no scale, no zero point): the seed
    returns a tensor without quantizer, we raise TypeError (we returned a plain integer
    tensor)."""
    for method in ("from_bytes", "from_bytes_normal"):
        with pytest.raises(TypeError, match="quantize"):
            getattr(fl.FastDeserializer(dtype), method)(bytes(8))
    with pytest.raises(TypeError, match="quantize"):
        fastserde.from_bytes(bytes(8), dtype)


STUB = """import abc
import torch


class Serializer(metaclass=abc.ABCMeta):
    @abc.abstractmethod
    def to_bytes(self, t: torch.Tensor) -> bytes:
        raise NotImplementedError


class Deserializer(metaclass=abc.ABCMeta):
    def __init__(self, dtype):
        self.dtype = dtype

    @abc.abstractmethod
    def from_bytes(self, bs: bytes) -> torch.Tensor:
        raise NotImplementedError
"""

CHECK_BASES = """import torch
import fastserde.lmcache as fl
from lmcache.storage_backend.serde.serde import Deserializer, Serializer
assert issubclass(fl.FastSerializer, Serializer), fl.FastSerializer.__mro__
assert issubclass(fl.FastDeserializer, Deserializer), fl.FastDeserializer.__mro__
s, d = fl.FastSerializer(), fl.FastDeserializer(torch.int16)
assert isinstance(s, Serializer) and isinstance(d, Deserializer) and d.dtype == torch.int16
x = torch.arange(6, dtype=torch.int16).reshape(2, 3).t()
assert torch.equal(d.from_bytes(s.to_bytes(x)).reshape(3, 2), x)
print("ok")
"""


def _run(code, *paths):
    return subprocess.run([sys.executable, "-c", code], env=subprocess_env(*paths),
                          capture_output=True, text=True, timeout=300, cwd=HERE)


def test_subclasses_of_lmcache_bases(tmp_path):
    """With lmcache importable (here a stub of lmcache/storage_backend/serde/serde.py with
    LMCache's two abstract classes), the classes subclass LMCache's Serializer/Deserializer."""
    pkg = tmp_path / "lmcache" / "storage_backend" / "serde"
    pkg.mkdir(parents=True)
    for d in (tmp_path / "lmcache", pkg.parent, pkg):
        (d / "__init__.py").write_text("")
    (pkg / "serde.py").write_text(STUB)
    out = _run(CHECK_BASES, str(tmp_path))
    assert out.returncode == 0 and out.stdout == "ok\n", out.stdout + out.stderr


@pytest.mark.skipif(seed.__name__ == "seed_fast_serde",
                    reason="lmcache is not importable: compared with the seed's code copied "
                           "(tools/python-wheel.sh runs these tests with LMCache's own files)")
def test_subclasses_of_the_real_lmcache_bases():
    from lmcache.storage_backend.serde.serde import Deserializer, Serializer
    assert issubclass(fl.FastSerializer, Serializer)
    assert issubclass(fl.FastDeserializer, Deserializer)
    assert issubclass(seed.FastSerializer, Serializer)


@cuda
def test_cuda_to_bytes_identical(rng):
    ours = fl.FastSerializer()
    for i in range(CASES // 3):
        v, base = random_view(rng)
        dv = torch.as_strided(base.cuda(), v.shape, v.stride(), v.storage_offset())
        got = ours.to_bytes(dv)
        assert got == torch_bytes(v), f"case {i}"
        want = seed_bytes(dv)
        assert want is None or got == want, f"case {i}"


@cuda
def test_cuda_from_bytes_to_device():
    b = seed.FastSerializer().to_bytes(torch.randn(1000, dtype=torch.float16))
    t = fl.FastDeserializer(torch.float16, device="cuda").from_bytes(b)
    assert t.device.type == "cuda"
    assert as_bytes(t) == b

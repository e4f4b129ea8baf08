"""fastserde.frames: dumps / loads / metadata round trips (every dtype, strided views, every
buffer kind), both directions through the `safetensors` package, corruption (a flipped data
bit, a flipped checksum, truncation) raising CorruptFrameError, and bad arguments.

The safetensors cases skip, saying why, where the package is not importable (Debian's python3
in `python_pytest`); ctest's `python_frames_safetensors` runs this file with the venv
tools/setup.sh makes (FSD_REQUIRE_SAFETENSORS=1 there turns that skip into a failure), and
tools/python-wheel.sh installs safetensors beside the wheel.
"""
import ctypes
import json
import mmap
import os
import struct

import numpy as np
import pytest
import torch

import fastserde
from fastserde import frames
from conftest import cuda

try:
    import safetensors
    import safetensors.torch as st
except ImportError:
    safetensors = st = None

if os.environ.get("FSD_REQUIRE_SAFETENSORS") == "1" and st is None:
    raise ImportError("FSD_REQUIRE_SAFETENSORS=1 but the safetensors package is not importable")

needs_safetensors = pytest.mark.skipif(
    st is None, reason="the safetensors package is not importable here (tools/setup.sh makes "
                       "build/safetensors-venv; ctest's python_frames_safetensors uses it)")

F8 = [getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2") if hasattr(torch, n)]
UNSIGNED = [getattr(torch, n) for n in ("uint16", "uint32", "uint64") if hasattr(torch, n)]
DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool] + UNSIGNED + F8


def random_tensor(rng, shape, dtype):
    """Random values of `dtype` (every bit pattern for the integer-like types)."""
    g = torch.Generator().manual_seed(rng.randrange(1 << 62))
    n = int(np.prod(shape)) if shape else 1
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if dtype.is_floating_point and dtype not in F8:
        return (torch.randn(shape, generator=g, dtype=torch.float64) * 100).to(dtype)
    size = torch.empty((), dtype=dtype).element_size()
    raw = torch.randint(-128, 128, (n * size,), generator=g, dtype=torch.int8)
    return raw.view(torch.uint8).view(dtype).reshape(shape) if n else torch.empty(shape, dtype=dtype)


def same(a, b):
    """Equal dtype, shape and bytes (NaNs and -0.0 compared as bits)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return fastserde.to_bytes(a) == fastserde.to_bytes(b)


def views(rng, dtype, device="cpu"):
    """(name, view) pairs: contiguous, transposed, stepped, permuted, offset, expanded, 0-d,
    empty (views of one tensor on `device`)."""
    base = random_tensor(rng, (6, 10, 12), dtype).to(device)
    return [("contiguous", base), ("transpose", base.transpose(0, 2)),
            ("step", base[:, ::3, 1:9]), ("permute", base.permute(1, 2, 0)[2:, :, ::2]),
            ("offset", base[3, 2:]), ("expand", base[0, :1].expand(5, 12)),
            ("scalar", base[1, 2, 3]), ("empty", base[:, :0])]


def frame_header(data):
    n = struct.unpack_from("<Q", data)[0]
    return n, json.loads(bytes(data[8:8 + n]))


# ---------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_round_trip_every_dtype(rng, dtype):
    tensors = dict(views(rng, dtype))
    data = frames.dumps(tensors)
    assert isinstance(data, bytes)
    out = frames.loads(data)
    assert list(out) == list(tensors)  # the dict's order
    for name, t in tensors.items():
        got = out[name]
        assert got.is_contiguous() and got.device.type == "cpu"
        assert same(got, t.contiguous()), name


def test_data_region_is_the_packed_bytes(rng):
    tensors = dict(views(rng, torch.bfloat16))
    data = frames.dumps(tensors)
    n, header = frame_header(data)
    assert (8 + n) % 64 == 0  # fastserde pads the header to 64 (docs/frames.md)
    for name, t in tensors.items():
        begin, end = header[name]["data_offsets"]
        assert data[8 + n + begin:8 + n + end] == fastserde.to_bytes(t), name
        assert header[name]["shape"] == list(t.shape)


def test_round_trip_neg_view_and_requires_grad(rng):
    x = torch.randn(4, 5, requires_grad=True)
    neg = torch.randn(3, 7)._neg_view().t()
    out = frames.loads(frames.dumps({"x": x, "neg": neg}))
    assert same(out["x"], x.detach()) and not out["x"].requires_grad
    assert torch.equal(out["neg"], neg.contiguous())


def test_large_tensor_through_the_context_threads(rng):
    # over SMALL_HOST_BYTES: the default context's threads write, verify and read
    kv = random_tensor(rng, (2, 4, 256, 512), torch.bfloat16)
    view = kv[:, :, 64:192]
    with fastserde.Context() as ctx:
        for kw in ({}, {"ctx": ctx}):
            data = frames.dumps({"kv": view}, **kw)
            assert same(frames.loads(data, **kw)["kv"], view.contiguous())


def test_buffer_kinds(rng, tmp_path):
    t = {"a": random_tensor(rng, (33, 7), torch.float32), "b": random_tensor(rng, (5,), torch.int8)}
    data = frames.dumps(t)
    path = tmp_path / "f.safetensors"
    path.write_bytes(data)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        kinds = [data, bytearray(data), memoryview(data), m, np.frombuffer(data, np.uint8),
                 memoryview(bytearray(data)), torch.frombuffer(bytearray(data), dtype=torch.uint8)]
        for obj in kinds:
            out = frames.loads(obj)
            assert all(same(out[k], v) for k, v in t.items()), type(obj).__name__
        del out, obj, kinds
    # a memoryview slice of a larger buffer: exactly the frame
    big = b"xx" + data + b"yy"
    assert same(frames.loads(memoryview(big)[2:-2])["a"], t["a"])


def test_metadata_round_trip():
    meta = {"model": "meta-llama/Llama-3-8B", "unicode é 漢": "välue \"q\" \\ \n", "empty": ""}
    data = frames.dumps({"x": torch.zeros(3)}, meta, kv_layout="KV_2LTD", kv_tokens=256)
    assert frames.metadata(data) == meta
    full = frames.metadata(data, include_fastserde=True)
    assert {k: v for k, v in full.items() if k in meta} == meta
    assert full["fastserde.frame"] == "1" and full["fastserde.checksum"] == "xxh3-1k"
    assert full["fastserde.kv_layout"] == "KV_2LTD" and full["fastserde.kv_tokens"] == "256"
    assert "fastserde.checksum.x" in full
    plain = frames.dumps({"x": torch.zeros(3)})
    assert frames.metadata(plain) == {}
    assert "fastserde.kv_layout" not in frames.metadata(plain, include_fastserde=True)


def test_checksum_off():
    x = torch.arange(1000, dtype=torch.int32)
    data = frames.dumps({"x": x}, checksum=False)
    full = frames.metadata(data, include_fastserde=True)
    assert "fastserde.checksum.x" not in full
    flipped = bytearray(data)
    flipped[-4] ^= 1  # nothing to verify: read as it is
    assert frames.loads(flipped)["x"][-1] == 999 ^ (1 << 0)


def test_empty_frame():
    data = frames.dumps({})
    assert frames.loads(data) == {}
    assert frames.metadata(data) == {}


def _frame_by_hand(dtype_name, shape, payload, metadata=None):
    """A safetensors file made here (not by any writer): one tensor "t"."""
    header = {"t": {"dtype": dtype_name, "shape": list(shape), "data_offsets": [0, len(payload)]}}
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + payload


@pytest.mark.parametrize("name,attr", [("F8_E4M3", "float8_e4m3fn"), ("F8_E5M2", "float8_e5m2"),
                                       ("U16", "uint16"), ("U32", "uint32"), ("U64", "uint64")])
def test_dtypes_torch_may_lack(name, attr):
    size = {"F8": 1, "U1": 2, "U3": 4, "U6": 8}[name[:2]]
    payload = bytes(range(6 * size))
    data = _frame_by_hand(name, (2, 3), payload)
    dtype = getattr(torch, attr, None)
    if dtype is None:
        with pytest.raises(TypeError, match=attr):
            frames.loads(data)
        return
    out = frames.loads(data)["t"]
    assert out.dtype == dtype and fastserde.to_bytes(out) == payload
    assert frames.loads(frames.dumps({"t": out}))["t"].dtype == dtype


# ---------------------------------------------------------------------------------------------
# CUDA tensors: straight through the C library (fsd_frame_write through a context's ring,
# fsd_frame_read_new). The @cuda cases need a GPU; the routing cases below them run anywhere,
# with the library's functions or frames' helpers replaced by recording stand-ins.


@cuda
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_cuda_round_trip_every_dtype(rng, dtype):
    gpu = dict(views(rng, dtype, "cuda"))                         # strided views of a CUDA tensor
    gpu.update({f"c.{name}": t.contiguous() for name, t in views(rng, dtype, "cuda")})
    host = {name: t.cpu() for name, t in gpu.items()}
    data = frames.dumps(gpu)
    assert data == frames.dumps(host)                            # byte-identical to the host's
    for device in ("cuda", "cuda:0", torch.device("cuda", 0)):
        out = frames.loads(data, device=device)
        ref = frames.loads(data)
        assert list(out) == list(ref)
        for name, t in out.items():
            assert t.device == torch.device("cuda", 0) and t.is_contiguous(), name
            assert same(t.cpu(), ref[name]), name


@cuda
def test_cuda_large_strided_view_and_ctx(rng):
    # 16 MiB through the default 3 x 4 MiB ring: several chunks per tensor
    kv = random_tensor(rng, (2, 8, 512, 1024), torch.bfloat16).cuda()
    view = {"kv": kv[:, :, 128:], "k": kv[0].permute(1, 0, 2)}
    data = frames.dumps(view)
    assert data == frames.dumps({n: t.cpu() for n, t in view.items()})
    with fastserde.Context(device=0) as ctx:
        assert frames.dumps(view, ctx=ctx) == data
        out = frames.loads(data, device="cuda", ctx=ctx)
    assert all(torch.equal(out[n], t) for n, t in view.items())


@cuda
def test_cuda_dumps_takes_no_host_copy(rng, monkeypatch):
    x = random_tensor(rng, (64, 33), torch.float32).cuda()
    expected = frames.dumps({"x": x.cpu(), "y": x.t().cpu()})

    def refuse(*a, **k):
        raise AssertionError("a host copy of a CUDA tensor")
    monkeypatch.setattr(torch.Tensor, "cpu", refuse)
    monkeypatch.setattr(torch.Tensor, "to", refuse)
    assert frames.dumps({"x": x, "y": x.t()}) == expected
    out = frames.loads(expected, device="cuda")
    monkeypatch.undo()
    assert torch.equal(out["x"], x)


@cuda
def test_cuda_streams(rng):
    s = torch.cuda.Stream()
    src = random_tensor(rng, (1024, 1024), torch.float32).cuda()
    torch.cuda.synchronize()
    for stream in (s, s.cuda_stream):
        with torch.cuda.stream(s):  # written on s: dumps on s sees it
            x = src * 2
            y = torch.cat([x[:, :512].t(), x[:, 512:].t()])
        data = frames.dumps({"x": x, "y": y[::2]}, stream=stream)
        s.synchronize()
        assert data == frames.dumps({"x": x.cpu(), "y": y[::2].cpu()})
        # a mixed frame: the stream is synchronized before the host copies
        with torch.cuda.stream(s):
            z = src + 1
        assert frames.dumps({"z": z, "h": src.cpu()[:2]}, stream=stream) == \
            frames.dumps({"z": (src + 1).cpu(), "h": src.cpu()[:2]})


@cuda
def test_cuda_mixed_frame(rng):
    t = {"a": random_tensor(rng, (5, 7), torch.int16).cuda(),
         "b": random_tensor(rng, (3, 4), torch.float16)}
    data = frames.dumps(t)
    assert data == frames.dumps({n: v.cpu() for n, v in t.items()})
    out = frames.loads(data, device="cuda")
    assert all(torch.equal(out[n], v.cuda()) for n, v in t.items())


@cuda
def test_cuda_corrupt_frame(rng):
    t, data = _kv_frame(rng)
    flipped = _flip_data_bit(data, "v", rng)
    with pytest.raises(fastserde.CorruptFrameError, match='"v"') as e:
        frames.loads(flipped, device="cuda")
    assert e.value.function == "fsd_frame_read_new"
    out = frames.loads(flipped, device="cuda", verify=False)
    assert torch.equal(out["k"].cpu(), t["k"]) and not torch.equal(out["v"].cpu(), t["v"])
    with pytest.raises(fastserde.CorruptFrameError):
        frames.loads(data[:-1], device="cuda")


class _Spy:
    """The loaded library with its calls recorded by name; `replace` swaps functions."""

    def __init__(self, lib, **replace):
        self.lib, self.replace, self.calls = lib, replace, []

    def __getattr__(self, name):
        f = self.replace.get(name) or getattr(self.lib, name)

        def call(*args):
            self.calls.append((name, args))
            return f(*args)
        return call

    def named(self, name):
        return [args for n, args in self.calls if n == name]


@pytest.fixture
def spy(monkeypatch):
    from fastserde import _lib
    s = _Spy(_lib.load())
    monkeypatch.setattr(_lib, "load", lambda: s)
    return s


def test_route_one_cuda_device():
    c0, c1, cpu = torch.device("cuda", 0), torch.device("cuda", 1), torch.device("cpu")
    route = frames._one_cuda_device
    assert route([c0]) == c0 and route([c1, c1, c1]) == c1
    for devices in ([], [cpu], [cpu, cpu], [c0, cpu], [cpu, c0], [c0, c1], [c0, None], [None]):
        assert route(devices) is None, devices


def test_dumps_host_dict_takes_the_host_path(rng, spy, monkeypatch):
    used = []
    real_using = frames.using
    monkeypatch.setattr(frames, "using", lambda d, c: used.append(d) or real_using(d, c))
    small = {"a": random_tensor(rng, (4, 5), torch.float32)}
    big = {"kv": random_tensor(rng, (2, 4, 256, 512), torch.bfloat16)}
    for tensors in (small, big):
        data = frames.dumps(tensors, stream=0x5000)  # a stream: ignored for host tensors
        assert same(frames.loads(data)[next(iter(tensors))], next(iter(tensors.values())))
    writes = spy.named("fsd_frame_write")
    assert [w[0] is None for w in writes] == [True, False]  # small: no context; big: one
    assert all(w[-1] is None for w in writes)               # no stream for host tensors
    assert used and all(d.type == "cpu" for d in used)


def test_dumps_cuda_route_wiring(rng, spy, monkeypatch):
    """Every tensor on one CUDA device (forced here, with host tensors standing in):
    fsd_frame_write gets that device's context and the stream's handle."""
    tensors = dict(views(rng, torch.int16))
    expected = frames.dumps(tensors)
    host = fastserde.Context()
    used, handles = [], []
    monkeypatch.setattr(frames, "_one_cuda_device", lambda devices: torch.device("cuda", 3))
    monkeypatch.setattr(frames, "using", lambda d, c: used.append((d, c)) or host.use())
    monkeypatch.setattr(frames._args, "stream_handle",
                        lambda d, s: handles.append((d, s)) or ctypes.c_void_p(0xAB00))
    mine = object()
    assert frames.dumps(tensors, stream=1234, ctx=mine) == expected
    assert used == [(torch.device("cuda", 3), mine)]
    assert handles == [(torch.device("cuda", 3), 1234)]
    write = spy.named("fsd_frame_write")[-1]  # (the first: `expected`'s)
    with host.use() as h:
        assert write[0] is h
    assert write[-1].value == 0xAB00
    host.close()


def test_dumps_bad_stream():
    x = torch.zeros(3)
    for stream, exc in (("s", TypeError), (1.5, TypeError), (True, TypeError),
                        (torch.device("cpu"), TypeError), (-1, ValueError),
                        (1 << 64, ValueError)):
        with pytest.raises(exc, match="stream"):
            frames.dumps({"x": x}, stream=stream)
    assert frames.dumps({"x": x}, stream=0) == frames.dumps({"x": x})


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is there")
def test_loads_cuda_without_a_gpu():
    data = frames.dumps({"x": torch.zeros(3)})
    for device in ("cuda", "cuda:1"):
        with pytest.raises(fastserde.FastSerdeError) as e:
            frames.loads(data, device=device)
        assert e.value.name == "FSD_ERROR_NO_GPU" and e.value.function == "fsd_frame_read_new"
    assert frames.loads(frames.dumps({}), device="cuda") == {}


@pytest.fixture
def read_new_on_cpu(spy, monkeypatch):
    """loads(device="cuda:N") with fsd_frame_read_new asked for a host tensor instead, and
    the context a host one: what reaches the library is recorded in spy."""
    from fastserde import _lib
    host = fastserde.Context()
    used = []

    def read_new(h, frame, i, dev, verify, out):
        spy.calls.append(("device", (dev.device_type, dev.device_id)))
        return spy.lib.fsd_frame_read_new(h, frame, i, _lib.DLDevice(_lib.kDLCPU, 0), verify,
                                          out)
    spy.replace["fsd_frame_read_new"] = read_new
    monkeypatch.setattr(frames, "using", lambda d, c: used.append((d, c)) or host.use())
    yield used
    host.close()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_loads_cuda_route_wiring(rng, spy, read_new_on_cpu, dtype):
    tensors = dict(views(rng, dtype))
    data = frames.dumps(tensors)
    mine = object()
    out = frames.loads(data, device="cuda:1", ctx=mine)
    assert list(out) == list(tensors)
    for name, t in tensors.items():
        assert same(out[name], t.contiguous()), name  # dtype, shape and bytes
    n = len(tensors)
    assert read_new_on_cpu == [(torch.device("cuda", 1), mine)] * n
    assert spy.named("device") == [(2, 1)] * n                  # kDLCUDA, device 1
    assert [a[4] for a in spy.named("fsd_frame_read_new")] == [1] * n
    assert spy.named("fsd_frame_read") == []


def test_loads_cuda_route_verifies(rng, spy, read_new_on_cpu):
    t, data = _kv_frame(rng)
    flipped = bytearray(data)
    flipped[-3] ^= 4
    with pytest.raises(fastserde.CorruptFrameError, match='"v"') as e:
        frames.loads(flipped, device="cuda:0")
    assert e.value.function == "fsd_frame_read_new"
    out = frames.loads(flipped, device="cuda:0", verify=False)
    assert same(out["k"], t["k"]) and not same(out["v"], t["v"])
    assert [a[4] for a in spy.named("fsd_frame_read_new")] == [1, 1, 0, 0]


# ---------------------------------------------------------------------------------------------
# safetensors, both ways


@needs_safetensors
@pytest.mark.parametrize("dtype", [d for d in DTYPES if d not in UNSIGNED], ids=str)
def test_safetensors_loads_our_frames(rng, dtype):
    tensors = dict(views(rng, dtype))
    data = frames.dumps(tensors, {"format": "pt"}, kv_layout="KV_2LTD", kv_tokens=7)
    got = st.load(data)
    assert set(got) == set(tensors)
    for name, t in tensors.items():
        assert same(got[name], t.contiguous()), name


@needs_safetensors
def test_safetensors_sees_our_metadata(tmp_path):
    data = frames.dumps({"x": torch.ones(2)}, {"format": "pt"}, kv_layout="KV_2LTD", kv_tokens=7)
    path = tmp_path / "f.safetensors"
    path.write_bytes(data)
    with safetensors.safe_open(str(path), "pt") as f:
        meta = f.metadata()
        assert torch.equal(f.get_tensor("x"), torch.ones(2))
    assert meta == frames.metadata(data, include_fastserde=True)
    assert meta["format"] == "pt" and meta["fastserde.kv_tokens"] == "7"


@needs_safetensors
@pytest.mark.parametrize("dtype", [d for d in DTYPES if d not in UNSIGNED], ids=str)
def test_we_load_safetensors_files(rng, dtype):
    tensors = {name: t.clone(memory_format=torch.contiguous_format) for name, t in views(rng, dtype)
               if name not in ("expand", "scalar")}
    tensors["scalar"] = random_tensor(rng, (), dtype)
    for meta in (None, {"format": "pt", "k": "v"}):
        data = st.save(tensors, metadata=meta)
        out = frames.loads(data)
        assert set(out) == set(tensors)
        for name, t in tensors.items():
            assert same(out[name], t), name
        assert frames.metadata(data) == (meta or {})


@needs_safetensors
def test_resaved_by_safetensors_still_verifies(rng):
    tensors = dict(views(rng, torch.float16))
    data = frames.dumps(tensors, {"format": "pt"})
    again = st.save(st.load(data), metadata=frames.metadata(data, include_fastserde=True))
    assert again != data  # safetensors orders the tensors its own way
    out = frames.loads(again)
    assert all(same(out[k], v.contiguous()) for k, v in tensors.items())
    n, header = frame_header(again)
    begin, end = header["contiguous"]["data_offsets"]
    flipped = bytearray(again)
    flipped[8 + n + (begin + end) // 2] ^= 0x20
    with pytest.raises(fastserde.CorruptFrameError, match="contiguous"):
        frames.loads(flipped)


# ---------------------------------------------------------------------------------------------
# Corruption


def _flip_data_bit(data, name, rng):
    """A copy of frame `data` with one random bit of tensor `name`'s bytes flipped."""
    n, header = frame_header(data)
    begin, end = header[name]["data_offsets"]
    flipped = bytearray(data)
    flipped[8 + n + rng.randrange(begin, end)] ^= 1 << rng.randrange(8)
    return flipped


def _kv_frame(rng):
    t = {"k": random_tensor(rng, (2, 8, 64, 16), torch.bfloat16),
         "v": random_tensor(rng, (2, 8, 64, 16), torch.bfloat16)}
    return t, frames.dumps(t, {"model": "m"}, kv_layout="KV_2LTD", kv_tokens=64)


def test_corrupt_error_type():
    assert issubclass(fastserde.CorruptFrameError, ValueError)
    assert issubclass(fastserde.CorruptFrameError, fastserde.FastSerdeError)
    assert frames.CorruptFrameError is fastserde.CorruptFrameError


def test_flipped_data_bits(rng):
    t, data = _kv_frame(rng)
    n, header = frame_header(data)
    for name in ("k", "v"):
        begin, end = header[name]["data_offsets"]
        for _ in range(8):
            flipped = bytearray(data)
            pos = 8 + n + rng.randrange(begin, end)
            flipped[pos] ^= 1 << rng.randrange(8)
            with pytest.raises(fastserde.CorruptFrameError) as e:
                frames.loads(flipped)
            assert e.value.status == 10 and e.value.name == "FSD_ERROR_CORRUPT"
            assert f'"{name}"' in str(e.value) and e.value.function == "fsd_frame_read"
            # not verified: read as it is, one bit off
            out = frames.loads(flipped, verify=False)
            assert fastserde.to_bytes(out[name]) != fastserde.to_bytes(t[name])


def _flip_hex(data, value):
    """`data` with one hex digit of `value` (which it holds once) changed."""
    pos = data.index(value.encode()) + len(value) - 3
    flipped = bytearray(data)
    flipped[pos] = ord("0") if flipped[pos] != ord("0") else ord("1")
    return flipped


def test_flipped_checksum(rng):
    t, data = _kv_frame(rng)
    n, header = frame_header(data)
    meta = header["__metadata__"]
    for name in ("k", "v"):
        flipped = _flip_hex(data, meta[f"fastserde.checksum.{name}"])
        with pytest.raises(fastserde.CorruptFrameError, match=f'"{name}"'):
            frames.loads(flipped)
        # a tensor's checksum is checked with its bytes: not by the header, not unverified
        assert frames.metadata(flipped) == {"model": "m"}
        assert same(frames.loads(flipped, verify=False)[name], t[name])
    # the metadata's own checksum (over the KV facts and the caller's pairs): every call
    flipped = _flip_hex(data, meta["fastserde.checksum.__metadata__"])
    for call in (frames.loads, frames.metadata, lambda d: frames.loads(d, verify=False)):
        with pytest.raises(fastserde.CorruptFrameError):
            call(flipped)
    # a caller's pair or a KV fact changed in place: caught by the metadata's checksum
    for old, new in ((b'"model":"m"', b'"model":"n"'), (b'"64"', b'"65"')):
        assert data.count(old) == 1
        with pytest.raises(fastserde.CorruptFrameError):
            frames.metadata(data.replace(old, new))


def test_truncated_and_extended(rng):
    t, data = _kv_frame(rng)
    n, _ = frame_header(data)
    cuts = {0, 1, 7, 8, 9, 8 + n // 2, 8 + n - 1, 8 + n, 8 + n + 1, len(data) - 1}
    cuts |= {rng.randrange(len(data)) for _ in range(10)}
    for cut in sorted(cuts):
        with pytest.raises(fastserde.CorruptFrameError):
            frames.loads(data[:cut])
    with pytest.raises(fastserde.CorruptFrameError):
        frames.loads(data + b"\0")
    with pytest.raises(fastserde.CorruptFrameError):
        frames.metadata(data[:8 + n // 2])


def test_bad_headers():
    good = _frame_by_hand("F32", (2,), bytes(8))
    assert frames.loads(good)["t"].tolist() == [0.0, 0.0]
    for bad in (_frame_by_hand("F32", (3,), bytes(8)),         # shape and offsets disagree
                b"\x10" + bytes(7) + b"not json at all!",
                struct.pack("<Q", 4) + b"[1] ",                 # not an object
                struct.pack("<Q", 1 << 40) + b"{}      "):      # header longer than the data
        with pytest.raises(fastserde.CorruptFrameError):
            frames.loads(bad)


# ---------------------------------------------------------------------------------------------
# Bad arguments


def test_dumps_bad_arguments():
    x = torch.zeros(2)
    cases = [
        (TypeError, lambda: frames.dumps([("x", x)])),
        (TypeError, lambda: frames.dumps({1: x})),
        (TypeError, lambda: frames.dumps({"x": [1, 2]})),
        (TypeError, lambda: frames.dumps({"x": x.numpy()})),
        (TypeError, lambda: frames.dumps({"x": torch.zeros(2, dtype=torch.complex64)})),
        (TypeError, lambda: frames.dumps({"x": torch.quantize_per_tensor(x, 0.1, 0, torch.quint8)})),
        (ValueError, lambda: frames.dumps({"__metadata__": x})),
        (ValueError, lambda: frames.dumps({"a\0b": x})),
        (ValueError, lambda: frames.dumps({"\ud800": x})),
        (TypeError, lambda: frames.dumps({"x": x}, [("a", "b")])),
        (TypeError, lambda: frames.dumps({"x": x}, {"a": 1})),
        (TypeError, lambda: frames.dumps({"x": x}, {2: "b"})),
        (ValueError, lambda: frames.dumps({"x": x}, {"fastserde.frame": "2"})),
        (ValueError, lambda: frames.dumps({"x": x}, {"a": "b\0c"})),
        (TypeError, lambda: frames.dumps({"x": x}, checksum=1)),
        (ValueError, lambda: frames.dumps({"x": x}, kv_layout="")),
        (ValueError, lambda: frames.dumps({"x": x}, kv_layout="KV\t2LTD")),
        (ValueError, lambda: frames.dumps({"x": x}, kv_layout="KV_2LTD\u00e9")),
        (ValueError, lambda: frames.dumps({"é" * 32768: x})),
        (ValueError, lambda: frames.dumps({"x": x}, kv_layout="K" * 65)),
        (TypeError, lambda: frames.dumps({"x": x}, kv_layout=5)),
        (ValueError, lambda: frames.dumps({"x": x}, kv_tokens=-1)),
        (TypeError, lambda: frames.dumps({"x": x}, kv_tokens=2.0)),
        (ValueError, lambda: frames.dumps({"x": torch.zeros(2, device="meta")})),
    ]
    for i, (exc, call) in enumerate(cases):
        with pytest.raises(exc):
            call()
            pytest.fail(f"case {i} did not raise")
    if hasattr(torch, "float8_e4m3fnuz"):
        with pytest.raises(TypeError, match="cannot hold"):
            frames.dumps({"x": torch.zeros(2).to(torch.float8_e4m3fnuz)})


def test_loads_bad_arguments():
    data = frames.dumps({"x": torch.zeros(2)})
    with pytest.raises(TypeError):
        frames.loads("not bytes")
    with pytest.raises(TypeError):
        frames.loads(None)
    with pytest.raises(TypeError):
        frames.loads(data, verify=1)
    with pytest.raises(ValueError):
        frames.loads(data, device="meta")
    with pytest.raises(ValueError):
        frames.loads(data, device="nonsense")
    with pytest.raises(TypeError):
        frames.metadata(12)


# ---------------------------------------------------------------------------------------------
# loads(copy=False): tensors that share the frame's memory, as torch.frombuffer does


@pytest.mark.parametrize("dtype", DTYPES)
def test_shared_loads_every_dtype(rng, dtype):
    named = dict(views(rng, dtype))
    data = frames.dumps(named)
    out = frames.loads(data, copy=False)
    assert list(out) == list(named)
    for name, t in named.items():
        assert same(out[name], t), name


def test_shared_loads_share_memory(rng):
    t, data = _kv_frame(rng)
    n, header = frame_header(data)
    buf = bytearray(data)
    out = frames.loads(buf, copy=False)
    begin = 8 + n + header["v"]["data_offsets"][0]
    assert out["v"].data_ptr() == np.frombuffer(buf, np.uint8)[begin:].ctypes.data
    out["v"].view(-1)[0] = 1 - out["v"].view(-1)[0]  # a write through the tensor lands in buf
    assert bytes(buf) != data
    with pytest.raises(fastserde.CorruptFrameError, match='"v"'):
        frames.loads(buf)
    # the tensors keep their buffer alive
    del buf
    assert same(out["k"], t["k"])
    # every kind of buffer: bytes, memoryview, numpy, a uint8 tensor
    for kind in (data, memoryview(data), np.frombuffer(data, np.uint8),
                 torch.frombuffer(bytearray(data), dtype=torch.uint8)):
        got = frames.loads(kind, copy=False)
        assert same(got["k"], t["k"]) and same(got["v"], t["v"])


def test_shared_loads_verify_first(rng):
    t, data = _kv_frame(rng)
    flipped = _flip_data_bit(data, "k", rng)
    with pytest.raises(fastserde.CorruptFrameError, match='"k"') as e:
        frames.loads(flipped, copy=False)
    assert e.value.function == "fsd_frame_verify"
    out = frames.loads(flipped, copy=False, verify=False)
    assert not same(out["k"], t["k"]) and same(out["v"], t["v"])
    # large tensors are verified on the context's threads: the same answer
    big = {"kv": random_tensor(rng, (2, 4, 256, 512), torch.bfloat16)}
    data = frames.dumps(big)
    assert same(frames.loads(data, copy=False)["kv"], big["kv"])
    flipped = bytearray(data)
    flipped[-1] ^= 0x80
    with pytest.raises(fastserde.CorruptFrameError):
        frames.loads(flipped, copy=False)


def test_shared_loads_bad_arguments():
    data = frames.dumps({"x": torch.zeros(2)})
    with pytest.raises(TypeError):
        frames.loads(data, copy=0)
    with pytest.raises(ValueError, match="device must be cpu"):
        frames.loads(data, device="cuda", copy=False)
    with pytest.raises(TypeError):
        frames.loads(torch.frombuffer(bytearray(data), dtype=torch.uint8)[::2], copy=False)
    with pytest.raises(TypeError):
        frames.loads(np.frombuffer(data, np.uint8)[::2], copy=False)
    with pytest.raises(TypeError):
        frames.loads(None, copy=False)


def test_empty_name_round_trip():
    """The empty name is a tensor name for safetensors readers and for fsd_frame_open, so a
    frame holding one can be loaded and written again (a fuzzer's finding: the writer refused
    what the reader returned)."""
    t = {"": torch.arange(6, dtype=torch.int16).view(2, 3), "v": torch.ones(4)}
    data = frames.dumps(t)
    out = frames.loads(data)
    assert list(out) == ["", "v"] and same(out[""], t[""]) and same(out["v"], t["v"])
    assert frames.dumps(out) == data
    if st is not None:
        assert torch.equal(st.load(data)[""], t[""])

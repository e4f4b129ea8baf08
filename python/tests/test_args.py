"""Arguments before C sees them: integers range-checked (ctypes truncated them: chunks=2**32+3
became 3, chunk_bytes=-4096 became 2**64-4096), devices parsed as torch parses them
(Context(device="cuda") failed), and any object with the buffer protocol read as bytes(b)
reads it (Fortran-order arrays failed)."""
import array
import ctypes

import numpy as np
import pytest
import torch

import fastserde
from fastserde import _args


@pytest.mark.parametrize("kw", [dict(chunks=2**32 + 3), dict(chunks=-2**31 - 1),
                                dict(chunk_bytes=-4096), dict(chunk_bytes=2**64 + 4096),
                                dict(cpu_threads=2**31), dict(cpu_threads=-2**40),
                                dict(device=2**32), dict(device=-2)], ids=str)
def test_context_integers_out_of_range(kw):
    with pytest.raises(ValueError, match="out of range"):
        fastserde.Context(**kw)


@pytest.mark.parametrize("kw", [dict(chunks=2.0), dict(chunk_bytes=4096.5), dict(cpu_threads="2"),
                                dict(device=0.0)], ids=str)
def test_context_integers_must_be_integers(kw):
    with pytest.raises(TypeError):
        fastserde.Context(**kw)


def test_context_integers_in_range_reach_c():
    with fastserde.Context(cpu_threads=np.int64(2), chunk_bytes=np.uint64(1 << 20)) as ctx:
        assert ctx.memory()["cpu_threads"] == 2
    e = pytest.raises(fastserde.FastSerdeError, fastserde.Context, chunks=65).value
    assert e.name == "FSD_ERROR_INVALID_ARGUMENT"  # in range for C's int: C decides


def test_stream_handles_range_checked():
    cuda = torch.device("cuda", 0)
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match="out of range"):
            _args.stream_handle(cuda, bad)
    assert _args.stream_handle(cuda, 0).value is None
    assert _args.stream_handle(cuda, 2**64 - 1).value == 2**64 - 1
    assert _args.stream_handle(torch.device("cpu"), -1) is None  # host work takes no stream


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda"),
                                    torch.device("cuda", 0), 0, None], ids=str)
def test_context_devices_as_torch_names_them(device):
    want = -1 if device in ("cuda", None) or device == torch.device("cuda") else 0
    assert _args.cuda_index("device", device) == want
    with fastserde.Context(device=device, cpu_threads=1) as ctx:
        if not torch.cuda.is_available():
            assert ctx.device == -1  # host-only without a GPU
    d = fastserde.default_context(device)
    assert fastserde.default_context(device) is d and not d.closed


@pytest.mark.parametrize("device", ["cpu", "meta", torch.device("cpu"), "cuda:x", "gpu"],
                         ids=str)
def test_context_devices_that_are_not_cuda(device):
    with pytest.raises(ValueError):
        fastserde.Context(device=device)
    with pytest.raises(ValueError):
        fastserde.default_context(device)


def test_from_bytes_devices():
    b = bytes(range(8))
    for device in ("cpu", torch.device("cpu")):
        assert fastserde.from_bytes(b, torch.uint8, device).tolist() == list(range(8))
    for device in ("meta", "cuda:x"):
        with pytest.raises(ValueError):
            fastserde.from_bytes(b, torch.uint8, device)
    if not torch.cuda.is_available():
        for device in ("cuda", "cuda:0", torch.device("cuda")):
            e = pytest.raises(fastserde.FastSerdeError, fastserde.from_bytes, b, torch.uint8,
                              device).value
            assert e.name == "FSD_ERROR_NO_GPU"


def buffers(raw):
    """`raw` (48 bytes) as objects with the buffer protocol, each with the bytes bytes(obj)
    gives (C order)."""
    a = np.frombuffer(raw, dtype=np.int32).reshape(3, 4)
    yield raw, raw
    yield bytearray(raw), raw
    yield memoryview(raw), raw
    yield array.array("i", raw), raw
    yield (ctypes.c_char * len(raw)).from_buffer_copy(raw), raw
    f = np.asfortranarray(a)  # Fortran order: memory order differs from C order
    assert not f.flags.c_contiguous
    yield f, f.tobytes()
    yield a.T, a.T.tobytes()
    yield a[:, ::2], a[:, ::2].tobytes()
    yield memoryview(bytearray(raw))[::2], raw[::2]
    yield memoryview(raw).cast("i", (3, 4)), raw


def test_any_buffer_is_read_as_bytes_reads_it():
    raw = bytes(range(48))
    for obj, want in buffers(raw):
        assert bytes(obj) == want or isinstance(obj, array.array)
        what = type(obj).__name__
        t = fastserde.from_bytes(obj, torch.uint8)
        assert t.numpy().tobytes() == want, what
        dst = torch.zeros(2 * len(want), dtype=torch.uint8)
        fastserde.unpack(obj, dst[::2])
        assert dst[::2].numpy().tobytes() == want, what


def test_non_buffers_are_a_type_error():
    for obj in (None, "abcd", 12, [1, 2, 3, 4], object()):
        with pytest.raises(TypeError, match="buffer protocol"):
            fastserde.from_bytes(obj, torch.uint8)
        with pytest.raises(TypeError, match="buffer protocol"):
            fastserde.unpack(obj, torch.zeros(4, dtype=torch.uint8))


def test_a_buffer_is_held_while_read():
    b = bytearray(range(16))
    from fastserde._buffers import HostBytes
    with HostBytes(b) as (addr, n):
        assert n == 16 and ctypes.string_at(addr, n) == bytes(range(16))
        with pytest.raises(BufferError):
            b.append(1)  # exported: cannot move
    b.append(1)

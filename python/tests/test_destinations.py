"""Where bytes are written: always into the destination's own memory (a conjugate or negative
view gets the values stored so that it reads what was unpacked; it used to be filled through a
copy and stay unchanged), never into memory the source occupies (refused, as torch refuses
outputs that share memory with an input), never into a quantized tensor (TypeError). Sources are
read as pack reads them (conjugate/negative views resolved; they used to be read raw)."""
import numpy as np
import pytest
import torch

import fastserde
from fastserde import FastSerdeError
from layouts import torch_bytes


def complex_values(n=12):
    return torch.randn(n, dtype=torch.complex64)


def test_unpack_into_a_conjugate_view():
    x = complex_values().reshape(3, 4)
    for make in (lambda z: z.conj(), lambda z: z.t().conj(), lambda z: z.conj()[:, ::2]):
        z = torch.zeros(3, 4, dtype=torch.complex64)
        dst = make(z)
        assert dst.is_conj()
        want = x.t() if dst.shape == (4, 3) else x[:, : dst.shape[1]]
        assert fastserde.unpack(fastserde.to_bytes(want), dst) is dst
        assert torch.equal(dst.resolve_conj(), want)
        assert torch.equal(make(z).resolve_conj(), want)  # z itself holds the conjugates


def test_unpack_into_negative_views():
    v = torch.randn(6)
    z = torch.zeros(6, dtype=torch.complex64)
    dst = z.conj().imag  # a negative view of z's imaginary parts
    assert dst.is_neg()
    fastserde.unpack(fastserde.to_bytes(v), dst)
    assert torch.equal(dst.resolve_neg(), v)
    assert torch.equal(z.imag, -v)
    y = torch.zeros(6, dtype=torch.complex64)
    both = y._neg_view().conj()  # negative and conjugate
    assert both.is_neg() and both.is_conj()
    x = complex_values(6)
    fastserde.unpack(fastserde.to_bytes(x), both)
    assert torch.equal(both.resolve_conj().resolve_neg(), x)


def test_round_trip_through_conjugate_views_is_bit_exact():
    x = complex_values(64)
    x[3] = complex(float("nan"), -0.0)
    z = torch.zeros(64, dtype=torch.complex64)
    fastserde.unpack(fastserde.to_bytes(x), z.conj())
    assert fastserde.to_bytes(z.conj()) == torch_bytes(x)


def test_unpack_reads_conjugate_and_negative_sources_as_pack_does():
    x = complex_values().reshape(3, 4)
    for src in (x.conj(), x._neg_view(), x.conj()._neg_view()):
        assert fastserde.pack(src).numpy().tobytes() == torch_bytes(src)
        dst = torch.zeros(3, 4, dtype=torch.complex64)
        fastserde.unpack(src, dst.t().contiguous().t())  # a tensor source, read as bytes
        out = torch.zeros(4, 3, dtype=torch.complex64).t()
        fastserde.unpack(src, out)
        assert torch.equal(out, src.resolve_conj().resolve_neg())


def test_quantized_destination_refused():
    q = torch.quantize_per_tensor(torch.randn(4, 4), 0.1, 3, torch.quint8)
    before = q.int_repr().clone()
    with pytest.raises(TypeError, match="quantized"):
        fastserde.unpack(bytes(16), q)
    assert torch.equal(q.int_repr(), before)


def test_pack_into_its_own_storage_refused():
    """pack(x.t(), out=x's storage) returned wrong bytes (the source overwritten while read)."""
    x = torch.arange(64, dtype=torch.uint8).reshape(8, 8)
    before = x.clone()
    with pytest.raises(FastSerdeError) as e:
        fastserde.pack(x.t(), out=x.view(-1))
    assert e.value.name == "FSD_ERROR_ALIASING" and isinstance(e.value, RuntimeError)
    assert e.value.function == "fastserde.pack"
    with pytest.raises(FastSerdeError):
        fastserde.pack(x[::2, ::2], out=x[4:].reshape(-1))  # the tail of x: rows 4, 6 read
    assert torch.equal(x, before)
    ok = fastserde.pack(x[:4, :], out=x[4:].reshape(-1))  # disjoint halves: fine
    assert torch.equal(ok, before[:4].reshape(-1))
    # torch refuses outputs that share memory with an input, too
    with pytest.raises(RuntimeError):
        torch.cat([x[:2], x[2:4]], out=x[1:5])


def test_unpack_from_its_own_memory_refused():
    base = torch.arange(16, dtype=torch.float32)
    before = base.clone()
    for src, dst in [(base[:8], base[4:12]), (base, base.reshape(4, 4).t()),
                     (base[8:], base[::2])]:
        with pytest.raises(FastSerdeError) as e:
            fastserde.unpack(src, dst)
        assert e.value.name == "FSD_ERROR_ALIASING"
    buf = bytearray(64)
    t = torch.frombuffer(buf, dtype=torch.float32)
    with pytest.raises(FastSerdeError):
        fastserde.unpack(buf, t.reshape(4, 4).t())  # a buffer under the destination
    with pytest.raises(FastSerdeError):
        fastserde.unpack(np.frombuffer(buf, dtype=np.uint8)[:32], t[4:12])
    assert torch.equal(base, before)
    fastserde.unpack(base[:8], base[8:].reshape(2, 4).t())  # disjoint: fine
    assert torch.equal(base[8:].reshape(2, 4).t().reshape(-1), before[:8])

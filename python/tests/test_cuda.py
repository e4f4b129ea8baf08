"""CUDA tensors: pack/unpack on the device ordered by the current stream, to_bytes/from_bytes
through the context's staging ring, against torch. Skipped (visibly) without a CUDA device."""
import pytest
import torch

import fastserde
from conftest import CASES, cuda
from layouts import random_view, torch_bytes

pytestmark = cuda


def on_gpu(v, base):
    return torch.as_strided(base.cuda(), v.shape, v.stride(), v.storage_offset())


def test_pack_and_to_bytes_random_layouts(rng):
    for i in range(CASES // 3):
        v, base = random_view(rng)
        dv = on_gpu(v, base)
        want = torch_bytes(v)
        p = fastserde.pack(dv)
        assert p.device == dv.device
        assert p.cpu().numpy().tobytes() == want, f"case {i}"
        assert fastserde.to_bytes(dv) == want, f"case {i}"


def test_unpack_random_layouts(rng):
    for i in range(CASES // 3):
        v, base = random_view(rng, writable=True)
        src = torch.randint(0, 256, (v.numel() * v.element_size(),), dtype=torch.uint8)
        if v.dtype == torch.bool:
            src &= 1
        expect = base.clone()
        torch.as_strided(expect, v.shape, v.stride(), v.storage_offset()).copy_(
            src.view(v.dtype).reshape(v.shape))
        for form in (src.cuda(), src.numpy().tobytes()):  # device bytes, host bytes
            gbase = base.cuda()
            dst = torch.as_strided(gbase, v.shape, v.stride(), v.storage_offset())
            fastserde.unpack(form, dst)
            assert torch_bytes(gbase) == torch_bytes(expect), f"case {i} {type(form).__name__}"


def test_from_bytes_on_the_gpu():
    b = torch_bytes(torch.randn(3, 1000))
    t = fastserde.from_bytes(b, torch.float32, "cuda")
    assert t.device.type == "cuda" and t.shape == (3000,)
    assert torch_bytes(t) == b


def test_work_follows_a_side_stream():
    s = torch.cuda.Stream()
    x = torch.randn(2, 8, 1024, 128, device="cuda")
    with torch.cuda.stream(s):
        y = x * 2  # enqueued on s
        v = y[:, :, 100:356]
        b = fastserde.to_bytes(v)  # must see y: ordered after the multiply on s
        p = fastserde.pack(v)
        back = torch.empty_like(v)
        fastserde.unpack(p, back)
    s.synchronize()
    assert b == torch_bytes(v.cpu())
    assert torch.equal(back, v)


def test_default_context_per_device():
    c = fastserde.default_context(torch.cuda.current_device())
    assert c.device == torch.cuda.current_device()
    assert c.memory()["pinned_bytes"] > 0


def test_cuda_src_cannot_fill_a_cpu_tensor():
    with pytest.raises(ValueError):
        fastserde.unpack(torch.zeros(16, dtype=torch.uint8, device="cuda"), torch.zeros(4))


def test_unpack_into_a_conjugate_view_on_a_side_stream():
    x = torch.randn(64, 32, dtype=torch.complex64)
    s = torch.cuda.Stream()
    z = torch.zeros(32, 64, dtype=torch.complex64, device="cuda")
    dst = z.t().conj()
    s.wait_stream(torch.cuda.current_stream())  # z's zeros first
    with torch.cuda.stream(s):
        fastserde.unpack(fastserde.pack(x.cuda()), dst)  # the fix-up follows on s
    s.synchronize()
    assert torch.equal(dst.resolve_conj().cpu(), x)
    z2 = torch.zeros(32, 64, dtype=torch.complex64, device="cuda")
    s.wait_stream(torch.cuda.current_stream())
    fastserde.unpack(torch_bytes(x), z2.t().conj(), stream=s.cuda_stream)  # an int handle
    s.synchronize()
    assert torch.equal(z2.t().conj().resolve_conj().cpu(), x)


def test_aliasing_out_refused_on_the_device():
    x = torch.arange(64, dtype=torch.uint8, device="cuda").reshape(8, 8)
    with pytest.raises(fastserde.FastSerdeError) as e:
        fastserde.pack(x.t(), out=x.view(-1))
    assert e.value.name == "FSD_ERROR_ALIASING"
    with pytest.raises(fastserde.FastSerdeError):
        fastserde.unpack(x.view(-1)[:32], x[2:6].t())
    assert torch.equal(x.cpu(), torch.arange(64, dtype=torch.uint8).reshape(8, 8))

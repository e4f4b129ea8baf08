"""fastserde.gather / scatter / gather_runs: the paged-KV API from Python, against the torch
expression of fastserde.h for the layouts inference stacks use (CPU here; the CUDA tests run
where torch sees a GPU)."""
import ctypes

import pytest
import torch

import fastserde

CUDA = torch.cuda.is_available()


def reference(layers, slots, block_dim, offset_dim, order=None):
    """torch.stack([rows(x)[slots]...]).permute(order).contiguous(), negative slots as 0."""
    slots = torch.as_tensor(slots).to(torch.int64).clamp(min=0).cpu()
    if offset_dim >= 0:
        rows = lambda x: x.movedim((block_dim, offset_dim), (0, 1)).flatten(0, 1)  # noqa: E731
        b = block_dim - (offset_dim < block_dim)
    else:
        rows = lambda x: x.movedim(block_dim, 0)  # noqa: E731
        b = block_dim
    v = torch.stack([rows(x.cpu()).index_select(0, slots).movedim(0, b) for x in layers])
    return (v if order is None else v.permute(order)).contiguous()


def block_slots(tokens, bs, blocks, gen):
    perm = torch.randperm(blocks, generator=gen)
    return torch.tensor([int(perm[t // bs]) * bs + t % bs for t in range(tokens)])


FAMILIES = {
    # name: (layer shape from (NB, BS, H, D), block_dim, offset_dim, order into KV_2LTD)
    "vllm-flash": (lambda nb, bs, h, d: (2, nb, bs, h, d), 1, 2, (1, 0, 2, 3, 4)),
    "vllm-hnd": (lambda nb, bs, h, d: (2, nb, h, bs, d), 1, 3, (1, 0, 2, 3, 4)),
    "flashinfer": (lambda nb, bs, h, d: (nb, 2, bs, h, d), 0, 2, (2, 0, 1, 3, 4)),
    "mla": (lambda nb, bs, h, d: (nb, bs, h * d), 0, 1, None),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.uint8, torch.float32])
def test_families_gather_scatter(family, dtype):
    gen = torch.Generator().manual_seed(7)
    shape_of, bd, od, order = FAMILIES[family]
    nb, bs, h, d, L, T = 8, 16, 2, 6, 3, 40
    layers = [torch.randint(0, 100, shape_of(nb, bs, h, d), generator=gen).to(dtype) for _ in range(L)]
    slots = block_slots(T, bs, nb, gen)
    got = fastserde.gather(layers, slots, bd, od, order)
    assert torch.equal(got, reference(layers, slots, bd, od, order))
    # scatter into zeroed caches, then gather back
    fresh = [torch.zeros_like(x) for x in layers]
    fastserde.scatter(got, fresh, slots, bd, od, order)
    assert torch.equal(fastserde.gather(fresh, slots, bd, od, order), got)


def test_sglang_token_pool_page_first():
    gen = torch.Generator().manual_seed(3)
    L, size, H, D = 2, 64, 4, 8
    k = [torch.randn(size, H, D, generator=gen) for _ in range(L)]
    v = [torch.randn(size, H, D, generator=gen) for _ in range(L)]
    slots = torch.randperm(size, generator=gen)[:20].to(torch.int32)
    got = fastserde.gather(k + v, slots, 0, -1, (1, 0, 2, 3))  # [T, 2L, H, D]
    assert got.shape == (20, 2 * L, H, D)
    assert torch.equal(got, reference(k + v, slots, 0, -1, (1, 0, 2, 3)))


def test_negative_slots_keep_out_and_cache():
    layers = [torch.arange(2 * 4 * 4 * 3, dtype=torch.float32).view(2, 4, 4, 3) + 1000 * i
              for i in range(2)]
    slots = torch.tensor([1, -1, 6, -5])
    out = torch.full((2 * 4 * 2 * 3,), -7.0)
    got = fastserde.gather(layers, slots, 1, 2, out=out)
    ref = reference(layers, slots, 1, 2)
    assert torch.equal(got[:, :, [0, 2]], ref[:, :, [0, 2]])
    assert bool((got[:, :, [1, 3]] == -7).all())
    before = [x.clone() for x in layers]
    fastserde.scatter(torch.zeros_like(got), layers, slots, 1, 2)
    for x, b in zip(layers, before):  # only the entries of slots 1 and 6 changed
        changed = (x != b).flatten(0, 0)
        assert int(changed.sum()) == 2 * 2 * 3


def test_stacked_views_and_threads():
    gen = torch.Generator().manual_seed(11)
    big = torch.randn(4, 2, 64, 16, 8, 64, generator=gen).to(torch.bfloat16)  # 4 layers, 8 MiB
    view = big[:, :, :, :, ::2]  # every other head
    slots = block_slots(256, 16, 64, gen)
    ctx = fastserde.Context(cpu_threads=2)
    try:
        got = fastserde.gather(view, slots, 1, 2, (1, 0, 2, 3, 4), ctx=ctx)
    finally:
        ctx.close()
    assert torch.equal(got, reference(list(view.unbind(0)), slots, 1, 2, (1, 0, 2, 3, 4)))


def test_gather_runs_make_the_gather():
    gen = torch.Generator().manual_seed(5)
    layers = [torch.randn(2, 8, 16, 2, 8, generator=gen) for _ in range(3)]
    slots = block_slots(48, 16, 8, gen)
    want = fastserde.gather(layers, slots, 1, 2, (1, 0, 2, 3, 4))
    out = torch.zeros_like(want)
    runs = fastserde.gather_runs(layers, slots, 1, 2, (1, 0, 2, 3, 4), out)
    assert len(runs) == 2 * 3 * 3  # whole blocks of 16 tokens merge: (K/V, layer, block)
    for dst, src, n in runs:
        ctypes.memmove(dst, src, n)
    assert torch.equal(out, want)


def test_bad_arguments():
    layers = [torch.zeros(2, 4, 4, 3) for _ in range(2)]
    slots = torch.tensor([0, 3])
    with pytest.raises(ValueError):
        fastserde.gather([layers[0], torch.zeros(2, 4, 4, 4)], slots, 1, 2)
    with pytest.raises(ValueError):
        fastserde.gather(layers, slots, 1, 2, order=(0, 1, 1, 3))
    with pytest.raises(ValueError):
        fastserde.gather(layers, slots.to(torch.float32), 1, 2)
    with pytest.raises(ValueError):
        fastserde.gather(layers, slots, 1, 2, out=torch.zeros(3))
    with pytest.raises(ValueError):
        fastserde.gather(layers, slots, 1, 2, engine="fast")
    with pytest.raises(fastserde.FastSerdeError) as e:
        fastserde.gather(layers, torch.tensor([0, 16]), 1, 2)  # past the 4 x 4 slots
    assert e.value.status == 1
    with pytest.raises(fastserde.FastSerdeError):
        fastserde.gather(layers, slots, 2, 2)  # block_dim == offset_dim
    with pytest.raises(fastserde.FastSerdeError):
        fastserde.gather(layers, slots, 1, 2, out=layers[1].view(-1))  # out is a layer
    with pytest.raises(ValueError):
        fastserde.scatter(torch.zeros(5), layers, slots, 1, 2)  # not the chunk's size


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("engine", ["kernel", "copy"])
def test_cuda_engines(engine):
    gen = torch.Generator().manual_seed(9)
    layers = [torch.randn(2, 32, 16, 8, 128, generator=gen).to(torch.bfloat16).cuda() for _ in range(4)]
    slots = block_slots(256, 16, 32, gen)
    slots = slots.cuda() if engine == "kernel" else slots
    got = fastserde.gather(layers, slots, 1, 2, (1, 0, 2, 3, 4), engine=engine)
    torch.cuda.synchronize()
    assert torch.equal(got.cpu(), reference(layers, slots, 1, 2, (1, 0, 2, 3, 4)))
    fresh = [torch.zeros_like(x) for x in layers]
    fastserde.scatter(got, fresh, slots, 1, 2, (1, 0, 2, 3, 4), engine=engine)
    assert torch.equal(fastserde.gather(fresh, slots, 1, 2, (1, 0, 2, 3, 4), engine=engine), got)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_to_pinned_and_invalid_slots():
    layers = [torch.randn(2, 8, 16, 2, 64).cuda() for _ in range(2)]
    slots = torch.tensor([0, 5, 500, -1, 7], device="cuda")
    out = torch.zeros(2 * 2 * 5 * 2 * 64).pin_memory()
    bad = torch.zeros(1, dtype=torch.int64, device="cuda")
    got = fastserde.gather(layers, slots, 1, 2, (1, 0, 2, 3, 4), out=out, invalid_slots=bad)
    torch.cuda.synchronize()
    assert int(bad.item()) == 1
    ref = reference(layers, slots, 1, 2, (1, 0, 2, 3, 4))
    assert torch.equal(got[:, :, [0, 1, 4]], ref[:, :, [0, 1, 4]])
    assert bool((got[:, :, [2, 3]] == 0).all())

"""fastserde.lmcache against the seed's code path (seed_fast_serde): same signatures, and the
same bytes and tensors on random layouts and every dtype."""
import inspect

import pytest
import torch

import fastserde.lmcache as fl
import seed_fast_serde as seed
from conftest import CASES, cuda
from layouts import DTYPES, random_view, torch_bytes

as_bytes = torch_bytes  # a tensor's raw bytes (compares NaNs and -0.0 exactly)


def seed_bytes(t):
    """The seed's to_bytes, or None where the seed raises: 0-d tensors of wide dtypes, and
    tensors torch calls contiguous whose last dim has size 1 and a stride other than 1
    (.contiguous() returns them as they are, and view(torch.uint8) refuses them)."""
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


def test_from_bytes_is_a_copy():
    src = bytearray(range(16))
    t = fl.FastDeserializer(torch.uint8).from_bytes(src)
    t[0] = 99
    src[1] = 77
    assert src[0] == 0 and int(t[1]) == 1


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
    assert s.to_bytes(c) == c.resolve_conj().view(torch.uint8).numpy().tobytes()
    assert fl.FastDeserializer(torch.float32).from_bytes(b"").shape == (0,)


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

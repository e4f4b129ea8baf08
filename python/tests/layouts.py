"""Seeded random strided views of torch tensors, for the Python tests.

random_view(rng) -> (view, base): `view` is a view of the contiguous tensor `base` made by a
few random ops (step slices, narrow, select, permute, transpose, unfold, diagonal, expand), of a
random dtype. `writable=True` leaves out the ops whose elements may overlap (expand, unfold with
overlapping windows), so the view can be an unpack destination.
"""
import torch

DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16,
          torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
          torch.bool]


def random_base(rng, dtype, ndim, max_elems=4096):
    shape = [rng.choice([1, 2, 3, 4, 5, 7, 8, 13, 16]) for _ in range(ndim)]
    while _prod(shape) > max_elems:
        i = shape.index(max(shape))
        shape[i] = (shape[i] + 1) // 2
    g = torch.Generator().manual_seed(rng.randrange(1 << 31))
    raw = torch.randint(0, 256, (_prod(shape) * _esize(dtype),), dtype=torch.uint8, generator=g)
    if dtype == torch.bool:
        raw &= 1
    return raw.view(dtype).reshape(shape)


def random_view(rng, dtype=None, writable=False):
    dtype = dtype or rng.choice(DTYPES)
    base = random_base(rng, dtype, rng.choice([0, 1, 2, 2, 3, 3, 4, 5]))
    v = base
    for _ in range(rng.randint(0, 4)):
        if v.dim() == 0:
            break
        d = rng.randrange(v.dim())
        n = v.shape[d]
        op = rng.choice(["slice", "slice", "narrow", "select", "permute", "transpose",
                         "diagonal", "unfold", "expand"])
        if op == "slice" and n > 1:
            idx = [slice(None)] * v.dim()
            idx[d] = slice(rng.randrange(n), None, rng.choice([1, 2, 3]))
            v = v[tuple(idx)]
        elif op == "narrow" and n > 1:
            start = rng.randrange(n)
            v = v.narrow(d, start, rng.randint(1, n - start))
        elif op == "select" and n > 0:
            v = v.select(d, rng.randrange(n))
        elif op == "permute" and v.dim() > 1:
            perm = list(range(v.dim()))
            rng.shuffle(perm)
            v = v.permute(perm)
        elif op == "transpose" and v.dim() > 1:
            v = v.transpose(d, rng.randrange(v.dim()))
        elif op == "diagonal" and v.dim() > 1:
            v = v.diagonal(0, d, rng.choice([x for x in range(v.dim()) if x != d]))
        elif op == "unfold" and n > 1:
            size = rng.randint(1, n)
            step = rng.randint(size, n) if writable else rng.randint(1, n)
            v = v.unfold(d, size, step)
        elif op == "expand" and not writable:
            v = v.unsqueeze(d)
            sizes = [-1] * v.dim()
            sizes[d] = rng.randint(1, 3)
            v = v.expand(*sizes)
    return v, base


def torch_bytes(t):
    """t's row-major bytes as `bytes`, computed by torch alone (any dtype, 0-d included)."""
    c = torch.empty(t.shape, dtype=t.dtype).copy_(t.cpu())
    return c.reshape(-1).view(torch.uint8).numpy().tobytes()


def _esize(dtype):
    return torch.empty((), dtype=dtype).element_size()


def _prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p

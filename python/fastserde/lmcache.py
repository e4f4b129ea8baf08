"""Drop-in replacements for LMCache's FastSerializer / FastDeserializer
(lmcache/storage_backend/serde/fast_serde.py). Switching is one import:

    # from lmcache.storage_backend.serde.fast_serde import FastSerializer, FastDeserializer
    from fastserde.lmcache import FastSerializer, FastDeserializer

    s = FastSerializer()
    b = s.to_bytes(kv)                      # bytes, identical to LMCache's
    d = FastDeserializer(torch.bfloat16)
    t = d.from_bytes(b)                     # flat 1-D tensor, equal to LMCache's

Same signatures and results as LMCache's classes:
  to_bytes(t) -> bytes          == t.contiguous().cpu().view(torch.uint8).numpy().tobytes()
  from_bytes(b) -> Tensor       == torch.frombuffer(b, dtype=dtype)
  from_bytes_normal(b) -> Tensor   the same

Differences, all where LMCache's code raises or shares memory:
  * from_bytes returns a tensor that owns a copy of the bytes (torch.frombuffer's shares the
    buffer, and warns when it is read-only `bytes`); writing to it never touches `b`.
  * 0-d tensors, conjugate views and empty byte strings work (LMCache's raise); a length that
    is not a multiple of the element size raises fastserde.FastSerdeError
    (FSD_ERROR_SIZE_MISMATCH) where torch.frombuffer raises ValueError.
  * Optional extras, off by default: FastDeserializer(dtype, device="cuda") builds the tensor
    on the GPU directly; both classes take ctx= (a fastserde.Context).

Both classes use the process's default fastserde context (fastserde.default_context) unless
given one; every instance shares it, so creating many serializers costs nothing.
"""
import torch

from . import from_bytes as _from_bytes
from . import to_bytes as _to_bytes

__all__ = ["FastSerializer", "FastDeserializer"]


class FastSerializer:
    """LMCache's FastSerializer: to_bytes(t) -> bytes of t.contiguous().view(torch.uint8)."""

    def __init__(self, ctx=None):
        self._ctx = ctx

    def to_bytes(self, t: torch.Tensor) -> bytes:
        return _to_bytes(t, ctx=self._ctx)


class FastDeserializer:
    """LMCache's FastDeserializer(dtype): from_bytes(b) -> flat 1-D tensor of `dtype`."""

    def __init__(self, dtype, device="cpu", ctx=None):
        self.dtype = dtype
        self.device = device
        self._ctx = ctx

    def from_bytes_normal(self, b: bytes) -> torch.Tensor:
        return _from_bytes(b, self.dtype, self.device, ctx=self._ctx)

    def from_bytes(self, b: bytes) -> torch.Tensor:
        return self.from_bytes_normal(b)

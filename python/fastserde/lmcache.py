"""Drop-in replacements for LMCache's FastSerializer / FastDeserializer
(lmcache/storage_backend/serde/fast_serde.py). Switching is one import:

    # from lmcache.storage_backend.serde.fast_serde import FastSerializer, FastDeserializer
    from fastserde.lmcache import FastSerializer, FastDeserializer

    s = FastSerializer()
    b = s.to_bytes(kv)                      # bytes, identical to LMCache's
    d = FastDeserializer(torch.bfloat16)
    t = d.from_bytes(b)                     # flat 1-D tensor, sharing b's memory, as LMCache's

Where LMCache's classes succeed, these return the same thing:
  to_bytes(t) -> bytes          == t.contiguous().cpu().view(torch.uint8).numpy().tobytes()
                                   (packed by fastserde in one pass, straight into the bytes)
  from_bytes(b) -> Tensor       is torch.frombuffer(b, dtype=dtype): it shares b's memory (no
                                   copy), exactly as LMCache's does
  from_bytes_normal(b) -> Tensor   the same
and where they raise, these raise the same exception types (ValueError for an empty buffer or a
length that is not a multiple of the element size, AttributeError for None and other
non-tensors, ...): anything that is not a plain CPU or CUDA torch tensor goes through LMCache's
own expression. When LMCache is importable, the classes are subclasses of its Serializer /
Deserializer.

Better only where LMCache's code raises, reads out of bounds or returns a broken tensor (each
case is listed in docs/python.md):
  * to_bytes of 0-d tensors wider than a byte, of conjugate/negative views, and of views torch
    calls contiguous whose size-1 dims have odd strides: their row-major bytes;
  * to_bytes of quint4x2/quint2x4 tensors (LMCache reads past their storage): TypeError;
  * from_bytes with a quantized dtype (LMCache returns a tensor without scale or zero point):
    TypeError.
Optional extras, off by default: FastDeserializer(dtype, device="cuda") builds the tensor on the
GPU (copied by fastserde through the staging ring); both classes take ctx= (a fastserde.Context).

Both classes use the process's default fastserde context (fastserde.default_context) unless
given one; every instance shares it, so creating many serializers costs nothing.
"""
import torch

from . import _dlpack
from ._serde import from_bytes as _from_bytes
from ._serde import to_bytes as _to_bytes

__all__ = ["FastSerializer", "FastDeserializer"]

try:  # LMCache's abstract bases, when LMCache is installed
    from lmcache.storage_backend.serde.serde import Deserializer as _Deserializer
    from lmcache.storage_backend.serde.serde import Serializer as _Serializer
except ImportError:
    _Serializer = _Deserializer = object

_PLAIN = (torch.Tensor, torch.nn.Parameter)
_QUANTIZED = _dlpack._QUANTIZED


def _lmcache_to_bytes(t):
    """LMCache's expression, for what fastserde does not take (it raises what LMCache raises)."""
    return t.contiguous().cpu().view(torch.uint8).numpy().tobytes()


class FastSerializer(_Serializer):
    """LMCache's FastSerializer: to_bytes(t) -> bytes of t.contiguous().view(torch.uint8)."""

    def __init__(self, ctx=None):
        self._ctx = ctx

    def to_bytes(self, t: torch.Tensor) -> bytes:
        if (type(t) not in _PLAIN or t.layout is not torch.strided or t.is_nested
                or not (t.is_cpu or t.is_cuda)):
            return _lmcache_to_bytes(t)
        return _to_bytes(t, ctx=self._ctx)


class FastDeserializer(_Deserializer):
    """LMCache's FastDeserializer(dtype): from_bytes(b) -> flat 1-D tensor of `dtype`."""

    def __init__(self, dtype, device="cpu", ctx=None):
        self.dtype = dtype
        self.device = device
        self._ctx = ctx

    @property
    def device(self):
        return self._device

    @device.setter
    def device(self, device):
        self._device = torch.device(device)
        self._on_cpu = self._device.type == "cpu"

    def from_bytes_normal(self, b: bytes) -> torch.Tensor:
        dtype = self.dtype
        if dtype in _QUANTIZED:  # unhashable dtypes raise TypeError, as torch.frombuffer would
            raise TypeError(f"fastserde.lmcache: from_bytes cannot make a {dtype} tensor "
                            f"(bytes carry no scale or zero point): deserialize the integer "
                            f"representation and quantize it")
        if self._on_cpu:
            return torch.frombuffer(b, dtype=dtype)
        _check_like_frombuffer(b, dtype)
        return _from_bytes(b, dtype, self._device, ctx=self._ctx)

    def from_bytes(self, b: bytes) -> torch.Tensor:
        return self.from_bytes_normal(b)


def _check_like_frombuffer(b, dtype):
    """The checks torch.frombuffer makes, with its exception types, for the device= extra."""
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"frombuffer(): argument 'dtype' must be torch.dtype, not "
                        f"{type(dtype).__name__}")
    try:
        n = memoryview(b).nbytes
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    esize = _dlpack.element_size(dtype)
    if n == 0:
        raise ValueError("both buffer length (0) and count (-1) must not be 0")
    if n % esize:
        raise ValueError(f"buffer length ({n} bytes) after offset (0 bytes) must be a multiple "
                         f"of element size ({esize})")

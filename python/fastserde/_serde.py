"""The module API: packed_size, pack, unpack, to_bytes, from_bytes (re-exported by the
package; see fastserde/__init__.py for the overview)."""
import ctypes

import torch

from . import _dlpack, _lib
from ._context import default_context

_PyBytes_FromStringAndSize = ctypes.pythonapi["PyBytes_FromStringAndSize"]
_PyBytes_FromStringAndSize.restype = ctypes.py_object
_PyBytes_FromStringAndSize.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
_PyBytes_AsString = ctypes.pythonapi["PyBytes_AsString"]
_PyBytes_AsString.restype = ctypes.c_void_p
_PyBytes_AsString.argtypes = [ctypes.py_object]


# ---------------------------------------------------------------------------------------------
# helpers

def _is_cuda(t):
    return t.device.type == "cuda"


def _stream_handle(device, stream):
    """The cudaStream_t (a c_void_p) for work on `device`: `stream` (torch.cuda.Stream, an int
    handle, or None for torch.cuda.current_stream(device))."""
    if device.type != "cuda":
        return None
    if stream is None:
        stream = torch.cuda.current_stream(device)
    handle = stream if isinstance(stream, int) else stream.cuda_stream
    return ctypes.c_void_p(handle or None)


def _ctx_for(device, ctx):
    if ctx is not None:
        return ctx
    if device.type == "cuda":
        return default_context(device.index if device.index is not None
                               else torch.cuda.current_device())
    return default_context()


def _host_buffer(b, writable=False):
    """(address, nbytes, keepalive) of a bytes-like object (bytes, bytearray, memoryview,
    numpy array, ...) or a contiguous CPU tensor."""
    if isinstance(b, torch.Tensor):
        if b.device.type != "cpu" or not b.is_contiguous():
            raise ValueError("fastserde: a host buffer tensor must be a contiguous CPU tensor")
        return b.data_ptr(), b.numel() * b.element_size(), b
    if isinstance(b, bytes) and not writable:
        return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value, len(b), b
    mv = memoryview(b)
    if not mv.contiguous:
        raise ValueError("fastserde: the buffer is not contiguous")
    n = mv.nbytes
    if n == 0:
        return None, 0, mv
    if mv.readonly:
        if writable:
            raise ValueError("fastserde: the buffer is read-only")
        mv = memoryview(bytes(mv))  # rare: a read-only buffer that is not `bytes`
        return ctypes.cast(ctypes.c_char_p(mv.obj), ctypes.c_void_p).value, n, mv
    arr = (ctypes.c_char * n).from_buffer(mv.cast("B"))
    return ctypes.addressof(arr), n, (mv, arr)


def _packed_size(ptr):
    n = ctypes.c_size_t()
    _lib.check(_lib.load().fsd_packed_size(ptr, ctypes.byref(n)), "fsd_packed_size")
    return n.value


# ---------------------------------------------------------------------------------------------
# API

def packed_size(t):
    """The number of bytes `t` packs into (numel * element size)."""
    keep, ptr = _dlpack.borrow(t)
    return _packed_size(ptr)


def pack(t, out=None, *, stream=None, ctx=None):
    """Packs `t` (any strides) into contiguous row-major bytes on t's device, byte-identical to
    t.contiguous().view(torch.uint8).

    out     optional 1-D contiguous uint8 tensor on t's device with room for the bytes;
            default: a new one.
    stream  CUDA tensors: the stream the kernel is enqueued on (default: the current stream);
            the result is ready in that stream's order, like any torch op.
    ctx     host tensors: the Context whose CPU threads copy (default: the default context).
    Returns the uint8 tensor of packed bytes (a view of `out` when given).
    """
    keep, ptr = _dlpack.borrow(t)
    n = _packed_size(ptr)
    if out is None:
        out = torch.empty(n, dtype=torch.uint8, device=t.device)
    elif (out.dtype != torch.uint8 or out.dim() != 1 or not out.is_contiguous()
          or out.device != t.device or out.numel() < n):
        raise ValueError(f"fastserde.pack: out must be a contiguous 1-D uint8 tensor on "
                         f"{t.device} with at least {n} bytes")
    lib = _lib.load()
    dst = out.data_ptr() if n else None
    if _is_cuda(t):
        _lib.check(lib.fsd_pack(ptr, dst, n, _stream_handle(t.device, stream)), "fsd_pack")
    else:
        with _ctx_for(t.device, ctx).use() as h:
            _lib.check(lib.fsd_pack_to_host(h, ptr, dst, n, None), "fsd_pack_to_host")
    return out[:n]


def unpack(src, dst, *, stream=None, ctx=None):
    """Writes packed bytes `src` into the elements of tensor `dst` (any non-aliasing strides):
    the inverse of pack. Exactly packed_size(dst) bytes are read.

    src     a contiguous tensor (its bytes; any dtype) on dst's device, or host bytes (bytes,
            bytearray, memoryview, a contiguous CPU tensor) for any dst: a CUDA dst is then
            filled through the context's pinned staging ring. A pageable source may be reused
            on return; a pinned CPU tensor is read by DMA in stream order and must stay alive
            and unchanged until the stream gets there.
    stream  CUDA dst: the stream the work is ordered on (default: the current stream).
    Returns dst. Raises FastSerdeError (FSD_ERROR_SIZE_MISMATCH, FSD_ERROR_ALIASING, ...)
    before writing anything when the call is refused.
    """
    keep, ptr = _dlpack.borrow(dst)
    lib = _lib.load()
    if isinstance(src, torch.Tensor) and src.device == dst.device and _is_cuda(dst):
        if not src.is_contiguous():
            raise ValueError("fastserde.unpack: src must be contiguous")
        n = src.numel() * src.element_size()
        _lib.check(lib.fsd_unpack(src.data_ptr() if n else None, n, ptr,
                                  _stream_handle(dst.device, stream)), "fsd_unpack")
        return dst
    if isinstance(src, torch.Tensor) and src.device.type != "cpu":
        raise ValueError(f"fastserde.unpack: src on {src.device} cannot fill a tensor on "
                         f"{dst.device}; move it to the host or to {dst.device} first")
    addr, n, hold = _host_buffer(src)
    with _ctx_for(dst.device, ctx).use() as h:
        _lib.check(lib.fsd_unpack_from_host(h, addr, n, ptr, _stream_handle(dst.device, stream)),
                   "fsd_unpack_from_host")
    return dst


def to_bytes(t, *, ctx=None, stream=None):
    """The bytes of t.contiguous().cpu().view(torch.uint8).numpy().tobytes(), made in one pass:
    packed straight into the new bytes object (through the context's pinned ring for a CUDA
    tensor). Blocking: returns with the bytes in place. For a CUDA tensor the work starts after
    what is already enqueued on `stream` (default: the current stream)."""
    keep, ptr = _dlpack.borrow(t)
    n = _packed_size(ptr)
    out = _PyBytes_FromStringAndSize(None, n)  # uninitialised and not yet shared: ours to fill
    if n:
        lib = _lib.load()
        with _ctx_for(t.device, ctx).use() as h:
            _lib.check(lib.fsd_pack_to_host(h, ptr, _PyBytes_AsString(out), n,
                                            _stream_handle(t.device, stream)),
                       "fsd_pack_to_host")
    return out


def from_bytes(b, dtype, device="cpu", *, ctx=None):
    """A new flat 1-D tensor of `dtype` on `device` ("cpu" or a CUDA device) holding a copy of
    the bytes `b` (bytes, bytearray, memoryview, ...): what torch.frombuffer(b, dtype=dtype)
    reads, but owned by the tensor and placed on `device` directly. Made by fsd_from_bytes and
    handed to torch.utils.dlpack.from_dlpack; its memory is freed when torch drops the tensor.
    Blocking. len(b) must be a multiple of the element size (else FSD_ERROR_SIZE_MISMATCH).
    """
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"fastserde.from_bytes: dtype must be a torch.dtype, not {dtype!r}")
    device = torch.device(device)
    dev = _dlpack.dl_device(device)
    addr, n, hold = _host_buffer(b)
    out = ctypes.POINTER(_lib.DLManagedTensor)()
    lib = _lib.load()
    with _ctx_for(device, ctx).use() as h:
        _lib.check(lib.fsd_from_bytes(h, addr, n, _dlpack.dl_dtype(dtype), dev,
                                      ctypes.byref(out)), "fsd_from_bytes")
    t = _dlpack.adopt(ctypes.cast(out, ctypes.c_void_p).value)
    return t if t.dtype == dtype else t.view(dtype)

"""The module API: packed_size, pack, unpack, to_bytes, from_bytes (re-exported by the
package; see fastserde/__init__.py for the overview).

What every function checks before C sees anything: tensors are exported through
_dlpack.readable (sources) or _dlpack.writable (destinations: the tensor's own memory, never a
copy; conjugate/negative views fixed up after the write); integers and devices through _args;
a destination that overlaps its source is refused (FSD_ERROR_ALIASING), as torch refuses
outputs that share memory with an input.
"""
import ctypes
import sys

import torch

from . import _args, _dlpack, _lib
from ._buffers import HostBytes
from ._context import using
from ._lib import FastSerdeError

_PyBytes_FromStringAndSize = ctypes.pythonapi["PyBytes_FromStringAndSize"]
_PyBytes_FromStringAndSize.restype = ctypes.py_object
_PyBytes_FromStringAndSize.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
_PyBytes_AsString = ctypes.pythonapi["PyBytes_AsString"]
_PyBytes_AsString.restype = ctypes.c_void_p
_PyBytes_AsString.argtypes = [ctypes.py_object]

_FSD_ERROR_ALIASING = 5


def _libc_madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        f = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return f


_madvise = _libc_madvise()
_MADV_HUGEPAGE = 14
_HUGE_PAGE = 2 << 20
# A new `bytes` this large gets its whole 2 MiB pages marked for transparent huge pages before
# it is written: its fresh pages are then faulted in 2 MiB at a time instead of 4 KiB, which
# on this project's VM made filling 64 MiB 3.5x faster (92 -> 26 ms; docs/python.md). Only the
# policy of those pages changes (madvise), and only where the kernel leaves THP to madvise.
# 32 MiB is glibc's largest mmap threshold: blocks this large are always fresh mappings, page
# faulted on every call; smaller ones are recycled from the heap, already faulted in, where the
# advice only cost time (4 MiB: 342 against 253 us).
HUGE_BYTES = 32 << 20

# Without ctx=, host packs smaller than SMALL_HOST_BYTES run on the calling thread (fsd_pack)
# instead of the default context's threads, whose hand-off costs more than it saves there; a
# contiguous tensor smaller than CONTIGUOUS_COPY_BYTES is copied once by CPython into the
# new bytes (PyBytes_FromStringAndSize(ptr, n): what LMCache's .tobytes() does); the library's
# threads and streaming stores only pay once the copy outgrows the caches. Measured with
# bench/lmcache_vs_fastserde.py (docs/python.md). An explicit ctx= always gets the work.
SMALL_HOST_BYTES = 1 << 20
CONTIGUOUS_COPY_BYTES = 16 << 20


# ---------------------------------------------------------------------------------------------
# helpers

def _packed_size(ptr):
    n = ctypes.c_size_t()
    _lib.check(_lib.load().fsd_packed_size(ptr, ctypes.byref(n)), "fsd_packed_size")
    return n.value


def _new_bytes(n):
    """(bytes object of n uninitialised bytes, its address): not yet shared, ours to fill."""
    out = _PyBytes_FromStringAndSize(None, n)
    addr = _PyBytes_AsString(out)
    advise_huge(addr, n)
    return out, addr


def advise_huge(addr, n):
    """Marks the whole 2 MiB pages of new, not yet written memory [addr, addr + n) for
    transparent huge pages when n >= HUGE_BYTES (see HUGE_BYTES). Advice only: a failure, or
    memory already faulted in, changes nothing but the speed."""
    if n >= HUGE_BYTES and _madvise is not None:
        lo = (addr + _HUGE_PAGE - 1) & ~(_HUGE_PAGE - 1)
        hi = (addr + n) & ~(_HUGE_PAGE - 1)
        if hi > lo:
            _madvise(lo, hi - lo, _MADV_HUGEPAGE)


def _pack_host(r, ptr, dst, n, ctx):
    """Packs host tensor `r` (exported at `ptr`) into host memory `dst` (n bytes)."""
    lib = _lib.load()
    if ctx is None and n < SMALL_HOST_BYTES:
        _lib.check(lib.fsd_pack(ptr, dst, n, None), "fsd_pack")
        return
    with using(r.device, ctx) as h:
        _lib.check(lib.fsd_pack_to_host(h, ptr, dst, n, None), "fsd_pack_to_host")


def _refuse_overlap(function, a, b, what):
    if _args.overlaps(a, b):
        raise FastSerdeError(_FSD_ERROR_ALIASING, f"{what} share memory (torch refuses such "
                             f"outputs too); use a separate buffer", function)


def _fix_up(w, fixups, stream):
    """Runs the conjugate/negative fix-ups of a destination (see _dlpack.writable), on `stream`
    for a CUDA tensor, after the bytes were written."""
    if not fixups:
        return
    if w.device.type == "cuda" and stream is not None:
        if isinstance(stream, int):
            stream = torch.cuda.ExternalStream(stream, device=w.device)
        with torch.cuda.stream(stream):
            for f in fixups:
                f(w)
    else:
        for f in fixups:
            f(w)


# ---------------------------------------------------------------------------------------------
# API

def packed_size(t):
    """The number of bytes `t` packs into (numel * element size)."""
    keep, ptr = _dlpack.borrow(_dlpack.readable(t))
    return _packed_size(ptr)


def pack(t, out=None, *, stream=None, ctx=None):
    """Packs `t` (any strides) into contiguous row-major bytes on t's device, byte-identical to
    t.contiguous().view(torch.uint8) (a quantized tensor: its int_repr()'s bytes).

    out     optional 1-D contiguous uint8 tensor on t's device with room for the bytes, not
            overlapping t's memory (FSD_ERROR_ALIASING); default: a new one.
    stream  CUDA tensors: the stream the kernel is enqueued on (default: the current stream);
            the result is ready in that stream's order, like any torch op.
    ctx     host tensors: the Context whose CPU threads copy (default: the default context).
    Returns the uint8 tensor of packed bytes (a view of `out` when given).
    """
    r = _dlpack.readable(t)
    keep, ptr = _dlpack.borrow(r)
    n = _packed_size(ptr)
    if out is None:
        out = torch.empty(n, dtype=torch.uint8, device=r.device)
    elif (not isinstance(out, torch.Tensor) or out.dtype != torch.uint8 or out.dim() != 1
          or not out.is_contiguous() or out.device != r.device or out.numel() < n):
        raise ValueError(f"fastserde.pack: out must be a contiguous 1-D uint8 tensor on "
                         f"{r.device} with at least {n} bytes")
    else:
        _refuse_overlap("fastserde.pack", _args.extent(r), (out.data_ptr(), out.data_ptr() + n),
                        "out and t")
    dst = out.data_ptr() if n else None
    if r.device.type == "cuda":
        _lib.check(_lib.load().fsd_pack(ptr, dst, n, _args.stream_handle(r.device, stream)),
                   "fsd_pack")
    else:
        _pack_host(r, ptr, dst, n, ctx)
    return out[:n]


def unpack(src, dst, *, stream=None, ctx=None):
    """Writes packed bytes `src` into the elements of tensor `dst` (any non-aliasing strides):
    the inverse of pack. Exactly packed_size(dst) bytes are read.

    src     a contiguous tensor (its bytes as pack gives them; any dtype) on dst's device, or
            host bytes (any object with the buffer protocol: bytes, bytearray, memoryview,
            numpy arrays; or a contiguous CPU tensor) for any dst: a CUDA dst is then filled
            through the context's pinned staging ring. A pageable source may be reused on
            return; a pinned CPU tensor is read by DMA in stream order and must stay alive
            and unchanged until the stream gets there. It must not share memory with dst.
    dst     written in place, in its own memory: a conjugate (negative) view gets the
            conjugates (negatives) stored, so that it reads the values unpacked. Quantized
            destinations: TypeError.
    stream  CUDA dst: the stream the work is ordered on (default: the current stream).
    Returns dst. Raises FastSerdeError (FSD_ERROR_SIZE_MISMATCH, FSD_ERROR_ALIASING, ...)
    before writing anything when the call is refused.
    """
    w, fixups = _dlpack.writable(dst)
    keep, ptr = _dlpack.borrow(w)
    lib = _lib.load()
    if isinstance(src, torch.Tensor) and src.device == w.device and w.device.type == "cuda":
        if not src.is_contiguous():
            raise ValueError("fastserde.unpack: src must be contiguous")
        s = _dlpack.readable(src)
        n = s.numel() * s.element_size()
        _refuse_overlap("fastserde.unpack", _args.extent(s), _args.extent(w), "src and dst")
        _lib.check(lib.fsd_unpack(s.data_ptr() if n else None, n, ptr,
                                  _args.stream_handle(w.device, stream)), "fsd_unpack")
        _fix_up(w, fixups, stream)
        return dst
    if isinstance(src, torch.Tensor) and src.device.type != "cpu":
        raise ValueError(f"fastserde.unpack: src on {src.device} cannot fill a tensor on "
                         f"{w.device}; move it to the host or to {w.device} first")
    with HostBytes(src) as (addr, n):
        if w.device.type == "cpu":
            _refuse_overlap("fastserde.unpack", (addr or 0, (addr or 0) + n), _args.extent(w),
                            "src and dst")
        with using(w.device, ctx) as h:
            _lib.check(lib.fsd_unpack_from_host(h, addr, n, ptr,
                                                _args.stream_handle(w.device, stream)),
                       "fsd_unpack_from_host")
    _fix_up(w, fixups, stream)
    return dst


def to_bytes(t, *, ctx=None, stream=None):
    """The bytes of t.contiguous().cpu().view(torch.uint8).numpy().tobytes(), made in one pass:
    packed straight into the new bytes object (through the context's pinned ring for a CUDA
    tensor). Blocking: returns with the bytes in place. For a CUDA tensor the work starts after
    what is already enqueued on `stream` (default: the current stream)."""
    r = _dlpack.readable(t)
    host = r.is_cpu
    if host and ctx is None and r.is_contiguous():
        # its memory holds the bytes in order: one copy, as LMCache's .tobytes() makes
        n = r.numel() * r.element_size()
        if n < CONTIGUOUS_COPY_BYTES:  # one call: the bytes made as a copy of the memory
            return _PyBytes_FromStringAndSize(r.data_ptr() if n else None, n)
    keep, ptr = _dlpack.borrow(r)
    n = _packed_size(ptr)
    out, addr = _new_bytes(n)
    if not n:
        return out
    if host:
        _pack_host(r, ptr, addr, n, ctx)
    else:
        with using(r.device, ctx) as h:
            _lib.check(_lib.load().fsd_pack_to_host(h, ptr, addr, n,
                                                    _args.stream_handle(r.device, stream)),
                       "fsd_pack_to_host")
    return out


def from_bytes(b, dtype, device="cpu", *, ctx=None):
    """A new flat 1-D tensor of `dtype` on `device` ("cpu" or a CUDA device) holding a copy of
    the bytes `b` (any object with the buffer protocol, read as bytes(b) reads it; or a
    contiguous CPU tensor): what torch.frombuffer(b, dtype=dtype) reads, but owned by the
    tensor and placed on `device` directly. Made by fsd_from_bytes and handed to
    torch.utils.dlpack.from_dlpack; its memory is freed when torch drops the tensor. Blocking.
    len(b) must be a multiple of the element size (else FSD_ERROR_SIZE_MISMATCH). Quantized
    dtypes: TypeError (make the integer tensor, then quantize it).
    """
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"fastserde.from_bytes: dtype must be a torch.dtype, not {dtype!r}")
    dl_dtype = _dlpack.dl_dtype(dtype)
    device = _args.torch_device("device", device)
    dev = _dlpack.dl_device(device)
    out = ctypes.POINTER(_lib.DLManagedTensor)()
    lib = _lib.load()
    with HostBytes(b) as (addr, n), using(device, ctx) as h:
        _lib.check(lib.fsd_from_bytes(h, addr, n, dl_dtype, dev, ctypes.byref(out)),
                   "fsd_from_bytes")
    t = _dlpack.adopt(ctypes.cast(out, ctypes.c_void_p).value)
    return t if t.dtype == dtype else t.view(dtype)

"""Paged KV caches: gather, scatter and gather_runs (re-exported by the package).

One chunk of tokens from every layer of a paged cache in one call (fsd_gather / fsd_scatter in
fastserde.h; docs/paged.md). A slot names a cache entry: block slot // B on `block_dim`,
position slot % B on `offset_dim` (B = the layer's extent there), or entry `slot` of
`block_dim` when offset_dim is -1. The packed tensor is V permuted by `order`, where
V = [L, the layer's dims with block_dim -> T slots and offset_dim removed]:

    rows = lambda x: x.movedim((block_dim, offset_dim), (0, 1)).flatten(0, 1)
    V = torch.stack([rows(x)[slots].movedim(0, b) for x in layers])   # b: block_dim's position
    gather(...) == V.permute(order).contiguous()                       # once offset_dim is gone

Negative slots are skipped (gather leaves their packed elements as they were; scatter their
cache entries). CUDA caches: the kernel when the slots are on the GPU (one launch, reads slots
and layer addresses in stream order), the copy engines when they are on the host.
"""
import ctypes

import torch

from . import _args, _dlpack, _lib
from ._context import using
from ._serde import SMALL_HOST_BYTES


def _layer_list(layers):
    if isinstance(layers, torch.Tensor):
        if layers.dim() < 2:
            raise ValueError("fastserde: a stacked cache needs [L, ...] with at least one layer dim")
        layers = list(layers.unbind(0))
    else:
        layers = list(layers)
    if not layers:
        raise ValueError("fastserde: no layers")
    first = layers[0]
    for i, t in enumerate(layers):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"fastserde: layers[{i}] is a {type(t).__name__}, not a torch.Tensor")
        if t.is_quantized or t.is_conj() or t.is_neg() or t.layout is not torch.strided:
            raise TypeError(f"fastserde: layers[{i}] is quantized, conjugate, negative or not "
                            f"strided: the cache's memory must hold its values")
        if (t.dtype != first.dtype or t.shape != first.shape or t.stride() != first.stride()
                or t.device != first.device):
            raise ValueError(f"fastserde: layers[{i}] ({t.dtype}, {tuple(t.shape)}, strides "
                             f"{t.stride()}, {t.device}) differs from layers[0] ({first.dtype}, "
                             f"{tuple(first.shape)}, strides {first.stride()}, {first.device}); "
                             f"every layer must have one layout")
    return layers


def _slots_tensor(slots, device):
    if isinstance(slots, torch.Tensor):
        if slots.dtype not in (torch.int32, torch.int64) or slots.dim() != 1:
            raise ValueError(f"fastserde: slots must be a 1-D int32 or int64 tensor, not "
                             f"{slots.dtype} of {slots.dim()} dims")
        return slots
    return torch.as_tensor(list(slots), dtype=torch.int64)  # host slots


class _Call:
    """The C arguments of one gather / scatter, kept alive while the call runs."""

    def __init__(self, layers, slots, block_dim, offset_dim, order, engine):
        layers = _layer_list(layers)
        first = layers[0]
        self.device = first.device
        self.dtype = first.dtype
        self.layers = layers
        self.slots = _slots_tensor(slots, self.device)
        block_dim = _args.c_int("block_dim", block_dim)
        offset_dim = _args.c_int("offset_dim", offset_dim)
        if engine not in _lib.FSD_ENGINES:
            raise ValueError(f"fastserde: engine {engine!r}: 'auto', 'kernel' or 'copy'")
        self.engine = _lib.FSD_ENGINES[engine]
        # The layer table, in memory the copying side reads: the GPU for the kernel, else host.
        on_gpu = self.device.type == "cuda" and (
            self.engine == 1 or (self.engine == 0 and self.slots.device.type == "cuda"))
        self.table = torch.tensor([t.data_ptr() for t in layers], dtype=torch.int64,
                                  device=self.device if on_gpu else "cpu")
        ndim = first.dim()
        self._shape = (ctypes.c_int64 * max(ndim, 1))(*first.shape)
        self._strides = (ctypes.c_int64 * max(ndim, 1))(*first.stride())
        layer = _lib.DLTensor(None, _dlpack.dl_device(self.device), ndim, _dlpack.dl_dtype(first.dtype),
                              self._shape, self._strides, 0)
        self._nlayers = (ctypes.c_int64 * 1)(len(layers))
        self._table = _lib.DLTensor(self.table.data_ptr(), _dlpack.dl_device(self.table.device), 1,
                                    _lib.DLDataType(_lib.kDLUInt, 64, 1), self._nlayers, None, 0)
        self.kv = _lib.KvLayout(layer, block_dim, offset_dim, ctypes.pointer(self._table))
        self._slots_keep, self.slots_ptr = _dlpack.borrow(self.slots)
        # V's shape in packed order.
        v = [len(layers)] + [self.slots.numel() if d == block_dim else first.shape[d]
                             for d in range(ndim) if d != offset_dim]
        if order is None:
            self.order, self.shape = None, v
        else:
            order = [_args.c_int("order", o) for o in order]
            if sorted(order) != list(range(len(v))):
                raise ValueError(f"fastserde: order {order} is not a permutation of V's "
                                 f"{len(v)} dimensions {v}")
            self.order = (ctypes.c_int * len(order))(*order)
            self.shape = [v[o] for o in order]
        n = ctypes.c_size_t()
        _lib.check(_lib.load().fsd_gather_size(ctypes.byref(self.kv), self.slots_ptr, ctypes.byref(n)),
                   "fsd_gather_size")
        self.nbytes = n.value

    def options(self, max_blocks, invalid_slots, stream):
        o = _lib.GatherOptions.make()
        o.engine = self.engine
        o.max_blocks = _args.c_int("max_blocks", max_blocks, 0)
        if invalid_slots is not None:
            if (not isinstance(invalid_slots, torch.Tensor) or invalid_slots.dtype != torch.int64
                    or invalid_slots.numel() != 1 or invalid_slots.device != self.device):
                raise ValueError(f"fastserde: invalid_slots must be a one-element int64 tensor on "
                                 f"{self.device}")
            o.invalid_slots = invalid_slots.data_ptr()
        handle = _args.stream_handle(self.device, stream)
        if self.table.device.type == "cuda":
            # Freed when this call returns, read when the stream gets there: tell torch's
            # caching allocator which stream uses it.
            s = stream if isinstance(stream, torch.cuda.Stream) else (
                torch.cuda.current_stream(self.device) if stream is None else
                torch.cuda.ExternalStream(stream, device=self.device))
            self.table.record_stream(s)
        return o, handle

    def run(self, function, o, packed, n, handle, ctx):
        lib = _lib.load()
        if self.device.type == "cpu" and (ctx is not None or n >= SMALL_HOST_BYTES):
            with using(self.device, ctx) as h:
                o.context = h
                return self._call(lib, function, o, packed, n, handle)
        return self._call(lib, function, o, packed, n, handle)

    def _call(self, lib, function, o, packed, n, handle):
        if function == "fsd_gather":
            st = lib.fsd_gather(ctypes.byref(self.kv), self.slots_ptr, self.order, packed, n,
                                ctypes.byref(o), handle)
        else:
            st = lib.fsd_scatter(packed, n, ctypes.byref(self.kv), self.slots_ptr, self.order,
                                 ctypes.byref(o), handle)
        _lib.check(st, function)


def _packed_buffer(t, device, n, what):
    """Checks a packed-side tensor: contiguous, on the cache's device (or, for a CUDA cache,
    pinned host memory the kernel writes through its mapping), n bytes or more."""
    if not isinstance(t, torch.Tensor) or not t.is_contiguous():
        raise ValueError(f"fastserde: {what} must be a contiguous tensor")
    ok = t.device == device or (device.type == "cuda" and t.device.type == "cpu" and t.is_pinned())
    if not ok:
        raise ValueError(f"fastserde: {what} on {t.device}: the cache is on {device} (a CUDA "
                         f"cache also takes pinned host memory)")
    if t.numel() * t.element_size() < n:
        raise ValueError(f"fastserde: {what} holds {t.numel() * t.element_size()} bytes, the "
                         f"chunk has {n}")
    return t


def gather(layers, slots, block_dim, offset_dim, order=None, out=None, *, engine="auto",
           max_blocks=0, invalid_slots=None, stream=None, ctx=None):
    """The cache entries of `slots` from every layer, packed: a new contiguous tensor of the
    layers' dtype and V's permuted shape (or a view of `out`).

    layers        a list of tensors of one layout (dtype, shape, strides, device), or one
                  stacked tensor [L, ...] (block_dim and offset_dim then count from its
                  second dim). CPU, pinned or CUDA memory.
    slots         1-D int32/int64 tensor (or a sequence: host slots). CUDA cache: on the GPU the
                  kernel reads them in stream order; on the host the copy engines are used.
    block_dim, offset_dim, order  as in fsd_gather (offset_dim -1: token-level pools).
    out           a contiguous tensor with room for the bytes, on the cache's device or (CUDA
                  cache) pinned host memory: gathered straight to the host. Elements of negative
                  slots keep out's previous values.
    engine        "auto", "kernel" or "copy" (CUDA caches); max_blocks caps the kernel's grid.
    invalid_slots CUDA: a one-element int64 tensor the kernel adds the number of slots past
                  the cache to (elsewhere such a slot raises FastSerdeError).
    stream        CUDA: the stream (default: the current one); the call does not wait.
    ctx           host caches: the Context whose threads copy (default: the default context
                  from 1 MiB on, else the calling thread).
    """
    c = _Call(layers, slots, block_dim, offset_dim, order, engine)
    n = c.nbytes
    if out is None:
        out = torch.empty(n, dtype=torch.uint8, device=c.device)
    else:
        out = _packed_buffer(out, c.device, n, "out")
        lo, hi = _args.extent(out)
        for t in c.layers:
            if _args.overlaps((lo, lo + n), _args.extent(t)):
                raise _lib.FastSerdeError(5, "out shares memory with a layer (torch refuses such "
                                          "outputs too); use a separate buffer", "fastserde.gather")
    o, handle = c.options(max_blocks, invalid_slots, stream)
    c.run("fsd_gather", o, out.data_ptr() if n else None, n, handle, ctx)
    flat = out.reshape(-1).view(torch.uint8)[:n]
    return flat.view(c.dtype).view(c.shape)


def scatter(src, layers, slots, block_dim, offset_dim, order=None, *, engine="auto", max_blocks=0,
            invalid_slots=None, stream=None, ctx=None):
    """The inverse of gather: writes the packed tensor `src` (contiguous, exactly the chunk's
    bytes, on the cache's device or pinned host memory for a CUDA cache) into the cache entries
    of `slots` of every layer, in place. Negative slots are skipped. Arguments as gather's."""
    c = _Call(layers, slots, block_dim, offset_dim, order, engine)
    n = c.nbytes
    src = _packed_buffer(src, c.device, n, "src")
    if src.numel() * src.element_size() != n:
        raise ValueError(f"fastserde: src holds {src.numel() * src.element_size()} bytes, the "
                         f"chunk has {n}")
    o, handle = c.options(max_blocks, invalid_slots, stream)
    c.run("fsd_scatter", o, src.data_ptr() if n else None, n, handle, ctx)


def gather_runs(layers, slots, block_dim, offset_dim, order=None, packed=0, *, scatter=False):
    """The copies a gather (or, with scatter=True, a scatter) makes, merged into the fewest
    contiguous runs, as (dst, src, nbytes) address tuples, for other transports (NIXL, UCX,
    Mooncake). `packed`: the packed buffer's address (a tensor, or an int; 0: offsets). Slots
    must be on the host."""
    c = _Call(layers, slots, block_dim, offset_dim, order, "copy")
    base = packed.data_ptr() if isinstance(packed, torch.Tensor) else _args.integer(
        "packed", packed, 0, _args.UINTPTR_MAX)
    lib = _lib.load()
    count = ctypes.c_size_t()
    direction = 1 if scatter else 0
    _lib.check(lib.fsd_gather_runs(ctypes.byref(c.kv), c.slots_ptr, c.order, direction, base or None,
                                   None, 0, ctypes.byref(count)), "fsd_gather_runs")
    runs = (_lib.CopyRun * max(count.value, 1))()
    _lib.check(lib.fsd_gather_runs(ctypes.byref(c.kv), c.slots_ptr, c.order, direction, base or None,
                                   runs, count.value, ctypes.byref(count)), "fsd_gather_runs")
    return [(r.dst or 0, r.src or 0, r.bytes) for r in runs[:count.value]]

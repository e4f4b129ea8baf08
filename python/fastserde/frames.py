"""fastserde.frames — named tensors as one safetensors buffer with a checksum per tensor.

    from fastserde import frames
    data = frames.dumps({"kv": kv_view}, {"model": "llama-3-8b"}, kv_layout="KV_2LTD",
                        kv_tokens=256)                 # bytes: a safetensors file
    tensors = frames.loads(data)                       # {"kv": tensor}, checksums verified
    frames.metadata(data)                              # {"model": "llama-3-8b"}

A frame is a safetensors file (docs/frames.md): `safetensors.torch.load(data)` reads what
`dumps` writes, and `loads` reads any safetensors file (those written by others carry no
checksum, so `verify` has nothing to check there). fastserde adds, in `__metadata__`, keys
starting with "fastserde.": the format version, a checksum of every tensor (its name, dtype,
shape and bytes) computed while the tensor is packed, and optional facts about a KV chunk.

Tensors: any strides (views, slices, permutes, ...) are packed row-major in one pass, straight
into the frame. dtypes: float64/32/16, bfloat16, int64/32/16/8, uint8 (and uint16/32/64 where
torch has them), bool, float8_e4m3fn and float8_e5m2 (torch >= 2.1): the dtypes safetensors
names and fastserde maps. Others (complex, quantized, float8 "fnuz" variants) raise TypeError.

CUDA tensors, through the C library and a context of their device (blocking both ways):
`dumps` of CUDA tensors all on one device packs them on their GPU, on `stream`, and carries
the bytes through the context's pinned ring into the frame (fsd_frame_write); a frame of host
and CUDA tensors, or of several devices, copies the CUDA ones to the host first (`t.cpu()`).
`loads(..., device="cuda:N")` makes each tensor on the device (fsd_frame_read_new: carried
through the context's pinned ring, verified by the CPU copies into it; its memory from the
context's pool, freed in stream order when torch drops it, as from_bytes' tensors). The bytes
and the tensors are those of the host path; each host byte is read once either way.

Errors: a frame that fails its checks (a truncated frame, a header that does not parse or
offsets that do not cover the data exactly, a checksum that does not match) raises
fastserde.CorruptFrameError (a ValueError and a FastSerdeError, status FSD_ERROR_CORRUPT);
other refusals of the C library raise FastSerdeError; bad arguments TypeError or ValueError
before the library sees them.
"""
import ctypes
import warnings
from collections.abc import Mapping

import torch

from . import _args, _dlpack, _lib
from ._buffers import HostBytes
from ._context import using
from ._serde import SMALL_HOST_BYTES, _new_bytes, advise_huge

__all__ = ["dumps", "loads", "metadata", "CorruptFrameError"]

CorruptFrameError = _lib.CorruptFrameError

_CPU = torch.device("cpu")
_FASTSERDE_PREFIX = "fastserde."
_INT64_MAX = (1 << 63) - 1


def _frame_dtypes():
    """torch dtype -> (DLPack code, bits) for every dtype a frame holds and this torch has."""
    named = {
        "float64": (_lib.kDLFloat, 64), "float32": (_lib.kDLFloat, 32),
        "float16": (_lib.kDLFloat, 16), "bfloat16": (_lib.kDLBfloat, 16),
        "int64": (_lib.kDLInt, 64), "int32": (_lib.kDLInt, 32), "int16": (_lib.kDLInt, 16),
        "int8": (_lib.kDLInt, 8), "uint64": (_lib.kDLUInt, 64), "uint32": (_lib.kDLUInt, 32),
        "uint16": (_lib.kDLUInt, 16), "uint8": (_lib.kDLUInt, 8), "bool": (_lib.FSD_DL_BOOL, 8),
        "float8_e4m3fn": (_lib.FSD_DL_FLOAT8_E4M3FN, 8),
        "float8_e5m2": (_lib.FSD_DL_FLOAT8_E5M2, 8),
    }
    out = {}
    for name, code in named.items():
        dtype = getattr(torch, name, None)
        if isinstance(dtype, torch.dtype):
            out[dtype] = code
    return out, named


TO_DL, _BY_NAME = _frame_dtypes()
FROM_DL = {code: dtype for dtype, code in TO_DL.items()}
_DL_NAMES = {code: name for name, code in _BY_NAME.items()}


def _dl_type(name, dtype):
    code = TO_DL.get(dtype)
    if code is None:
        raise TypeError(f"fastserde.frames: tensor {name!r} has dtype {dtype}, which a frame "
                        f"cannot hold (supported: "
                        f"{', '.join(str(d).replace('torch.', '') for d in TO_DL)})")
    return _lib.DLDataType(code[0], code[1], 1)


def _torch_dtype(name, dl):
    key = (dl.code, dl.bits)
    dtype = FROM_DL.get(key) if dl.lanes == 1 else None
    if dtype is None:
        what = _DL_NAMES.get(key) if dl.lanes == 1 else None
        if what:
            raise TypeError(f"fastserde.frames: tensor {name!r} is {what}, and torch "
                            f"{torch.__version__} has no torch.{what}")
        raise TypeError(f"fastserde.frames: tensor {name!r} has DLPack type (code {dl.code}, "
                        f"bits {dl.bits}, lanes {dl.lanes}), which no torch dtype matches")
    return dtype


def _utf8(what, s):
    """`s` as NUL-free UTF-8 bytes for C (ctypes would cut a str at its first NUL)."""
    if not isinstance(s, str):
        raise TypeError(f"fastserde.frames: {what} must be a str, not {type(s).__name__}")
    if "\0" in s:
        raise ValueError(f"fastserde.frames: {what} {s!r} contains a NUL character")
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"fastserde.frames: {what} {s!r} is not valid UTF-8 ({e.reason})") from None


def _export(name, t, direct):
    """(keepalive, DLTensor) of tensor `t` (any strides) with the frame's dtype: a CUDA tensor
    as it is when `direct` (the C library writes it), else copied to the host first."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"fastserde.frames: tensor {name!r} must be a torch.Tensor, not "
                        f"{type(t).__name__}")
    if t.is_quantized:
        raise TypeError(f"fastserde.frames: tensor {name!r} is quantized ({t.dtype}): a frame "
                        f"holds no scale or zero point; store t.int_repr() and the parameters")
    dl_type = _dl_type(name, t.dtype)
    if t.device.type == "cuda":
        if not direct:
            t = t.cpu()  # a frame of host and CUDA tensors, or of several GPUs (module doc)
    elif t.device.type != "cpu":
        raise ValueError(f"fastserde.frames: tensor {name!r} is on {t.device}; only cpu and "
                         f"cuda tensors are written")
    keep, ptr = _dlpack.borrow(_dlpack.readable(t))
    dl = _lib.DLTensor.from_buffer_copy(ptr.contents)  # shape/strides still torch's: kept
    dl.dtype = dl_type
    return (keep, dl), dl


def _one_cuda_device(devices):
    """The CUDA device when every one of `devices` (at least one; None for a non-tensor) is
    that one CUDA device: fsd_frame_write then writes the tensors itself. Else None."""
    devices = set(devices)
    if len(devices) != 1:
        return None
    (device,) = devices
    return device if device is not None and device.type == "cuda" else None


def _stream_arg(stream):
    """`stream` checked before any work: None, a torch.cuda.Stream, or an int handle."""
    if stream is None or isinstance(stream, torch.cuda.Stream):
        return stream
    if isinstance(stream, bool) or not isinstance(stream, int):
        raise TypeError(f"fastserde.frames: stream must be None, a torch.cuda.Stream or an "
                        f"int handle, not {type(stream).__name__}")
    _args.integer("stream", stream, 0, _args.UINTPTR_MAX)
    return stream


def _synchronize(stream):
    """Waits for what is enqueued on `stream` (a torch.cuda.Stream or an int handle)."""
    if isinstance(stream, int):
        stream = torch.cuda.ExternalStream(stream)
    stream.synchronize()


def _options(meta, checksum, kv_layout, kv_tokens):
    """(keepalive, FrameOptions) from dumps' arguments, checked."""
    if not isinstance(checksum, bool):
        raise TypeError(f"fastserde.frames: checksum must be True or False, not {checksum!r}")
    o = _lib.FrameOptions.make()
    o.checksum = _lib.FSD_FRAME_CHECKSUM_XXH3_1K if checksum else _lib.FSD_FRAME_CHECKSUM_NONE
    keep = []
    if kv_layout is not None:
        b = _utf8("kv_layout", kv_layout)
        if not 1 <= len(b) <= 64 or not all(0x20 <= c <= 0x7E for c in b):
            raise ValueError(f"fastserde.frames: kv_layout {kv_layout!r} must be 1 to 64 "
                             f"printable ASCII characters")
        o.kv_layout = b
        keep.append(b)
    if kv_tokens is not None:
        o.kv_tokens = _args.integer("kv_tokens", kv_tokens, 0, _INT64_MAX)
    if meta is not None:
        if not isinstance(meta, Mapping):
            raise TypeError(f"fastserde.frames: metadata must be a dict of str to str, not "
                            f"{type(meta).__name__}")
        pairs = (_lib.FramePair * max(len(meta), 1))()
        for i, (k, v) in enumerate(meta.items()):
            kb, vb = _utf8("a metadata key", k), _utf8(f"metadata[{k!r}]", v)
            if k.startswith(_FASTSERDE_PREFIX):
                raise ValueError(f"fastserde.frames: metadata key {k!r}: keys starting with "
                                 f"{_FASTSERDE_PREFIX!r} are fastserde's own (use kv_layout=, "
                                 f"kv_tokens=)")
            pairs[i] = _lib.FramePair(kb, vb)
            keep.append((kb, vb))
        o.metadata = pairs
        o.metadata_count = len(meta)
        keep.append(pairs)
    return keep, o


def dumps(tensors, metadata=None, *, checksum=True, kv_layout=None, kv_tokens=None, ctx=None,
          stream=None):
    """The frame of `tensors` as bytes: a safetensors file with a checksum per tensor.

    tensors    dict of name (a str, not "__metadata__") -> torch.Tensor, any strides;
               written in the dict's order, each packed row-major in one pass straight into
               the returned bytes (allocated once, at the frame's exact size).
    metadata   optional dict of str -> str, stored in `__metadata__` (keys must not start with
               "fastserde.").
    checksum   True: a checksum per tensor ("xxh3-1k"), computed while packing; False: none
               (the plain pack's speed; loads then has nothing to verify).
    kv_layout  optional tag of what the tensors are, e.g. "KV_2LTD" (1-64 printable ASCII
               characters), stored as fastserde.kv_layout.
    kv_tokens  optional token count of a KV chunk (an int >= 0), stored as fastserde.kv_tokens.
    ctx        the Context whose CPU threads copy (default: the default context for frames of
               1 MiB and more, else the calling thread); for CUDA tensors of one device, a
               Context of that device, whose pinned ring carries the bytes (default: that
               device's default context).
    stream     CUDA tensors: the work starts after what is already enqueued on `stream` (a
               torch.cuda.Stream or an int handle; default: the device's current stream), as
               to_bytes'. Ignored when every tensor is on the host.
    CUDA tensors, all on one device: packed by their GPU on `stream` and carried through the
    context's pinned ring into the bytes (fsd_frame_write; blocking, the bytes in place on
    return). Host and CUDA tensors together, or CUDA tensors of several devices: the CUDA
    ones are copied to the host first (t.cpu(), after `stream` is synchronized when given).
    The bytes are the same either way. TypeError for a dtype a frame cannot hold, a
    non-tensor or a bad stream; ValueError for a bad name or argument.
    """
    if not isinstance(tensors, Mapping):
        raise TypeError(f"fastserde.frames.dumps: tensors must be a dict of name -> tensor, "
                        f"not {type(tensors).__name__}")
    keep_opts, opts = _options(metadata, checksum, kv_layout, kv_tokens)
    stream = _stream_arg(stream)
    device = _one_cuda_device(t.device if isinstance(t, torch.Tensor) else None
                              for t in tensors.values())
    if device is None and stream is not None and any(
            isinstance(t, torch.Tensor) and t.device.type == "cuda" for t in tensors.values()):
        _synchronize(stream)  # the .cpu() copies run on the current streams
    count = len(tensors)
    entries = (_lib.FrameTensor * max(count, 1))()
    keep = []
    for i, (name, t) in enumerate(tensors.items()):
        nb = _utf8("a tensor name", name)
        if len(nb) > 65535 or name == "__metadata__":
            raise ValueError(f"fastserde.frames.dumps: tensor name {name[:40]!r} is not "
                             f"allowed (over 65535 bytes, or safetensors' own "
                             f"\"__metadata__\")")
        hold, dl = _export(name, t, device is not None)
        keep.append((nb, hold))
        entries[i] = _lib.FrameTensor(nb, ctypes.pointer(dl))
    lib = _lib.load()
    n = ctypes.c_size_t()
    _lib.check(lib.fsd_frame_size(entries, count, ctypes.byref(opts), ctypes.byref(n)),
               "fsd_frame_size")
    out, addr = _new_bytes(n.value)
    if device is not None:  # through the device's context: its ring reaches pageable memory
        handle = _args.stream_handle(device, stream)
        with using(device, ctx) as h:
            _lib.check(lib.fsd_frame_write(h, entries, count, ctypes.byref(opts), addr,
                                           n.value, handle), "fsd_frame_write")
    elif ctx is None and n.value < SMALL_HOST_BYTES:
        _lib.check(lib.fsd_frame_write(None, entries, count, ctypes.byref(opts), addr, n.value,
                                       None), "fsd_frame_write")
    else:
        with using(_CPU, ctx) as h:
            _lib.check(lib.fsd_frame_write(h, entries, count, ctypes.byref(opts), addr,
                                           n.value, None), "fsd_frame_write")
    del keep, keep_opts
    return out


class _Open:
    """`with _Open(data) as (frame handle, summary):` a parsed frame over `data`'s bytes."""
    __slots__ = ("host", "frame")

    def __init__(self, data):
        self.host = HostBytes(data)
        self.frame = None

    def __enter__(self):
        addr, n = self.host.__enter__()
        try:
            frame = ctypes.c_void_p()
            lib = _lib.load()
            _lib.check(lib.fsd_frame_open(addr, n, ctypes.byref(frame)), "fsd_frame_open")
            self.frame = frame
            summary = _lib.FrameSummary()
            _lib.check(lib.fsd_frame_describe(frame, ctypes.byref(summary)),
                       "fsd_frame_describe")
            return frame, summary
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        if self.frame is not None:
            _lib.load().fsd_frame_close(self.frame)
            self.frame = None
        self.host.__exit__()


def _pairs(frame, summary):
    lib = _lib.load()
    k, v = ctypes.c_char_p(), ctypes.c_char_p()
    out = {}
    for i in range(summary.metadata):
        _lib.check(lib.fsd_frame_metadata(frame, i, ctypes.byref(k), ctypes.byref(v)),
                   "fsd_frame_metadata")
        out[k.value.decode("utf-8")] = v.value.decode("utf-8")
    return out


def metadata(data, *, include_fastserde=False):
    """The `__metadata__` pairs of frame `data` (any safetensors file), as a dict of str; only
    the header is read (no tensor's bytes, no checksum of theirs). fastserde's own pairs
    (keys starting with "fastserde.": the format, the checksums, kv_layout, kv_tokens) are
    left out unless `include_fastserde`. CorruptFrameError for a header that fails its checks
    (fastserde's metadata has its own checksum, checked here)."""
    with _Open(data) as (frame, summary):
        pairs = _pairs(frame, summary)
    if include_fastserde:
        return pairs
    return {k: v for k, v in pairs.items() if not k.startswith(_FASTSERDE_PREFIX)}


def loads(data, device="cpu", verify=True, *, copy=True, ctx=None):
    """The tensors of frame `data` as a dict of name -> compact tensor, in the frame's order.

    data     the frame: any object with the buffer protocol (bytes, bytearray, memoryview,
             mmap, numpy arrays), read in place (a C-contiguous buffer is not copied first),
             holding exactly one frame; or any safetensors file's bytes.
    device   "cpu", or a CUDA device ("cuda", "cuda:N", torch.device): each tensor made on it
             by fsd_frame_read_new (copy=True only) with that device's context (`ctx`):
             carried through the context's pinned ring into memory from the context's pool,
             verified by the copies into the ring (one pass); blocking. The tensors' memory is freed in stream
             order when torch drops them, as from_bytes' tensors are.
    verify   True: every tensor with a checksum is checked in the same pass that copies it;
             False: not checked (the header and its metadata checksum always are).
    copy     True: each tensor is a new tensor holding a copy. False (device "cpu" only): each
             tensor shares data's memory, as torch.frombuffer (LMCache's FastDeserializer)
             does: no copy, the tensor keeps `data` alive, and writing to one writes to the
             other; with verify, every checksum is checked first, in one read of the bytes.
             `data` must then be a C-contiguous buffer-protocol object or a contiguous CPU
             uint8 tensor.
    ctx      the Context whose CPU threads copy or verify (default: the default context for
             tensors of 1 MiB and more, else the calling thread); for a CUDA device, a Context
             of that device (default: its default context).
    CorruptFrameError when the frame fails a check (no tensor is returned); TypeError for a
    tensor whose dtype this torch lacks (float8 before torch 2.1, uint16/32/64 before 2.3).
    """
    if not isinstance(verify, bool):
        raise TypeError(f"fastserde.frames.loads: verify must be True or False, not {verify!r}")
    device = _args.torch_device("device", device)
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"fastserde.frames.loads: device {device} is neither cpu nor cuda")
    if not isinstance(copy, bool):
        raise TypeError(f"fastserde.frames.loads: copy must be True or False, not {copy!r}")
    if not copy:
        if device.type != "cpu":
            raise ValueError("fastserde.frames.loads: copy=False shares the frame's host memory; "
                             f"device must be cpu, not {device}")
        return _loads_shared(data, verify, ctx)
    lib = _lib.load()
    out = {}
    with _Open(data) as (frame, summary):
        info = _lib.FrameInfo()
        plan = []
        for i in range(summary.tensors):
            _lib.check(lib.fsd_frame_tensor_info(frame, i, ctypes.byref(info)),
                       "fsd_frame_tensor_info")
            name = info.name.decode("utf-8")
            shape = tuple(info.shape[d] for d in range(info.ndim))
            plan.append((name, _torch_dtype(name, info.dtype), shape, info.nbytes,
                         _lib.DLDataType(info.dtype.code, info.dtype.bits, 1)))
        if device.type == "cuda":
            return _read_new_cuda(frame, plan, device, verify, ctx)
        for i, (name, dtype, shape, nbytes, dl_type) in enumerate(plan):
            t = torch.empty(shape, dtype=dtype)
            advise_huge(t.data_ptr(), nbytes)  # before its pages are first written
            keep, ptr = _dlpack.borrow(_dlpack.readable(t))
            dl = _lib.DLTensor.from_buffer_copy(ptr.contents)
            dl.dtype = dl_type
            if ctx is None and nbytes < SMALL_HOST_BYTES:
                status = lib.fsd_frame_read(None, frame, i, ctypes.byref(dl), int(verify), None)
            else:
                with using(_CPU, ctx) as h:
                    status = lib.fsd_frame_read(h, frame, i, ctypes.byref(dl), int(verify), None)
            _lib.check(status, "fsd_frame_read")
            del keep
            out[name] = t
    return out


def _read_new_cuda(frame, plan, device, verify, ctx):
    """loads' tensors on CUDA device `device`, each made by fsd_frame_read_new and handed to
    torch as from_bytes hands fsd_from_bytes' tensors (_dlpack.adopt: torch owns it, and its
    deleter frees the memory in stream order)."""
    lib = _lib.load()
    dev = _dlpack.dl_device(device)
    device = torch.device("cuda", dev.device_id)  # "cuda": the current device, as dl_device
    out = {}
    for i, (name, dtype, _shape, _nbytes, _dl_type) in enumerate(plan):
        made = ctypes.POINTER(_lib.DLManagedTensor)()
        with using(device, ctx) as h:
            _lib.check(lib.fsd_frame_read_new(h, frame, i, dev, int(verify), ctypes.byref(made)),
                       "fsd_frame_read_new")
        # the entry's DLPack type (bool, float8, ... codes that torch's import may not know)
        # as the type torch imports for `dtype`, viewed back below, as from_bytes does
        made.contents.dl_tensor.dtype = _dlpack.dl_dtype(dtype)
        t = _dlpack.adopt(ctypes.cast(made, ctypes.c_void_p).value)
        out[name] = t if t.dtype == dtype else t.view(dtype)
    return out


def _shared_buffer(data):
    """data as a 1-D byte buffer torch.frombuffer reads in place."""
    if isinstance(data, torch.Tensor):
        if data.device.type != "cpu" or data.dtype != torch.uint8 or not data.is_contiguous():
            raise TypeError("fastserde.frames.loads: copy=False needs a contiguous CPU uint8 "
                            f"tensor, not a {data.dtype} tensor on {data.device}"
                            f"{'' if data.is_contiguous() else ' with strides'}")
        return data.reshape(-1).numpy()
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError("fastserde.frames.loads: copy=False needs an object with the buffer "
                        f"protocol, not {type(data).__name__}") from None
    if not view.c_contiguous:
        raise TypeError("fastserde.frames.loads: copy=False needs a C-contiguous buffer")
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _loads_shared(data, verify, ctx):
    """loads(copy=False): the frame checked (header always, checksums when verify), then one
    torch.frombuffer view of data per tensor."""
    buf = _shared_buffer(data)
    lib = _lib.load()
    views = []
    with _Open(data) as (frame, summary):
        info = _lib.FrameInfo()
        for i in range(summary.tensors):
            _lib.check(lib.fsd_frame_tensor_info(frame, i, ctypes.byref(info)),
                       "fsd_frame_tensor_info")
            name = info.name.decode("utf-8")
            shape = tuple(info.shape[d] for d in range(info.ndim))
            views.append((name, _torch_dtype(name, info.dtype), shape, info.offset, info.nbytes))
            if verify and info.has_checksum:
                if ctx is None and info.nbytes < SMALL_HOST_BYTES:
                    status = lib.fsd_frame_verify(None, frame, i)
                else:
                    with using(_CPU, ctx) as h:
                        status = lib.fsd_frame_verify(h, frame, i)
                _lib.check(status, "fsd_frame_verify")
    out = {}
    with warnings.catch_warnings():
        # bytes and other read-only buffers: torch warns that its tensor is writable, as it
        # does for LMCache's torch.frombuffer; the docstring says what sharing means
        warnings.simplefilter("ignore", UserWarning)
        for name, dtype, shape, offset, nbytes in views:
            if nbytes == 0:
                out[name] = torch.empty(shape, dtype=dtype)
            else:
                count = nbytes // torch.empty((), dtype=dtype).element_size()
                out[name] = torch.frombuffer(buf, dtype=dtype, count=count,
                                             offset=offset).view(shape)
    return out

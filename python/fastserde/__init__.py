"""fastserde — strided torch tensors (CPU or CUDA) to contiguous bytes and back, through
libfastserde's C ABI (ctypes over DLPack; no compile step).

    import fastserde
    b = fastserde.to_bytes(t)                        # == t.contiguous().cpu().view(torch.uint8)
                                                     #        .numpy().tobytes()
    u = fastserde.from_bytes(b, t.dtype, "cuda")     # flat 1-D tensor, a copy of b
    p = fastserde.pack(t)                            # uint8 tensor on t's device
    fastserde.unpack(p, view)                        # bytes back into any non-aliasing view
    kv = fastserde.gather(layers, slots, 1, 2, order=(1, 0, 2, 3, 4))  # a paged KV chunk
    fastserde.scatter(kv, layers, slots, 1, 2, order=(1, 0, 2, 3, 4)) # and back

Frames (safetensors files with a checksum per tensor): `fastserde.frames.dumps(tensors)`,
`fastserde.frames.loads(data)`; CorruptFrameError for a frame that fails its checks.

LMCache users: `from fastserde.lmcache import FastSerializer, FastDeserializer`.

Install: `pip install .` at the repository root puts libfastserde.so inside this package. The
library: $FASTSERDE_LIBRARY if set (an override), else libfastserde.so(.0) beside this
package, else the system loader (LD_LIBRARY_PATH, ld.so.cache). Loaded on first use.

CUDA tensors: the work goes on the tensor's device, ordered by `stream` (default
torch.cuda.current_stream(device)), passed to C as a plain pointer. Errors from the C library
raise FastSerdeError with the status name and fsd_last_error()'s message. The module functions
use one default Context per device (see Context and default_context).
"""
from . import _lib
from ._context import Context, default_context
from ._lib import CorruptFrameError, FastSerdeError, library_path
# One module per part of the API; each re-exported here and listed in __all__.
from ._gather import gather, gather_runs, scatter
from ._serde import from_bytes, pack, packed_size, to_bytes, unpack
from . import frames  # noqa: E402  (after _serde, which it uses)

__all__ = ["FastSerdeError", "CorruptFrameError", "frames", "Context", "default_context", "library_path", "library_version",
           "packed_size", "pack", "unpack", "to_bytes", "from_bytes", "gather", "scatter",
           "gather_runs"]

__version__ = "0.1.0"


def library_version():
    """The loaded libfastserde's version, "major.minor.patch"."""
    v = _lib.load().fsd_version()
    return f"{v // 10000}.{v // 100 % 100}.{v % 100}"


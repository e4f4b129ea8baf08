"""ctypes binding of libfastserde: finding and loading the library, the C structs, prototypes,
and the mapping of status codes to FastSerdeError.

Only this module knows the C ABI. It is plain ctypes: no compiler, no extension module.
"""
import ctypes
import ctypes.util
import os
import threading

# ---------------------------------------------------------------------------------------------
# DLPack (the DLTensor layout is the same in DLPack 0.6 and 1.x)

kDLCPU, kDLCUDA, kDLCUDAHost, kDLCUDAManaged = 1, 2, 3, 13
kDLInt, kDLUInt, kDLFloat, kDLBfloat, kDLComplex, kDLBool = 0, 1, 2, 4, 5, 6


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),    # ndim dims
        ("strides", ctypes.POINTER(ctypes.c_int64)),  # in elements; NULL = compact row-major
        ("byte_offset", ctypes.c_uint64),
    ]


DLTensorPtr = ctypes.POINTER(DLTensor)

# void (*deleter)(DLManagedTensor *self)
DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


# ---------------------------------------------------------------------------------------------
# fastserde.h

STATUS_NAMES = {
    0: "FSD_SUCCESS",
    1: "FSD_ERROR_INVALID_ARGUMENT",
    2: "FSD_ERROR_UNSUPPORTED",
    3: "FSD_ERROR_SIZE_MISMATCH",
    4: "FSD_ERROR_OVERFLOW",
    5: "FSD_ERROR_ALIASING",
    6: "FSD_ERROR_NO_GPU",
    7: "FSD_ERROR_CUDA",
    8: "FSD_ERROR_OUT_OF_MEMORY",
    9: "FSD_ERROR_INTERNAL",
    10: "FSD_ERROR_CORRUPT",
}
FSD_ERROR_CORRUPT = 10

FSD_CONFIG_MAGIC = 0x46534443
FSD_CONFIG_VERSION = 1
ABI_MAJOR = 0  # the soname's major version this binding speaks

ALLOC_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t,
                            ctypes.c_int)
FREE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int)


class Allocator(ctypes.Structure):
    _fields_ = [("alloc", ALLOC_FN), ("free", FREE_FN), ("user", ctypes.c_void_p)]


class ContextConfig(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("magic", ctypes.c_uint32),
        ("version", ctypes.c_uint32),
        ("device", ctypes.c_int),
        ("chunk_bytes", ctypes.c_size_t),
        ("chunks", ctypes.c_int),
        ("cpu_threads", ctypes.c_int),
        ("allocator", Allocator),
    ]

    @classmethod
    def default(cls):
        """FSD_CONTEXT_CONFIG_INIT."""
        c = cls()
        c.size = ctypes.sizeof(cls)
        c.magic = FSD_CONFIG_MAGIC
        c.version = FSD_CONFIG_VERSION
        c.device = -1
        return c


class ContextUsage(ctypes.Structure):
    _fields_ = [
        ("pinned_bytes", ctypes.c_size_t),
        ("device_bytes", ctypes.c_size_t),
        ("chunk_bytes", ctypes.c_size_t),
        ("chunks", ctypes.c_int),
        ("cpu_threads", ctypes.c_int),
        ("device", ctypes.c_int),
    ]


class KvLayout(ctypes.Structure):
    """fsd_kv_layout (fastserde.h)."""
    _fields_ = [("layer", DLTensor), ("block_dim", ctypes.c_int), ("offset_dim", ctypes.c_int),
                ("layer_ptrs", ctypes.POINTER(DLTensor))]


FSD_GATHER_OPTIONS_MAGIC = 0x46534447
FSD_GATHER_OPTIONS_VERSION = 1
FSD_ENGINES = {"auto": 0, "kernel": 1, "copy": 2}


class GatherOptions(ctypes.Structure):
    """fsd_gather_options (fastserde.h); GatherOptions.make() is FSD_GATHER_OPTIONS_INIT."""
    _fields_ = [("size", ctypes.c_size_t), ("magic", ctypes.c_uint32), ("version", ctypes.c_uint32),
                ("engine", ctypes.c_int), ("max_blocks", ctypes.c_int), ("context", ctypes.c_void_p),
                ("invalid_slots", ctypes.c_void_p)]

    @classmethod
    def make(cls):
        return cls(ctypes.sizeof(cls), FSD_GATHER_OPTIONS_MAGIC, FSD_GATHER_OPTIONS_VERSION, 0, 0,
                   None, None)


# Frames (fastserde.h, "Frames")

FSD_DL_BOOL, FSD_DL_FLOAT8_E4M3FN, FSD_DL_FLOAT8_E5M2 = 6, 10, 12
FSD_FRAME_OPTIONS_MAGIC = 0x46534446
FSD_FRAME_OPTIONS_VERSION = 1
FSD_FRAME_CHECKSUM_XXH3_1K, FSD_FRAME_CHECKSUM_NONE = 0, 1


class FrameTensor(ctypes.Structure):
    """fsd_frame_tensor."""
    _fields_ = [("name", ctypes.c_char_p), ("tensor", ctypes.POINTER(DLTensor))]


class FramePair(ctypes.Structure):
    """fsd_frame_pair."""
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class FrameOptions(ctypes.Structure):
    """fsd_frame_options; FrameOptions.make() is FSD_FRAME_OPTIONS_INIT."""
    _fields_ = [("size", ctypes.c_size_t), ("magic", ctypes.c_uint32), ("version", ctypes.c_uint32),
                ("checksum", ctypes.c_int), ("kv_layout", ctypes.c_char_p),
                ("kv_tokens", ctypes.c_int64), ("metadata", ctypes.POINTER(FramePair)),
                ("metadata_count", ctypes.c_size_t)]

    @classmethod
    def make(cls):
        return cls(ctypes.sizeof(cls), FSD_FRAME_OPTIONS_MAGIC, FSD_FRAME_OPTIONS_VERSION,
                   FSD_FRAME_CHECKSUM_XXH3_1K, None, -1, None, 0)


class FrameSummary(ctypes.Structure):
    """fsd_frame_summary."""
    _fields_ = [("tensors", ctypes.c_size_t), ("metadata", ctypes.c_size_t),
                ("header_bytes", ctypes.c_size_t), ("data_bytes", ctypes.c_size_t),
                ("fastserde", ctypes.c_int), ("checksums", ctypes.c_int),
                ("kv_layout", ctypes.c_char_p), ("kv_tokens", ctypes.c_int64)]


class FrameInfo(ctypes.Structure):
    """fsd_frame_info."""
    _fields_ = [("name", ctypes.c_char_p), ("dtype", DLDataType), ("ndim", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("offset", ctypes.c_size_t),
                ("nbytes", ctypes.c_size_t), ("has_checksum", ctypes.c_int)]


class CopyRun(ctypes.Structure):
    """fsd_copy_run (fastserde.h)."""
    _fields_ = [("dst", ctypes.c_void_p), ("src", ctypes.c_void_p), ("bytes", ctypes.c_size_t)]


class FastSerdeError(RuntimeError):
    """An error reported by libfastserde.

    Attributes:
        status    the fsd_status code (int; the values are pinned by the C library)
        name      its name, e.g. "FSD_ERROR_SIZE_MISMATCH"
        message   the detailed message from fsd_last_error() (may be empty)
        function  the C function that failed, e.g. "fsd_from_bytes"
    """

    def __init__(self, status, message="", function=""):
        self.status = int(status)
        self.name = STATUS_NAMES.get(self.status, f"FSD_ERROR_UNKNOWN({self.status})")
        self.message = message
        self.function = function
        text = f"{self.name}: {message}" if message else self.name
        super().__init__(f"{function}: {text}" if function else text)


class CorruptFrameError(FastSerdeError, ValueError):
    """A frame that fails its checks (FSD_ERROR_CORRUPT): a header that does not parse, offsets
    that do not cover the data exactly, a truncated frame, or a checksum that does not match
    the bytes. A FastSerdeError (status 10) and a ValueError."""


# ---------------------------------------------------------------------------------------------
# Loading

_lock = threading.Lock()
_lib = None
_lib_path = None


def _candidates():
    """Where the library is looked for, in order (see find_library)."""
    env = os.environ.get("FASTSERDE_LIBRARY")
    if env:
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [os.path.join(here, name) for name in ("libfastserde.so", "libfastserde.so.0")]
    paths = [p for p in paths if os.path.exists(p)]
    paths.append("libfastserde.so.0")  # the system loader: LD_LIBRARY_PATH, ld.so.cache
    found = ctypes.util.find_library("fastserde")
    if found:
        paths.append(found)
    return paths, False


def _declare(lib):
    c_int, c_size_t, c_void_p = ctypes.c_int, ctypes.c_size_t, ctypes.c_void_p
    P = DLTensorPtr
    protos = {
        "fsd_version": (ctypes.c_uint, []),
        "fsd_status_string": (ctypes.c_char_p, [c_int]),
        "fsd_last_error": (c_size_t, [ctypes.c_char_p, c_size_t]),
        "fsd_packed_size": (c_int, [P, ctypes.POINTER(c_size_t)]),
        "fsd_pack": (c_int, [P, c_void_p, c_size_t, c_void_p]),
        "fsd_unpack": (c_int, [c_void_p, c_size_t, P, c_void_p]),
        "fsd_context_create": (c_int, [ctypes.POINTER(c_void_p), ctypes.POINTER(ContextConfig)]),
        "fsd_context_destroy": (None, [c_void_p]),
        "fsd_context_memory": (c_int, [c_void_p, ctypes.POINTER(ContextUsage)]),
        "fsd_pack_to_host": (c_int, [c_void_p, P, c_void_p, c_size_t, c_void_p]),
        "fsd_unpack_from_host": (c_int, [c_void_p, c_void_p, c_size_t, P, c_void_p]),
        "fsd_to_bytes": (c_int, [c_void_p, P, ctypes.POINTER(c_void_p), ctypes.POINTER(c_size_t)]),
        "fsd_bytes_free": (None, [c_void_p]),
        "fsd_from_bytes": (c_int, [c_void_p, c_void_p, c_size_t, DLDataType, DLDevice,
                                   ctypes.POINTER(ctypes.POINTER(DLManagedTensor))]),
        "fsd_gather_size": (c_int, [ctypes.POINTER(KvLayout), P, ctypes.POINTER(c_size_t)]),
        "fsd_gather": (c_int, [ctypes.POINTER(KvLayout), P, ctypes.POINTER(c_int), c_void_p,
                               c_size_t, ctypes.POINTER(GatherOptions), c_void_p]),
        "fsd_scatter": (c_int, [c_void_p, c_size_t, ctypes.POINTER(KvLayout), P,
                                ctypes.POINTER(c_int), ctypes.POINTER(GatherOptions), c_void_p]),
        "fsd_gather_runs": (c_int, [ctypes.POINTER(KvLayout), P, ctypes.POINTER(c_int), c_int,
                                    c_void_p, ctypes.POINTER(CopyRun), c_size_t,
                                    ctypes.POINTER(c_size_t)]),
        "fsd_frame_size": (c_int, [ctypes.POINTER(FrameTensor), c_size_t,
                                   ctypes.POINTER(FrameOptions), ctypes.POINTER(c_size_t)]),
        "fsd_frame_write": (c_int, [c_void_p, ctypes.POINTER(FrameTensor), c_size_t,
                                    ctypes.POINTER(FrameOptions), c_void_p, c_size_t, c_void_p]),
        "fsd_frame_open": (c_int, [c_void_p, c_size_t, ctypes.POINTER(c_void_p)]),
        "fsd_frame_close": (None, [c_void_p]),
        "fsd_frame_describe": (c_int, [c_void_p, ctypes.POINTER(FrameSummary)]),
        "fsd_frame_tensor_info": (c_int, [c_void_p, c_size_t, ctypes.POINTER(FrameInfo)]),
        "fsd_frame_metadata": (c_int, [c_void_p, c_size_t, ctypes.POINTER(ctypes.c_char_p),
                                       ctypes.POINTER(ctypes.c_char_p)]),
        "fsd_frame_verify": (c_int, [c_void_p, c_void_p, c_size_t]),
        "fsd_frame_read": (c_int, [c_void_p, c_void_p, c_size_t, P, c_int, c_void_p]),
        "fsd_frame_read_new": (c_int, [c_void_p, c_void_p, c_size_t, DLDevice, c_int,
                                       ctypes.POINTER(ctypes.POINTER(DLManagedTensor))]),
    }
    for name, (restype, argtypes) in protos.items():
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = argtypes


def load():
    """The loaded library (loaded on first use). Raises OSError when it cannot be found."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        paths, from_env = _candidates()
        errors = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                errors.append(f"  {path}: {e}")
                continue
            _declare(lib)
            major = lib.fsd_version() // 10000
            if major != ABI_MAJOR:
                errors.append(f"  {path}: fastserde {lib.fsd_version()}, this package speaks "
                              f"major version {ABI_MAJOR}")
                continue
            _lib_path = getattr(lib, "_name", path)
            _lib = lib
            return lib
        how = ("FASTSERDE_LIBRARY is set" if from_env else
               "set FASTSERDE_LIBRARY to the path of libfastserde.so, or put it beside the "
               "fastserde package or on the loader's path")
        raise OSError("libfastserde could not be loaded (" + how + "); tried:\n" +
                      "\n".join(errors))


def library_path():
    """The path the library was loaded from (loads it if needed)."""
    load()
    return _lib_path


def last_error():
    """The calling thread's detailed message of its last fastserde call."""
    lib = load()
    n = lib.fsd_last_error(None, 0)
    buf = ctypes.create_string_buffer(n + 1)
    lib.fsd_last_error(buf, n + 1)
    return buf.value.decode("utf-8", "replace")


def check(status, function):
    """Raises FastSerdeError for a status other than FSD_SUCCESS. Call it right after the C
    call, on the same thread: the detailed message is per thread."""
    if status != 0:
        cls = CorruptFrameError if status == FSD_ERROR_CORRUPT else FastSerdeError
        raise cls(status, last_error(), function)

"""frames_ctypes — the frame API of libfastserde (fastserde.h, "Frames") through ctypes, for
the round-trip test with the `safetensors` package and for the fuzzer's seed script. Test
code only (the Python package gets its own frames API in phase B of issue 16).

    lib = Frames(path_to_libfastserde)
    data = lib.write([(name, numpy_array_or_view), ...], kv_layout=None, kv_tokens=-1,
                     metadata={}, checksum=True)           # bytes
    with lib.open(data) as f:                              # FrameReader
        f.summary(), f.metadata(), f.names(), f.read(i) -> numpy array, f.verify(i) -> status
"""
import ctypes

import numpy as np

SUCCESS, INVALID_ARGUMENT, UNSUPPORTED, SIZE_MISMATCH, OVERFLOW = 0, 1, 2, 3, 4
CORRUPT = 10
kDLCPU = 1
kDLInt, kDLUInt, kDLFloat, kDLBfloat, kDLBool, kF8E4M3FN, kF8E5M2 = 0, 1, 2, 4, 6, 10, 12


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.CFUNCTYPE(None, ctypes.c_void_p))]


class FrameTensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("tensor", ctypes.POINTER(DLTensor))]


class FramePair(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class FrameOptions(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("magic", ctypes.c_uint32), ("version", ctypes.c_uint32),
                ("checksum", ctypes.c_int), ("kv_layout", ctypes.c_char_p),
                ("kv_tokens", ctypes.c_int64), ("metadata", ctypes.POINTER(FramePair)),
                ("metadata_count", ctypes.c_size_t)]


class FrameSummary(ctypes.Structure):
    _fields_ = [("tensors", ctypes.c_size_t), ("metadata", ctypes.c_size_t),
                ("header_bytes", ctypes.c_size_t), ("data_bytes", ctypes.c_size_t),
                ("fastserde", ctypes.c_int), ("checksums", ctypes.c_int),
                ("kv_layout", ctypes.c_char_p), ("kv_tokens", ctypes.c_int64)]


class FrameInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", DLDataType), ("ndim", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("offset", ctypes.c_size_t),
                ("nbytes", ctypes.c_size_t), ("has_checksum", ctypes.c_int)]


# numpy dtype -> DLPack (code, bits). bf16 and fp8 have no numpy dtype: the tests give them as
# raw integers of the same size with an explicit DLPack type (write(..., dl_types=)).
NUMPY = {np.dtype(np.float64): (kDLFloat, 64), np.dtype(np.float32): (kDLFloat, 32),
         np.dtype(np.float16): (kDLFloat, 16), np.dtype(np.int64): (kDLInt, 64),
         np.dtype(np.int32): (kDLInt, 32), np.dtype(np.int16): (kDLInt, 16),
         np.dtype(np.int8): (kDLInt, 8), np.dtype(np.uint64): (kDLUInt, 64),
         np.dtype(np.uint32): (kDLUInt, 32), np.dtype(np.uint16): (kDLUInt, 16),
         np.dtype(np.uint8): (kDLUInt, 8), np.dtype(np.bool_): (kDLBool, 8)}
BY_CODE = {v: k for k, v in NUMPY.items()}


def dltensor(a, dl_type=None):
    """A DLTensor over numpy array `a` (any strides, in elements); keeps what it points to."""
    code, bits = dl_type if dl_type else NUMPY[a.dtype]
    shape = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
    strides = (ctypes.c_int64 * max(a.ndim, 1))(*[s // a.itemsize for s in a.strides])
    t = DLTensor(ctypes.c_void_p(a.__array_interface__["data"][0]), DLDevice(kDLCPU, 0), a.ndim,
                 DLDataType(code, bits, 1), shape, strides, 0)
    t._keep = (a, shape, strides)
    return t


class FrameError(Exception):
    def __init__(self, status, message):
        super().__init__(f"{message} (status {status})")
        self.status = status


class Frames:
    def __init__(self, path):
        lib = ctypes.CDLL(path)
        vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
        lib.fsd_frame_size.argtypes = [ctypes.POINTER(FrameTensor), sz, ctypes.POINTER(FrameOptions),
                                       ctypes.POINTER(sz)]
        lib.fsd_frame_write.argtypes = [vp, ctypes.POINTER(FrameTensor), sz,
                                        ctypes.POINTER(FrameOptions), vp, sz, vp]
        lib.fsd_frame_open.argtypes = [vp, sz, ctypes.POINTER(vp)]
        lib.fsd_frame_close.argtypes = [vp]
        lib.fsd_frame_close.restype = None
        lib.fsd_frame_describe.argtypes = [vp, ctypes.POINTER(FrameSummary)]
        lib.fsd_frame_tensor_info.argtypes = [vp, sz, ctypes.POINTER(FrameInfo)]
        lib.fsd_frame_metadata.argtypes = [vp, sz, ctypes.POINTER(ctypes.c_char_p),
                                           ctypes.POINTER(ctypes.c_char_p)]
        lib.fsd_frame_verify.argtypes = [vp, vp, sz]
        lib.fsd_frame_read.argtypes = [vp, vp, sz, ctypes.POINTER(DLTensor), i, vp]
        lib.fsd_last_error.argtypes = [ctypes.c_char_p, sz]
        lib.fsd_last_error.restype = sz
        for f in (lib.fsd_frame_size, lib.fsd_frame_write, lib.fsd_frame_open, lib.fsd_frame_describe,
                  lib.fsd_frame_tensor_info, lib.fsd_frame_metadata, lib.fsd_frame_verify,
                  lib.fsd_frame_read):
            f.restype = i
        self.lib = lib

    def error(self, status):
        buf = ctypes.create_string_buffer(512)
        self.lib.fsd_last_error(buf, 512)
        return FrameError(status, buf.value.decode(errors="replace"))

    def write(self, tensors, kv_layout=None, kv_tokens=-1, metadata=None, checksum=True,
              dl_types=None):
        """bytes of a frame of [(name, array)]; dl_types: {name: (code, bits)} overrides."""
        dl_types = dl_types or {}
        dls = [dltensor(a, dl_types.get(n)) for n, a in tensors]
        arr = (FrameTensor * max(len(tensors), 1))(
            *[FrameTensor(n.encode(), ctypes.pointer(t)) for (n, _), t in zip(tensors, dls)])
        pairs = list((metadata or {}).items())
        parr = (FramePair * max(len(pairs), 1))(*[FramePair(k.encode(), v.encode()) for k, v in pairs])
        o = FrameOptions(ctypes.sizeof(FrameOptions), 0x46534446, 1, 0 if checksum else 1,
                         kv_layout.encode() if kv_layout else None, kv_tokens,
                         parr if pairs else None, len(pairs))
        n = ctypes.c_size_t()
        s = self.lib.fsd_frame_size(arr, len(tensors), ctypes.byref(o), ctypes.byref(n))
        if s != SUCCESS:
            raise self.error(s)
        buf = ctypes.create_string_buffer(n.value)
        s = self.lib.fsd_frame_write(None, arr, len(tensors), ctypes.byref(o), buf, n.value, None)
        if s != SUCCESS:
            raise self.error(s)
        return buf.raw

    def open(self, data):
        return FrameReader(self, data)


class FrameReader:
    def __init__(self, frames, data):
        self.frames, self.lib = frames, frames.lib
        self.buf = ctypes.create_string_buffer(bytes(data), len(data))  # the frame's bytes, kept
        self.f = ctypes.c_void_p()
        s = self.lib.fsd_frame_open(self.buf, len(data), ctypes.byref(self.f))
        if s != SUCCESS:
            raise frames.error(s)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.f:
            self.lib.fsd_frame_close(self.f)
            self.f = ctypes.c_void_p()

    def summary(self):
        s = FrameSummary()
        self.lib.fsd_frame_describe(self.f, ctypes.byref(s))
        return s

    def metadata(self):
        out = {}
        for i in range(self.summary().metadata):
            k, v = ctypes.c_char_p(), ctypes.c_char_p()
            self.lib.fsd_frame_metadata(self.f, i, ctypes.byref(k), ctypes.byref(v))
            out[k.value.decode()] = v.value.decode()
        return out

    def info(self, i):
        info = FrameInfo()
        s = self.lib.fsd_frame_tensor_info(self.f, i, ctypes.byref(info))
        if s != SUCCESS:
            raise self.frames.error(s)
        return info

    def names(self):
        return [self.info(i).name.decode() for i in range(self.summary().tensors)]

    def verify(self, i):
        return self.lib.fsd_frame_verify(None, self.f, i)

    def read_into(self, i, out, dl_type=None, verify=1):
        """fsd_frame_read into numpy array `out` (any strides); returns the status."""
        t = dltensor(out, dl_type)
        return self.lib.fsd_frame_read(None, self.f, i, ctypes.byref(t), verify, None)

    def read(self, i, verify=1):
        """Tensor i as a new compact numpy array (raw integers for bf16 and fp8)."""
        info = self.info(i)
        key = (info.dtype.code, info.dtype.bits)
        np_type = BY_CODE.get(key) or np.dtype("u%d" % (info.dtype.bits // 8))
        out = np.empty(tuple(info.shape[d] for d in range(info.ndim)), dtype=np_type)
        s = self.read_into(i, out, key if key not in BY_CODE else None, verify)
        if s != SUCCESS:
            raise self.frames.error(s)
        return out

"""Host byte buffers handed to C: any object with the buffer protocol, read in place.

    with HostBytes(obj) as (address, nbytes): ...

The bytes of `obj` are those bytes(obj) would give (C order). A C-contiguous buffer (bytes,
bytearray, memoryview, array.array, mmap, numpy arrays, ...) is read where it lies, through
PyObject_GetBuffer, and held exported until the block ends (a bytearray cannot be resized
meanwhile). A buffer that is not C-contiguous (a Fortran-order or strided numpy array, a
memoryview with steps) is first copied into C order, as bytes(obj) would. A contiguous CPU
torch tensor is read at data_ptr() (its bytes; conjugate/negative views and quantized tensors
are resolved as pack does).
"""
import ctypes

import torch

from . import _dlpack


class _PyBuffer(ctypes.Structure):
    # Py_buffer (Include/pybuffer.h), stable since Python 3.3.
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int),
                ("ndim", ctypes.c_int), ("format", ctypes.c_char_p),
                ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


# Private handles (not the shared ctypes.pythonapi attributes). PyDLL: the GIL is held, and a
# Python exception set by the call is raised (BufferError, TypeError).
_PyObject_GetBuffer = ctypes.pythonapi["PyObject_GetBuffer"]
_PyObject_GetBuffer.restype = ctypes.c_int
_PyObject_GetBuffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_PyBuffer_Release = ctypes.pythonapi["PyBuffer_Release"]
_PyBuffer_Release.restype = None
_PyBuffer_Release.argtypes = [ctypes.POINTER(_PyBuffer)]
_PyBUF_SIMPLE = 0  # a C-contiguous run of bytes, read-only allowed


class HostBytes:
    """`with HostBytes(obj) as (address, nbytes):` the bytes of `obj` (see the module doc).
    TypeError for objects without the buffer protocol; ValueError for a tensor that is not a
    contiguous CPU tensor."""

    __slots__ = ("obj", "view", "keep")

    def __init__(self, obj):
        self.obj = obj
        self.view = None
        self.keep = None

    def __enter__(self):
        obj = self.obj
        if isinstance(obj, torch.Tensor):
            if obj.device.type != "cpu" or not obj.is_contiguous():
                raise ValueError("fastserde: a host buffer tensor must be a contiguous CPU "
                                 "tensor")
            t = _dlpack.readable(obj)
            self.keep = t
            return t.data_ptr(), t.numel() * t.element_size()
        view = _PyBuffer()
        try:
            _PyObject_GetBuffer(obj, ctypes.byref(view), _PyBUF_SIMPLE)
        except (BufferError, ValueError):
            # not C-contiguous (numpy says ValueError): bytes(obj)'s bytes, in C order
            self.keep = obj = memoryview(obj).tobytes()
            _PyObject_GetBuffer(obj, ctypes.byref(view), _PyBUF_SIMPLE)
        except TypeError:
            raise TypeError(f"fastserde: expected a bytes-like object (the buffer protocol) "
                            f"or a contiguous CPU tensor, not {type(obj).__name__}") from None
        self.view = view
        return view.buf, view.len

    def __exit__(self, *exc):
        if self.view is not None:
            _PyBuffer_Release(ctypes.byref(self.view))
            self.view = None
        self.keep = None

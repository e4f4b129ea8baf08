"""torch tensors <-> DLPack for libfastserde.

readable(t) / writable(t): the tensor torch can export for a source / a destination (detached;
           conjugate, negative and quantized tensors handled; odd dtypes as same-size ints).
borrow(t): the DLTensor of torch's own export (torch.utils.dlpack.to_dlpack), kept alive by the
           returned capsule; fastserde reads or writes through it, never owns it.
adopt(p):  a DLManagedTensor* made by fsd_from_bytes, wrapped in a PyCapsule named "dltensor"
           and handed to torch.utils.dlpack.from_dlpack, which takes ownership and calls the
           deleter when the tensor is freed. A capsule that torch never consumed calls the
           deleter itself when it is collected; one that torch refused, at once.
"""
import ctypes

import torch
from torch.utils.dlpack import from_dlpack, to_dlpack

from . import _args, _lib

# Private handles on the C API functions (not the shared, cached ctypes.pythonapi attributes,
# whose argtypes other code may set). PyDLL: called with the GIL held.
_api = ctypes.pythonapi
_PyCapsule_Destructor = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_PyCapsule_New = _api["PyCapsule_New"]
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, _PyCapsule_Destructor]
_PyCapsule_GetPointer = _api["PyCapsule_GetPointer"]
_PyCapsule_GetPointer.restype = ctypes.c_void_p
_PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_PyCapsule_GetPointer_raw = _api["PyCapsule_GetPointer"]
_PyCapsule_GetPointer_raw.restype = ctypes.c_void_p
_PyCapsule_GetPointer_raw.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_PyCapsule_IsValid = _api["PyCapsule_IsValid"]
_PyCapsule_IsValid.restype = ctypes.c_int
_PyCapsule_IsValid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_PyCapsule_SetName = _api["PyCapsule_SetName"]
_PyCapsule_SetName.restype = ctypes.c_int
_PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]

_DLTENSOR = b"dltensor"  # module-level: the capsule's name must outlive it
_USED = b"used_dltensor"  # the name of a consumed capsule, whose destructor does nothing

# torch dtype -> DLPack (code, bits). Others (bool, and any dtype DLPack or torch's exporter
# does not know) travel as the unsigned/signed integer of the same size, viewed back.
DL_DTYPES = {
    torch.uint8: (_lib.kDLUInt, 8), torch.int8: (_lib.kDLInt, 8),
    torch.int16: (_lib.kDLInt, 16), torch.int32: (_lib.kDLInt, 32),
    torch.int64: (_lib.kDLInt, 64), torch.float16: (_lib.kDLFloat, 16),
    torch.bfloat16: (_lib.kDLBfloat, 16), torch.float32: (_lib.kDLFloat, 32),
    torch.float64: (_lib.kDLFloat, 64), torch.complex64: (_lib.kDLComplex, 64),
    torch.complex128: (_lib.kDLComplex, 128),
}
_SAME_SIZE_INT = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def element_size(dtype):
    return torch.empty((), dtype=dtype).element_size()


# Quantized dtypes whose elements are smaller than a byte: torch's element_size() says 1, but
# two (quint4x2) or four (quint2x4) elements share a byte, and `.view(torch.uint8)` of them
# reads past the storage. Refused.
_SUB_BYTE = frozenset(getattr(torch, n) for n in ("quint4x2", "quint2x4") if hasattr(torch, n))
_QUANTIZED = frozenset((torch.quint8, torch.qint8, torch.qint32)) | _SUB_BYTE


def is_quantized_dtype(dtype):
    try:
        return dtype in _QUANTIZED
    except TypeError:  # unhashable: not a dtype
        return False


def carrier_dtype(dtype):
    """The dtype fastserde sees for `dtype`: itself if DLPack-exportable, else a same-size int.
    Quantized dtypes have none (TypeError): their tensors travel as int_repr()."""
    if dtype in DL_DTYPES:
        return dtype
    if is_quantized_dtype(dtype):
        raise TypeError(f"fastserde: {dtype} is quantized: its bytes are its integer "
                        f"representation (t.int_repr()); make the tensor from_bytes with that "
                        f"integer dtype and quantize it with its scale and zero point")
    size = element_size(dtype)
    if size not in _SAME_SIZE_INT:
        raise TypeError(f"fastserde: dtype {dtype} ({size} bytes) has no DLPack form")
    return _SAME_SIZE_INT[size]


def dl_dtype(dtype):
    code, bits = DL_DTYPES[carrier_dtype(dtype)]
    return _lib.DLDataType(code, bits, 1)


def _tensor(t):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"fastserde: expected a torch.Tensor, got {type(t).__name__}")
    if t.layout is not torch.strided or t.is_nested:
        raise TypeError(f"fastserde: expected a strided tensor, got a {t.layout} "
                        f"{'nested ' if t.is_nested else ''}tensor")
    return t.detach() if t.requires_grad else t  # to_dlpack refuses tensors requiring grad


def readable(t):
    """The tensor whose memory holds `t`'s row-major bytes, as t.contiguous().view(torch.uint8)
    would read them: detached; conjugate/negative bits resolved (a copy, as .contiguous()
    makes); a quantized tensor as its integer representation (int_repr(), a copy: the bytes
    LMCache's to_bytes gives); odd dtypes viewed as the same-size integer. Same strides
    otherwise, over the same memory."""
    t = _tensor(t)
    if t.is_quantized:
        if t.dtype in _SUB_BYTE:
            raise TypeError(f"fastserde: {t.dtype} packs several elements per byte: not "
                            f"supported (t.int_repr() gives its bytes)")
        t = t.int_repr()
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    carrier = carrier_dtype(t.dtype)
    return t if carrier is t.dtype else t.view(carrier)


def writable(t):
    """(w, fixups) for a destination tensor `t`: `w` is a view of t's own memory (same shape and
    strides, never a copy) without conjugate/negative bits, to receive the bytes; calling each
    of `fixups` on `w` afterwards makes `t` read the values written (the memory of a conjugate
    view holds the conjugates). Quantized destinations: TypeError."""
    t = _tensor(t)
    if t.is_quantized:
        raise TypeError(f"fastserde: cannot write into a quantized tensor ({t.dtype}): unpack "
                        f"into an integer tensor, then quantize it")
    fixups = []
    if t.is_conj():
        t = t.conj()  # the same memory, conjugate bit cleared
        fixups.append(torch.Tensor.conj_physical_)
    if t.is_neg():
        t = torch._neg_view(t)  # the same memory, negative bit cleared
        fixups.append(torch.Tensor.neg_)
    carrier = carrier_dtype(t.dtype)
    return (t if carrier is t.dtype else t.view(carrier)), fixups


def borrow(t):
    """(keepalive, DLTensor pointer) for tensor `t`, already made readable() or writable();
    keep `keepalive` while the pointer is used."""
    cap = to_dlpack(t)
    managed = ctypes.cast(_PyCapsule_GetPointer(cap, _DLTENSOR),
                          ctypes.POINTER(_lib.DLManagedTensor))
    return (cap, t), ctypes.pointer(managed.contents.dl_tensor)


def dl_device(device):
    device = _args.torch_device("device", device)
    if device.type == "cpu":
        return _lib.DLDevice(_lib.kDLCPU, 0)
    if device.type == "cuda":
        index = device.index
        if index is None:  # the current device (0 where torch has no CUDA: FSD_ERROR_NO_GPU)
            index = torch.cuda.current_device() if torch.cuda.is_available() else 0
        return _lib.DLDevice(_lib.kDLCUDA, index)
    raise ValueError(f"fastserde: device {device} is neither cpu nor cuda")


@_PyCapsule_Destructor
def _capsule_destructor(capsule):
    # Runs when a capsule is freed. torch renames the capsules it consumes ("used_dltensor")
    # and deletes the tensor itself; an unconsumed one still owns the DLManagedTensor.
    if _PyCapsule_IsValid(capsule, _DLTENSOR):
        ptr = _PyCapsule_GetPointer_raw(capsule, _DLTENSOR)
        managed = _lib.DLManagedTensor.from_address(ptr)
        if managed.deleter:
            _lib.DELETER(managed.deleter)(ptr)


def capsule(managed_ptr):
    """A PyCapsule named "dltensor" owning the DLManagedTensor at `managed_ptr`."""
    return _PyCapsule_New(managed_ptr, _DLTENSOR, _capsule_destructor)


def adopt(managed_ptr):
    """A torch tensor taking ownership of fsd_from_bytes's DLManagedTensor. When torch refuses
    it, the tensor is freed before the error propagates (the capsule marked consumed): left to
    the capsule, it would be freed whenever the error's traceback lets the capsule go, which
    may be at interpreter exit, after this module and the library are torn down."""
    cap = capsule(managed_ptr)
    try:
        return from_dlpack(cap)
    except BaseException:
        if _PyCapsule_IsValid(id(cap), _DLTENSOR) and _PyCapsule_SetName(cap, _USED) == 0:
            managed = _lib.DLManagedTensor.from_address(managed_ptr)
            if managed.deleter:
                _lib.DELETER(managed.deleter)(managed_ptr)
        raise

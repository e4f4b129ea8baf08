"""dlpack_ctypes — what the PyTorch oracles share: DLPack's structs and codes through ctypes,
fastserde's pinned status values, the torch dtype -> DLPack dtype table, and the PyCapsule
calls that move DLManagedTensors in and out of torch. Imported by torch_oracle.py and
torch_serde.py (Python puts the running script's folder on sys.path)."""
import ctypes

import torch

kDLCPU, kDLCUDA, kDLCUDAHost, kDLOpenCL, kDLVulkan, kDLROCM, kDLCUDAManaged = 1, 2, 3, 4, 7, 10, 13
kDLInt, kDLUInt, kDLFloat, kDLBfloat, kDLComplex, kDLBool = 0, 1, 2, 4, 5, 6

FSD = dict(SUCCESS=0, INVALID_ARGUMENT=1, UNSUPPORTED=2, SIZE_MISMATCH=3, OVERFLOW=4,
           ALIASING=5, NO_GPU=6, CUDA=7, OUT_OF_MEMORY=8, INTERNAL=9)
NAMES = {v: k for k, v in FSD.items()}


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    pass


DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                            ("deleter", ctypes.c_void_p)]
DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))

DTYPES = {  # torch dtype -> DLPack (code, bits, lanes)
    torch.uint8: (kDLUInt, 8, 1), torch.int8: (kDLInt, 8, 1), torch.int16: (kDLInt, 16, 1),
    torch.float16: (kDLFloat, 16, 1), torch.bfloat16: (kDLBfloat, 16, 1),
    torch.float32: (kDLFloat, 32, 1), torch.int32: (kDLInt, 32, 1),
    torch.float64: (kDLFloat, 64, 1), torch.int64: (kDLInt, 64, 1),
    torch.complex64: (kDLComplex, 64, 1), torch.complex128: (kDLComplex, 128, 1),
    torch.bool: (kDLBool, 8, 1),
}

ctypes.pythonapi.PyCapsule_New.restype = ctypes.py_object
ctypes.pythonapi.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

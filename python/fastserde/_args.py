"""Argument checks shared by the API modules: integers range-checked before ctypes sees them
(ctypes truncates silently: 2**32 + 3 passed as a c_int is 3, -4096 as a size_t is 2**64 -
4096), devices parsed as torch parses them, CUDA streams, and memory overlap between a source
and a destination (the C functions require that they do not overlap; torch refuses such
outputs too).
"""
import ctypes
import operator

import torch

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
SIZE_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_size_t))) - 1
UINTPTR_MAX = (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1


def integer(name, value, lo, hi):
    """`value` as a Python int in [lo, hi]: TypeError for a non-integer (floats included),
    ValueError outside the range."""
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"fastserde: {name} must be an integer, not "
                        f"{type(value).__name__}") from None
    if not lo <= v <= hi:
        raise ValueError(f"fastserde: {name}={v} is out of range [{lo}, {hi}]")
    return v


def c_int(name, value, lo=INT_MIN):
    return integer(name, value, lo, INT_MAX)


def c_size_t(name, value):
    return integer(name, value, 0, SIZE_MAX)


def cuda_index(name, device):
    """A CUDA device as the C library's int: None, -1 or "cuda" for the current device (-1),
    an int >= 0, "cuda:N" or torch.device("cuda", N) for N. Other device types: ValueError."""
    if device is None:
        return -1
    if isinstance(device, (str, torch.device)):
        d = torch_device(name, device)
        if d.type != "cuda":
            raise ValueError(f"fastserde: {name} must be a CUDA device (an index, \"cuda\", "
                             f"\"cuda:N\" or a torch.device), not {d}")
        return -1 if d.index is None else c_int(name, d.index, 0)
    return c_int(name, device, -1)


def torch_device(name, device):
    """torch.device(device), with torch's parse errors as ValueError."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, (str, int)) or isinstance(device, bool):
        raise TypeError(f"fastserde: {name} must be a str, int or torch.device, not "
                        f"{type(device).__name__}")
    if isinstance(device, int):
        c_int(name, device, 0)
    try:
        return torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"fastserde: {name}={device!r}: {e}") from None


def stream_handle(device, stream):
    """The cudaStream_t (a c_void_p) for work on `device`: `stream` (torch.cuda.Stream, an int
    handle, or None for torch.cuda.current_stream(device)); None for host devices."""
    if device.type != "cuda":
        return None
    if stream is None:
        stream = torch.cuda.current_stream(device)
    if isinstance(stream, int):
        handle = integer("stream", stream, 0, UINTPTR_MAX)
    else:
        handle = stream.cuda_stream
    return ctypes.c_void_p(handle or None)


def extent(t):
    """The bytes [lo, hi) that tensor `t`'s elements span (empty: lo == hi)."""
    if t.numel() == 0:
        return 0, 0
    esize = t.element_size()
    lo = hi = t.data_ptr()
    for size, stride in zip(t.shape, t.stride()):
        step = (size - 1) * stride * esize
        if step < 0:
            lo += step
        else:
            hi += step
    return lo, hi + esize


def overlaps(a, b):
    """Whether byte ranges a = (lo, hi) and b overlap (empty ranges never do)."""
    return a[0] < a[1] and b[0] < b[1] and a[0] < b[1] and b[0] < a[1]

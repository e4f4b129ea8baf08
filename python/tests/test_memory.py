"""Memory: tensors from from_bytes free their memory (the DLManagedTensor's deleter runs) when
torch drops them, capsules torch never consumed free it too, loops do not grow the process, and
the default context is made once per process (again after a fork)."""
import ctypes
import gc
import os
import signal
import time

import pytest
import torch

import fastserde
from conftest import ASAN
from fastserde import _context, _dlpack, _lib

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


class CountingAllocator:
    """Host allocations through malloc, counted; pinned/device requests fail (CPU tests)."""

    def __init__(self):
        self.live = {}  # address -> size

    def alloc(self, kind, size, device):
        if kind != 0:
            return 0
        p = libc.malloc(size)
        if p:
            self.live[p] = size
        return p

    def free(self, kind, ptr, device):
        assert ptr in self.live, "free of an address the hooks never gave"
        del self.live[ptr]
        libc.free(ptr)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def counted():
    a = CountingAllocator()
    ctx = fastserde.Context(cpu_threads=1, allocator=a)
    yield a, ctx
    ctx.close()
    assert a.live == {}, "the context left allocations behind"


def test_deleter_runs_when_torch_drops_the_tensor(counted):
    a, ctx = counted
    base = dict(a.live)
    b = bytes(range(256)) * 64  # 16 KiB
    t = fastserde.from_bytes(b, torch.int32, ctx=ctx)
    new = {p: n for p, n in a.live.items() if p not in base}
    assert len(b) in new.values(), f"no {len(b)}-byte block among {new}"
    assert t.data_ptr() in new
    view = t[100:]  # a view keeps the memory alive
    del t
    gc.collect()
    assert len(a.live) == len(base) + len(new)
    assert int(view[0]) == int.from_bytes(b[400:404], "little", signed=True)
    del view
    gc.collect()
    assert a.live == base


def _made_tensor(ctx):
    """An 8-byte host tensor from fsd_from_bytes (a DLManagedTensor pointer), owned by no one."""
    out = ctypes.POINTER(_lib.DLManagedTensor)()
    with ctx.use() as h:
        _lib.check(_lib.load().fsd_from_bytes(h, b"abcdefgh", 8, _lib.DLDataType(1, 8, 1),
                                              _lib.DLDevice(1, 0), ctypes.byref(out)),
                   "fsd_from_bytes")
    return out


def test_unconsumed_capsule_frees(counted):
    a, ctx = counted
    base = dict(a.live)
    out = _made_tensor(ctx)
    cap = _dlpack.capsule(ctypes.cast(out, ctypes.c_void_p).value)
    assert len(a.live) == len(base) + 2  # the tensor block and its data
    del cap  # never given to torch: the capsule's destructor calls the deleter
    gc.collect()
    assert a.live == base


def test_refused_tensor_freed_at_once(counted, monkeypatch):
    """A tensor torch refuses (from_dlpack raises) is freed before adopt() raises, not when
    the capsule is collected: the exception's traceback may keep the capsule until the
    interpreter exits, when this module's destructor callback and the library may be gone."""
    a, ctx = counted
    base = dict(a.live)
    out = _made_tensor(ctx)
    seen = []

    def refuse(cap):
        seen.append(cap)
        raise RuntimeError("refused")

    monkeypatch.setattr(_dlpack, "from_dlpack", refuse)
    with pytest.raises(RuntimeError) as info:
        _dlpack.adopt(ctypes.cast(out, ctypes.c_void_p).value)
    assert a.live == base, "the refused tensor is still allocated"
    del seen, info
    gc.collect()  # the capsule's destructor does not free it a second time
    assert a.live == base


def test_errors_leave_nothing(counted):
    a, ctx = counted
    base = dict(a.live)
    for _ in range(10):
        with pytest.raises(fastserde.FastSerdeError):
            fastserde.from_bytes(b"12345", torch.float32, ctx=ctx)
    assert a.live == base


@pytest.mark.skipif(ASAN, reason="under ASan (preloaded) freed memory waits in its quarantine: "
                                 "RSS says nothing about leaks there")
def test_loops_do_not_grow_the_process():
    blob = bytes(8 << 20)
    for _ in range(3):  # warm up allocators
        del _
        fastserde.from_bytes(blob, torch.float16)
    gc.collect()
    before = rss_bytes()
    v = torch.randn(1024, 2048)[:, ::2]  # 4 MiB strided
    for _ in range(100):  # 800 MiB through from_bytes, 400 MiB through to_bytes
        t = fastserde.from_bytes(blob, torch.float16)
        del t
        b = fastserde.to_bytes(v)
        del b
    for _ in range(200):
        fastserde.Context(cpu_threads=2).close()
    gc.collect()
    grown = rss_bytes() - before
    assert grown < (96 << 20), f"RSS grew by {grown >> 20} MiB"


def test_default_context_is_made_once():
    c = fastserde.default_context()
    assert fastserde.default_context() is c
    fastserde.to_bytes(torch.zeros(3))
    fastserde.from_bytes(b"1234", torch.int32)
    assert fastserde.default_context() is c
    assert c.memory() == fastserde.default_context().memory()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_child_makes_its_own_context():
    parent = fastserde.default_context()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report, never return into pytest
        ok = 0
        try:
            fresh = not _context._defaults
            b = fastserde.to_bytes(torch.arange(4, dtype=torch.int16).flip(0))
            child = fastserde.default_context()
            ok = int(fresh and b == bytes([3, 0, 2, 0, 1, 0, 0, 0]) and child is not parent)
        finally:
            os.write(w, bytes([ok]))
            os._exit(0)
    os.close(w)
    deadline = time.time() + 60
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    assert os.read(r, 1) == b"\x01"
    os.close(r)
    assert fastserde.default_context() is parent

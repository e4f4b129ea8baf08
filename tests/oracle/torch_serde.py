#!/usr/bin/python3
"""torch_serde.py — the seed's API (fsd_to_bytes / fsd_from_bytes) through ctypes, against
PyTorch and LMCache's serializer.

    /usr/bin/python3 tests/oracle/torch_serde.py [path/to/libfastserde.so]

The library path comes from argv[1] or FASTSERDE_LIBRARY. FSD_TEST_SEED replays a run (the seed
is printed first); FSD_SERDE_CASES sets the number of random tensors (400).

Checks:
  * fsd_to_bytes of random host tensors (views: slices with steps, permutes, transposes,
    expands, selects; every dtype torch exports) gives exactly LMCache's FastSerializer bytes,
    `t.contiguous().view(torch.uint8).numpy().tobytes()`;
  * fsd_from_bytes, its DLManagedTensor handed to torch.utils.dlpack.from_dlpack in a capsule
    named "dltensor", gives the flat tensor torch.frombuffer(b, dtype) gives, holding a copy;
    its deleter is called exactly once when torch drops the tensor (counted through a wrapper),
    and 300 rounds of 4 MiB do not grow the resident memory;
  * 200 fsd_context_create / fsd_context_destroy cycles grow neither the resident memory nor
    the number of threads;
  * sizes that are not a whole number of elements are refused (FSD_ERROR_SIZE_MISMATCH).
"""
import ctypes
import gc
import os
import random
import sys

try:
    import torch
    from torch.utils.dlpack import from_dlpack, to_dlpack
except ImportError:  # registered only where torch imports; a direct run without it skips
    print("torch is not importable: skipped")
    sys.exit(77)

from dlpack_ctypes import (DELETER, DTYPES, DLDataType, DLDevice, DLManagedTensor, DLTensor,  # noqa: E402
                           kDLCPU)

SUCCESS, INVALID_ARGUMENT, UNSUPPORTED, SIZE_MISMATCH = 0, 1, 2, 3


def load_library():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FASTSERDE_LIBRARY")
    if not path:
        sys.exit("usage: torch_serde.py path/to/libfastserde.so (or set FASTSERDE_LIBRARY)")
    lib = ctypes.CDLL(path)
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.fsd_context_create.argtypes = [ctypes.POINTER(vp), vp]
    lib.fsd_context_destroy.argtypes = [vp]
    lib.fsd_context_destroy.restype = None
    lib.fsd_to_bytes.argtypes = [vp, ctypes.POINTER(DLTensor), ctypes.POINTER(vp),
                                 ctypes.POINTER(sz)]
    lib.fsd_bytes_free.argtypes = [vp]
    lib.fsd_bytes_free.restype = None
    lib.fsd_from_bytes.argtypes = [vp, vp, sz, DLDataType, DLDevice,
                                   ctypes.POINTER(ctypes.POINTER(DLManagedTensor))]
    for f in (lib.fsd_context_create, lib.fsd_to_bytes, lib.fsd_from_bytes):
        f.restype = ctypes.c_int
    lib.fsd_status_string.argtypes = [ctypes.c_int]
    lib.fsd_status_string.restype = ctypes.c_char_p
    return lib


LIB = load_library()
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        if len(FAILURES) <= 20:
            print("FAIL:", what)


def status(s):
    return LIB.fsd_status_string(s).decode()


def new_context():
    ctx = ctypes.c_void_p()
    s = LIB.fsd_context_create(ctypes.byref(ctx), None)
    if s != SUCCESS:
        sys.exit("fsd_context_create: " + status(s))
    return ctx


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


# ---------------------------------------------------------------------------------------------
# fsd_to_bytes == FastSerializer.to_bytes

def seed_bytes(t):
    """LMCache's FastSerializer.to_bytes. Where torch's view(uint8) refuses the contiguous
    tensor (0-d with a wide dtype; a size-1 last dim that kept an odd stride), the same bytes
    are taken from a fresh compact copy."""
    try:
        return t.contiguous().view(torch.uint8).numpy().tobytes()
    except RuntimeError:
        c = torch.empty(t.shape, dtype=t.dtype).copy_(t)
        return c.reshape(-1).view(torch.uint8).numpy().tobytes()


def random_tensor(rng):
    dtype = rng.choice(list(DTYPES))
    ndim = rng.randint(0, 5)
    shape = [rng.randint(1, 9) for _ in range(ndim)]
    if dtype == torch.bool:
        base = torch.randint(0, 2, shape, dtype=torch.uint8).bool()
    elif dtype.is_complex or dtype.is_floating_point:
        base = torch.randn(shape, dtype=torch.float64 if dtype.is_complex else torch.float32)
        base = base.to(dtype) if not dtype.is_complex else torch.complex(base, -base).to(dtype)
    else:
        base = torch.randint(-100, 100, shape).to(dtype)
    t = base
    what = ["%s%s" % (str(dtype).replace("torch.", ""), list(shape))]
    for _ in range(rng.randint(0, 4)):
        if t.dim() == 0:
            break
        op = rng.randint(0, 5)
        d = rng.randrange(t.dim())
        if op == 0 and t.shape[d] > 1:  # slice with a step
            start, step = rng.randint(0, t.shape[d] - 1), rng.randint(1, 3)
            idx = [slice(None)] * t.dim()
            idx[d] = slice(start, None, step)
            t = t[tuple(idx)]
            what.append("[%d::%d] on %d" % (start, step, d))
        elif op == 1:
            perm = list(range(t.dim()))
            rng.shuffle(perm)
            t = t.permute(perm)
            what.append("permute%s" % perm)
        elif op == 2 and t.dim() >= 2:
            t = t.transpose(0, t.dim() - 1)
            what.append("transpose")
        elif op == 3 and t.shape[d] == 1:
            shape = list(t.shape)
            shape[d] = rng.randint(2, 4)
            t = t.expand(shape)
            what.append("expand%s" % shape)
        elif op == 4 and t.dim() >= 2:
            t = t.select(d, rng.randrange(t.shape[d]))
            what.append("select(%d)" % d)
        elif op == 5:
            t = t.unsqueeze(d)
            what.append("unsqueeze(%d)" % d)
    return t, " ".join(what)


def hand_built(t):
    """A DLTensor over t's memory, made here (keeps its arrays alive through the pointer)."""
    n = t.dim()
    shape = (ctypes.c_int64 * max(n, 1))(*t.shape)
    strides = (ctypes.c_int64 * max(n, 1))(*t.stride())
    dl = DLTensor(t.data_ptr(), DLDevice(kDLCPU, 0), n, DLDataType(*DTYPES[t.dtype]), shape,
                  strides, 0)
    dl._keep = (shape, strides, t)
    return ctypes.pointer(dl)


def test_to_bytes(ctx, rng, cases):
    for i in range(cases):
        t, what = random_tensor(rng)
        if t.dtype == torch.bool or rng.randint(0, 3) == 0:
            cap, dl = None, hand_built(t)  # torch 1.13 does not export bool
        else:
            cap = to_dlpack(t)
            managed = ctypes.cast(ctypes.pythonapi.PyCapsule_GetPointer(cap, b"dltensor"),
                                  ctypes.POINTER(DLManagedTensor))
            dl = ctypes.pointer(managed.contents.dl_tensor)
        out, size = ctypes.c_void_p(), ctypes.c_size_t()
        s = LIB.fsd_to_bytes(ctx, dl, ctypes.byref(out), ctypes.byref(size))
        want = seed_bytes(t)
        got = ctypes.string_at(out.value, size.value) if size.value else b""
        check(s == SUCCESS and got == want,
              "fsd_to_bytes case %d (%s): %s, %d bytes, expected %d%s" %
              (i, what, status(s), size.value, len(want), "" if got == want else ", differ"))
        LIB.fsd_bytes_free(out)
        del cap


# ---------------------------------------------------------------------------------------------
# fsd_from_bytes -> torch.utils.dlpack.from_dlpack

DELETED = [0]
_KEEP = []  # the ctypes callbacks must outlive every tensor that may call them


def counting_deleter(original):
    def deleter(managed):
        DELETED[0] += 1
        original(managed)
    cb = DELETER(deleter)
    _KEEP.append(cb)
    return cb


def from_bytes_tensor(ctx, b, dtype, count_deletes=True):
    """(status, torch tensor or None): fsd_from_bytes of b, through a "dltensor" capsule."""
    code, bits, lanes = DTYPES[dtype]
    out = ctypes.POINTER(DLManagedTensor)()
    s = LIB.fsd_from_bytes(ctx, b, len(b), DLDataType(code, bits, lanes), DLDevice(kDLCPU, 0),
                           ctypes.byref(out))
    if s != SUCCESS:
        check(not out, "fsd_from_bytes failed but returned a tensor")
        return s, None
    if count_deletes:
        original = DELETER(out.contents.deleter)
        out.contents.deleter = ctypes.cast(counting_deleter(original), ctypes.c_void_p)
    cap = ctypes.pythonapi.PyCapsule_New(ctypes.cast(out, ctypes.c_void_p), b"dltensor", None)
    return s, from_dlpack(cap)


def test_from_bytes(ctx, rng):
    dtypes = [d for d in DTYPES if d != torch.bool]
    rounds = 0
    for dtype in dtypes:
        esize = torch.empty(0, dtype=dtype).element_size()
        for n in (0, 1, 7, 1000, rng.randint(2, 50000)):
            b = bytes(rng.getrandbits(8) for _ in range(n * esize)) if n < 2000 else \
                os.urandom(n * esize)
            before = DELETED[0]
            s, t = from_bytes_tensor(ctx, b, dtype)
            rounds += 1
            check(s == SUCCESS, "fsd_from_bytes %s x %d: %s" % (dtype, n, status(s)))
            if t is None:
                continue
            ref = torch.frombuffer(bytearray(b), dtype=dtype) if n else torch.empty(0, dtype=dtype)
            check(t.dtype == dtype and t.dim() == 1 and t.shape[0] == n and
                  (n < 2 or t.stride() == (1,)),
                  "fsd_from_bytes %s x %d: got %s %s stride %s" % (dtype, n, t.dtype,
                                                                   tuple(t.shape), t.stride()))
            check(t.view(torch.uint8).numpy().tobytes() == b and
                  torch.equal(t.view(torch.uint8), ref.view(torch.uint8)),
                  "fsd_from_bytes %s x %d: bytes differ from torch.frombuffer" % (dtype, n))
            if n:  # a copy: the tensor is writable and its own
                t.view(torch.uint8)[0] ^= 0xFF
                check(b[0] != t.view(torch.uint8)[0].item(), "fsd_from_bytes aliases its input")
            check(DELETED[0] == before, "deleter called while torch still holds the tensor")
            del t
            gc.collect()
            check(DELETED[0] == before + 1,
                  "fsd_from_bytes %s x %d: the deleter ran %d times when torch dropped the "
                  "tensor (expected once)" % (dtype, n, DELETED[0] - before))
    print("from_bytes: %d tensors, %d deleter calls" % (rounds, DELETED[0]))


def test_from_bytes_memory(ctx):
    """300 rounds of 4 MiB through torch: the memory comes back."""
    b = os.urandom(4 << 20)
    for _ in range(10):  # warm-up: allocator caches, capsule machinery
        _, t = from_bytes_tensor(ctx, b, torch.float32, count_deletes=False)
        del t
    gc.collect()
    r0 = rss_bytes()
    total = 0
    for _ in range(300):
        _, t = from_bytes_tensor(ctx, b, torch.float32, count_deletes=False)
        total += float(t[12345])  # touch it
        del t
    gc.collect()
    grown = rss_bytes() - r0
    print("from_bytes memory: 300 x 4 MiB through torch, resident memory grew %d KiB" %
          (grown >> 10))
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        print("  (not checked: under the preloaded ASan runtime freed memory waits in its "
              "quarantine; the deleter calls are counted above)")
        return
    check(grown < (64 << 20), "300 x 4 MiB of fsd_from_bytes tensors: RSS grew %d MiB (the "
                              "deleter does not free the data?)" % (grown >> 20))


def test_errors(ctx):
    for dtype, n in ((torch.float32, 6), (torch.float64, 12), (torch.int16, 3)):
        s, t = from_bytes_tensor(ctx, b"\0" * n, dtype)
        check(s == SIZE_MISMATCH and t is None,
              "fsd_from_bytes %d bytes as %s: %s, expected FSD_ERROR_SIZE_MISMATCH" %
              (n, dtype, status(s)))


def test_create_destroy():
    for _ in range(20):
        LIB.fsd_context_destroy(new_context())
    gc.collect()
    r0, t0 = rss_bytes(), threads()
    for _ in range(200):
        LIB.fsd_context_destroy(new_context())
    gc.collect()
    grown = rss_bytes() - r0
    print("200 create/destroy cycles: resident memory grew %d KiB, threads %d -> %d" %
          (grown >> 10, t0, threads()))
    check(grown < (8 << 20), "200 create/destroy cycles grew RSS by %d KiB" % (grown >> 10))
    check(threads() == t0, "threads left after 200 cycles: %d -> %d" % (t0, threads()))


def main():
    seed = int(os.environ.get("FSD_TEST_SEED", "0"), 0) or random.SystemRandom().randrange(1 << 62)
    print("seed: %d (replay with FSD_TEST_SEED=%d)" % (seed, seed))
    rng = random.Random(seed)
    torch.manual_seed(seed & 0xFFFFFFFF)
    cases = int(os.environ.get("FSD_SERDE_CASES", "400"))
    ctx = new_context()
    test_to_bytes(ctx, rng, cases)
    test_from_bytes(ctx, rng)
    test_from_bytes_memory(ctx)
    test_errors(ctx)
    LIB.fsd_context_destroy(ctx)
    test_create_destroy()
    if FAILURES:
        print("%d checks failed (seed %d)" % (len(FAILURES), seed))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""torch_oracle.py — libfastserde through ctypes, checked against PyTorch.

    /usr/bin/python3 tests/oracle/torch_oracle.py [path/to/libfastserde.so]

The library path comes from argv[1] or FASTSERDE_LIBRARY. Environment: FSD_TEST_SEED replays a
run (the seed is printed first), FSD_ORACLE_CASES sets the number of random layouts (1000).

Each random layout is a view of a contiguous torch tensor made with slices (with steps),
narrow, select, permute, transpose, expand, diagonal and unfold. It is handed to fastserde twice:
  * exported by torch.utils.dlpack.to_dlpack (the DLTensor inside the capsule), and
  * hand-built over the same bytes, with some dims flipped (negative strides, which torch cannot
    export), sometimes a misaligned start, and `data`/`byte_offset` split at random.
pack must give exactly the bytes of `t.contiguous().view(torch.uint8)`; unpack into the view
must give exactly the storage that torch's `view.copy_(src)` gives, compared over the whole
buffer with guard bytes on both sides; views whose elements may overlap (expand, unfold, or
strides that do not nest) must be refused with FSD_ERROR_ALIASING and nothing written.
Odd element sizes (3, 6, 12 bytes) are uint8 tensors whose last dim becomes the DLPack lanes.
Bad inputs are checked for their status codes at the end.
"""
import ctypes
import os
import random
import sys
import time

import torch
from torch.utils.dlpack import to_dlpack

# ---------------------------------------------------------------------------------------------
# DLPack and the library through ctypes

from dlpack_ctypes import (DTYPES, FSD, NAMES, DLDataType, DLDevice, DLManagedTensor,  # noqa: E402
                           DLTensor, kDLCPU, kDLFloat, kDLInt, kDLOpenCL, kDLROCM, kDLUInt,
                           kDLVulkan)


def load_library():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FASTSERDE_LIBRARY")
    if not path:
        sys.exit("usage: torch_oracle.py path/to/libfastserde.so (or set FASTSERDE_LIBRARY)")
    lib = ctypes.CDLL(path)
    P = ctypes.POINTER(DLTensor)
    lib.fsd_packed_size.argtypes = [P, ctypes.POINTER(ctypes.c_size_t)]
    lib.fsd_pack.argtypes = [P, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    lib.fsd_unpack.argtypes = [ctypes.c_void_p, ctypes.c_size_t, P, ctypes.c_void_p]
    for f in (lib.fsd_packed_size, lib.fsd_pack, lib.fsd_unpack):
        f.restype = ctypes.c_int
    lib.fsd_status_string.argtypes = [ctypes.c_int]
    lib.fsd_status_string.restype = ctypes.c_char_p
    lib.fsd_last_error.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.fsd_last_error.restype = ctypes.c_size_t
    lib.fsd_version.restype = ctypes.c_uint
    return lib




def exported(t):
    """(capsule, DLTensor*) of torch's own export; keep the capsule alive while in use."""
    cap = to_dlpack(t)
    ptr = ctypes.pythonapi.PyCapsule_GetPointer(cap, b"dltensor")
    managed = ctypes.cast(ptr, ctypes.POINTER(DLManagedTensor))
    return cap, ctypes.pointer(managed.contents.dl_tensor)


class Hand:
    """A hand-built DLTensor; owns its shape and stride arrays."""

    def __init__(self, data, shape, strides, dtype, byte_offset=0, device=kDLCPU):
        n = len(shape)
        self.shape = (ctypes.c_int64 * max(n, 1))(*shape)
        self.strides = None if strides is None else (ctypes.c_int64 * max(n, 1))(*strides)
        self.t = DLTensor()
        self.t.data = data
        self.t.device = DLDevice(device, 0)
        self.t.ndim = n
        self.t.dtype = DLDataType(*dtype)
        self.t.shape = self.shape
        if self.strides is not None:
            self.t.strides = self.strides
        self.t.byte_offset = byte_offset

    def ptr(self):
        return ctypes.pointer(self.t)




def tensor_bytes(t):
    """The row-major bytes of t (any dtype, 0-d included), as a uint8 tensor: the bytes of
    t.contiguous(), copied into a fresh tensor so that every stride is the standard one (torch
    keeps odd strides on size-1 dims and empty tensors, and view(uint8) insists on stride 1)."""
    c = torch.empty(t.shape, dtype=t.dtype).copy_(t.contiguous())
    return c.reshape(-1).view(torch.uint8)


def addr(t):
    return t.data_ptr()


# ---------------------------------------------------------------------------------------------
# Overlap predicates (independent of the library)

def nests(shape, strides):
    """fastserde's unpack rule: dims > 1 sorted by |stride| each step past the smaller ones."""
    if 0 in shape:
        return True
    dims = sorted((abs(s), n) for n, s in zip(shape, strides) if n > 1)
    span = 1
    for s, n in dims:
        if s < span:
            return False
        span += (n - 1) * s
    return True


def overlaps(shape, strides):
    """Brute force: do two elements share an offset?"""
    numel = 1
    for n in shape:
        numel *= n
    if numel == 0:
        return False
    offs = torch.zeros(list(shape), dtype=torch.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        view = [1] * len(shape)
        view[d] = n
        offs = offs + (torch.arange(n, dtype=torch.int64) * s).reshape(view)
    return offs.reshape(-1).unique().numel() != numel


# ---------------------------------------------------------------------------------------------
# Random views

GUARD = 64


class Case:
    """A torch view `v` of the typed tensor `typed`, which lives in `buf[GUARD:GUARD+nbytes]`."""

    def __init__(self, rng, index):
        self.index = index
        self.lanes = 1
        if rng.random() < 0.15:  # odd element sizes: uint8 with a trailing dim of `lanes`
            self.dtype = torch.uint8
            self.lanes = rng.choice([3, 6, 12])
        else:
            self.dtype = rng.choice(list(DTYPES))
        self.esize = torch.empty((), dtype=self.dtype).element_size()
        self.ops = []
        ndim = rng.choice([0, 1, 2, 2, 3, 3, 4, 4, 5, 6])
        shape = [rng.choice([1, 2, 3, 4, 5, 7, 8, 16, 33, 65]) for _ in range(ndim)]
        budget = 65536 // (self.esize * self.lanes)
        while prod(shape) > budget:
            i = shape.index(max(shape))
            shape[i] = (shape[i] + 1) // 2
        full = shape + ([self.lanes] if self.lanes > 1 else [])
        self.nbytes = prod(full) * self.esize
        self.buf = torch.randint(0, 256, (GUARD + self.nbytes + GUARD,), dtype=torch.uint8)
        if self.dtype == torch.bool:
            self.buf[GUARD:GUARD + self.nbytes] &= 1
        self.typed = self.buf[GUARD:GUARD + self.nbytes].view(self.dtype).reshape(full)
        self.v = self.random_view(rng, self.typed, ndim)
        # elements from the start of `typed` to the view's first element
        self.offset = self.v.storage_offset() - self.typed.storage_offset()

    def random_view(self, rng, v, ndim):
        """Ops on the first `ndim` dims (the lanes dim, if any, stays last and contiguous)."""
        for _ in range(rng.randint(0, 4)):
            if v.numel() * self.esize > (1 << 20):  # expand/unfold grow the view: stop at 1 MiB
                break
            nd = v.dim() - (1 if self.lanes > 1 else 0)
            if nd == 0:
                break
            d = rng.randrange(nd)
            op = rng.choice(["slice", "slice", "narrow", "select", "permute", "transpose",
                             "expand", "diagonal", "unfold"])
            n = v.shape[d]
            if op == "slice" and n > 1:
                start, step = rng.randrange(n), rng.choice([1, 2, 3])
                idx = [slice(None)] * v.dim()
                idx[d] = slice(start, None, step)
                v = v[tuple(idx)]
            elif op == "narrow" and n > 1:
                start = rng.randrange(n)
                v = v.narrow(d, start, rng.randint(0 if rng.random() < 0.05 else 1, n - start))
            elif op == "select" and n > 0:
                v = v.select(d, rng.randrange(n))
            elif op == "permute" and nd > 1:
                perm = list(range(nd))
                rng.shuffle(perm)
                v = v.permute(perm + list(range(nd, v.dim())))
            elif op == "transpose" and nd > 1:
                v = v.transpose(d, rng.randrange(nd))
            elif op == "expand":
                v = v.unsqueeze(d)
                sizes = [-1] * v.dim()
                sizes[d] = rng.randint(1, 4)
                v = v.expand(*sizes)
            elif op == "diagonal" and nd > 1:
                d2 = rng.choice([x for x in range(nd) if x != d])
                # the new dim comes last; moving it back also keeps a lanes dim last
                v = v.diagonal(0, d, d2).movedim(-1, min(d, d2))
            elif op == "unfold" and n > 1:
                size = rng.randint(1, n)
                v = v.unfold(d, size, rng.randint(1, size + 1))
                if self.lanes > 1:  # keep the lanes dim last
                    v = v.movedim(-2, -1)
            self.ops.append(op)
        return v

    # The view as fastserde sees it: element shape/strides (lanes folded into the dtype).
    def elem_shape(self):
        return list(self.v.shape[:-1] if self.lanes > 1 else self.v.shape)

    def elem_strides(self):
        st = list(self.v.stride())
        if self.lanes > 1:
            assert st[-1] == 1
            st = st[:-1]
            assert all(s % self.lanes == 0 for s in st), st
            st = [s // self.lanes for s in st]
        return st

    def dl_dtype(self):
        if self.lanes > 1:
            return (kDLUInt, 8, self.lanes) if self.index % 2 else (kDLInt, 8 * self.lanes, 1)
        return DTYPES[self.dtype]

    def describe(self):
        return (f"case {self.index}: dtype {self.dtype} lanes {self.lanes} shape "
                f"{self.elem_shape()} strides {self.elem_strides()} offset {self.offset} "
                f"ops {self.ops}")


def prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


# ---------------------------------------------------------------------------------------------
# Checks

class Oracle:
    def __init__(self, lib, seed):
        self.lib, self.seed = lib, seed
        self.passed = self.failed = 0

    def check(self, ok, what, case=None):
        if ok:
            self.passed += 1
            return True
        self.failed += 1
        if self.failed <= 20:
            msg = ctypes.create_string_buffer(512)
            self.lib.fsd_last_error(msg, 512)
            print(f"FAIL: {what}\n      {case.describe() if case else ''}\n      "
                  f"fsd_last_error: {msg.value.decode()!r}  (replay: FSD_TEST_SEED={self.seed})")
        return False

    def status(self, got, want, what, case=None):
        return self.check(got == FSD[want],
                          f"{what}: expected FSD_{'ERROR_' if want != 'SUCCESS' else ''}{want}, "
                          f"got {NAMES.get(got, got)}", case)

    # pack ---------------------------------------------------------------------------------
    def pack(self, case, tensor_ptr, want_bytes, what):
        n = want_bytes.numel()
        out = torch.full((GUARD + n + 8 + GUARD,), 0xA5, dtype=torch.uint8)
        before = case.buf.clone()
        size = ctypes.c_size_t(0)
        st = self.lib.fsd_packed_size(tensor_ptr, ctypes.byref(size))
        self.check(st == 0 and size.value == n, f"{what}: fsd_packed_size {size.value} "
                   f"(status {NAMES.get(st)}), expected {n}", case)
        st = self.lib.fsd_pack(tensor_ptr, addr(out) + GUARD, n + 8, None)
        if self.status(st, "SUCCESS", f"{what}: fsd_pack", case):
            got = out[GUARD:GUARD + n]
            if not torch.equal(got, want_bytes):
                first = int((got != want_bytes).nonzero()[0])
                self.check(False, f"{what}: packed byte {first} is {int(got[first])}, torch "
                           f"has {int(want_bytes[first])}", case)
            self.check(bool((out[:GUARD] == 0xA5).all()) and
                       bool((out[GUARD + n:] == 0xA5).all()), f"{what}: wrote outside dst",
                       case)
        self.check(torch.equal(before, case.buf), f"{what}: pack modified its source", case)

    # unpack -------------------------------------------------------------------------------
    def unpack(self, case, buf, make_ptr, expect_buf, src, alias, what):
        """Unpack `src` (uint8) into the view that make_ptr() describes over `buf`; compare the
        whole `buf` with `expect_buf` (None: must be refused with ALIASING)."""
        before = buf.clone()
        srcbuf = torch.full((GUARD + src.numel() + GUARD,), 0x5C, dtype=torch.uint8)
        srcbuf[GUARD:GUARD + src.numel()] = src
        src_before = srcbuf.clone()
        holder = make_ptr()  # keeps the capsule / arrays alive
        st = self.lib.fsd_unpack(addr(srcbuf) + GUARD, src.numel(), holder[-1], None)
        if alias:
            self.status(st, "ALIASING", f"{what}: fsd_unpack into an overlapping view", case)
            self.check(torch.equal(buf, before), f"{what}: refused unpack wrote", case)
        elif self.status(st, "SUCCESS", f"{what}: fsd_unpack", case):
            if not torch.equal(buf, expect_buf):
                first = int((buf != expect_buf).nonzero()[0])
                inside = GUARD <= first < GUARD + case.nbytes
                self.check(False, f"{what}: storage byte {first - GUARD} is {int(buf[first])}, "
                           f"torch copy_ gives {int(expect_buf[first])}"
                           f"{'' if inside else ' (a guard byte)'}", case)
            else:
                self.passed += 1
        self.check(torch.equal(srcbuf, src_before), f"{what}: unpack modified its source", case)

    # one random layout ----------------------------------------------------------------------
    def run_case(self, case, rng):
        v = case.v
        shape, strides = case.elem_shape(), case.elem_strides()
        alias = not nests(shape, strides)
        if overlaps(shape, strides) and not alias:
            self.check(False, "oracle bug: overlapping view said to nest", case)
        want = tensor_bytes(v)
        src = torch.randint(0, 256, (want.numel(),), dtype=torch.uint8)
        if case.dtype == torch.bool:
            src &= 1

        # 1. torch's own DLPack export (bool and lanes views cannot be exported as such)
        if case.lanes == 1 and case.dtype != torch.bool:
            cap, ptr = exported(v)
            self.pack(case, ptr, want, "to_dlpack")
            del cap
            work = case.buf.clone()
            wview = torch.as_strided(work[GUARD:GUARD + case.nbytes].view(case.dtype),
                                     v.shape, v.stride(), v.storage_offset())
            expect = case.buf.clone()
            eview = torch.as_strided(expect[GUARD:GUARD + case.nbytes].view(case.dtype),
                                     v.shape, v.stride(), v.storage_offset())
            if not alias:
                eview.copy_(src.view(case.dtype).reshape(v.shape))
            self.unpack(case, work, lambda: exported(wview), expect, src, alias, "to_dlpack")

        # 2. hand-built over the same bytes: flips, misalignment, data/byte_offset split
        nd = len(shape)
        flips = [d for d in range(nd) if shape[d] > 1 and rng.random() < 0.4]
        hstrides = [-s if d in flips else s for d, s in enumerate(strides)]
        elem0 = case.offset // case.lanes + sum((shape[d] - 1) * strides[d] for d in flips)
        esz = case.esize * case.lanes
        shift = rng.choice([0, 0, 1, 3, 5, 8]) if esz > 1 else 0
        pre = GUARD + shift
        ebytes = lambda t: tensor_bytes(t)  # noqa: E731
        tdims = [d for d in flips]  # flips in torch dims (lanes dim is last, never flipped)
        want_h = ebytes(v.flip(tdims)) if tdims else want
        null_strides = not flips and v.is_contiguous() and rng.random() < 0.5
        dtype = case.dl_dtype()

        def hand_over(buf):
            base = addr(buf)
            total = pre + elem0 * esz
            split = rng.randint(0, total)
            h = Hand(base + split, shape, None if null_strides else hstrides, dtype,
                     total - split)
            return (h, h.ptr())

        hbuf = torch.full((pre + case.nbytes + GUARD,), 0, dtype=torch.uint8)
        hbuf[:pre] = case.buf[:GUARD].repeat(2)[:pre]
        hbuf[pre:pre + case.nbytes] = case.buf[GUARD:GUARD + case.nbytes]
        hbuf[pre + case.nbytes:] = case.buf[GUARD + case.nbytes:]
        holder = hand_over(hbuf)
        self.pack_hand(case, holder, hbuf, want_h)

        twin = case.buf[GUARD:GUARD + case.nbytes].clone()
        tview = torch.as_strided(twin.view(case.dtype), v.shape, v.stride(), case.offset)
        if not alias:
            s = src.view(case.dtype).reshape(v.shape)
            tview.copy_(s.flip(tdims) if tdims else s)
        expect = hbuf.clone()
        expect[pre:pre + case.nbytes] = twin
        self.unpack(case, hbuf, lambda: hand_over(hbuf), expect, src, alias, "hand-built")

    def pack_hand(self, case, holder, hbuf, want):
        saved = case.buf
        case.buf = hbuf  # pack() checks that its source buffer is unchanged
        self.pack(case, holder[-1], want, "hand-built")
        case.buf = saved

    # bad inputs -----------------------------------------------------------------------------
    def bad_inputs(self):
        lib = self.lib
        store = torch.full((256,), 7, dtype=torch.uint8)
        out = torch.full((256,), 9, dtype=torch.uint8)

        def expect(st, want, what):
            self.status(st, want, what)
            self.check(bool((store == 7).all()) and bool((out == 9).all()),
                       f"{what}: a rejected call wrote to a buffer")

        def pack(h, size=256):
            return lib.fsd_pack(h.ptr(), addr(out), size, None)

        def unpack(h, size):
            return lib.fsd_unpack(addr(out), size, h.ptr(), None)

        f32 = (kDLFloat, 32, 1)
        expect(lib.fsd_pack(None, addr(out), 256, None), "INVALID_ARGUMENT", "NULL tensor")
        h = Hand(addr(store), [4, 4], None, f32)
        expect(lib.fsd_pack(h.ptr(), None, 256, None), "INVALID_ARGUMENT", "NULL dst")
        expect(lib.fsd_unpack(None, 64, h.ptr(), None), "INVALID_ARGUMENT", "NULL src")
        expect(pack(h, 63), "SIZE_MISMATCH", "dst one byte short")
        expect(unpack(h, 63), "SIZE_MISMATCH", "src one byte short")
        expect(unpack(h, 65), "SIZE_MISMATCH", "src one byte long")
        h.t.ndim = -1
        expect(pack(h), "INVALID_ARGUMENT", "ndim -1")
        expect(pack(Hand(addr(store), [4, -1], None, f32)), "INVALID_ARGUMENT", "negative dim")
        expect(pack(Hand(addr(store), [4], None, (kDLFloat, 12, 1))), "UNSUPPORTED", "12 bits")
        expect(pack(Hand(addr(store), [4], None, (kDLFloat, 0, 1))), "INVALID_ARGUMENT", "0 bits")
        expect(pack(Hand(addr(store), [4], None, (kDLFloat, 8, 0))), "INVALID_ARGUMENT", "0 lanes")
        for dev in (kDLOpenCL, kDLVulkan, kDLROCM, 99):
            expect(pack(Hand(addr(store), [4], None, f32, 0, dev)), "UNSUPPORTED", f"device {dev}")
        expect(unpack(Hand(addr(store), [3, 4], [0, 1], f32), 48), "ALIASING", "stride-0 dst")
        expect(unpack(Hand(addr(store), [3, 4], [4, 3], f32), 48), "ALIASING", "non-nesting dst")
        expect(pack(Hand(addr(store), [1 << 62, 4], None, (kDLUInt, 8, 1))), "OVERFLOW",
               "2^64-byte shape")
        expect(pack(Hand(addr(store), [3], [1 << 62], f32)), "OVERFLOW", "overflowing stride")
        expect(pack(Hand(None, [4], None, f32)), "INVALID_ARGUMENT", "NULL data")
        h = Hand(None, [0, 4], None, f32)
        self.status(lib.fsd_pack(h.ptr(), None, 0, None), "SUCCESS", "empty tensor, NULL data")
        # status strings and the last error
        strings = {lib.fsd_status_string(c) for c in range(10)}
        self.check(len(strings) == 10 and None not in strings, "10 distinct status strings")
        unknown = lib.fsd_status_string(4242)
        self.check(unknown is not None and unknown not in strings, "unknown status string")
        lib.fsd_pack(None, None, 0, None)
        n = lib.fsd_last_error(None, 0)
        small = ctypes.create_string_buffer(8)
        self.check(n > 0 and lib.fsd_last_error(small, 8) == n and len(small.value) == min(n, 7),
                   "fsd_last_error truncation")


def main():
    lib = load_library()
    seed = int(os.environ.get("FSD_TEST_SEED") or (time.time_ns() & 0xFFFFFFFF))
    print(f"seed: {seed} (replay with FSD_TEST_SEED={seed})", flush=True)
    ncases = int(os.environ.get("FSD_ORACLE_CASES", "1000"))
    rng = random.Random(seed)
    torch.manual_seed(seed)
    oracle = Oracle(lib, seed)
    if lib.fsd_version() != 100:  # 0.1.0
        print(f"note: fsd_version() = {lib.fsd_version()}")
    for i in range(ncases):
        case = Case(rng, i)
        oracle.run_case(case, rng)
    oracle.bad_inputs()
    print(f"{ncases} random layouts and the bad inputs, checks: {oracle.passed} passed, "
          f"{oracle.failed} failed")
    sys.exit(1 if oracle.failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""torch_gather.py — the paged-KV API of fastserde.h (fsd_gather_size, fsd_gather, fsd_scatter,
fsd_gather_runs) on host caches through ctypes, checked against the header's torch expression.

    /usr/bin/python3 tests/oracle/torch_gather.py [path/to/libfastserde.so]

The library path comes from argv[1] or FASTSERDE_LIBRARY; the bindings and the random caches
are in kv_cases.py. Environment: FSD_TEST_SEED replays a run (the seed is printed first),
FSD_ORACLE_CASES sets the number of random caches (600).

Each random case builds a real cache as torch tensors, from one of the families of issue 12
(vLLM flash-attn [2, NB, BS, H, D] and its HND variant [2, NB, H, BS, D], FlashInfer
[NB, 2, BS, H, D] and HND, MLA [NB, BS, D], SGLang token pools [size, H, D] with offset_dim -1
and K and V as 2L entries of layer_ptrs, and random layouts with any block_dim / offset_dim).
Elements: fp8 (uint8), bf16, f16, f32, f64 and odd sizes (uint8 tensors whose trailing dim of
3, 6, 12 or 16 bytes becomes the DLPack lanes or a 24-128-bit integer). Layers are slices of
one stacked tensor or tensors at scattered addresses (shuffled), viewed with permutes and
slices (steps) of bigger storage, given by a uint64 layer_ptrs tensor of data_ptr()s (shifted
by a random byte_offset) or, for one layer, by layer.data; sometimes in kDLCUDAHost memory.
Slots are int32 or int64, contiguous, every other element of a bigger tensor (whose other
elements are past the cache), backwards (negative stride) or one slot by a stride of 0, with
duplicates and negative slots. The packed order is the identity (NULL or spelled out), the
family's (KV_2LTD, page-first) or random; options NULL or any engine, on the calling thread or
a context of 2 threads.

Per case:
  * fsd_gather_size = L * T * the other dims * the element size;
  * fsd_gather into a buffer pre-filled with random bytes, guards on both sides: exactly
        rows = x.movedim((block_dim, offset_dim), (0, 1)).flatten(0, 1)
        torch.stack([rows(x).index_select(0, slots).movedim(0, b) ...]).permute(order)
    in bytes, the bytes of negative slots unchanged, nothing outside written, the cache intact;
  * fsd_gather_runs (gather and scatter): the run count equals the number of maximal
    contiguous runs computed here from each packed element's cache address (the same torch
    expression applied to address tensors), the list is exactly those runs, applied with
    ctypes.memmove they reproduce the gather / the scatter; a capacity one short gives
    FSD_ERROR_SIZE_MISMATCH with the count set and the array untouched;
  * fsd_scatter of random bytes with unique slots (plus negatives): the whole storage, guards
    included, equals torch's index_put_ of the same values through the same views;
  * fsd_scatter with the gather's repeated slots: every element of a repeated slot holds one
    of its copies, and the storage is otherwise what torch writes.
Then caches above 8 MiB gathered and scattered on a context of 2 CPU threads (the threaded and
streaming paths), and a few bad inputs (the full list is tests/gather/test_gather_validate.c).
"""
import ctypes
import os
import random
import sys
import time

import torch

from dlpack_ctypes import (FSD, NAMES, DLDataType, DLDevice, kDLBfloat, kDLCPU,  # noqa: E402
                           kDLInt, kDLUInt)
from kv_cases import (ENGINE_AUTO, ENGINE_COPY, ENGINE_KERNEL, GUARD, KV_GATHER,  # noqa: E402
                      KV_SCATTER, Case, ContextConfig, CopyRun, GatherOptions, KvLayout, Slots,
                      Vec, last_error, load_library, make_slots, options, prod)


# ---------------------------------------------------------------------------------------------
# The oracle: the header's torch expression

def tensor_bytes(t):
    """The row-major bytes of t as a fresh 1-D uint8 tensor."""
    c = torch.empty(t.shape, dtype=t.dtype).copy_(t)
    return c.reshape(-1).view(torch.uint8)


def v_tensor(layers, block_dim, offset_dim, slots):
    """V = stack over layers of rows(x).index_select(0, slots).movedim(0, b) (fastserde.h).
    `layers` may carry a trailing lanes dim, which stays last."""
    b = block_dim - (1 if 0 <= offset_dim < block_dim else 0)

    def rows(x):
        if offset_dim < 0:
            return x.movedim(block_dim, 0)
        return x.movedim((block_dim, offset_dim), (0, 1)).flatten(0, 1)

    return torch.stack([rows(x).index_select(0, slots).movedim(0, b) for x in layers])


def token_mask(neg, vshape, tdim, order):
    """Bool per packed element (V dims permuted by order, row-major): its slot is negative."""
    view = [1] * len(vshape)
    view[tdim] = len(neg)
    m = neg.view(view).expand(vshape).permute(order).contiguous()
    return m.reshape(-1)


# ---------------------------------------------------------------------------------------------
# Checks

class Oracle:
    def __init__(self, lib, seed, ctx):
        self.lib, self.seed, self.ctx = lib, seed, ctx
        self.passed = self.failed = 0

    def check(self, ok, what, case=None, extra=""):
        if ok:
            self.passed += 1
            return True
        self.failed += 1
        if self.failed <= 20:
            print(f"FAIL: {what}\n      {case.describe() if case else ''}\n      {extra}\n      "
                  f"fsd_last_error: {last_error(self.lib)!r}  (replay: FSD_TEST_SEED={self.seed})",
                  flush=True)
        return False

    def status(self, got, want, what, case=None, extra=""):
        code = f"FSD_{'ERROR_' if want != 'SUCCESS' else ''}{want}"
        return self.check(got == FSD[want], f"{what}: expected {code}, got {NAMES.get(got, got)}",
                          case, extra)

    def same(self, got, want, what, case, extra=""):
        if torch.equal(got, want):
            self.passed += 1
            return True
        first = int((got != want).nonzero()[0])
        return self.check(False, f"{what}: byte {first} of {got.numel()} is {int(got[first])}, "
                          f"expected {int(want[first])}", case, extra)

    def opts(self, rng):
        r = rng.random()
        if r < 0.3:
            return None
        o = options(rng.choice([ENGINE_AUTO, ENGINE_AUTO, ENGINE_KERNEL, ENGINE_COPY]),
                    self.ctx if rng.random() < 0.5 else None)
        return ctypes.pointer(o)

    # expected results ------------------------------------------------------------------------
    def expected_gather(self, case, layers, slots, order, pattern):
        """The packed bytes: torch's expression, the bytes of negative slots from `pattern`."""
        sl = torch.tensor(slots, dtype=torch.int64)
        neg = sl < 0
        V = v_tensor(layers, case.block_dim, case.offset_dim, sl.clamp(min=0))
        lanes = [case.vndim] if case.lanes > 1 else []
        packed = tensor_bytes(V.permute(order + lanes).contiguous())
        vshape = list(V.shape[:case.vndim])
        mask = token_mask(neg, vshape, case.tdim, order).to(torch.uint8)
        return torch.where(mask.repeat_interleave(case.esize).bool(), pattern, packed)

    def cache_addresses(self, case, layers, slots, order):
        """Each packed element's cache address (-1 for a negative slot), in packed order."""
        k = len(case.shape)
        addrs = []
        for x in layers:
            st = case.dl_strides(x)
            a = torch.full(case.shape, case.base(x), dtype=torch.int64)
            for d in range(k):
                view = [1] * k
                view[d] = case.shape[d]
                a = a + (torch.arange(case.shape[d], dtype=torch.int64) * st[d] *
                         case.esize).view(view)
            addrs.append(a)
        sl = torch.tensor(slots, dtype=torch.int64)
        V = v_tensor(addrs, case.block_dim, case.offset_dim, sl.clamp(min=0))
        flat = V.permute(order).contiguous().reshape(-1)
        mask = token_mask(sl < 0, list(V.shape), case.tdim, order)
        return torch.where(mask, torch.full_like(flat, -1), flat)

    def expected_runs(self, case, addr):
        """[(packed offset, cache address, bytes)] of the maximal contiguous runs."""
        e = case.esize
        valid = addr >= 0
        cont = torch.zeros_like(valid)
        if addr.numel() > 1:
            cont[1:] = valid[1:] & valid[:-1] & (addr[1:] == addr[:-1] + e)
        starts = (valid & ~cont).nonzero().reshape(-1)
        ends_mask = valid.clone()
        if addr.numel() > 1:
            ends_mask[:-1] &= ~cont[1:]
        ends = ends_mask.nonzero().reshape(-1)
        assert starts.numel() == ends.numel()
        return torch.stack([starts * e, addr[starts], (ends - starts + 1) * e], 1) \
            if starts.numel() else torch.zeros((0, 3), dtype=torch.int64)

    # one case ----------------------------------------------------------------------------------
    def run_case(self, case, rng):
        lib = self.lib
        T = rng.choice([0, 1, 2, 3, rng.randint(1, 40), rng.randint(1, 40), rng.randint(1, 40)])
        slots = make_slots(rng, T, case.slot_limit, unique=False)
        sv = Slots(rng, slots, case.slot_limit)
        slots = sv.values
        r = rng.random()
        if r < 0.2:
            order, order_arg = list(range(case.vndim)), None
        elif r < 0.35:
            order = list(range(case.vndim))
            order_arg = order
        elif r < 0.7 and case.orders:
            order = rng.choice(case.orders)
            order_arg = order
        else:
            order = list(range(case.vndim))
            rng.shuffle(order)
            order_arg = order
        oa = None if order_arg is None else (ctypes.c_int * len(order))(*order)
        split = rng.choice([0, 0, 1, 8, 13, 64])
        kv, holders = case.kv_layout(case.layers, split, null_data=rng.random() < 0.2,
                                     null_strides=rng.random() < 0.5)
        extra = f"{sv.describe()} order {order_arg} byte_offset {split}"
        per_token = case.nptr * case.esize * prod(s for d, s in enumerate(case.shape)
                                                  if d not in (case.block_dim, case.offset_dim))
        n = len(slots) * per_token

        # size
        size = ctypes.c_size_t(12345)
        st = lib.fsd_gather_size(ctypes.byref(kv), sv.ptr(), ctypes.byref(size))
        if self.status(st, "SUCCESS", "fsd_gather_size", case, extra):
            self.check(size.value == n, f"fsd_gather_size {size.value}, expected {n}", case, extra)

        # gather
        arena0 = case.arena.clone()
        self.arena0, self.rng_case = arena0, rng
        pattern = torch.randint(0, 256, (n,), dtype=torch.uint8)
        out = torch.randint(0, 256, (GUARD + n + 16 + GUARD,), dtype=torch.uint8)
        out[GUARD:GUARD + n] = pattern
        out0 = out.clone()
        want = self.expected_gather(case, case.logical(case.layers), slots, order, pattern)
        dst_size = n + rng.choice([0, 0, 1, 16])
        st = lib.fsd_gather(ctypes.byref(kv), sv.ptr(), oa, out.data_ptr() + GUARD, dst_size,
                            self.opts(rng), None)
        if self.status(st, "SUCCESS", "fsd_gather", case, extra):
            self.same(out[GUARD:GUARD + n], want, "fsd_gather", case, extra)
            self.same(torch.cat([out[:GUARD], out[GUARD + n:]]),
                      torch.cat([out0[:GUARD], out0[GUARD + n:]]),
                      "fsd_gather wrote outside the packed bytes", case, extra)
        self.same(case.arena, arena0, "fsd_gather modified the cache", case, extra)

        # runs, both directions
        addr = self.cache_addresses(case, case.layers, slots, order)
        runs_want = self.expected_runs(case, addr)
        packed_base = out.data_ptr() + GUARD if rng.random() < 0.8 else 0
        for direction in (KV_GATHER, KV_SCATTER):
            self.check_runs(case, kv, sv, oa, direction, packed_base, runs_want, extra)
        # the gather's runs, applied with memmove, give the gather
        got = self.runs(case, kv, sv, oa, KV_GATHER, out.data_ptr() + GUARD, extra)
        if got is not None:
            out2 = out0.clone()
            base = out.data_ptr() + GUARD
            for d, s, b in got.tolist():
                ctypes.memmove(out2.data_ptr() + GUARD + (d - base), s, b)
            self.same(out2[GUARD:GUARD + n], want, "the gather runs applied with memmove", case,
                      extra)

        # scatter: unique slots plus negatives
        sslots = make_slots(rng, T, case.slot_limit, unique=True)
        ssv = Slots(rng, sslots, case.slot_limit, allow_zero=False)
        sextra = f"{ssv.describe()} order {order_arg} byte_offset {split}"
        sn = len(sslots) * per_token
        src = torch.randint(0, 256, (GUARD + sn + GUARD,), dtype=torch.uint8)
        src0 = src.clone()
        expect_arena = case.arena.clone()
        self.scatter_expected(case, case.make_layers(expect_arena), sslots, order,
                              src[GUARD:GUARD + sn])
        st = lib.fsd_scatter(src.data_ptr() + GUARD, sn, ctypes.byref(kv), ssv.ptr(), oa,
                             self.opts(rng), None)
        if self.status(st, "SUCCESS", "fsd_scatter", case, sextra):
            self.same(case.arena, expect_arena, "fsd_scatter (whole storage, guards included)",
                      case, sextra)
        self.same(src, src0, "fsd_scatter modified its source", case, sextra)

        # the scatter's runs, applied with memmove, give the scatter
        case.arena.copy_(arena0)
        got = self.runs(case, kv, ssv, oa, KV_SCATTER, src.data_ptr() + GUARD, sextra)
        if got is not None:
            for d, s, b in got.tolist():
                ctypes.memmove(d, s, b)
            self.same(case.arena, expect_arena, "the scatter runs applied with memmove", case,
                      sextra)
        case.arena.copy_(arena0)

        # scatter with repeated slots: each element holds one of its copies, nothing else moves
        if len(set(x for x in slots if x >= 0)) < sum(1 for x in slots if x >= 0):
            self.scatter_repeated(case, kv, sv, oa, order, n, extra)
            case.arena.copy_(arena0)
        del holders

    def scatter_repeated(self, case, kv, sv, oa, order, n, extra):
        slots = sv.values
        src = torch.randint(0, 256, (n,), dtype=torch.uint8)
        st = self.lib.fsd_scatter(src.data_ptr(), n, ctypes.byref(kv), sv.ptr(), oa,
                                  self.opts(self.rng_case), None)
        if not self.status(st, "SUCCESS", "fsd_scatter with repeated slots", case, extra):
            return
        # what the cache now holds at each slot, by torch
        back = self.expected_gather(case, case.logical(case.layers), slots, order,
                                    torch.zeros(n, dtype=torch.uint8))
        T = len(slots)
        vshape = [case.nptr] + [T if d == case.block_dim else x for d, x in enumerate(case.shape)
                                if d != case.offset_dim]
        pshape = [vshape[o] for o in order] + [case.esize]
        inv = [order.index(i) for i in range(len(order))] + [len(order)]

        def by_token(b):  # [T, other V dims..., element bytes]
            return b.reshape(pshape).permute(inv).movedim(case.tdim, 0)

        vs, vb = by_token(src), by_token(back)
        groups = {}
        for t, x in enumerate(slots):
            if x >= 0:
                groups.setdefault(x, []).append(t)
        for x, ts in groups.items():
            idx = torch.tensor(ts)
            got = vb[ts[0]]
            if not self.check(bool((vb[idx] == got).all()), f"slot {x} reads differently",
                              case, extra):
                return
            one_of = (vs[idx] == got.unsqueeze(0)).all(-1).any(0).all()
            if not self.check(bool(one_of), f"fsd_scatter with repeated slots: an element of slot "
                              f"{x} (tokens {ts}) is none of its copies", case, extra):
                return
        # the rest of the storage is unchanged: torch writing what was read back
        expect = self.arena0.clone()
        self.scatter_expected(case, case.make_layers(expect), slots, order, back)
        self.same(case.arena, expect, "fsd_scatter with repeated slots (whole storage)", case,
                  extra)

    def scatter_expected(self, case, layers, slots, order, src):
        """torch: the packed bytes `src` written through the views `layers` (index_put_)."""
        sl = torch.tensor(slots, dtype=torch.int64)
        keep = (sl >= 0).nonzero().reshape(-1)
        T = len(slots)
        vshape = [case.nptr] + [T if d == case.block_dim else s for d, s in enumerate(case.shape)
                                if d != case.offset_dim]
        lanes = [case.lanes] if case.lanes > 1 else []
        pshape = [vshape[o] for o in order] + lanes
        inv = [order.index(i) for i in range(len(order))]
        V = src.view(case.dtype).reshape(pshape).permute(inv + ([len(inv)] if lanes else []))
        valid = sl[keep]
        bd, od = case.block_dim, case.offset_dim
        B = case.shape[od] if od >= 0 else 1
        # flipped dims (case.flips): reversed indices into the torch views
        flips = getattr(case, "flips", [])
        rest = [d for d in range(len(case.shape)) if d not in (bd, od)]
        rest_flips = [1 + rest.index(d) for d in flips if d in rest]
        blk, pos = valid // B, valid % B
        if bd in flips:
            blk = case.shape[bd] - 1 - blk
        if od in flips:
            pos = B - 1 - pos
        for l, x in enumerate(layers):
            vals = V[l].movedim(case.tdim - 1, 0).index_select(0, keep)
            if rest_flips:
                vals = vals.flip(rest_flips)
            if od < 0:
                x.movedim(bd, 0)[blk] = vals
            else:
                x.movedim((bd, od), (0, 1))[blk, pos] = vals

    def runs(self, case, kv, sv, oa, direction, packed, extra):
        """The run list from the library as [(dst, src, bytes)], or None on failure."""
        count = ctypes.c_size_t(0)
        st = self.lib.fsd_gather_runs(ctypes.byref(kv), sv.ptr(), oa, direction, packed, None, 0,
                                      ctypes.byref(count))
        if not self.status(st, "SUCCESS", "fsd_gather_runs (count)", case, extra):
            return None
        arr = (CopyRun * max(count.value, 1))()
        n2 = ctypes.c_size_t(0)
        st = self.lib.fsd_gather_runs(ctypes.byref(kv), sv.ptr(), oa, direction, packed, arr,
                                      count.value, ctypes.byref(n2))
        if not self.status(st, "SUCCESS", "fsd_gather_runs", case, extra):
            return None
        self.check(n2.value == count.value, "fsd_gather_runs: count differs between calls", case,
                   extra)
        # [dst, src, bytes] rows (three 8-byte fields)
        return torch.frombuffer(bytearray(arr), dtype=torch.int64).view(-1, 3)[:n2.value]

    def check_runs(self, case, kv, sv, oa, direction, packed, want, extra):
        what = f"fsd_gather_runs ({'gather' if direction == KV_GATHER else 'scatter'})"
        got = self.runs(case, kv, sv, oa, direction, packed, extra)
        if got is None:
            return
        if not self.check(len(got) == want.shape[0], f"{what}: {len(got)} runs, the maximal "
                          f"contiguous runs are {want.shape[0]}", case, extra):
            return
        pk, ca = (got[:, 0], got[:, 1]) if direction == KV_GATHER else (got[:, 1], got[:, 0])
        mine = torch.stack([pk - packed, ca, got[:, 2]], 1)
        if not torch.equal(mine, want):
            i = int((mine != want).any(1).nonzero()[0])
            w, g = [int(x) for x in want[i]], [int(x) for x in mine[i]]
            self.check(False, f"{what}: run {i} is packed+{g[0]} cache {g[1]:#x} {g[2]} B, "
                       f"expected packed+{w[0]} cache {w[1]:#x} {w[2]} B", case, extra)
            return
        self.passed += 1
        # a capacity one short: SIZE_MISMATCH, the count set, the array untouched
        if len(got) > 0:
            arr = (CopyRun * len(got))()
            for r in arr:
                r.dst, r.src, r.bytes = 0x5A5A, 0xA5A5, 77
            count = ctypes.c_size_t(0)
            st = self.lib.fsd_gather_runs(ctypes.byref(kv), sv.ptr(), oa, direction, packed, arr,
                                          len(got) - 1, ctypes.byref(count))
            self.status(st, "SIZE_MISMATCH", f"{what} with a capacity one short", case, extra)
            self.check(count.value == len(got), f"{what} one short: count {count.value}, "
                       f"expected {len(got)}", case, extra)
            self.check(all(r.dst == 0x5A5A and r.src == 0xA5A5 and r.bytes == 77 for r in arr),
                       f"{what} one short wrote runs", case, extra)

    # big caches on a context: threads and streaming stores ---------------------------------------
    def big(self, rng):
        cases = [
            # vLLM flash [2, NB, 16, 8, 128] bf16, 4 layers stacked, 640 tokens of shuffled
            # blocks into KV_2LTD: 10 MiB
            dict(name="vllm-flash bf16 KV_2LTD", shape=[2, 64, 16, 8, 128], bd=1, od=2, L=4,
                 dtype=torch.bfloat16, dl=(kDLBfloat, 16, 1), lanes=1, order=[1, 0, 2, 3, 4],
                 T=640, bs=16),
            # SGLang token pool [70000, 2, 21 bytes], K and V of 2 layers, page-first: 10 MB of
            # 42-byte pieces at odd addresses
            dict(name="sglang 21-byte heads page-first", shape=[70000, 2], bd=0, od=-1, L=4,
                 dtype=torch.uint8, dl=(kDLUInt, 8, 21), lanes=21, order=[1, 0, 2], T=60000, bs=1),
        ]
        for c in cases:
            self.big_case(rng, c)

    def big_case(self, rng, c):
        lib = self.lib
        shape, bd, od, L, lanes = c["shape"], c["bd"], c["od"], c["L"], c["lanes"]
        full = shape + ([lanes] if lanes > 1 else [])
        tsize = torch.empty((), dtype=c["dtype"]).element_size()
        esize = tsize * lanes
        per = prod(full)
        arena = torch.randint(0, 256, (GUARD + (L * per + 3) * tsize + GUARD,), dtype=torch.uint8)
        typed = arena[GUARD:GUARD + (L * per + 3) * tsize].view(c["dtype"])
        # layers at an odd element offset, in shuffled order
        places = list(range(L))
        rng.shuffle(places)
        layers = [typed[3 + p * per:3 + (p + 1) * per].view(full) for p in places]
        limit = shape[bd] * (shape[od] if od >= 0 else 1)
        if c["bs"] > 1:  # whole blocks, shuffled, then a few negatives
            blocks = rng.sample(range(shape[bd]), c["T"] // c["bs"])
            slots = [b * c["bs"] + i for b in blocks for i in range(c["bs"])]
        else:
            slots = []
            while len(slots) < c["T"]:
                s = rng.randrange(limit - 8)
                slots += list(range(s, s + rng.randint(1, 8)))
            slots = slots[:c["T"]]
        for _ in range(5):
            slots[rng.randrange(len(slots))] = -1
        k = len(shape)
        strides = [s // lanes for s in layers[0].stride()[:k]]
        shape_a = (ctypes.c_int64 * k)(*shape)
        strides_a = (ctypes.c_int64 * k)(*strides)
        kv = KvLayout()
        kv.layer.device = DLDevice(kDLCPU, 0)
        kv.layer.ndim = k
        kv.layer.dtype = DLDataType(*c["dl"])
        kv.layer.shape = shape_a
        kv.layer.strides = strides_a
        kv.block_dim, kv.offset_dim = bd, od
        table = torch.tensor([x.data_ptr() for x in layers], dtype=torch.int64)
        vec = Vec(table.data_ptr(), L, 1, (kDLUInt, 64, 1))
        kv.layer_ptrs = vec.ptr()
        sl = torch.tensor(slots, dtype=torch.int64)
        sv = Vec(sl.data_ptr(), len(slots), 1, (kDLInt, 64, 1))
        order = c["order"]
        oa = (ctypes.c_int * len(order))(*order)
        class _C:  # noqa: E306 — what expected_gather reads
            pass
        cc = _C()
        cc.block_dim, cc.offset_dim, cc.lanes, cc.esize = bd, od, lanes, esize
        cc.vndim = 1 + k - (1 if od >= 0 else 0)
        cc.tdim = 1 + bd - (1 if 0 <= od < bd else 0)
        cc.describe = lambda: f"big case {c['name']}"
        n = L * len(slots) * prod(s for d, s in enumerate(shape) if d not in (bd, od)) * esize
        assert n > (8 << 20), n
        pattern = torch.randint(0, 256, (n,), dtype=torch.uint8)
        want = self.expected_gather(cc, layers, slots, order, pattern)
        for ctx in (self.ctx, None):
            out = torch.randint(0, 256, (GUARD + n + GUARD,), dtype=torch.uint8)
            out[GUARD:GUARD + n] = pattern
            out0 = out.clone()
            o = ctypes.pointer(options(ENGINE_AUTO, ctx))
            t0 = time.time()
            st = lib.fsd_gather(ctypes.byref(kv), sv.ptr(), oa, out.data_ptr() + GUARD, n, o, None)
            what = f"big gather ({'2 threads' if ctx else 'calling thread'})"
            if self.status(st, "SUCCESS", what, cc):
                self.same(out[GUARD:GUARD + n], want, what, cc)
                self.same(torch.cat([out[:GUARD], out[GUARD + n:]]),
                          torch.cat([out0[:GUARD], out0[GUARD + n:]]), f"{what}: guards", cc)
            print(f"  {c['name']}: {what} of {n >> 20} MiB in {time.time() - t0:.3f} s", flush=True)
        # scatter the unique slots back on 2 threads: 0xFF-free src into a copy
        sslots = list(slots)  # unique: repeats become -1
        used = set()
        for i, s in enumerate(sslots):
            if s >= 0:
                if s in used:
                    sslots[i] = -1
                used.add(s)
        ssl = torch.tensor(sslots, dtype=torch.int64)
        ssv = Vec(ssl.data_ptr(), len(sslots), 1, (kDLInt, 64, 1))
        src = torch.randint(0, 256, (n,), dtype=torch.uint8)
        expect = arena.clone()
        elayers = [expect[GUARD:GUARD + (L * per + 3) * tsize].view(c["dtype"])
                   [3 + p * per:3 + (p + 1) * per].view(full) for p in places]
        cc.shape, cc.block_dim, cc.nptr = shape, bd, L
        cc.dtype = c["dtype"]
        self.scatter_expected(cc, elayers, sslots, order, src)
        st = lib.fsd_scatter(src.data_ptr(), n, ctypes.byref(kv), ssv.ptr(), oa,
                             ctypes.pointer(options(ENGINE_AUTO, self.ctx)), None)
        if self.status(st, "SUCCESS", "big scatter (2 threads)", cc):
            self.same(arena, expect, "big scatter (2 threads)", cc)

    # bad inputs through the user's eyes (the full list: test_gather_validate.c) ---------------
    def bad_inputs(self, rng):
        lib = self.lib
        # [L, 2, NB, BS, H, D]
        layers = torch.randint(0, 256, (3, 2, 4, 8, 2, 5), dtype=torch.uint8)
        views = [layers[i] for i in range(3)]
        shape_a = (ctypes.c_int64 * 5)(2, 4, 8, 2, 5)
        kv = KvLayout()
        kv.layer.device = DLDevice(kDLCPU, 0)
        kv.layer.ndim = 5
        kv.layer.dtype = DLDataType(kDLUInt, 8, 1)
        kv.layer.shape = shape_a
        kv.block_dim, kv.offset_dim = 1, 2
        table = torch.tensor([v.data_ptr() for v in views], dtype=torch.int64)
        vec = Vec(table.data_ptr(), 3, 1, (kDLUInt, 64, 1))
        kv.layer_ptrs = vec.ptr()
        n = 3 * 2 * 4 * 2 * 5  # L * 2 * T * H * D: the packed size of 4 slots
        per = n // 3
        before = layers.clone()
        out = torch.full((n + 64,), 0x77, dtype=torch.uint8)

        def untouched(what):
            self.check(bool((out == 0x77).all()) and torch.equal(layers, before),
                       f"{what}: a rejected call wrote")

        sl = torch.tensor([0, 5, 32, 1], dtype=torch.int64)  # 32 = 4 blocks * 8: past the cache
        sv = Vec(sl.data_ptr(), 4, 1, (kDLInt, 64, 1))
        st = lib.fsd_gather(ctypes.byref(kv), sv.ptr(), None, out.data_ptr(), out.numel(), None,
                            None)
        self.status(st, "INVALID_ARGUMENT", "gather of a slot past the cache")
        untouched("gather of a slot past the cache")
        st = lib.fsd_scatter(out.data_ptr(), n, ctypes.byref(kv), sv.ptr(), None, None, None)
        self.status(st, "INVALID_ARGUMENT", "scatter of a slot past the cache")
        untouched("scatter of a slot past the cache")
        sl[2] = 31
        st = lib.fsd_gather(ctypes.byref(kv), sv.ptr(), None, out.data_ptr(), n - 1, None, None)
        self.status(st, "SIZE_MISMATCH", "gather into a dst one byte short")
        untouched("gather into a dst one byte short")
        # layer_ptrs naming one layer twice: gather reads it twice, scatter refuses
        table[2] = table[0]
        st = lib.fsd_scatter(out.data_ptr(), n, ctypes.byref(kv), sv.ptr(), None, None, None)
        self.status(st, "ALIASING", "scatter into layers that overlap")
        untouched("scatter into layers that overlap")
        st = lib.fsd_gather(ctypes.byref(kv), sv.ptr(), None, out.data_ptr(), n, None, None)
        self.status(st, "SUCCESS", "gather from a layer named twice")
        self.check(torch.equal(out[:per], out[2 * per:3 * per]), "gather from a layer named "
                   "twice: layers 0 and 2 differ")


def main():
    lib = load_library()
    seed = int(os.environ.get("FSD_TEST_SEED") or (time.time_ns() & 0xFFFFFFFF))
    print(f"seed: {seed} (replay with FSD_TEST_SEED={seed})", flush=True)
    ncases = int(os.environ.get("FSD_ORACLE_CASES", "600"))
    rng = random.Random(seed)
    torch.manual_seed(seed)
    assert ctypes.sizeof(GatherOptions) == 40 and ctypes.sizeof(ContextConfig) == 64

    cfg = ContextConfig()
    cfg.size, cfg.magic, cfg.version = ctypes.sizeof(ContextConfig), 0x46534443, 1
    cfg.device, cfg.cpu_threads = -1, 2
    ctx = ctypes.c_void_p()
    st = lib.fsd_context_create(ctypes.byref(ctx), ctypes.byref(cfg))
    if st != 0:
        print(f"FAIL: fsd_context_create: {NAMES.get(st, st)}: {last_error(lib)}")
        sys.exit(1)
    oracle = Oracle(lib, seed, ctx)
    t0 = time.time()
    seen = {}
    for i in range(ncases):
        case = Case(rng, i)
        for key in (case.family, case.ename, case.arrange) + (("flipped",) if case.flips else ()):
            seen[key] = seen.get(key, 0) + 1
        oracle.run_case(case, rng)
    print(f"{ncases} random caches in {time.time() - t0:.1f} s: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(seen.items()))}", flush=True)
    oracle.big(rng)
    oracle.bad_inputs(rng)
    lib.fsd_context_destroy(ctx)
    print(f"{ncases} random caches, 2 big ones and the bad inputs, checks: {oracle.passed} "
          f"passed, {oracle.failed} failed")
    sys.exit(1 if oracle.failed else 0)


if __name__ == "__main__":
    main()

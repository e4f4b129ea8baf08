"""kv_cases — what torch_gather.py drives: fastserde.h's paged-KV structs and functions through
ctypes (fsd_kv_layout, fsd_gather_options, fsd_copy_run, fsd_context_config), and the random
caches: a family of issue 12, an element type, torch storage viewed through permutes and
slices, the layers stacked or scattered, and the slots as a DLTensor."""
import ctypes
import os
import sys

import torch

from dlpack_ctypes import (DLDataType, DLDevice, DLTensor, kDLBfloat, kDLCPU,  # noqa: E402
                           kDLCUDAHost, kDLFloat, kDLInt, kDLUInt)

GUARD = 64
KV_GATHER, KV_SCATTER = 0, 1
ENGINE_AUTO, ENGINE_KERNEL, ENGINE_COPY = 0, 1, 2


# ---------------------------------------------------------------------------------------------
# fastserde.h's paged-KV structs and the library through ctypes

class KvLayout(ctypes.Structure):
    _fields_ = [("layer", DLTensor), ("block_dim", ctypes.c_int), ("offset_dim", ctypes.c_int),
                ("layer_ptrs", ctypes.POINTER(DLTensor))]


class GatherOptions(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("magic", ctypes.c_uint32),
                ("version", ctypes.c_uint32), ("engine", ctypes.c_int),
                ("max_blocks", ctypes.c_int), ("context", ctypes.c_void_p),
                ("invalid_slots", ctypes.c_void_p)]


def options(engine=ENGINE_AUTO, context=None):
    """FSD_GATHER_OPTIONS_INIT with the engine and context set."""
    o = GatherOptions()
    o.size = ctypes.sizeof(GatherOptions)
    o.magic = 0x46534447
    o.version = 1
    o.engine = engine
    o.max_blocks = 0
    o.context = context
    o.invalid_slots = None
    return o


class CopyRun(ctypes.Structure):
    _fields_ = [("dst", ctypes.c_void_p), ("src", ctypes.c_void_p), ("bytes", ctypes.c_size_t)]


class Allocator(ctypes.Structure):
    _fields_ = [("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p), ("user", ctypes.c_void_p)]


class ContextConfig(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("magic", ctypes.c_uint32),
                ("version", ctypes.c_uint32), ("device", ctypes.c_int),
                ("chunk_bytes", ctypes.c_size_t), ("chunks", ctypes.c_int),
                ("cpu_threads", ctypes.c_int), ("allocator", Allocator)]


def load_library():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FASTSERDE_LIBRARY")
    if not path:
        sys.exit("usage: torch_gather.py path/to/libfastserde.so (or set FASTSERDE_LIBRARY)")
    lib = ctypes.CDLL(path)
    K, T = ctypes.POINTER(KvLayout), ctypes.POINTER(DLTensor)
    vp, sz, ip = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)
    O = ctypes.POINTER(GatherOptions)
    lib.fsd_gather_size.argtypes = [K, T, ctypes.POINTER(sz)]
    lib.fsd_gather.argtypes = [K, T, ip, vp, sz, O, vp]
    lib.fsd_scatter.argtypes = [vp, sz, K, T, ip, O, vp]
    lib.fsd_gather_runs.argtypes = [K, T, ip, ctypes.c_int, vp, ctypes.POINTER(CopyRun), sz,
                                    ctypes.POINTER(sz)]
    lib.fsd_context_create.argtypes = [ctypes.POINTER(vp), ctypes.POINTER(ContextConfig)]
    lib.fsd_context_destroy.argtypes = [vp]
    lib.fsd_context_destroy.restype = None
    for f in (lib.fsd_gather_size, lib.fsd_gather, lib.fsd_scatter, lib.fsd_gather_runs,
              lib.fsd_context_create):
        f.restype = ctypes.c_int
    lib.fsd_last_error.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.fsd_last_error.restype = ctypes.c_size_t
    return lib


def last_error(lib):
    msg = ctypes.create_string_buffer(512)
    lib.fsd_last_error(msg, 512)
    return msg.value.decode()


class Vec:
    """A hand-built 1-D DLTensor (slots, layer_ptrs) over a torch tensor; owns its arrays."""

    def __init__(self, data, n, stride, dtype, byte_offset=0):
        self.shape = (ctypes.c_int64 * 1)(n)
        self.strides = None if stride is None else (ctypes.c_int64 * 1)(stride)
        self.t = DLTensor()
        self.t.data = data
        self.t.device = DLDevice(kDLCPU, 0)
        self.t.ndim = 1
        self.t.dtype = DLDataType(*dtype)
        self.t.shape = self.shape
        if self.strides is not None:
            self.t.strides = self.strides
        self.t.byte_offset = byte_offset

    def ptr(self):
        return ctypes.pointer(self.t)


def prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


# ---------------------------------------------------------------------------------------------
# Random caches

# (name, torch dtype, DLPack dtype or None for the odd-size kinds, weight)
ELEMS = [("fp8", torch.uint8, (kDLUInt, 8, 1), 3), ("bf16", torch.bfloat16, (kDLBfloat, 16, 1), 4),
         ("f16", torch.float16, (kDLFloat, 16, 1), 1), ("f32", torch.float32, (kDLFloat, 32, 1), 1),
         ("f64", torch.float64, (kDLFloat, 64, 1), 1), ("odd", torch.uint8, None, 3)]

FAMILIES = ["vllm_flash", "vllm_flash", "vllm_hnd", "flashinfer", "flashinfer_hnd", "mla",
            "sglang", "sglang", "random", "random"]


class Case:
    """One random cache, its slots and order, and the torch views over its storage."""

    def __init__(self, rng, index):
        self.index = index
        self.rng = rng
        self.pick_element()
        self.pick_family()
        self.plan_storage()
        self.arena = torch.randint(0, 256, (GUARD + self.arena_bytes + GUARD,), dtype=torch.uint8)
        self.layers = self.make_layers(self.arena)

    # element type ----------------------------------------------------------------------------
    def pick_element(self):
        rng = self.rng
        name, dtype, dl, _ = rng.choices(ELEMS, weights=[e[3] for e in ELEMS])[0]
        self.ename, self.dtype, self.lanes = name, dtype, 1
        if dl is None:  # odd sizes: a trailing uint8 dim becomes the lanes
            self.lanes = rng.choice([3, 6, 12, 16, 5])
            dl = (kDLUInt, 8, self.lanes) if rng.random() < 0.5 else \
                (kDLInt, 8 * self.lanes, 1) if self.lanes < 32 else (kDLUInt, 8, self.lanes)
        self.dl = dl
        self.tsize = torch.empty((), dtype=dtype).element_size()
        self.esize = self.tsize * self.lanes

    # family: the logical layer shape, block_dim, offset_dim, the family's orders ----------------
    def pick_family(self):
        rng = self.rng
        fam = rng.choice(FAMILIES)
        nb = rng.randint(1, 8)
        bs = rng.choice([1, 2, 3, 4, 5, 7, 8, 16, 16, 32])
        h = rng.randint(1, 4)
        d = rng.choice([1, 3, 5, 7, 16, 64]) if self.esize == 1 else rng.choice([1, 2, 3, 8, 16])
        L = rng.randint(1, 6)
        self.kv_split = False  # K and V as 2L entries of layer_ptrs
        self.orders = []
        if fam == "vllm_flash":
            shape, bd, od = [2, nb, bs, h, d], 1, 2
            self.orders = [[1, 0, 2, 3, 4]]  # LMCache KV_2LTD
        elif fam == "vllm_hnd":
            shape, bd, od = [2, nb, h, bs, d], 1, 3
            self.orders = [[1, 0, 2, 3, 4]]
        elif fam == "flashinfer":
            shape, bd, od = [nb, 2, bs, h, d], 0, 2
            self.orders = [[2, 0, 1, 3, 4]]  # [2, L, T, H, D]
        elif fam == "flashinfer_hnd":
            shape, bd, od = [nb, 2, h, bs, d], 0, 3
            self.orders = [[2, 0, 1, 3, 4]]
        elif fam == "mla":
            shape, bd, od = [nb, bs, d * rng.choice([1, 2, 4])], 0, 1
            self.orders = [[1, 0, 2]]
        elif fam == "sglang":
            shape, bd, od = [rng.randint(1, 64), h, d], 0, -1
            self.kv_split = True
            self.orders = [[1, 0, 2, 3]]  # page-first [T, 2L, H, D]
        else:  # any block_dim / offset_dim (offset_dim before block_dim too)
            k = rng.randint(1, 5)
            shape = [rng.choice([1, 2, 3, 4, 5, 8]) for _ in range(k)]
            bd = rng.randrange(k)
            others = [x for x in range(k) if x != bd]
            od = rng.choice(others) if others and rng.random() < 0.7 else -1
        self.family = fam
        # a budget of elements per layer
        while prod(shape) * self.esize > 24576:
            i = shape.index(max(shape))
            shape[i] = (shape[i] + 1) // 2
        self.shape, self.block_dim, self.offset_dim = shape, bd, od
        self.L = L
        self.nptr = 2 * L if self.kv_split else L
        self.slot_limit = shape[bd] * (shape[od] if od >= 0 else 1)
        self.vndim = 1 + len(shape) - (1 if od >= 0 else 0)
        self.tdim = 1 + bd - (1 if 0 <= od < bd else 0)  # the token dim of V

    # storage: physical order, padding and steps of every logical dim, the layers' places -------
    def plan_storage(self):
        rng = self.rng
        k = len(self.shape)
        self.phys = list(range(k))
        if k > 1 and rng.random() < 0.35:
            rng.shuffle(self.phys)
        self.cut = []  # per logical dim: (start, step, full extent)
        for n in self.shape:
            if rng.random() < 0.25:
                start, step = rng.randint(0, 2), rng.choice([1, 2])
                full = start + (n - 1) * step + 1 + rng.randint(0, 2)
            else:
                start, step, full = 0, 1, n
            self.cut.append((start, step, full))
        self.storage_shape = [self.cut[d][2] for d in self.phys]
        self.flips = []
        if rng.random() < 0.3:
            self.flips = [d for d in range(k) if self.shape[d] > 1 and rng.random() < 0.5]
        self.unit = prod(self.storage_shape) * self.lanes  # torch elements per layer storage
        if self.nptr == 1 and rng.random() < 0.5:
            self.arrange = "single"  # layer_ptrs NULL: layer.data
        else:
            self.arrange = rng.choice(["stacked", "scattered"])
        self.offsets = []  # in torch elements from the arena's typed start
        if self.arrange == "scattered":
            at = 0
            places = []
            for _ in range(self.nptr):
                at += rng.randint(0, 9)
                places.append(at)
                at += self.unit
            rng.shuffle(places)
            self.offsets = places
            total = at + rng.randint(0, 5)
        else:
            self.offsets = [i * self.unit for i in range(self.nptr)]
            if self.arrange == "stacked" and rng.random() < 0.3:
                rng.shuffle(self.offsets)  # layer_ptrs not in address order
            total = self.nptr * self.unit
        self.arena_bytes = total * self.tsize

    def make_layers(self, arena):
        """The layer views (logical dims + a trailing lanes dim) over `arena`'s storage."""
        typed = arena[GUARD:GUARD + self.arena_bytes].view(self.dtype)
        inv = [self.phys.index(d) for d in range(len(self.shape))]
        lanes = [self.lanes] if self.lanes > 1 else []
        out = []
        for off in self.offsets:
            st = typed[off:off + self.unit].view(self.storage_shape + lanes)
            v = st.permute(inv + ([len(inv)] if lanes else []))
            for d, (start, step, _) in enumerate(self.cut):
                idx = [slice(None)] * v.dim()
                idx[d] = slice(start, start + (self.shape[d] - 1) * step + 1, step)
                v = v[tuple(idx)]
            assert list(v.shape[:len(self.shape)]) == self.shape
            out.append(v)
        return out

    def elem_strides(self, v):
        st = list(v.stride())
        if self.lanes > 1:
            st = [s // self.lanes for s in st[:-1]]
        return st

    # The layers as fastserde sees them: the torch views with the dims in `flips` reversed
    # (negative strides, which torch cannot make: torch.flip copies).
    def dl_strides(self, v):
        return [-s if d in self.flips else s for d, s in enumerate(self.elem_strides(v))]

    def base(self, v):
        """The address of the flipped view's first element."""
        st = self.elem_strides(v)
        return v.data_ptr() + sum((self.shape[d] - 1) * st[d] * self.esize for d in self.flips)

    def logical(self, layers):
        """The flipped layers' values (copies when flipped)."""
        return [x.flip(self.flips) for x in layers] if self.flips else list(layers)

    # the DLPack side ---------------------------------------------------------------------------
    def kv_layout(self, layers, split, null_data=False, null_strides=False):
        """(KvLayout, holders): layer 0's shape and strides, layer_ptrs of data_ptr() - split and
        byte_offset split (or layer.data for a single layer)."""
        x = layers[0]
        k = len(self.shape)
        strides = self.dl_strides(x)
        for y in layers[1:]:
            assert self.dl_strides(y) == strides
        shape_a = (ctypes.c_int64 * k)(*self.shape)
        contiguous = all(strides[d] == prod(self.shape[d + 1:]) for d in range(k)
                         if self.shape[d] > 1)
        strides_a = None if (null_strides and contiguous) else (ctypes.c_int64 * k)(*strides)
        kv = KvLayout()
        kv.layer.device = DLDevice(kDLCUDAHost if self.rng.random() < 0.15 else kDLCPU, 0)
        kv.layer.ndim = k
        kv.layer.dtype = DLDataType(*self.dl)
        kv.layer.shape = shape_a
        if strides_a is not None:
            kv.layer.strides = strides_a
        kv.layer.byte_offset = split
        kv.block_dim, kv.offset_dim = self.block_dim, self.offset_dim
        holders = [shape_a, strides_a]
        if self.arrange == "single":
            kv.layer.data = self.base(x) - split
        else:
            kv.layer.data = None if null_data else self.base(x) - split
            table = torch.tensor([self.base(y) - split for y in layers], dtype=torch.int64)
            vec = Vec(table.data_ptr(), len(layers), 1 if self.rng.random() < 0.5 else None,
                      (kDLUInt, 64, 1))
            if self.rng.random() < 0.15:
                vec.t.device = DLDevice(kDLCUDAHost, 0)
            kv.layer_ptrs = vec.ptr()
            holders += [table, vec]
        return kv, holders

    def describe(self):
        return (f"case {self.index}: {self.family} shape {self.shape} block_dim {self.block_dim} "
                f"offset_dim {self.offset_dim} {self.ename} ({self.esize} B, lanes {self.lanes}, "
                f"dl {self.dl}) L {self.L} ptrs {self.nptr} {self.arrange} phys {self.phys} "
                f"cut {self.cut} flips {self.flips}")


def make_slots(rng, T, limit, unique):
    """A list of T slots in [0, limit) (duplicates unless unique; fewer when unique and T >
    limit) with negative slots mixed in."""
    if unique:
        vals = rng.sample(range(limit), min(T, limit))
    else:
        vals = []
        while len(vals) < T:
            if vals and rng.random() < 0.35:  # runs: the next slot, or a repeat
                vals.append(min(vals[-1] + 1, limit - 1) if rng.random() < 0.8 else vals[-1])
            else:
                vals.append(rng.randrange(limit))
    out = []
    for v in vals:
        if rng.random() < 0.12:
            out.append(rng.choice([-1, -1, -2, -limit - 1, -(1 << 31)]))
        out.append(v)
    return out[:max(T, 0)] if not unique else out


class Slots:
    """slots as a DLTensor: int32 or int64; contiguous, every other element of a bigger tensor
    (whose other elements are past the cache), backwards (a negative stride), or one slot
    repeated by a stride of 0 (then `values` becomes that repetition); a byte_offset; kDLCPU
    or kDLCUDAHost."""

    def __init__(self, rng, values, limit, allow_zero=True):
        T = len(values)
        self.dtype = rng.choice([torch.int32, torch.int64])
        size = 4 if self.dtype == torch.int32 else 8
        self.mode = rng.choices(["contiguous", "step 2", "backwards", "stride 0"],
                                weights=[5, 3, 2, 1 if allow_zero and T else 0])[0]
        if self.mode == "stride 0":
            values = [values[0]] * T
        self.values = values
        step = 1 if self.mode in ("contiguous", "stride 0") else 2
        pad = rng.randint(0, 3)
        big = torch.full((pad + T * step + 1,), limit + 7 if limit + 7 < (1 << 31) else -1,
                         dtype=self.dtype)
        if T:
            stored = values[::-1] if self.mode == "backwards" else values
            big[pad:pad + T * step:step] = torch.tensor(stored, dtype=self.dtype)
        self.big = big
        base = big.data_ptr() + pad * size
        if self.mode == "backwards" and T:
            base += (T - 1) * step * size
            stride = -step
        elif self.mode == "stride 0":
            stride = 0
        else:
            stride = step if (step > 1 or rng.random() < 0.5) else None
        split = rng.choice([0, 0, size])
        self.vec = Vec(base - split, T, stride, (kDLInt, 8 * size, 1), split)
        if rng.random() < 0.15:
            self.vec.t.device = DLDevice(kDLCUDAHost, 0)

    def ptr(self):
        return self.vec.ptr()

    def describe(self):
        return f"slots {self.dtype} {self.mode} {self.values}"

#!/usr/bin/env python3
"""make_seeds.py — writes the seed corpus of tests/fuzz/corpus/<target>/ (committed; rerun
after changing an input encoding). Each seed is one named layout in the byte encoding that its
fuzz target reads (see the target's LLVMFuzzerTestOneInput)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# fuzz_input.h fsdf_edgy_i64: table indices
E = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 7: 6, 8: 7, 16: 8, 31: 9, 32: 10, 33: 11, 64: 12,
     'MAX': 22, 'MAX-1': 23, 'MAX/2': 24, 'MAX/2+1': 25, 'MIN': 27, '2^32': 32, '2^62': 35,
     '3<<61': 39, -1: 17, -4096: 21}


def u16(v): return struct.pack('<H', v)
def u64(v): return struct.pack('<Q', v & (2**64 - 1))


def validate_seed(dims, flags=0b000100, bits_sel=2, code=2, lanes_sel=0, dev_sel=0, dev_id=2,
                  sm=b'\x00', data=u16(0x1000), offset=b'\x00', mode=2):
    """dims: [(shape_key, stride_key)]; mode 2..15 = plain ndim."""
    b = bytes([mode, len(dims) if mode % 16 > 1 else 0])
    for s, t in dims:
        b += bytes([E[s], E[t]])
    b += bytes([flags]) + data + offset
    b += bytes([bits_sel, code, lanes_sel, dev_sel, dev_id]) + sm
    return b


VALIDATE = {
    'contig_2x3_f32': validate_seed([(2, 3), (3, 1)]),
    'strides_null': validate_seed([(4, 0), (8, 0), (3, 0)], flags=0b000110),
    'coalesce_overflow': validate_seed([(2, 1), (2, '3<<61')], bits_sel=0),
    'product_overflow': validate_seed([('MAX', 1), (2, 'MAX')]),
    'stride_overflow': validate_seed([(3, 'MAX/2+1'), (2, 1)], bits_sel=0),
    'negative_stride_below_0': validate_seed([(4, -4096), (2, 1)], bits_sel=0),
    'byte_offset_2p63': validate_seed([(2, 1)], flags=0b100100, offset=u64(2**63 - 1)),
    'cuda_device': validate_seed([(64, 1), (33, 64)], dev_sel=1, sm=b'\x01\x83'),
    'negative_ndim': bytes([0]) + struct.pack('<I', 5),
    'huge_ndim': bytes([1]) + u16(3000) + bytes([3]) + u16(10) + bytes([E[2], E[1]]) + u16(2999)
                 + bytes([E[3], E[2]]) + u16(1500) + bytes([E[0], E[5]]),
    'null_shape': validate_seed([(2, 1)], flags=0b000101, mode=0x82),
    'bad_dtype': validate_seed([(2, 1)], bits_sel=7, lanes_sel=128),
}


def diff_seed(ndim, esize_sel, dims, mode, picks=b'', per_dim=b'', device=0, pad=0, tail=0,
              opt=0, shift=0, sms=0, r0=0, r1=0):
    """dims: bytes selecting k_dims entries; mode 0 compact, 1 view, 2 view+broadcast, 3 raw."""
    b = bytes([ndim, esize_sel]) + bytes(dims) + bytes([mode]) + picks + per_dim
    b += bytes([device, pad, tail, opt, shift, sms]) + struct.pack('<II', r0, r1)
    return b + bytes(range(64))


# k_dims = {1,2,3,4,5,7,8,9,16,17,31,32,33,64,65,100,0}; k_esizes = {1,2,4,8,16,3,6,12,5,7,10,32,24,..}
DIFF = {
    'contig_4x8_f32': diff_seed(2, 2, [3, 6], 0),
    'transpose_33x65_bf16': diff_seed(2, 1, [12, 14], 1, picks=b'\x01', per_dim=b'\x00\x00',
                                      sms=2, r0=100, r1=2000),
    'transpose_64x64_u8': diff_seed(2, 0, [13, 13], 1, picks=b'\x01', per_dim=b'\x00\x00', opt=1),
    'kv_slice_4d': diff_seed(4, 1, [1, 3, 9, 8], 1, picks=b'\x00\x01\x00',
                             per_dim=b'\x00\x01\x30\x00', pad=5, sms=131, r0=7, r1=900),
    'flips_3byte': diff_seed(3, 5, [2, 4, 5], 1, picks=b'\x02\x00', per_dim=b'\x04\x00\x04', pad=1),
    'broadcast': diff_seed(3, 2, [3, 1, 6], 2, picks=b'\x00\x00', per_dim=b'\x08\x00\x00'),
    'raw_aliasing': diff_seed(2, 3, [4, 4], 3, per_dim=b'\x01\x01'),
    'high_rank_8': diff_seed(8, 0, [1] * 8, 1, picks=b'\x07\x03\x05\x01\x02\x00\x01',
                             per_dim=b'\x00\x02\x00\x04\x00\x30\x00\xc0\x01', shift=3),
    'scalar_16': diff_seed(0, 4, [], 0),
    'empty_dim': diff_seed(3, 2, [3, 255, 4], 1, picks=b'\x00\x00', per_dim=b'\x00\x00\x00'),
    'odd_12byte_runs': diff_seed(3, 7, [5, 9, 3], 1, picks=b'\x00\x00', per_dim=b'\x00\x01\x00',
                                 opt=0x1e, r0=5, r1=77),
}


def fb_seed(bits_sel, code, lanes_sel, dev_sel, dev_id, mode, rest=b''):
    return bytes([bits_sel, code, lanes_sel, dev_sel, dev_id, mode]) + rest


FROM_BYTES = {
    'f32_cpu_16': fb_seed(2, 2, 0, 0, 1, 0, bytes(range(16))),
    'bf16_part': fb_seed(1, 4, 0, 0, 1, 1, u16(6) + bytes(range(10))),
    'u24_odd_size': fb_seed(10, 1, 0, 0, 1, 0, bytes(range(7))),
    'bits_12': fb_seed(9, 0, 0, 0, 1, 0, bytes(8)),
    'lanes_0': fb_seed(0, 0, 130, 0, 1, 0, bytes(8)),
    'cuda_no_gpu': fb_seed(2, 2, 0, 2, 1, 0, bytes(8)),
    'opencl': fb_seed(2, 2, 0, 5, 1, 0, bytes(8)),
    'huge_size': fb_seed(3, 2, 0, 0, 1, 2, bytes([0, 1])),
    'null_bytes': fb_seed(0, 1, 0, 0, 1, 3, bytes([0]) + u64(64)),
    'empty': fb_seed(5, 2, 200, 0, 1, 4, bytes([1])),
}



def u32(v): return struct.pack('<I', v & (2**32 - 1))


def cfg_seed(devices, version=0, chunk=bytes([0, 2]), chunks=bytes([0, 3]), threads=bytes([1, 2]),
             hooks=0, prio=0, device=bytes([1]), magic=bytes([1]),
             trip=bytes([40, 50, 1, 1, 2]), run=bytes([7, 1])):
    """fuzz_config's encoding: GPUs, version choice, magic choice, device choice, chunk_bytes
    (choice + value), chunks (choice + value), cpu_threads (choice + value), hooks, priority,
    the tensor (rows, cols, transposed, pinned when there is a GPU, stream), the schedule."""
    b = bytes([devices]) + (version if isinstance(version, bytes) else bytes([version]))
    b += magic + device + chunk + chunks + threads + bytes([hooks, prio & 0xff])
    if devices == 0:
        trip = trip[:3] + trip[4:]  # no pinned choice without a GPU
    return b + trip + run


CONFIG = {
    'gpu_defaults_strided': cfg_seed(1),
    'v1_struct_hooks': cfg_seed(1, version=1, hooks=1, prio=0xfe, trip=bytes([20, 30, 1, 0, 1])),
    'ring_wraps_2p62': cfg_seed(1, chunk=bytes([3, 62, 1]), chunks=bytes([0, 4])),
    'threads_20000': cfg_seed(0, threads=bytes([0]) + u32(20000)),
    'threads_max': cfg_seed(1, threads=bytes([0]) + u32(256), chunk=bytes([0, 1])),
    'no_gpu_host_trip': cfg_seed(0, trip=bytes([10, 10, 0, 1, 0])),
    'two_gpus_device1': cfg_seed(2, device=bytes([0, 1]), trip=bytes([5, 5, 1, 1, 0])),
    'ring_beyond_memory': cfg_seed(1, chunk=bytes([3, 24, 0]), chunks=bytes([0, 5])),
    'chunks_65': cfg_seed(1, chunks=bytes([1, 65])),
    'alloc_hook_only': cfg_seed(1, hooks=2),
    # found by the fuzzer: a device that does not exist was refused after the thread pool
    # had been allocated (through the hooks)
    'device_2_of_1_hooks': cfg_seed(1, version=1, device=bytes([0, 2]), chunk=bytes([0, 3]),
                                    chunks=bytes([1, 2]), threads=bytes([1, 0]), hooks=1, prio=7),
}

for target, seeds in (('fuzz_validate', VALIDATE), ('fuzz_differential', DIFF),
                      ('fuzz_from_bytes', FROM_BYTES), ('fuzz_config', CONFIG)):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    print(f'{target}: {len(seeds)} seeds')

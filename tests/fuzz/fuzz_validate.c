/*
 * fuzz_validate.c — libFuzzer target (a): validation and planning over arbitrary DLTensor
 * fields: ndim (negative, up to thousands), shape and strides (edge values or raw 64-bit),
 * byte_offset, dtype code/bits/lanes, device type/id, NULL shape/strides/data, and a `data`
 * pointer that is never real memory. Never a crash, never UB (ASan + UBSan), and:
 *
 *  - fsd_packed_size fails with one of the statuses that apply to the fields (computed here),
 *    or gives the exact product (128-bit arithmetic here);
 *  - fsd_layout_from_tensor agrees with fsd_packed_size, refuses every layout whose bytes leave
 *    the address space or lie 2^63 bytes or more from `data`, and accepts every layout that
 *    stays clear of those limits;
 *  - fsd_layout_check_unaliased agrees with the nesting rule computed here;
 *  - plans (whole tensor and a random byte range, both directions, CPU and GPU grids) keep
 *    their invariants (plan.h);
 *  - fsd_pack / fsd_unpack with a NULL or too-small buffer fail with the expected status
 *    without reading or writing anything, and fsd_last_error is set exactly on failure.
 *
 * Only paths that cannot dereference `data` run: every copy is stopped by a size check first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastserde.h"
#include "fuzz_input.h"
#include "layout.h"
#include "plan_build.h"

#define MAX_NDIM 5000

typedef unsigned __int128 u128;
typedef __int128 i128;

#define FSDF_TARGET "fuzz_validate"
#include "fuzz_check.h"

static int64_t g_shape[MAX_NDIM], g_strides[MAX_NDIM];

/* Bit set of the statuses that apply to the fields fsd_check_shape looks at. */
static unsigned shape_errors(const DLTensor *t, u128 *size)
{
    unsigned e = 0;
    *size = 0;
    if (t->ndim < 0)
        return 1u << FSD_ERROR_INVALID_ARGUMENT; /* nothing else can be read */
    if (t->ndim > 0 && t->shape == NULL)
        e |= 1u << FSD_ERROR_INVALID_ARGUMENT;
    switch (t->device.device_type) {
    case kDLCPU:
    case kDLCUDA:
    case kDLCUDAHost:
    case kDLCUDAManaged: break;
    default: e |= 1u << FSD_ERROR_UNSUPPORTED;
    }
    if (t->dtype.bits == 0 || t->dtype.lanes == 0)
        e |= 1u << FSD_ERROR_INVALID_ARGUMENT;
    else if (t->dtype.bits % 8 != 0)
        e |= 1u << FSD_ERROR_UNSUPPORTED;
    if (t->ndim > 0 && t->shape == NULL)
        return e;
    int zero = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            e |= 1u << FSD_ERROR_INVALID_ARGUMENT;
        zero |= t->shape[d] == 0;
    }
    if (e != 0 || zero)
        return e;
    u128 p = (u128)(t->dtype.bits / 8) * t->dtype.lanes;
    for (int d = 0; d < t->ndim; d++) {
        p *= (uint64_t)t->shape[d];
        if (p > (u128)INT64_MAX)
            return 1u << FSD_ERROR_OVERFLOW;
    }
    *size = p;
    return 0;
}

/* For a tensor that passed the shape checks with `size` > 0 bytes: 1 when its layout must be
 * refused (a byte outside [0, 2^64), or an offset from data of 2^63 or more), 0 when it must
 * be accepted (clear of those limits by one byte), -1 at the boundary. Also the nesting rule. */
static int exact_verdict(const DLTensor *t, uint64_t esize, int *nests)
{
    i128 above = 0, below = 0;
    const i128 cap = (i128)1 << 100;
    u128 compact = 1; /* elements; saturates at 2^64 (only reached with size 0, excluded) */
    int n2 = 0;
    static u128 mags[MAX_NDIM], ext[MAX_NDIM];
    for (int d = t->ndim - 1; d >= 0; d--) {
        uint64_t n = (uint64_t)t->shape[d];
        i128 s = t->strides ? (i128)t->strides[d] : (i128)compact;
        compact *= n;
        if (n <= 1)
            continue;
        u128 mag = (u128)(s < 0 ? -s : s) * esize; /* < 2^85 */
        u128 span = (mag != 0 && (u128)(n - 1) > (u128)cap / mag) ? (u128)cap : mag * (n - 1);
        if (s >= 0)
            above += (i128)span;
        else
            below += (i128)span;
        mags[n2] = mag;
        ext[n2] = n;
        n2++;
    }
    /* nesting: sorted by |stride|, each steps past the span of the smaller ones */
    for (int i = 1; i < n2; i++) { /* insertion sort: n2 <= 63 for sizes < 2^63 */
        u128 m = mags[i], x = ext[i];
        int j = i - 1;
        while (j >= 0 && mags[j] > m) {
            mags[j + 1] = mags[j];
            ext[j + 1] = ext[j];
            j--;
        }
        mags[j + 1] = m;
        ext[j + 1] = x;
    }
    *nests = 1;
    u128 span = esize;
    for (int i = 0; i < n2; i++) {
        if (mags[i] == 0 || mags[i] < span) {
            *nests = 0;
            break;
        }
        span += mags[i] * (ext[i] - 1);
    }
    i128 first = (i128)(uintptr_t)t->data + (i128)t->byte_offset;
    i128 lo = first - below, hi = first + above + (i128)esize;
    i128 last_off = (i128)t->byte_offset + above + (i128)esize - 1;
    const i128 top = (i128)UINTPTR_MAX;
    if (lo < 0 || hi - 1 > top || last_off > (i128)INT64_MAX || below > (i128)INT64_MAX)
        return 1;
    if (hi <= top && last_off + 1 <= (i128)INT64_MAX)
        return 0;
    return -1;
}

static void check_plan(const fsd_plan *p, const fsd_layout *l, uint64_t begin, uint64_t end,
                       uint32_t sm)
{
    CHECK(p->path >= 0 && p->path < FSD_PATH_COUNT, "path %d", (int)p->path);
    CHECK(p->total_bytes == l->total_bytes && p->begin == begin && p->end == end, "range");
    CHECK(p->block == FSD_BLOCK_THREADS && p->grid >= 1, "grid %u block %u", p->grid, p->block);
    CHECK(sm == 0 ? p->grid == 1 : p->grid <= (uint64_t)sm * FSD_BLOCKS_PER_SM, "grid %u for %u SMs",
          p->grid, sm);
    CHECK(p->index64 == (l->total_bytes >= ((uint64_t)1 << 31)), "index64 %d", p->index64);
    if (begin >= end) {
        CHECK(p->path == FSD_PATH_EMPTY, "empty range, path %s", fsd_path_name(p->path));
        return;
    }
    CHECK(p->path != FSD_PATH_EMPTY, "non-empty range planned as empty");
    CHECK(p->ndim >= 0 && p->ndim <= FSD_PLAN_MAX_DIMS, "ndim %d", p->ndim);
    CHECK(p->run_bytes >= 1 && p->total_bytes % p->run_bytes == 0 &&
          p->num_runs == p->total_bytes / p->run_bytes, "run_bytes %llu", (unsigned long long)p->run_bytes);
    u128 prod = p->run_bytes;
    for (int d = 0; d < p->ndim; d++) {
        CHECK(p->shape[d] >= 2, "dim %d of size %llu", d, (unsigned long long)p->shape[d]);
        prod *= p->shape[d];
        CHECK(prod <= p->total_bytes, "shapes exceed the size");
        uint64_t inner = d == p->ndim - 1 ? p->run_bytes : p->pstride[d + 1] * p->shape[d + 1];
        CHECK(p->pstride[d] == inner, "pstride[%d]", d);
    }
    CHECK(prod == p->total_bytes, "shape product %llu != %llu", (unsigned long long)prod,
          (unsigned long long)p->total_bytes);
    CHECK(p->word == 1 || p->word == 2 || p->word == 4 || p->word == 8 || p->word == 16,
          "word %u", p->word);
    if (p->path == FSD_PATH_TRANSPOSE) {
        CHECK(p->tdim >= 0 && p->tdim < p->ndim - 1, "tdim %d of %d", p->tdim, p->ndim);
        CHECK(p->stride[p->tdim] == (int64_t)p->elem_size && p->run_bytes == p->elem_size,
              "transpose dim stride %lld", (long long)p->stride[p->tdim]);
        CHECK(p->tile_vec == 1 || p->tile_vec == 2 || p->tile_vec == 4, "tile_vec %u", p->tile_vec);
        CHECK(p->num_tiles >= 1, "no tiles");
    } else {
        CHECK(p->path == (p->ndim == 0 ? FSD_PATH_CONTIG
                          : p->ndim <= FSD_RUNS_MAX_DIMS ? FSD_PATH_RUNS : FSD_PATH_GENERIC),
              "path %s with %d outer dims", fsd_path_name(p->path), p->ndim);
        CHECK(p->run_bytes % p->word == 0 && p->words_per_run * p->word == p->run_bytes,
              "word %u, run %llu", p->word, (unsigned long long)p->run_bytes);
        CHECK(p->first_run == begin / p->run_bytes, "first_run");
        CHECK(p->group >= 1 && p->group <= FSD_GROUP_MAX && (p->group & (p->group - 1)) == 0,
              "group %u", p->group);
        CHECK(p->num_units >= 1, "no units");
    }
}

static void check_last_error(fsd_status st, const char *what)
{
    size_t len = fsd_last_error(NULL, 0);
    CHECK((st == FSD_SUCCESS) == (len == 0), "%s: status %s, fsd_last_error length %zu", what,
          fsd_status_string(st), len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsdf_input in = {data, size};
    DLTensor t;
    memset(&t, 0, sizeof t);
    uint8_t mode = fsdf_u8(&in);
    switch (mode % 16) {
    case 0: t.ndim = -(int32_t)(fsdf_u32(&in) & 0x7fffffff) - 1; break;
    case 1: { /* thousands of dims, most of size 1, a few from the input */
        t.ndim = 1000 + (int)(fsdf_u16(&in) % (MAX_NDIM - 1000 + 1));
        for (int d = 0; d < t.ndim; d++) {
            g_shape[d] = 1;
            g_strides[d] = d % 3 ? INT64_MIN : (int64_t)d * 7;
        }
        int k = fsdf_pick(&in, 20);
        for (int i = 0; i < k; i++) {
            int d = (int)(fsdf_u16(&in) % t.ndim);
            g_shape[d] = fsdf_edgy_i64(&in);
            g_strides[d] = fsdf_edgy_i64(&in);
        }
        break;
    }
    default:
        t.ndim = fsdf_pick(&in, 80);
        for (int d = 0; d < t.ndim; d++) {
            g_shape[d] = fsdf_edgy_i64(&in);
            g_strides[d] = fsdf_edgy_i64(&in);
        }
    }
    uint8_t flags = fsdf_u8(&in);
    t.shape = (flags & 1) && t.ndim != 0 && (mode & 0x80) ? NULL : g_shape;
    t.strides = (flags & 2) ? NULL : g_strides;
    switch ((flags >> 2) & 7) {
    case 0: t.data = NULL; break;
    case 1: t.data = (void *)(uintptr_t)(fsdf_u16(&in) + 1); break;
    case 2: t.data = (void *)(UINTPTR_MAX - fsdf_u16(&in)); break;
    case 3: t.data = (void *)(((uintptr_t)1 << 47) - fsdf_u16(&in)); break;
    default: t.data = (void *)(uintptr_t)(fsdf_u64(&in) | 1);
    }
    t.byte_offset = (flags & 32) ? fsdf_u64(&in) : (uint64_t)fsdf_edgy_i64(&in);
    static const uint8_t bits[] = {8, 16, 32, 64, 128, 248, 0, 1, 4, 12};
    uint8_t b = fsdf_u8(&in);
    t.dtype.code = fsdf_u8(&in);
    t.dtype.bits = b < 200 ? bits[b % 10] : b;
    uint8_t lb = fsdf_u8(&in);
    t.dtype.lanes = lb < 128 ? (uint16_t)(1 + lb % 4) : lb < 250 ? 65535 : fsdf_u16(&in);
    static const int32_t devs[] = {kDLCPU, kDLCUDA, kDLCUDAHost, kDLCUDAManaged, kDLOpenCL, 0, -1};
    uint8_t db = fsdf_u8(&in);
    t.device.device_type = (DLDeviceType)(db < 240 ? devs[db % 7] : (int32_t)fsdf_u32(&in));
    t.device.device_id = (int32_t)fsdf_u8(&in) - 2;
    uint32_t sm = fsdf_pick(&in, 3) == 0 ? 0 : 1 + fsdf_u8(&in);

    /* fsd_packed_size against the fields */
    u128 want_size;
    unsigned errs = shape_errors(&t, &want_size);
    size_t n = 12345;
    fsd_status st1 = fsd_packed_size(&t, &n);
    check_last_error(st1, "fsd_packed_size");
    if (errs != 0)
        CHECK(st1 != FSD_SUCCESS && ((errs >> st1) & 1u), "fsd_packed_size gave %s, expected one of %#x",
              fsd_status_string(st1), errs);
    else
        CHECK(st1 == FSD_SUCCESS && (u128)n == want_size, "fsd_packed_size gave %s, %zu",
              fsd_status_string(st1), n);

    /* the layout */
    fsd_layout l;
    fsd_status st2 = fsd_layout_from_tensor(&t, "t", &l);
    if (st1 != FSD_SUCCESS)
        CHECK(st2 == st1, "layout %s, packed_size %s", fsd_status_string(st2), fsd_status_string(st1));
    uint64_t esize = (uint64_t)(t.dtype.bits / 8) * t.dtype.lanes;
    int nests = 0;
    if (st1 == FSD_SUCCESS && n > 0) {
        int v = exact_verdict(&t, esize, &nests);
        if (t.data == NULL)
            CHECK(st2 == FSD_ERROR_INVALID_ARGUMENT, "NULL data with %zu bytes: %s", n,
                  fsd_status_string(st2));
        else if (v == 1)
            CHECK(st2 == FSD_ERROR_OVERFLOW, "a layout out of range was given %s",
                  fsd_status_string(st2));
        else if (v == 0)
            CHECK(st2 == FSD_SUCCESS, "a layout in range was refused with %s", fsd_status_string(st2));
        else
            CHECK(st2 == FSD_SUCCESS || st2 == FSD_ERROR_OVERFLOW, "boundary: %s", fsd_status_string(st2));
    } else if (st1 == FSD_SUCCESS) {
        CHECK(st2 == FSD_SUCCESS, "an empty tensor's layout: %s", fsd_status_string(st2));
    }

    if (st2 == FSD_SUCCESS) {
        CHECK(l.total_bytes == n && l.elem_size == esize, "layout size %llu, packed_size %zu",
              (unsigned long long)l.total_bytes, n);
        CHECK(l.ndim >= 0 && l.ndim <= FSD_PLAN_MAX_DIMS, "layout ndim %d", l.ndim);
        if (n > 0) {
            fsd_status sa = fsd_layout_check_unaliased(&l, "t");
            CHECK(sa == (nests ? FSD_SUCCESS : FSD_ERROR_ALIASING), "unaliased check %s, rule says %d",
                  fsd_status_string(sa), nests);
            char *packed = (char *)(uintptr_t)0x10000; /* never dereferenced */
            for (int dir = 0; dir < 2; dir++) {
                fsd_plan plan;
                fsd_plan_build(&l, packed, (fsd_direction)dir, sm, &plan);
                check_plan(&plan, &l, 0, l.total_bytes, sm);
                uint64_t b0 = fsdf_u64(&in) % (l.total_bytes + 1);
                uint64_t e0 = b0 + fsdf_u64(&in) % (l.total_bytes - b0 + 1);
                fsd_plan_build_range(&l, packed + (fsdf_u8(&in) & 15), b0, e0, (fsd_direction)dir,
                                     sm, &plan);
                check_plan(&plan, &l, b0, e0, sm);
            }
        }
    }

    /* pack / unpack that must stop before any copy */
    unsigned char guard[16];
    memset(guard, 0xA5, sizeof guard);
    fsd_status sp = fsd_pack(&t, NULL, 0, NULL);
    check_last_error(sp, "fsd_pack");
    fsd_status want = st2 != FSD_SUCCESS ? st2 : n > 0 ? FSD_ERROR_INVALID_ARGUMENT : FSD_SUCCESS;
    CHECK(sp == want, "fsd_pack(NULL dst): %s, expected %s", fsd_status_string(sp), fsd_status_string(want));
    fsd_status su = fsd_unpack(NULL, 0, &t, NULL);
    check_last_error(su, "fsd_unpack");
    CHECK(su == want, "fsd_unpack(NULL src): %s, expected %s", fsd_status_string(su), fsd_status_string(want));
    if (st1 == FSD_SUCCESS && n > 0) {
        want = st2 != FSD_SUCCESS ? st2 : FSD_ERROR_SIZE_MISMATCH;
        sp = fsd_pack(&t, guard, n - 1, NULL);
        CHECK(sp == want, "fsd_pack(dst_size n - 1): %s, expected %s", fsd_status_string(sp),
              fsd_status_string(want));
        su = fsd_unpack(guard, n + 1, &t, NULL);
        CHECK(su == want, "fsd_unpack(src_size n + 1): %s", fsd_status_string(su));
        su = fsd_unpack(guard, n - 1, &t, NULL);
        CHECK(su == want, "fsd_unpack(src_size n - 1): %s", fsd_status_string(su));
        for (size_t i = 0; i < sizeof guard; i++)
            CHECK(guard[i] == 0xA5, "guard byte %zu written", i);
    }
    return 0;
}

/* kv_layout.c — validation of paged gathers and scatters into fsd_kv (see kv_layout.h). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv_layout.h"

static int is_host(DLDeviceType t)
{
    return t == kDLCPU || t == kDLCUDAHost;
}

static int is_gpu(DLDeviceType t)
{
    return t == kDLCUDA || t == kDLCUDAManaged;
}

/* Memory `engine` reads on its copying side: host memory for the CPU and the copy engines;
 * for the kernel, the cache's GPU's memory or mapped pinned host memory. */
static fsd_status check_reader(const DLTensor *t, fsd_kv_engine engine, int device, const char *what)
{
    DLDeviceType type = t->device.device_type;
    if (engine != FSD_KV_KERNEL) {
        if (!is_host(type))
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: device type %d, but the %s reads it "
                            "on the host (kDLCPU or kDLCUDAHost)", what, (int)type,
                            engine == FSD_KV_CPU ? "CPU path" : "copy-engine path");
        return FSD_SUCCESS;
    }
    if (type == kDLCUDAHost)
        return FSD_SUCCESS;
    if (!is_gpu(type))
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: device type %d, but the kernel reads it on "
                        "the GPU (kDLCUDA, kDLCUDAManaged or kDLCUDAHost)", what, (int)type);
    if (t->device.device_id != device)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: on CUDA device %d, the cache on device %d",
                        what, t->device.device_id, device);
    return FSD_SUCCESS;
}

/* A 1-D tensor of `count` elements of `esize` bytes: its data and stride in bytes, checked to
 * stay in the address space. */
static fsd_status vector_of(const DLTensor *t, const char *what, uint32_t esize, const char **data,
                            int64_t *stride, uint64_t *count)
{
    *count = (uint64_t)t->shape[0];
    int64_t sb[1];
    uint64_t below, above;
    fsd_status st = fsd_tensor_extent(t, what, esize, sb, &below, &above);
    if (st != FSD_SUCCESS)
        return st;
    *stride = sb[0];
    *data = NULL;
    if (*count == 0)
        return FSD_SUCCESS;
    if (t->data == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: data is NULL with %llu elements", what,
                        (unsigned long long)*count);
    char *base;
    if ((st = fsd_tensor_base(t->data, t->byte_offset, below, above, esize, what, &base)) != FSD_SUCCESS)
        return st;
    /* Read as whole words, by the GPU too: aligned to their size. */
    if (((uintptr_t)base | (uint64_t)*stride) % esize != 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s: address %p or stride %lld bytes is not a "
                        "multiple of the element size %u", what, (void *)base, (long long)*stride, esize);
    *data = base;
    return FSD_SUCCESS;
}

static fsd_status check_options(const fsd_gather_options *o)
{
    if (o->size != sizeof(fsd_gather_options) || o->magic != FSD_GATHER_OPTIONS_MAGIC ||
        o->version != FSD_GATHER_OPTIONS_VERSION)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "options: size %zu, magic %#x, version %u: "
                        "start from FSD_GATHER_OPTIONS_INIT", o->size, o->magic, o->version);
    if (o->engine != FSD_ENGINE_AUTO && o->engine != FSD_ENGINE_KERNEL && o->engine != FSD_ENGINE_COPY)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "options: engine %d", (int)o->engine);
    if (o->max_blocks < 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "options: max_blocks %d is negative", o->max_blocks);
    return FSD_SUCCESS;
}

/* The dims of V in packed order (shape, byte stride in a layer, kind), size-1 plain dims
 * dropped, merged into outer dims over a run (kv_layout.h). */
static fsd_status merge_dims(fsd_kv *kv, int n, const uint64_t *shape, const int64_t *stride,
                             const fsd_kv_dim *kind)
{
    uint64_t sh[FSD_PLAN_MAX_DIMS + 1];
    int64_t st[FSD_PLAN_MAX_DIMS + 1];
    fsd_kv_dim kd[FSD_PLAN_MAX_DIMS + 1];
    uint64_t run = kv->elem_size;
    int m = 0, in_run = 1;
    for (int i = n - 1; i >= 0; i--) { /* innermost first */
        if (kind[i] == FSD_KV_DIM_PLAIN) {
            if (shape[i] == 1)
                continue;
            if (in_run && stride[i] == (int64_t)run) {
                run *= shape[i];
                continue;
            }
            in_run = 0;
            int64_t span;
            if (m > 0 && kd[m - 1] == FSD_KV_DIM_PLAIN &&
                !__builtin_mul_overflow(st[m - 1], (int64_t)sh[m - 1], &span) && stride[i] == span) {
                sh[m - 1] *= shape[i];
                continue;
            }
        }
        in_run = 0;
        sh[m] = shape[i];
        st[m] = kind[i] == FSD_KV_DIM_PLAIN ? stride[i] : 0;
        kd[m] = kind[i];
        m++;
    }
    if (m > FSD_GATHER_MAX_DIMS)
        return fsd_fail(FSD_ERROR_UNSUPPORTED, "kv: %d dimensions remain after merging; at most %d "
                        "are supported", m, FSD_GATHER_MAX_DIMS);
    kv->run_bytes = run;
    kv->num_runs = kv->total_bytes / run;
    kv->ndim = m;
    for (int k = 0; k < m; k++) { /* k-th from the inside is dim m - 1 - k */
        int d = m - 1 - k;
        kv->shape[d] = sh[k];
        kv->stride[d] = st[k];
        kv->kind[d] = kd[k];
        if (kd[k] == FSD_KV_DIM_LAYER)
            kv->layer_dim = d;
        if (kd[k] == FSD_KV_DIM_TOKEN)
            kv->token_dim = d;
    }
    return FSD_SUCCESS;
}

/* V's dims: [L, the layer's dims with block_dim -> T and offset_dim removed], permuted by
 * order; the packed size. */
static fsd_status build_v(const fsd_kv_layout *lay, const int *order, const int64_t *lstride,
                          fsd_kv *kv)
{
    const DLTensor *t = &lay->layer;
    uint64_t shape[FSD_PLAN_MAX_DIMS + 1];
    int64_t stride[FSD_PLAN_MAX_DIMS + 1];
    fsd_kv_dim kind[FSD_PLAN_MAX_DIMS + 1];
    int nv = 0;
    shape[nv] = kv->layers, stride[nv] = 0, kind[nv++] = FSD_KV_DIM_LAYER;
    for (int d = 0; d < t->ndim; d++) {
        if (d == lay->offset_dim)
            continue;
        if (d == lay->block_dim)
            shape[nv] = kv->tokens, stride[nv] = 0, kind[nv++] = FSD_KV_DIM_TOKEN;
        else
            shape[nv] = (uint64_t)t->shape[d], stride[nv] = lstride[d], kind[nv++] = FSD_KV_DIM_PLAIN;
    }
    uint64_t ps[FSD_PLAN_MAX_DIMS + 1];
    int64_t pst[FSD_PLAN_MAX_DIMS + 1];
    fsd_kv_dim pk[FSD_PLAN_MAX_DIMS + 1];
    int seen[FSD_PLAN_MAX_DIMS + 1] = {0};
    for (int i = 0; i < nv; i++) {
        int v = order ? order[i] : i;
        if (v < 0 || v >= nv || seen[v])
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "order is not a permutation of the %d "
                            "dimensions of V: order[%d] = %d", nv, i, v);
        seen[v] = 1;
        ps[i] = shape[v], pst[i] = stride[v], pk[i] = kind[v];
    }
    /* The packed size: every dim of V times the element size. */
    uint64_t bytes = kv->elem_size;
    for (int i = 0; i < nv; i++) {
        if (ps[i] == 0) {
            kv->total_bytes = 0;
            return FSD_SUCCESS;
        }
    }
    for (int i = 0; i < nv; i++)
        if (__builtin_mul_overflow(bytes, ps[i], &bytes) || bytes > (uint64_t)INT64_MAX)
            return fsd_fail(FSD_ERROR_OVERFLOW, "kv: the packed size exceeds 2^63 - 1 bytes");
    kv->total_bytes = bytes;
    return merge_dims(kv, nv, ps, pst, pk);
}

/* Layer bases where the host reads them: each layer's extent in the address space. */
static fsd_status check_layer_bases(const fsd_kv *kv)
{
    char *base;
    for (uint64_t l = 0; l < kv->layers; l++) {
        fsd_status st = fsd_tensor_base((const void *)(uintptr_t)kv->layer_table[l], kv->layer_offset,
                                        kv->below, kv->above, kv->elem_size, "kv.layer_ptrs", &base);
        if (st != FSD_SUCCESS)
            return st;
        if (kv->layer_table[l] == 0)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "kv.layer_ptrs[%llu] is NULL", (unsigned long long)l);
    }
    return FSD_SUCCESS;
}

static fsd_status from_args(const fsd_kv_layout *lay, const DLTensor *slots, const int *order,
                            const fsd_gather_options *opts, int for_runs, fsd_kv *kv)
{
    memset(kv, 0, sizeof *kv);
    if (lay == NULL || slots == NULL)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "%s is NULL", lay == NULL ? "kv" : "slots");
    if (opts != NULL) {
        fsd_status st = check_options(opts);
        if (st != FSD_SUCCESS)
            return st;
    }
    const DLTensor *t = &lay->layer;
    uint64_t layer_bytes;
    fsd_place place;
    fsd_status st = fsd_check_shape(t, "kv.layer", &kv->elem_size, &layer_bytes, &place);
    if (st != FSD_SUCCESS)
        return st;
    if (t->ndim < 1 || t->ndim >= FSD_PLAN_MAX_DIMS)
        return fsd_fail(t->ndim < 1 ? FSD_ERROR_INVALID_ARGUMENT : FSD_ERROR_UNSUPPORTED,
                        "kv.layer: ndim %d is not in 1..%d", t->ndim, FSD_PLAN_MAX_DIMS - 1);
    if (lay->block_dim < 0 || lay->block_dim >= t->ndim)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "kv: block_dim %d is not a dimension of the "
                        "%d-d layer", lay->block_dim, t->ndim);
    if (lay->offset_dim < -1 || lay->offset_dim >= t->ndim || lay->offset_dim == lay->block_dim)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "kv: offset_dim %d is not -1 or a dimension of "
                        "the %d-d layer other than block_dim %d", lay->offset_dim, t->ndim,
                        lay->block_dim);
    kv->device_id = t->device.device_id;

    /* Who copies. */
    fsd_engine asked = opts ? opts->engine : FSD_ENGINE_AUTO;
    if (place == FSD_PLACE_HOST)
        kv->engine = FSD_KV_CPU;
    else if (for_runs || asked == FSD_ENGINE_COPY)
        kv->engine = FSD_KV_COPY;
    else if (asked == FSD_ENGINE_KERNEL)
        kv->engine = FSD_KV_KERNEL;
    else
        kv->engine = slots->device.device_type == kDLCPU ? FSD_KV_COPY : FSD_KV_KERNEL;

    /* Slots. */
    if (slots->ndim != 1 || slots->shape == NULL || slots->shape[0] < 0)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "slots: a 1-D tensor is needed (ndim %d)", slots->ndim);
    if (slots->dtype.code != kDLInt || (slots->dtype.bits != 32 && slots->dtype.bits != 64) ||
        slots->dtype.lanes != 1)
        return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "slots: dtype (code %u, %u bits, %u lanes) is "
                        "not int32 or int64", (unsigned)slots->dtype.code,
                        (unsigned)slots->dtype.bits, (unsigned)slots->dtype.lanes);
    if ((st = check_reader(slots, kv->engine, kv->device_id, "slots")) != FSD_SUCCESS)
        return st;
    kv->slot_size = slots->dtype.bits / 8;
    if ((st = vector_of(slots, "slots", kv->slot_size, &kv->slots, &kv->slot_stride, &kv->tokens)) != FSD_SUCCESS)
        return st;

    /* Layers. */
    const DLTensor *lp = lay->layer_ptrs;
    kv->layers = 1;
    if (lp != NULL) {
        if (lp->ndim != 1 || lp->shape == NULL || lp->shape[0] < 0)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "kv.layer_ptrs: a 1-D tensor is needed (ndim %d)",
                            lp->ndim);
        if (lp->dtype.code != kDLUInt || lp->dtype.bits != 64 || lp->dtype.lanes != 1)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "kv.layer_ptrs: dtype (code %u, %u bits, %u "
                            "lanes) is not uint64", (unsigned)lp->dtype.code, (unsigned)lp->dtype.bits,
                            (unsigned)lp->dtype.lanes);
        if (lp->shape[0] > 1 && lp->strides != NULL && lp->strides[0] != 1)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "kv.layer_ptrs: stride %lld, 1 is needed",
                            (long long)lp->strides[0]);
        if ((st = check_reader(lp, kv->engine, kv->device_id, "kv.layer_ptrs")) != FSD_SUCCESS)
            return st;
        const char *data;
        int64_t stride;
        if ((st = vector_of(lp, "kv.layer_ptrs", 8, &data, &stride, &kv->layers)) != FSD_SUCCESS)
            return st;
        kv->layer_table = (const uint64_t *)(const void *)data;
        kv->layer_offset = t->byte_offset;
    }

    /* The layer's strides and extent; V; the packed size. */
    int64_t lstride[FSD_PLAN_MAX_DIMS];
    if ((st = fsd_tensor_extent(t, "kv.layer", kv->elem_size, lstride, &kv->below, &kv->above)) != FSD_SUCCESS)
        return st;
    const uint64_t nb = (uint64_t)t->shape[lay->block_dim];
    kv->block_size = lay->offset_dim >= 0 ? (uint64_t)t->shape[lay->offset_dim] : 1;
    /* nb * B fits when the layer has bytes; else it may not, but then another dimension is 0
     * and so is the packed size: nothing is copied. */
    if (__builtin_mul_overflow(nb, kv->block_size, &kv->slot_limit))
        kv->slot_limit = UINT64_MAX;
    kv->empty_layer = layer_bytes == 0;
    /* Blocks of 0 positions: no slot is valid (slot_limit 0), none is divided; the dividers of
     * the walk and the kernel's plan still need a divisor. */
    if (kv->block_size == 0)
        kv->block_size = 1;
    kv->block_stride = lstride[lay->block_dim];
    kv->offset_stride = lay->offset_dim >= 0 ? lstride[lay->offset_dim] : 0;
    if ((st = build_v(lay, order, lstride, kv)) != FSD_SUCCESS || kv->total_bytes == 0)
        return st;

    /* Where the layers are. */
    if (lp == NULL) {
        if (kv->empty_layer) /* no slot is valid: the layer is never read nor written */
            return FSD_SUCCESS;
        if (t->data == NULL)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "kv.layer: data is NULL and there are no layer_ptrs");
        if ((st = fsd_tensor_base(t->data, t->byte_offset, kv->below, kv->above, kv->elem_size,
                                  "kv.layer", &kv->layer0)) != FSD_SUCCESS)
            return st;
    } else if (kv->engine != FSD_KV_KERNEL) {
        if ((st = check_layer_bases(kv)) != FSD_SUCCESS)
            return st;
    }
    return FSD_SUCCESS;
}

fsd_status fsd_kv_from_args(const fsd_kv_layout *layout, const DLTensor *slots, const int *order,
                            const fsd_gather_options *opts, fsd_kv *kv)
{
    return from_args(layout, slots, order, opts, 0, kv);
}

fsd_status fsd_kv_for_runs(const fsd_kv_layout *layout, const DLTensor *slots, const int *order,
                           fsd_kv *kv)
{
    return from_args(layout, slots, order, NULL, 1, kv);
}

fsd_status fsd_kv_check_slots(const fsd_kv *kv)
{
    for (uint64_t t = 0; t < kv->tokens; t++) {
        int64_t s = fsd_kv_slot(kv, t);
        if (s >= 0 && (uint64_t)s >= kv->slot_limit)
            return fsd_fail(FSD_ERROR_INVALID_ARGUMENT, "slots[%llu] = %lld is past the cache's %llu "
                            "slots", (unsigned long long)t, (long long)s,
                            (unsigned long long)kv->slot_limit);
    }
    return FSD_SUCCESS;
}

static int by_start(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Up to this many layers' extents are sorted on the stack; more take a heap array. */
#define FSD_KV_STACK_LAYERS 256

fsd_status fsd_kv_check_unaliased(const fsd_kv_layout *layout, const fsd_kv *kv)
{
    if (kv->empty_layer) /* no element, nothing to alias: every slot is skipped or refused */
        return FSD_SUCCESS;
    /* The layer's kept dims and byte strides (validated by fsd_kv_from_args). */
    const DLTensor *t = &layout->layer;
    int64_t sb[FSD_PLAN_MAX_DIMS];
    uint64_t below, above;
    fsd_status st = fsd_tensor_extent(t, "kv.layer", kv->elem_size, sb, &below, &above);
    if (st != FSD_SUCCESS)
        return st;
    fsd_layout l;
    memset(&l, 0, sizeof l);
    l.elem_size = kv->elem_size;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] > 1) {
            l.shape[l.ndim] = (uint64_t)t->shape[d];
            l.stride[l.ndim++] = sb[d];
        }
    }
    if ((st = fsd_layout_check_unaliased(&l, "kv.layer")) != FSD_SUCCESS)
        return st;
    if (kv->layer_table == NULL || kv->engine == FSD_KV_KERNEL || kv->layers < 2)
        return FSD_SUCCESS;
    /* [first byte, end) of every layer, sorted: each must end before the next starts. */
    uint64_t stack_ext[FSD_KV_STACK_LAYERS][2];
    uint64_t (*ext)[2] = stack_ext;
    if (kv->layers > FSD_KV_STACK_LAYERS && (ext = malloc((size_t)kv->layers * sizeof *ext)) == NULL)
        return fsd_fail(FSD_ERROR_OUT_OF_MEMORY, "kv: %llu layer extents", (unsigned long long)kv->layers);
    for (uint64_t i = 0; i < kv->layers; i++) {
        uint64_t base = kv->layer_table[i] + kv->layer_offset; /* checked not to wrap */
        ext[i][0] = base - kv->below;
        ext[i][1] = base + kv->above + kv->elem_size;
    }
    qsort(ext, (size_t)kv->layers, sizeof *ext, by_start);
    for (uint64_t i = 1; i < kv->layers && st == FSD_SUCCESS; i++)
        if (ext[i][0] < ext[i - 1][1])
            st = fsd_fail(FSD_ERROR_ALIASING, "kv.layer_ptrs: two layers' extents overlap (at %#llx)",
                          (unsigned long long)ext[i][0]);
    if (ext != stack_ext)
        free(ext);
    return st;
}

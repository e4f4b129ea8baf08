/*
 * kv_layout.h — validation of a paged gather or scatter (fsd_gather, fsd_scatter,
 * fsd_gather_runs) and its normalised form: the virtual tensor V (see fastserde.h) in packed
 * order, every dimension with its byte stride in a layer, the layer and token dimensions marked
 * as indirect (their offsets come from layer_ptrs and the slots). Every check that can reject a
 * call lives here, so that nothing is planned or written for bad input.
 */
#ifndef FSD_KV_LAYOUT_H
#define FSD_KV_LAYOUT_H

#include <stdint.h>

#include "fastserde.h"
#include "layout.h"

/* Dimensions a gather keeps after dropping size-1 dimensions and merging (the plan's limit,
 * which keeps the kernel's parameters small); the layer tensor may have up to FSD_PLAN_MAX_DIMS
 * dimensions before. */
#define FSD_GATHER_MAX_DIMS 12

typedef enum fsd_kv_dim {
    FSD_KV_DIM_PLAIN = 0, /* an ordinary dimension of the layer: offset = index * stride      */
    FSD_KV_DIM_LAYER = 1, /* the layers: base = layer_ptrs[index] + byte_offset (or layer0)   */
    FSD_KV_DIM_TOKEN = 2  /* the slots: offset of slots[index] (block and position in block)  */
} fsd_kv_dim;

/* Who copies (the engine the call resolved to). */
typedef enum fsd_kv_engine {
    FSD_KV_CPU = 0,    /* a host cache: the CPU                     */
    FSD_KV_KERNEL = 1, /* a CUDA cache: the SM kernel               */
    FSD_KV_COPY = 2    /* a CUDA cache: the copy engines            */
} fsd_kv_engine;

typedef struct fsd_kv {
    fsd_kv_engine engine;
    int device_id;           /* the cache's CUDA device (CUDA caches)                          */
    uint32_t elem_size;
    uint64_t layers, tokens;
    uint64_t total_bytes;    /* the packed size                                                */

    /* Layer bases: layer_table[l] + layer_offset, or layer0 when layer_table is NULL. */
    const uint64_t *layer_table;
    uint64_t layer_offset;   /* the layer tensor's byte_offset                                 */
    char *layer0;
    /* The bytes of layer l lie in [base_l - below, base_l + above + elem_size). */
    uint64_t below, above;
    int empty_layer;         /* the layer has no element (a dimension of size 0)               */

    /* Slots: slot t at slots + t * slot_stride, slot_size bytes (4 or 8), signed. */
    const char *slots;
    int64_t slot_stride;
    uint32_t slot_size;
    uint64_t slot_limit;     /* valid slots are [0, slot_limit)                                */
    uint64_t block_size;     /* B: positions per block (1 when offset_dim is -1, or when its
                              * extent is 0: then slot_limit is 0 and no slot is divided)      */
    int64_t block_stride, offset_stride; /* bytes                                              */

    /* V in packed order as "outer" dimensions over runs of run_bytes contiguous bytes (as a
     * plan, plan.h): size-1 plain dimensions dropped, the innermost contiguous ones merged
     * into the run, neighbouring plain ones merged when their strides nest. Outermost first;
     * the layer and token dimensions are always kept (even of size 1) and never merged. */
    uint64_t run_bytes;
    uint64_t num_runs;       /* total_bytes / run_bytes                                        */
    int ndim;                /* <= FSD_GATHER_MAX_DIMS                                          */
    int layer_dim, token_dim;
    uint64_t shape[FSD_GATHER_MAX_DIMS];
    int64_t stride[FSD_GATHER_MAX_DIMS]; /* bytes; 0 for the indirect dimensions              */
    fsd_kv_dim kind[FSD_GATHER_MAX_DIMS];
} fsd_kv;

/* The checks every call makes: the layout, the slots, order and the options; fills *kv and
 * resolves the engine (host caches: CPU). Slots are not range-checked here
 * (fsd_kv_check_slots). opts may be NULL. A gather of no bytes is not checked past its shapes
 * (kv->total_bytes is then 0 and the rest of *kv unset). */
fsd_status fsd_kv_from_args(const fsd_kv_layout *layout, const DLTensor *slots, const int *order,
                            const fsd_gather_options *opts, fsd_kv *kv);

/* The same for fsd_gather_runs: slots and layer_ptrs on the host, whatever the cache's device
 * (engine FSD_KV_COPY for CUDA caches, FSD_KV_CPU for host caches). */
fsd_status fsd_kv_for_runs(const fsd_kv_layout *layout, const DLTensor *slots, const int *order,
                           fsd_kv *kv);

/* Where the host reads the slots (engines CPU and COPY): FSD_ERROR_INVALID_ARGUMENT for the
 * first slot past the cache. */
fsd_status fsd_kv_check_slots(const fsd_kv *kv);

/* Scatter: FSD_ERROR_ALIASING when the layer's elements may alias, or (host-read layer_ptrs)
 * when two layers' extents overlap. */
fsd_status fsd_kv_check_unaliased(const fsd_kv_layout *layout, const fsd_kv *kv);

/* Slot t (host memory). */
static inline int64_t fsd_kv_slot(const fsd_kv *kv, uint64_t t)
{
    const char *p = kv->slots + (int64_t)t * kv->slot_stride;
    if (kv->slot_size == 4) {
        int32_t v;
        __builtin_memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

/* The base of layer l (host-read layer_ptrs). */
static inline char *fsd_kv_layer_base(const fsd_kv *kv, uint64_t l)
{
    if (kv->layer_table == NULL)
        return kv->layer0;
    return (char *)(uintptr_t)(kv->layer_table[l] + kv->layer_offset);
}

#endif

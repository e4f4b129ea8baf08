/*
 * kv_cases.h — seeded random paged KV caches for the gather tests, and a naive reference.
 *
 * A case is a cache of L layers (each in its own guarded buffer, or one layer through
 * layer.data), the layout of one layer (a view: padded, permuted or flipped strides), T slots
 * (int32 or int64, contiguous or strided; duplicated and negative ones for gathers, unique ones
 * for scatters, and slots past the cache when asked for) and a packed order. The families are
 * the layouts inference stacks use (vLLM flash-attn and HND, FlashInfer, MLA, SGLang token pools
 * with K and V as 2L layers) and random ones. Cases are deterministic functions of (seed, index,
 * flags). The reference moves one element at a time from the definition in fastserde.h (V's
 * coordinates, slot -> block and position), independently of the library's merging and walks.
 */
#ifndef KVT_CASES_H
#define KVT_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "fastserde.h"
#include "fsd_cases.h"

#define KVT_MAX_DIMS 6
#define KVT_MAX_LAYERS 160

typedef enum kvt_family {
    KVT_VLLM_FLASH = 0,   /* [2, NB, BS, H, D], block 1, offset 2                      */
    KVT_VLLM_HND,         /* [2, NB, H, BS, D], block 1, offset 3                      */
    KVT_FLASHINFER,       /* [NB, 2, BS, H, D], block 0, offset 2                      */
    KVT_FLASHINFER_HND,   /* [NB, 2, H, BS, D], block 0, offset 3                      */
    KVT_MLA,              /* [NB, BS, D], block 0, offset 1                            */
    KVT_SGLANG,           /* [size, H, D], block 0, offset -1, K and V as 2L layers     */
    KVT_RANDOM,           /* 2..5 dims, any block/offset dims, any order                */
    KVT_FAMILY_COUNT
} kvt_family;

/* What a case may contain. */
enum {
    KVT_SCATTER = 1,   /* unique non-negative slots (plus negative ones)                  */
    KVT_INVALID = 2,   /* some slots past the cache (only where the kernel skips them)    */
    KVT_MISALIGN = 4,  /* layer bases 1..15 bytes off a 16-byte boundary                   */
    KVT_LARGE = 8      /* a real chunk: 256 tokens from shuffled whole blocks of 16, 8 heads
                        * of 128 bf16, 16 layers (16 MiB packed: the threaded and streaming
                        * paths, the kernel's long runs)                                    */
};

typedef struct kvt_case {
    uint64_t seed;
    int index;
    kvt_family family;
    uint32_t esize;
    int ndim;
    int64_t shape[KVT_MAX_DIMS];
    int64_t strides[KVT_MAX_DIMS];    /* elements                                            */
    int block_dim, offset_dim;
    int layers;                       /* L                                                   */
    int use_table;                    /* layer_ptrs (else one layer through layer.data)      */
    size_t storage_size;              /* bytes of each layer's buffer                         */
    int64_t first;                    /* byte offset of element [0, ...] in a layer's buffer  */
    unsigned char *storage[KVT_MAX_LAYERS]; /* guarded buffers (fsdt_guarded_alloc)           */
    uint64_t table[KVT_MAX_LAYERS];   /* layer_ptrs' values                                   */
    int64_t tokens;                   /* T                                                    */
    void *slot_buf;                   /* the slots' memory (malloc'd)                         */
    size_t slot_bytes;                /* its size                                             */
    int slot_bits;                    /* 32 or 64                                             */
    int64_t slot_stride;              /* elements                                             */
    int64_t *slot_values;             /* the T slots as int64 (for the reference)             */
    uint64_t slot_limit, block_size;
    int vndim;
    int order[KVT_MAX_DIMS + 1];
    int has_order;                    /* 0: order NULL (identity)                             */
    size_t packed_size;
    int invalid;                      /* slots past the cache in this case                    */
    char desc[480];

    /* What the calls take (pointing into this struct). */
    fsd_kv_layout kv;
    DLTensor slots, layer_ptrs;
    int64_t slots_shape, slots_strides, ptrs_shape;
} kvt_case;

/* Builds case `index` of `seed` with `flags` (KVT_*). `family` < 0: drawn. */
void kvt_case_make(kvt_case *c, uint64_t seed, int index, int family, int flags);
/* The same with `layers` layers (1..KVT_MAX_LAYERS; SGLang: even), not drawn. */
void kvt_case_make_layers(kvt_case *c, uint64_t seed, int index, int family, int flags, int layers);
void kvt_case_free(kvt_case *c);
const char *kvt_family_name(kvt_family f);

/* The order argument of the calls (NULL for the identity). */
static inline const int *kvt_order(const kvt_case *c)
{
    return c->has_order ? c->order : NULL;
}

/* Marks the slots, the layer table and the layers as being on `type` (kDLCUDA for the emulated
 * grid: the memory stays host memory) or back on kDLCPU. */
void kvt_case_set_device(kvt_case *c, DLDeviceType layers, DLDeviceType slots);

/* Reference gather into `out` (packed_size bytes; bytes of skipped slots left alone), and
 * scatter from `packed` into the buffers `layers[l]` (laid out like c->storage[l]). */
void kvt_reference_gather(const kvt_case *c, unsigned char *const *layers, unsigned char *out);
void kvt_reference_scatter(const kvt_case *c, const unsigned char *packed, unsigned char *const *layers);

/* The number of maximal contiguous runs of a gather, computed element by element. */
size_t kvt_reference_runs(const kvt_case *c);

#endif

/*
 * Checks (kv_check.c): run one gather or scatter of case c with `run` and compare with the
 * reference over every byte: the packed buffer (with guards; bytes of skipped slots must keep
 * their fill) and every layer buffer (with guards; a gather must not change them). `run`
 * returns the call's status, which must be FSD_SUCCESS. Returns the number of failed checks;
 * the first ones are printed with `tag`, the case and its replay line.
 */
typedef fsd_status (*kvt_runner)(void *arg, kvt_case *c, unsigned char *packed, size_t size,
                                 int gather);
int kvt_check_gather(kvt_case *c, kvt_runner run, void *arg, const char *tag);
int kvt_check_scatter(kvt_case *c, kvt_runner run, void *arg, const char *tag);

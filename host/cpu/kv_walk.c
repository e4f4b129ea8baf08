/* kv_walk.c — the runs of a paged gather in packed order, merged (see kv_walk.h). */
#include "divider.h"
#include "kv_walk.h"

/* Where the odometer is: coordinates and the three parts of the current run's address. */
typedef struct walker {
    const fsd_kv *kv;
    uint64_t coord[FSD_GATHER_MAX_DIMS];
    int64_t plain;  /* sum of coord * stride over the plain dims */
    char *base;     /* the current layer's base                  */
    int64_t token;  /* offset of the current slot's entry        */
    int skip;       /* the current slot is negative              */
    fsd_divider block;
} walker;

static void set_token(walker *w, uint64_t t)
{
    const fsd_kv *kv = w->kv;
    int64_t s = fsd_kv_slot(kv, t);
    w->skip = s < 0;
    if (w->skip)
        return;
    uint64_t b = fsd_div64(&w->block, (uint64_t)s);
    uint64_t pos = (uint64_t)s - b * kv->block_size;
    w->token = (int64_t)b * kv->block_stride + (int64_t)pos * kv->offset_stride;
}

/* Dim d's coordinate moved by `delta` (plain dims) or to a new value (indirect dims). */
static void moved(walker *w, int d, int64_t delta)
{
    switch (w->kv->kind[d]) {
    case FSD_KV_DIM_PLAIN: w->plain += delta * w->kv->stride[d]; break;
    case FSD_KV_DIM_LAYER: w->base = fsd_kv_layer_base(w->kv, w->coord[d]); break;
    case FSD_KV_DIM_TOKEN: set_token(w, w->coord[d]); break;
    }
}

void fsd_kv_walk(const fsd_kv *kv, uint64_t r0, uint64_t r1, fsd_kv_emit emit, void *arg)
{
    if (r0 >= r1)
        return;
    walker w = {kv, {0}, 0, kv->layer0, 0, 0, {0}};
    fsd_divider_init(&w.block, kv->block_size);
    /* Coordinates of run r0: every dim starts moved from 0. */
    uint64_t idx = r0;
    for (int d = kv->ndim - 1; d >= 0; d--) {
        w.coord[d] = idx % kv->shape[d];
        idx /= kv->shape[d];
        moved(&w, d, (int64_t)w.coord[d]);
    }
    const uint64_t run = kv->run_bytes;
    const int last = kv->ndim - 1;
    char *piece = NULL; /* the piece being merged, NULL when none */
    uint64_t piece_off = 0, piece_len = 0;
    for (uint64_t r = r0; r < r1; r++) {
        if (w.skip) {
            if (piece != NULL)
                emit(arg, piece, piece_off, piece_len);
            piece = NULL;
        } else {
            char *at = w.base + w.plain + w.token;
            if (piece != NULL && at == piece + piece_len) {
                piece_len += run;
            } else {
                if (piece != NULL)
                    emit(arg, piece, piece_off, piece_len);
                piece = at;
                piece_off = r * run;
                piece_len = run;
            }
        }
        /* Next run: the innermost coordinate moves, carrying outwards. */
        for (int d = last; d >= 0; d--) {
            if (++w.coord[d] < kv->shape[d]) {
                moved(&w, d, 1);
                break;
            }
            const int64_t back = -(int64_t)(kv->shape[d] - 1);
            w.coord[d] = 0;
            moved(&w, d, back);
        }
    }
    if (piece != NULL)
        emit(arg, piece, piece_off, piece_len);
}

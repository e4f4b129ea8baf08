/* gather_cpu.c — the CPU path of paged gathers and scatters (see gather_cpu.h). */
#include "cpu_copy.h"
#include "cpu_parallel.h"
#include "cpu_simd.h"
#include "gather_cpu.h"
#include "kv_walk.h"

typedef struct gather_job {
    const fsd_kv *kv;
    char *packed;
    int pack;
    int stream;         /* streaming stores (large copies)               */
    uint64_t per_share; /* runs per share                                 */
} gather_job;

static void copy_piece(void *arg, char *cache, uint64_t packed_off, uint64_t bytes)
{
    const gather_job *j = arg;
    char *packed = j->packed + packed_off;
    char *to = j->pack ? packed : cache;
    const char *from = j->pack ? cache : packed;
    if (j->stream)
        fsd_cpu_stream_copy(to, from, bytes, 1);
    else
        fsd_cpu_copy_any(to, from, bytes);
}

static void run_share(void *arg, int i)
{
    const gather_job *j = arg;
    uint64_t r0 = (uint64_t)i * j->per_share;
    uint64_t r1 = r0 + j->per_share < j->kv->num_runs ? r0 + j->per_share : j->kv->num_runs;
    fsd_kv_walk(j->kv, r0, r1, copy_piece, (void *)j);
    if (j->stream)
        fsd_cpu_stream_fence();
}

void fsd_gather_cpu(const fsd_kv *kv, char *packed, fsd_direction dir, fsd_pool *pool)
{
    gather_job j = {kv, packed, dir == FSD_DIR_PACK, fsd_cpu_streams(NULL, kv->total_bytes), kv->num_runs};
    int shares = 1;
    if (pool != NULL) {
        /* Shares of whole runs. */
        uint64_t per_share;
        shares = fsd_cpu_shares(pool, kv->total_bytes, kv->run_bytes, FSD_CPU_MIN_BYTES_PER_THREAD,
                                &per_share);
        j.per_share = per_share / kv->run_bytes;
    }
    if (shares <= 1)
        run_share(&j, 0);
    else
        fsd_pool_run(pool, run_share, &j, shares);
}

/* bench_results.c — the result rows every measurement adds, and a status check (see bench.h):
 * apart from the report, so that a runner links without the tables (tests/mock_cuda's run of
 * the frames group's GPU rows). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

fsdb_result *fsdb_results_add(fsdb_results *rs)
{
    if (rs->n == rs->cap) {
        int cap = rs->cap ? 2 * rs->cap : 64;
        fsdb_result *r = realloc(rs->r, sizeof *r * (size_t)cap);
        if (r == NULL) {
            fprintf(stderr, "fastserde-bench: out of memory\n");
            exit(1);
        }
        rs->r = r;
        rs->cap = cap;
    }
    fsdb_result *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    return r;
}

const fsdb_result *fsdb_results_find(const fsdb_results *rs, const char *device,
                                     const fsdb_model *m, const char *dtype, fsdb_layout l,
                                     const char *op, const char *host_mem)
{
    for (int i = 0; i < rs->n; i++) {
        const fsdb_result *r = &rs->r[i];
        if (r->model == m && r->layout == l && strcmp(r->device, device) == 0 &&
            strcmp(r->dtype.name, dtype) == 0 && strcmp(r->op, op) == 0 &&
            strcmp(r->host_mem, host_mem ? host_mem : "") == 0)
            return r;
    }
    return NULL;
}

void fsdb_result_base(fsdb_result *row, const char *name, double gbps)
{
    row->gbps = row->median_s > 0 ? (double)row->bytes / row->median_s / 1e9 : 0.0;
    if (row->nbase < FSDB_MAX_BASES) {
        fsdb_base *b = &row->base[row->nbase++];
        snprintf(b->name, sizeof b->name, "%s", name);
        b->gbps = gbps;
    }
}

int fsdb_is_frame_op(const char *op)
{
    return strncmp(op, "frame_", 6) == 0;
}

int fsdb_check_status(fsd_status st, const char *what)
{
    if (st == FSD_SUCCESS)
        return 0;
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    fprintf(stderr, "fastserde-bench: %s: %s (%s)\n", what, fsd_status_string(st), msg);
    return 1;
}

/* bench_cuda.c — CUDA-event timing of fastserde-bench's GPU operations (see bench_cuda.h). */
#include "bench_cuda.h"
#include "bench_util.h"

double fsdb_time_events(cudaStream_t stream, fsdb_enqueue_fn run, void *arg, int sets, int samples)
{
    cudaEvent_t e0, e1;
    CU(cudaEventCreate(&e0));
    CU(cudaEventCreate(&e1));
    for (int k = 0; k < sets || k < 2; k++)
        run(arg, k % sets);
    CU(cudaStreamSynchronize(stream));
    float ms = 0;
    CU(cudaEventRecord(e0, stream));
    run(arg, 0);
    CU(cudaEventRecord(e1, stream));
    CU(cudaEventSynchronize(e1));
    CU(cudaEventElapsedTime(&ms, e0, e1));
    int reps = ms > 0 ? (int)(0.2 / ms) + 1 : 64;
    reps = reps < 1 ? 1 : reps > 64 ? 64 : reps;
    double *t = malloc(sizeof(double) * (size_t)samples);
    for (int i = 0, k = 0; i < samples; i++) {
        CU(cudaEventRecord(e0, stream));
        for (int r = 0; r < reps; r++, k++)
            run(arg, k % sets);
        CU(cudaEventRecord(e1, stream));
        CU(cudaEventSynchronize(e1));
        CU(cudaEventElapsedTime(&ms, e0, e1));
        t[i] = (double)ms * 1e-3 / reps;
    }
    double m = fsdb_median(t, samples);
    free(t);
    CU(cudaEventDestroy(e0));
    CU(cudaEventDestroy(e1));
    return m;
}

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

int fsdb_gpu_sets(int device, size_t set_bytes, int max_sets)
{
    int l2 = 0;
    CU(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
    size_t free_b = 0, total_b = 0;
    CU(cudaMemGetInfo(&free_b, &total_b));
    const size_t want = 4 * (size_t)(l2 > 0 ? l2 : (64 << 20));
    int sets = (int)((want + set_bytes - 1) / set_bytes);
    while (sets > 1 && (size_t)sets * set_bytes > free_b / 4)
        sets--;
    return sets > max_sets ? max_sets : sets < 1 ? 1 : sets;
}

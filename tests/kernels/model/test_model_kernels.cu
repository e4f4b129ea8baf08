/*
 * test_model_kernels.cu — small kernels with known access patterns for test_access_model, each
 * with its driver (model_driver.h): what adding a kernel to the model takes.
 */
#include <cstring>

#include "model_driver.h"

#include "step_common.cuh"

#include "test_model_kernels.h"

/* A 32 x 32 tile of floats in shared memory with `pitch` floats per row: thread t of a warp
 * stores element (t, c) for c = 0..31 (down a column), then the block reads it back along rows. */
FSD_HD void tile_column_step(unsigned char *tile, uint32_t pitch, uint32_t thread, const char *src, char *dst)
{
    const uint32_t lane = thread % 32;
    for (uint32_t c = 0; c < 32; c++) {
        const float v = fsd_load_as<float>(src + (c * 32 + lane) * 4);
        fsd_store_as<float>((char *)tile + (lane * pitch + c) * 4, v);
    }
}

FSD_HD void tile_row_step(unsigned char *tile, uint32_t pitch, uint32_t thread, char *dst)
{
    const uint32_t lane = thread % 32;
    for (uint32_t r = 0; r < 32; r++)
        fsd_store_as<float>(dst + (r * 32 + lane) * 4, fsd_load_as<float>((const char *)tile + (r * pitch + lane) * 4));
}

extern "C" int fsdmt_tile32(uint32_t pitch, fsdm_report *r)
{
    static unsigned char tile[33 * 32 * 4];
    static float src[32 * 32], dst[32 * 32];
    for (int i = 0; i < 32 * 32; i++)
        src[i] = (float)i;
    fsdm::trace tr("tile32 (a test kernel)", 1, 32, nullptr);
    tr.shared(tile, sizeof tile);
    for (uint32_t t = 0; t < 32; t++) {
        tr.thread(0, t);
        tile_column_step(tile, pitch, t, (const char *)src, (char *)dst);
    }
    tr.barrier();
    for (uint32_t t = 0; t < 32; t++) {
        tr.thread(0, t);
        tile_row_step(tile, pitch, t, (char *)dst);
    }
    tr.finish(r);
    /* dst is the transpose of src */
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++)
            if (dst[i * 32 + j] != src[j * 32 + i])
                return -1;
    return 0;
}

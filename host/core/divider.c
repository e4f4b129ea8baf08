/* divider.c — the magic numbers of divider.h, computed once per plan on the host. */
#include "divider.h"

void fsd_divider_init(fsd_divider *dv, uint64_t d)
{
    uint32_t s = 0;
    while (s < 64 && (((uint64_t)1 << s) < d))
        s++;
    dv->divisor = d;
    dv->shift = s;
    /* m = floor(2^64 * (2^s - d) / d) + 1; 2^s - d < d so the quotient fits in 64 bits. */
    unsigned __int128 two_s = (s == 64) ? ((unsigned __int128)1 << 64) : ((unsigned __int128)1 << s);
    unsigned __int128 num = (two_s - d) << 64;
    dv->magic64 = (uint64_t)(num / d) + 1;
    if (d <= UINT32_MAX) {
        uint64_t num32 = ((uint64_t)((((uint64_t)1 << s) - d)) << 32);
        dv->magic32 = (uint32_t)(num32 / d + 1);
    } else {
        dv->magic32 = 0;
    }
}

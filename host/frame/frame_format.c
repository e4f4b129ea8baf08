/* frame_format.c — the names and strings of the frame format (see frame.h, docs/frames.md). */
#include <string.h>

#include "frame.h"

typedef struct dtype_name {
    const char *name;
    uint8_t code, bits;
} dtype_name;

/* safetensors' names of the types fastserde maps. BOOL, F8_E4M3 and F8_E5M2 use DLPack 1.x's
 * codes (kDLBool, kDLFloat8_e4m3fn, kDLFloat8_e5m2: safetensors' F8_E4M3 is the "fn" variant,
 * torch.float8_e4m3fn). */
static const dtype_name dtypes[] = {
    {"F64", kDLFloat, 64},  {"F32", kDLFloat, 32},  {"F16", kDLFloat, 16},
    {"BF16", kDLBfloat, 16},
    {"I64", kDLInt, 64},    {"I32", kDLInt, 32},    {"I16", kDLInt, 16},    {"I8", kDLInt, 8},
    {"U64", kDLUInt, 64},   {"U32", kDLUInt, 32},   {"U16", kDLUInt, 16},   {"U8", kDLUInt, 8},
    {"BOOL", FSD_DL_BOOL, 8},
    {"F8_E4M3", FSD_DL_FLOAT8_E4M3FN, 8},
    {"F8_E5M2", FSD_DL_FLOAT8_E5M2, 8},
};

const char *fsd_frame_dtype_name(DLDataType t)
{
    if (t.lanes != 1)
        return NULL;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].code == t.code && dtypes[i].bits == t.bits)
            return dtypes[i].name;
    return NULL;
}

int fsd_frame_dtype_from_name(const char *name, size_t len, DLDataType *t)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        if (strlen(dtypes[i].name) == len && memcmp(dtypes[i].name, name, len) == 0) {
            t->code = dtypes[i].code;
            t->bits = dtypes[i].bits;
            t->lanes = 1;
            return 1;
        }
    }
    return 0;
}

int fsd_frame_utf8_ok(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0; /* a continuation byte first, 0xC0/0xC1 (overlong), or past 0xF4 */
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

void fsd_frame_format_checksum(uint64_t value, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t p = sizeof FSD_FRAME_ALGO_XXH3 - 1;
    memcpy(out, FSD_FRAME_ALGO_XXH3, p);
    out[p++] = ':';
    for (int i = 15; i >= 0; i--)
        out[p++] = hex[(value >> (4 * i)) & 15];
    out[p] = '\0';
}

int fsd_frame_parse_checksum(const char *s, size_t n, uint64_t *value)
{
    size_t p = sizeof FSD_FRAME_ALGO_XXH3 - 1;
    if (n != FSD_FRAME_CHECKSUM_CHARS - 1 || memcmp(s, FSD_FRAME_ALGO_XXH3, p) != 0 || s[p] != ':')
        return 0;
    uint64_t v = 0;
    for (size_t i = p + 1; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return 0; /* lowercase only: one spelling per value */
        v = v << 4 | d;
    }
    *value = v;
    return 1;
}

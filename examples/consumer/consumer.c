/*
 * consumer.c — a program from outside the fastserde tree, built against an installed fastserde
 * (with find_package(fastserde), see CMakeLists.txt, or with pkg-config, see Makefile).
 *
 * It packs a strided host tensor (every other column of a transposed matrix), prints the packed
 * bytes, unpacks them into a fresh matrix through the same view and checks the round trip
 * against a plain loop; then does the same through a context with fsd_to_bytes and
 * fsd_from_bytes. No GPU is needed. Exit status 0 when every check holds, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastserde.h>

#define ROWS 4
#define COLS 6

static int failures;

#define CHECK(cond, ...)                                             \
    do {                                                             \
        if (!(cond)) {                                               \
            failures++;                                              \
            fprintf(stderr, "FAIL (line %d): ", __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                            \
            fputc('\n', stderr);                                     \
        }                                                            \
    } while (0)

/* Reports a failed call with fastserde's status name and the thread's detailed message. */
static int ok(fsd_status st, const char *what)
{
    if (st == FSD_SUCCESS)
        return 1;
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    fprintf(stderr, "FAIL: %s: %s (%s)\n", what, fsd_status_string(st), msg);
    failures++;
    return 0;
}

static void print_bytes(const char *label, const void *p, size_t n)
{
    const unsigned char *b = p;
    printf("%s (%zu bytes):", label, n);
    for (size_t i = 0; i < n; i++)
        printf("%s%02x", i % 16 ? " " : "\n  ", b[i]);
    printf("\n");
}

int main(void)
{
    CHECK(fsd_version() == FSD_VERSION_NUMBER, "library version %u, header %d", fsd_version(),
          FSD_VERSION_NUMBER);

    /* m: a 4 x 6 row-major int16 matrix. The view: columns 1, 3, 5 of m, transposed, i.e.
     * view[a][b] = m[b][1 + 2a], shape [3, 4], strides (in elements) [2, 6], and the first
     * element one int16 in (byte_offset). */
    int16_t m[ROWS][COLS];
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++)
            m[i][j] = (int16_t)(100 * i + j);
    int64_t shape[2] = {3, 4};
    int64_t strides[2] = {2, COLS};
    DLTensor view = {
        .data = m,
        .device = {kDLCPU, 0},
        .ndim = 2,
        .dtype = {kDLInt, 16, 1},
        .shape = shape,
        .strides = strides,
        .byte_offset = sizeof(int16_t),
    };

    /* What the packed bytes must be: the view's elements in row-major order. */
    int16_t want[3 * ROWS];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < ROWS; b++)
            want[a * ROWS + b] = m[b][1 + 2 * a];

    size_t n = 0;
    if (!ok(fsd_packed_size(&view, &n), "fsd_packed_size"))
        return 1;
    CHECK(n == sizeof want, "packed size %zu, expected %zu", n, sizeof want);

    unsigned char packed[sizeof want];
    if (ok(fsd_pack(&view, packed, sizeof packed, NULL), "fsd_pack")) {
        print_bytes("packed", packed, sizeof packed);
        CHECK(memcmp(packed, want, sizeof want) == 0, "packed bytes differ from the loop's");
    }

    /* Unpack into a zeroed matrix through the same view: the view's elements come back, every
     * other element stays 0. */
    int16_t back[ROWS][COLS];
    memset(back, 0, sizeof back);
    DLTensor back_view = view;
    back_view.data = back;
    if (ok(fsd_unpack(packed, sizeof packed, &back_view, NULL), "fsd_unpack")) {
        for (int i = 0; i < ROWS; i++)
            for (int j = 0; j < COLS; j++) {
                int16_t expect = (j % 2 == 1) ? m[i][j] : 0;
                CHECK(back[i][j] == expect, "back[%d][%d] = %d, expected %d", i, j, back[i][j],
                      expect);
            }
    }

    /* An aliasing destination (a zero stride on a dimension of 3) is refused, nothing written. */
    int64_t alias_strides[2] = {0, COLS};
    DLTensor alias = back_view;
    alias.strides = alias_strides;
    fsd_status st = fsd_unpack(packed, sizeof packed, &alias, NULL);
    CHECK(st == FSD_ERROR_ALIASING, "aliasing unpack gave %s", fsd_status_string(st));
    char msg[256];
    fsd_last_error(msg, sizeof msg);
    printf("refused as expected: %s\n  detail: %s\n", fsd_status_string(st), msg);

    /* The seed's API through a context: to_bytes, then from_bytes gives a flat tensor. */
    fsd_context *ctx = NULL;
    if (ok(fsd_context_create(&ctx, NULL), "fsd_context_create")) {
        void *bytes = NULL;
        size_t size = 0;
        if (ok(fsd_to_bytes(ctx, &view, &bytes, &size), "fsd_to_bytes")) {
            CHECK(size == sizeof want && memcmp(bytes, want, size) == 0,
                  "fsd_to_bytes differs from fsd_pack");
            DLManagedTensor *flat = NULL;
            DLDataType i16 = {kDLInt, 16, 1};
            DLDevice cpu = {kDLCPU, 0};
            if (ok(fsd_from_bytes(ctx, bytes, size, i16, cpu, &flat), "fsd_from_bytes")) {
                const DLTensor *t = &flat->dl_tensor;
                CHECK(t->ndim == 1 && t->shape[0] == 3 * ROWS, "from_bytes shape");
                CHECK(memcmp(t->data, want, sizeof want) == 0, "from_bytes data");
                flat->deleter(flat);
            }
            fsd_bytes_free(bytes);
        }
        fsd_context_destroy(ctx);
    }

    printf("%s: fastserde %u, %d failure(s)\n", failures ? "FAILED" : "OK", fsd_version(),
           failures);
    return failures ? 1 : 0;
}

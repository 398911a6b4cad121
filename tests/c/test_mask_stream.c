/* C harness for secagg_mask_add_streams, the add of keystream made outside
 * the core: adding each key's keystream (from secagg_keystream) must equal the
 * core's fused secagg_mask_apply, for every bit width and sign mix, with
 * exact-size heap buffers so the sanitizer build catches any overrun. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secagg.h"

static int failures = 0;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

/* Deterministic test data (xorshift64*), not for keys in real use. */
static uint64_t rng_state = 0x243F6A8885A308D3ULL;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* nkeys streams over an m-word vector (m not a multiple of any vector width,
 * crossing the 4 KiB tiles) agree with secagg_mask_apply of the same keys. */
static void test_matches_fused(int impl, int bits, size_t m, size_t nkeys) {
    const size_t w = bits <= 32 ? 4 : 8, len = m * w;
    const uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    uint8_t *keys = xmalloc(16 * nkeys), *ks = xmalloc(len * nkeys);
    int8_t *signs = xmalloc(nkeys);
    uint8_t *a = xmalloc(len), *b = xmalloc(len);
    static const uint8_t zero[16] = {0};
    for (size_t j = 0; j < nkeys; j++) {
        for (size_t i = 0; i < 16; i++) keys[16 * j + i] = (uint8_t)rnd();
        signs[j] = (rnd() & 1) ? 1 : -1;
        CHECK(secagg_keystream(impl, keys + 16 * j, 16, zero, 16, ks + j * len, len) == SECAGG_OK);
    }
    for (size_t i = 0; i < m; i++) {
        if (w == 4) ((uint32_t *)a)[i] = (uint32_t)(rnd() & mask);
        else ((uint64_t *)a)[i] = rnd() & mask;
    }
    memcpy(b, a, len);
    CHECK(secagg_mask_apply(impl, a, m, bits, keys, nkeys, signs) == SECAGG_OK);
    CHECK(secagg_mask_add_streams(b, m, bits, ks, len * nkeys, signs, nkeys) == SECAGG_OK);
    CHECK(memcmp(a, b, len) == 0);
    free(keys);
    free(ks);
    free(signs);
    free(a);
    free(b);
}

static void test_errors(void) {
    uint32_t *v = xmalloc(10 * 4);
    uint8_t *ks = xmalloc(2 * 10 * 4);
    memset(ks, 0xA5, 2 * 10 * 4);
    int8_t signs[2] = {1, -1}, bad[2] = {1, 0};
    for (int i = 0; i < 10; i++) v[i] = (uint32_t)i;
    v[7] = 256; /* out of range for bits = 8 */
    CHECK(secagg_mask_add_streams(v, 10, 8, ks, 80, signs, 2) == SECAGG_ERR_RANGE);
    CHECK(v[0] == 0 && v[6] == 6 && v[7] == 256 && v[9] == 9); /* untouched */
    v[7] = 7;
    CHECK(secagg_mask_add_streams(v, 10, 8, ks, 80, bad, 2) == SECAGG_ERR_ARG);
    CHECK(secagg_mask_add_streams(v, 10, 8, ks, 79, signs, 2) == SECAGG_ERR_LENGTH);
    CHECK(secagg_mask_add_streams(v, 10, 8, ks, 40, signs, 2) == SECAGG_ERR_LENGTH);
    CHECK(secagg_mask_add_streams(v, 10, 0, ks, 80, signs, 2) == SECAGG_ERR_BITS);
    CHECK(secagg_mask_add_streams(v, 10, 65, ks, 80, signs, 2) == SECAGG_ERR_BITS);
    CHECK(secagg_mask_add_streams(NULL, 10, 8, ks, 80, signs, 2) == SECAGG_ERR_NULL);
    CHECK(secagg_mask_add_streams(v, 10, 8, NULL, 80, signs, 2) == SECAGG_ERR_NULL);
    CHECK(secagg_mask_add_streams(v, 10, 8, ks, 80, NULL, 2) == SECAGG_ERR_NULL);
    CHECK(secagg_mask_add_streams(v, SIZE_MAX / 2, 8, ks, 80, signs, 2) == SECAGG_ERR_OVERFLOW);
    CHECK(secagg_mask_add_streams(v, 10, 8, NULL, 0, NULL, 0) == SECAGG_OK);
    CHECK(secagg_mask_add_streams(NULL, 0, 8, ks, 0, signs, 2) == SECAGG_OK);
    for (int i = 0; i < 10; i++) CHECK(v[i] == (uint32_t)i);
    free(v);
    free(ks);
}

int main(void) {
    static const int widths[] = {1, 7, 20, 31, 32, 33, 45, 61, 64};
    static const size_t lengths[] = {0, 1, 3, 17, 1023, 1025, 2 * 4096 + 5};
    const int portable = secagg_impl_count() - 1;
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++)
            for (size_t nkeys = 1; nkeys <= 5; nkeys += 2)
                test_matches_fused(portable, widths[i], lengths[k], nkeys);
    test_errors();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_mask_stream: all checks passed\n");
    return 0;
}

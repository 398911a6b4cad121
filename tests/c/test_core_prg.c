/* C harness for the keystream, masking and packing entry points: known
 * answers, cross-implementation agreement, edge lengths and error codes.
 * Buffers are heap-allocated at their exact size so the sanitizer build
 * catches any out-of-bounds access. Exits non-zero on the first failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aes_impl.h" /* internal: the portable S-box hook */
#include "secagg.h"

static int failures = 0;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                   \
        }                                                                 \
    } while (0)

static void hex(const char *s, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* Deterministic test data (xorshift64*), not for keys in real use. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}
static void fill(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd();
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void be128(uint8_t out[16], uint64_t hi, uint64_t lo) {
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(hi >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
}

/* The S-box from its definition: inverse in GF(2^8) mod x^8+x^4+x^3+x+1
 * (found by search, 0 -> 0), then the affine map with constant 0x63. */
static uint8_t gf_mul(uint8_t a, uint8_t b) {
    uint8_t r = 0;
    while (b) {
        if (b & 1) r ^= a;
        b >>= 1;
        a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
    }
    return r;
}

static uint8_t sbox_reference(uint8_t x) {
    uint8_t inv = 0;
    for (int c = 1; c < 256 && x; c++)
        if (gf_mul(x, (uint8_t)c) == 1) inv = (uint8_t)c;
    uint8_t s = 0x63;
    for (int i = 0; i < 8; i++) {
        const int bit = ((inv >> i) ^ (inv >> ((i + 4) % 8)) ^ (inv >> ((i + 5) % 8)) ^
                         (inv >> ((i + 6) % 8)) ^ (inv >> ((i + 7) % 8))) & 1;
        s ^= (uint8_t)(bit << i);
    }
    return s;
}

static void test_portable_sbox_exhaustive(void) {
    CHECK(sbox_reference(0x00) == 0x63 && sbox_reference(0x01) == 0x7c);
    CHECK(sbox_reference(0x53) == 0xed); /* FIPS-197 section 5.1.1 example */
    for (int base = 0; base < 256; base += 64) {
        uint8_t *buf = xmalloc(64);
        for (int i = 0; i < 64; i++) buf[i] = (uint8_t)(base + i);
        secagg_aes_portable_sbox64(buf);
        for (int i = 0; i < 64; i++) CHECK(buf[i] == sbox_reference((uint8_t)(base + i)));
        free(buf);
    }
}

static void test_known_answers(int impl) {
    /* FIPS-197 appendix C.1: AES-128 of 00112233..ff under 00010203..0f; as a
     * CTR keystream, the counter block is the plaintext. */
    uint8_t key[16], ctr[16], want[16];
    uint8_t *out = xmalloc(16);
    hex("000102030405060708090a0b0c0d0e0f", key, 16);
    hex("00112233445566778899aabbccddeeff", ctr, 16);
    hex("69c4e0d86a7b0430d8cdb78070b4c55a", want, 16);
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, out, 16) == SECAGG_OK);
    CHECK(memcmp(out, want, 16) == 0);
    free(out);

    /* NIST SP 800-38A F.5.1 (counter f0f1..feff carries into byte 14). */
    uint8_t pt[64], ct[64];
    uint8_t *ks = xmalloc(64);
    hex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr, 16);
    hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
        pt, 64);
    hex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
        ct, 64);
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, ks, 64) == SECAGG_OK);
    for (int i = 0; i < 64; i++) CHECK((uint8_t)(pt[i] ^ ks[i]) == ct[i]);
    free(ks);
}

/* Every length 0..700 and a few large ones, from counters around 2^64, equal
 * the portable implementation's output (itself pinned by the known answers). */
static void test_against_portable(int impl, int portable) {
    static const uint64_t los[] = {0, 5, UINT64_MAX - 40, UINT64_MAX - 3, UINT64_MAX};
    uint8_t key[16], ctr[16];
    fill(key, 16);
    for (size_t c = 0; c < sizeof los / sizeof los[0]; c++) {
        be128(ctr, 0x1234 + c, los[c]);
        for (size_t n = 0; n <= 700; n += (n < 300 ? 1 : 37)) {
            uint8_t *a = xmalloc(n), *b = xmalloc(n);
            CHECK(secagg_keystream(impl, key, 16, ctr, 16, a, n) == SECAGG_OK);
            CHECK(secagg_keystream(portable, key, 16, ctr, 16, b, n) == SECAGG_OK);
            CHECK(n == 0 || memcmp(a, b, n) == 0);
            free(a);
            free(b);
        }
    }
    const size_t big = (size_t)1 << 18 | 9;
    uint8_t *a = xmalloc(big), *b = xmalloc(big);
    be128(ctr, 0, UINT64_MAX - 1000);
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, a, big) == SECAGG_OK);
    CHECK(secagg_keystream(portable, key, 16, ctr, 16, b, big) == SECAGG_OK);
    CHECK(memcmp(a, b, big) == 0);
    /* a later start gives the matching suffix */
    be128(ctr, 0, UINT64_MAX - 1000 + 77);
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, b, big - 77 * 16) == SECAGG_OK);
    CHECK(memcmp(a + 77 * 16, b, big - 77 * 16) == 0);
    free(a);
    free(b);
}

static void test_keystream_errors(int impl) {
    uint8_t key[16] = {0}, ctr[16] = {0};
    uint8_t *out = xmalloc(32);
    CHECK(secagg_keystream(impl, NULL, 16, ctr, 16, out, 32) == SECAGG_ERR_NULL);
    CHECK(secagg_keystream(impl, key, 16, NULL, 16, out, 32) == SECAGG_ERR_NULL);
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, NULL, 32) == SECAGG_ERR_NULL);
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, NULL, 0) == SECAGG_OK);
    CHECK(secagg_keystream(impl, key, 24, ctr, 16, out, 32) == SECAGG_ERR_LENGTH);
    CHECK(secagg_keystream(impl, key, 16, ctr, 12, out, 32) == SECAGG_ERR_LENGTH);
    CHECK(secagg_keystream(-1, key, 16, ctr, 16, out, 32) == SECAGG_ERR_IMPL);
    CHECK(secagg_keystream(secagg_impl_count(), key, 16, ctr, 16, out, 32) == SECAGG_ERR_IMPL);
    be128(ctr, UINT64_MAX, UINT64_MAX - 1); /* two blocks left before 2^128 */
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, out, 32) == SECAGG_OK);
    CHECK(secagg_keystream(impl, key, 16, ctr, 16, out, 33) == SECAGG_ERR_OVERFLOW);
    free(out);
}

static void test_expand_and_mask(int impl) {
    uint8_t key[16];
    fill(key, 16);
    for (int bits = 1; bits <= 64; bits++) {
        const size_t w = bits <= 32 ? 4 : 8, m = 1000 + (size_t)bits;
        uint8_t *ks = xmalloc(m * w);
        void *e = xmalloc(m * w);
        uint8_t zero[16] = {0};
        CHECK(secagg_keystream(impl, key, 16, zero, 16, ks, m * w) == SECAGG_OK);
        CHECK(secagg_expand(impl, key, 16, bits, e, m) == SECAGG_OK);
        const uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        for (size_t i = 0; i < m; i++) {
            uint64_t word = 0;
            for (size_t k = 0; k < w; k++) word |= (uint64_t)ks[w * i + k] << (8 * k);
            const uint64_t got = w == 4 ? ((uint32_t *)e)[i] : ((uint64_t *)e)[i];
            CHECK(got == (word & mask));
        }
        /* masking a zero vector with +key equals the expansion; -key then restores 0 */
        void *v = xmalloc(m * w);
        memset(v, 0, m * w);
        int8_t plus = 1, minus = -1;
        CHECK(secagg_mask_apply(impl, v, m, bits, key, 1, &plus) == SECAGG_OK);
        CHECK(memcmp(v, e, m * w) == 0);
        CHECK(secagg_mask_apply(impl, v, m, bits, key, 1, &minus) == SECAGG_OK);
        for (size_t i = 0; i < m * w; i++) CHECK(((uint8_t *)v)[i] == 0);
        free(ks);
        free(e);
        free(v);
    }
}

/* Several keys over a vector spanning several 16 KiB slices (with a partial
 * last block) equal the sum of the individual expansions. */
static void test_mask_multi_slice(int impl) {
    static const int widths[] = {17, 32, 45, 64};
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        const int bits = widths[k];
        const size_t w = bits <= 32 ? 4 : 8, m = 3 * 16384 / w + 3, nkeys = 3;
        const uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        uint8_t keys[48];
        int8_t signs[3] = {1, -1, 1};
        fill(keys, sizeof keys);
        uint8_t *v = xmalloc(m * w), *e = xmalloc(m * w), *v0 = xmalloc(m * w);
        for (size_t i = 0; i < m; i++) {
            if (w == 4) ((uint32_t *)v)[i] = (uint32_t)(rnd() & mask);
            else ((uint64_t *)v)[i] = rnd() & mask;
        }
        memcpy(v0, v, m * w);
        CHECK(secagg_mask_apply(impl, v, m, bits, keys, nkeys, signs) == SECAGG_OK);
        for (size_t j = 0; j < nkeys; j++) {
            CHECK(secagg_expand(impl, keys + 16 * j, 16, bits, e, m) == SECAGG_OK);
            for (size_t i = 0; i < m; i++) {
                if (w == 4) {
                    uint32_t *a = (uint32_t *)v0 + i;
                    const uint32_t x = ((uint32_t *)e)[i];
                    *a = (uint32_t)((signs[j] > 0 ? *a + x : *a - x) & mask);
                } else {
                    uint64_t *a = (uint64_t *)v0 + i;
                    const uint64_t x = ((uint64_t *)e)[i];
                    *a = (signs[j] > 0 ? *a + x : *a - x) & mask;
                }
            }
        }
        CHECK(memcmp(v, v0, m * w) == 0);
        free(v);
        free(e);
        free(v0);
    }
}

/* Masking a vector in two parts, the second from its own counter block,
 * gives the bytes of one call over the whole; a counter past 2^60 blocks
 * is refused before anything is written. */
static void test_mask_apply_at(int impl) {
    static const int widths[] = {13, 32, 64};
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        const int bits = widths[k];
        const size_t w = bits <= 32 ? 4 : 8, m = 2 * 16384 / w + 5, cut = 16384 / w + 64 / w;
        const uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        uint8_t keys[32];
        int8_t signs[2] = {-1, 1};
        fill(keys, sizeof keys);
        uint8_t *whole = xmalloc(m * w), *parts = xmalloc(m * w);
        for (size_t i = 0; i < m; i++) {
            if (w == 4) ((uint32_t *)whole)[i] = (uint32_t)(rnd() & mask);
            else ((uint64_t *)whole)[i] = rnd() & mask;
        }
        memcpy(parts, whole, m * w);
        CHECK(secagg_mask_apply(impl, whole, m, bits, keys, 2, signs) == SECAGG_OK);
        CHECK(secagg_mask_apply_at(impl, parts, cut, bits, keys, 2, signs, 0) == SECAGG_OK);
        CHECK(secagg_mask_apply_at(impl, parts + cut * w, m - cut, bits, keys, 2, signs,
                                   cut * w / 16) == SECAGG_OK);
        CHECK(memcmp(whole, parts, m * w) == 0);
        memcpy(parts, whole, m * w);
        CHECK(secagg_mask_apply_at(impl, parts, m, bits, keys, 2, signs, (uint64_t)1 << 60) ==
              SECAGG_ERR_ARG);
        CHECK(secagg_mask_apply_at(impl, parts, m, bits, keys, 2, signs, UINT64_MAX) ==
              SECAGG_ERR_ARG);
        CHECK(memcmp(whole, parts, m * w) == 0);
        free(whole);
        free(parts);
    }
}

static void test_mask_errors(int impl) {
    uint8_t keys[32] = {0};
    int8_t signs[2] = {1, -1};
    uint32_t *v = xmalloc(10 * 4);
    for (int i = 0; i < 10; i++) v[i] = (uint32_t)i;
    v[7] = 256; /* out of range for bits = 8 */
    CHECK(secagg_mask_apply(impl, v, 10, 8, keys, 2, signs) == SECAGG_ERR_RANGE);
    CHECK(v[0] == 0 && v[6] == 6 && v[7] == 256 && v[9] == 9); /* untouched */
    v[7] = 7;
    int8_t bad[2] = {1, 0};
    CHECK(secagg_mask_apply(impl, v, 10, 8, keys, 2, bad) == SECAGG_ERR_ARG);
    CHECK(secagg_mask_apply(impl, v, 10, 0, keys, 2, signs) == SECAGG_ERR_BITS);
    CHECK(secagg_mask_apply(impl, v, 10, 65, keys, 2, signs) == SECAGG_ERR_BITS);
    CHECK(secagg_mask_apply(impl, NULL, 10, 8, keys, 2, signs) == SECAGG_ERR_NULL);
    CHECK(secagg_mask_apply(impl, v, 10, 8, NULL, 2, signs) == SECAGG_ERR_NULL);
    CHECK(secagg_mask_apply(-3, v, 10, 8, keys, 2, signs) == SECAGG_ERR_IMPL);
    CHECK(secagg_mask_apply(impl, v, 10, 8, keys, 0, NULL) == SECAGG_OK);
    for (int i = 0; i < 10; i++) CHECK(v[i] == (uint32_t)i);
    free(v);
}

static void test_vec_ops(void) {
    const size_t m = 33;
    uint64_t *a = xmalloc(m * 8), *b = xmalloc(m * 8);
    for (size_t i = 0; i < m; i++) {
        a[i] = rnd() >> 24; /* 40 bits */
        b[i] = rnd() >> 24;
    }
    uint64_t *c = xmalloc(m * 8);
    memcpy(c, a, m * 8);
    CHECK(secagg_vec_add(c, b, m, 40) == SECAGG_OK);
    for (size_t i = 0; i < m; i++) CHECK(c[i] == ((a[i] + b[i]) & (((uint64_t)1 << 40) - 1)));
    CHECK(secagg_vec_sub(c, b, m, 40) == SECAGG_OK);
    CHECK(memcmp(c, a, m * 8) == 0);
    b[5] = (uint64_t)1 << 40;
    CHECK(secagg_vec_add(c, b, m, 40) == SECAGG_ERR_RANGE);
    CHECK(memcmp(c, a, m * 8) == 0);
    CHECK(secagg_vec_check(b, m, 41) == SECAGG_OK);
    CHECK(secagg_vec_check(b, m, 40) == SECAGG_ERR_RANGE);
    CHECK(secagg_vec_check(b, m, 0) == SECAGG_ERR_BITS);
    free(a);
    free(b);
    free(c);
}

static void test_packing(void) {
    static const size_t ms[] = {0, 1, 7, 8, 9, 63, 64, 65, 1001};
    for (int bits = 1; bits <= 64; bits++) {
        const size_t w = bits <= 32 ? 4 : 8;
        const uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
            const size_t m = ms[k];
            size_t n = 0;
            CHECK(secagg_packed_size(m, bits, &n) == SECAGG_OK);
            CHECK(n == (m * (size_t)bits + 7) / 8);
            uint8_t *v = xmalloc(m * w), *u = xmalloc(m * w), *acc = xmalloc(m * w);
            uint8_t *p = xmalloc(n);
            for (size_t i = 0; i < m; i++) {
                const uint64_t x = rnd() & mask, y = rnd() & mask;
                if (w == 4) {
                    ((uint32_t *)v)[i] = (uint32_t)x;
                    ((uint32_t *)acc)[i] = (uint32_t)y;
                } else {
                    ((uint64_t *)v)[i] = x;
                    ((uint64_t *)acc)[i] = y;
                }
            }
            CHECK(secagg_pack(v, m, bits, p, n) == SECAGG_OK);
            /* bit j of element i is bit i*bits + j of the stream */
            for (size_t i = 0; i < m && i < 70; i++) {
                const uint64_t x = w == 4 ? ((uint32_t *)v)[i] : ((uint64_t *)v)[i];
                for (int j = 0; j < bits; j++) {
                    const size_t pos = i * (size_t)bits + (size_t)j;
                    CHECK(((p[pos / 8] >> (pos % 8)) & 1) == ((x >> j) & 1));
                }
            }
            CHECK(secagg_unpack(p, n, m, bits, u) == SECAGG_OK);
            CHECK(m == 0 || memcmp(u, v, m * w) == 0);
            uint8_t *acc0 = xmalloc(m * w);
            memcpy(acc0, acc, m * w);
            CHECK(secagg_unpack_add(p, n, m, bits, acc) == SECAGG_OK);
            for (size_t i = 0; i < m; i++) {
                const uint64_t x = w == 4 ? ((uint32_t *)v)[i] : ((uint64_t *)v)[i];
                const uint64_t y = w == 4 ? ((uint32_t *)acc0)[i] : ((uint64_t *)acc0)[i];
                const uint64_t z = w == 4 ? ((uint32_t *)acc)[i] : ((uint64_t *)acc)[i];
                CHECK(z == ((x + y) & mask));
            }
            /* malformed messages leave acc untouched */
            memcpy(acc, acc0, m * w);
            const unsigned used = (unsigned)((m * (size_t)bits) % 8);
            if (used) {
                p[n - 1] ^= (uint8_t)(1u << used);
                CHECK(secagg_unpack(p, n, m, bits, u) == SECAGG_ERR_PADDING);
                CHECK(secagg_unpack_add(p, n, m, bits, acc) == SECAGG_ERR_PADDING);
                CHECK(memcmp(acc, acc0, m * w) == 0);
                p[n - 1] ^= (uint8_t)(1u << used);
            }
            if (n > 0) {
                CHECK(secagg_unpack(p, n - 1, m, bits, u) == SECAGG_ERR_LENGTH);
                CHECK(secagg_unpack_add(p, n - 1, m, bits, acc) == SECAGG_ERR_LENGTH);
                CHECK(m == 0 || memcmp(acc, acc0, m * w) == 0);
            }
            CHECK(secagg_pack(v, m, bits, p, n + 1) == SECAGG_ERR_LENGTH);
            if (m > 0 && bits < 64 && bits != 32) {
                if (w == 4) ((uint32_t *)v)[m - 1] = (uint32_t)mask + 1;
                else ((uint64_t *)v)[m - 1] = mask + 1;
                CHECK(secagg_pack(v, m, bits, p, n) == SECAGG_ERR_RANGE);
            }
            free(v);
            free(u);
            free(acc);
            free(acc0);
            free(p);
        }
    }
    size_t n;
    CHECK(secagg_packed_size(1, 65, &n) == SECAGG_ERR_BITS);
    CHECK(secagg_packed_size(SIZE_MAX, 8, &n) == SECAGG_ERR_OVERFLOW);
    CHECK(secagg_packed_size(1, 8, NULL) == SECAGG_ERR_NULL);
}

int main(void) {
    int portable = -1;
    for (int i = 0; i < secagg_impl_count(); i++)
        if (strcmp(secagg_impl_name(i), "portable") == 0) portable = i;
    CHECK(portable == secagg_impl_count() - 1);
    CHECK(secagg_impl_name(secagg_impl_count()) == NULL);
    CHECK(secagg_impl_supported(portable) == 1);
    test_portable_sbox_exhaustive();
    for (int i = 0; i < secagg_impl_count(); i++) {
        if (!secagg_impl_supported(i)) {
            printf("skip %s (not supported by this CPU)\n", secagg_impl_name(i));
            continue;
        }
        printf("implementation %s\n", secagg_impl_name(i));
        test_known_answers(i);
        test_against_portable(i, portable);
        test_keystream_errors(i);
        test_expand_and_mask(i);
        test_mask_multi_slice(i);
        test_mask_apply_at(i);
        test_mask_errors(i);
    }
    test_vec_ops();
    test_packing();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_core_prg: all checks passed\n");
    return 0;
}

/* Standalone harness for the Shamir / Reed-Solomon entry points of the C core
 * (csrc/gf61.c, csrc/shamir.c, csrc/rs.c), run with and without sanitizers.
 * Exits 0 when every check passes, 1 otherwise. Field results are compared
 * with a naive "% p" on 128-bit integers, independent of the lazy reduction,
 * and the split is pinned by vector 0 of tests/data/shamir_vector.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secagg.h"

#define P ((uint64_t)0x1FFFFFFFFFFFFFFFull)

static int failures = 0;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* xorshift64*: deterministic test data (not for secrets). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd64(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}
static void rnd_bytes(uint8_t *buf, size_t n) {
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rnd64();
}

__extension__ typedef unsigned __int128 u128;
static uint64_t nmul(uint64_t a, uint64_t b) { return (uint64_t)(((u128)a * b) % P); }
static uint64_t nadd(uint64_t a, uint64_t b) { return (uint64_t)(((u128)a + b) % P); }
static uint64_t npow(uint64_t a, uint64_t e) {
    uint64_t r = 1;
    for (; e; e >>= 1, a = nmul(a, a))
        if (e & 1) r = nmul(r, a);
    return r;
}

static void from_hex(const char *hex, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static uint64_t load64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void store64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void test_field(void) {
    enum { N = 2000 };
    static uint64_t a[N], b[N], out[N];
    for (int i = 0; i < N; i++) {
        a[i] = rnd64() % P;
        b[i] = rnd64() % P;
    }
    a[0] = P - 1; b[0] = P - 1;
    a[1] = 0;     b[1] = P - 1;
    CHECK(secagg_gf61_vec(SECAGG_GF61_MUL, a, b, out, N) == SECAGG_OK);
    for (int i = 0; i < N; i++) CHECK(out[i] == nmul(a[i], b[i]));
    CHECK(secagg_gf61_vec(SECAGG_GF61_ADD, a, b, out, N) == SECAGG_OK);
    for (int i = 0; i < N; i++) CHECK(out[i] == nadd(a[i], b[i]));
    CHECK(secagg_gf61_vec(SECAGG_GF61_SUB, a, b, out, N) == SECAGG_OK);
    for (int i = 0; i < N; i++) CHECK(out[i] == nadd(a[i], P - b[i]));
    a[1] = 1;
    CHECK(secagg_gf61_vec(SECAGG_GF61_INV, a, NULL, out, N) == SECAGG_OK);
    for (int i = 0; i < N; i++) CHECK(nmul(out[i], a[i]) == 1);
    for (int i = 0; i < N; i++) b[i] = rnd64();
    CHECK(secagg_gf61_vec(SECAGG_GF61_POW, a, b, out, N) == SECAGG_OK);
    for (int i = 0; i < 50; i++) CHECK(out[i] == npow(a[i], b[i]));
    CHECK(secagg_gf61_vec(SECAGG_GF61_REDUCE, b, NULL, out, N) == SECAGG_OK);
    for (int i = 0; i < N; i++) CHECK(out[i] == b[i] % P);
    uint64_t word = UINT64_MAX, r = 0;
    CHECK(secagg_gf61_vec(SECAGG_GF61_REDUCE, &word, NULL, &r, 1) == SECAGG_OK && r == 7);
    uint64_t bad = P, zero = 0;
    CHECK(secagg_gf61_vec(SECAGG_GF61_MUL, &bad, &zero, &r, 1) == SECAGG_ERR_RANGE);
    CHECK(secagg_gf61_vec(SECAGG_GF61_INV, &zero, NULL, &r, 1) == SECAGG_ERR_RANGE);
    CHECK(secagg_gf61_vec(42, &zero, &zero, &r, 1) == SECAGG_ERR_ARG);
    CHECK(secagg_gf61_vec(SECAGG_GF61_ADD, &zero, NULL, &r, 1) == SECAGG_ERR_NULL);
}

/* Vector 0 of tests/data/shamir_vector.json (t = 3, xs = 1..5). */
static void test_vector(void) {
    static const char *secret_hex =
        "90059377462aa9b736cc755d32507d423f6a8fd160d129765d3e55ea498f91e6";
    static const char *rand_hex =
        "ffffffffffffffff7f2917a1d08cecc30606809f7078d0f00380d246b45e5220825ee2b16c21dac1"
        "f42de9fbce3233c00b63fabfb89218ee9fa84c1982820f2b42432c890cc5d2ddf8617b330792fde7";
    static const char *shares_hex =
        "1c2faa1817b79504c8bc1e5c82097311ffce0a18cb256e028335bd36796a121a913439a31457d005"
        "b2abeffb885d5b10e24216d00f9e3a0375b7a8bda4dfe10477929d42b8845909d79dd7c636d29b1b"
        "537b63219c1dfa0303c9b2d105f0a615dffb185b1cffbb07ab401781fba3bf0e1dcb6c5167716201"
        "fd9d058950f7711f2d4ff46064ffb7083d9c5bf03184fc0a20402af242c8440a60bcf842a6342417"
        "b313d632a6eac2025ed5da7d2bcc6d1c8f98707de56ea30ed590d6958ef1e81ba2717b9bf31be11c";
    uint8_t secret[32], rand[80], want[200], got[200], back[32];
    from_hex(secret_hex, secret, 32);
    from_hex(rand_hex, rand, 80);
    from_hex(shares_hex, want, 200);
    const size_t len = 32;
    const uint64_t xs[5] = {1, 2, 3, 4, 5};
    CHECK(secagg_shamir_split(secret, &len, 1, 3, xs, 5, rand, 80, got, 200) == SECAGG_OK);
    CHECK(memcmp(got, want, 200) == 0);
    const uint64_t sub[3] = {5, 2, 4};
    uint8_t picked[120];
    memcpy(picked, want + 4 * 40, 40);
    memcpy(picked + 40, want + 1 * 40, 40);
    memcpy(picked + 80, want + 3 * 40, 40);
    CHECK(secagg_shamir_reconstruct(sub, 3, 3, picked, 120, 1, 32, back, 32) == SECAGG_OK);
    CHECK(memcmp(back, secret, 32) == 0);
}

/* Naive evaluation of the split polynomial of chunk c at x. */
static uint64_t naive_share(const uint8_t *secret, size_t len, size_t t, const uint8_t *rand,
                            size_t c, uint64_t x) {
    uint64_t a0 = 0;
    for (size_t i = 0; i < 7 && 7 * c + i < len; i++) a0 |= (uint64_t)secret[7 * c + i] << (8 * i);
    uint64_t acc = a0 % P;
    for (size_t j = 1; j < t; j++)
        acc = nadd(acc, nmul(load64(rand + 8 * (c * (t - 1) + j - 1)) % P, npow(x, j)));
    return acc;
}

static void test_round_trips(void) {
    enum { MAXN = 40 };
    uint8_t secret[50], rand[8 * MAXN * 8], shares[MAXN * 64], back[50], sub[MAXN * 64];
    uint64_t xs[MAXN], subx[MAXN];
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + rnd64() % MAXN, t = 1 + rnd64() % n, len = 1 + rnd64() % 50;
        size_t chunks = (len + 6) / 7, share = 8 * chunks, rlen = 8 * (t - 1) * chunks;
        for (size_t j = 0; j < n; j++) {
            int dup;
            do {
                xs[j] = (trial % 3 == 0) ? P - 1 - rnd64() % 1000 : 1 + rnd64() % (P - 1);
                dup = 0;
                for (size_t k = 0; k < j; k++) dup |= xs[k] == xs[j];
            } while (dup);
        }
        rnd_bytes(secret, len);
        rnd_bytes(rand, rlen);
        if (trial == 1) memset(rand, 0xff, rlen); /* every coefficient word reduces */
        CHECK(secagg_shamir_split(secret, &len, 1, t, xs, n, rand, rlen, shares, share * n) ==
              SECAGG_OK);
        for (size_t j = 0; j < n; j++)
            for (size_t c = 0; c < chunks; c++)
                CHECK(load64(shares + j * share + 8 * c) ==
                      naive_share(secret, len, t, rand, c, xs[j]));
        /* a random t-subset in random order */
        size_t perm[MAXN];
        for (size_t j = 0; j < n; j++) perm[j] = j;
        for (size_t j = n; j > 1; j--) {
            size_t k = rnd64() % j, tmp = perm[j - 1];
            perm[j - 1] = perm[k];
            perm[k] = tmp;
        }
        for (size_t j = 0; j < t; j++) {
            subx[j] = xs[perm[j]];
            memcpy(sub + j * share, shares + perm[j] * share, share);
        }
        CHECK(secagg_shamir_reconstruct(subx, t, t, sub, t * share, 1, len, back, len) ==
              SECAGG_OK);
        CHECK(memcmp(back, secret, len) == 0);
        /* Reed-Solomon: corrupt floor((n - t) / 2) shares, decode from all n. */
        size_t bound = (n - t) / 2;
        uint8_t wrong[MAXN];
        memcpy(sub, shares, n * share);
        for (size_t j = 0; j < bound; j++)
            for (size_t c = 0; c < chunks; c++) {
                uint64_t v = load64(sub + perm[j] * share + 8 * c);
                store64(sub + perm[j] * share + 8 * c, nadd(v, 1 + rnd64() % (P - 1)));
            }
        CHECK(secagg_rs_decode(xs, n, t, sub, n * share, len, back, len, wrong, n) == SECAGG_OK);
        CHECK(memcmp(back, secret, len) == 0);
        size_t flagged = 0;
        for (size_t j = 0; j < n; j++) flagged += wrong[j];
        CHECK(flagged == bound);
        for (size_t j = 0; j < bound; j++) CHECK(wrong[perm[j]] == 1);
    }
}

/* Garbage in never crashes, hangs or overruns: decoding fails cleanly or
 * returns some codeword within the bound. */
static void test_rs_garbage(void) {
    enum { H = 30 };
    uint8_t shares[H * 40], out[32], wrong[H];
    uint64_t xs[H];
    for (size_t j = 0; j < H; j++) xs[j] = 1 + j * 7919;
    for (int trial = 0; trial < 200; trial++) {
        size_t t = 1 + rnd64() % H;
        for (size_t j = 0; j < H * 5; j++) store64(shares + 8 * j, rnd64() % P);
        if (trial % 4 == 0)
            for (size_t j = 0; j < H * 5; j++) store64(shares + 8 * j, rnd64() % 3);
        int rc = secagg_rs_decode(xs, H, t, shares, sizeof shares, 32, out, 32, wrong, H);
        CHECK(rc == SECAGG_OK || rc == SECAGG_ERR_DECODE || rc == SECAGG_ERR_CHUNK);
        if (rc == SECAGG_OK) {
            size_t flagged = 0;
            for (size_t j = 0; j < H; j++) flagged += wrong[j];
            CHECK(flagged <= (H - t) / 2);
        }
    }
}

static void test_errors(void) {
    const size_t len = 32, zero_len = 0;
    uint8_t secret[32] = {0}, rand[80] = {0}, out[120], back[32], wrong[3];
    const uint64_t xs[3] = {1, 2, 3}, dup[3] = {3, 2, 3}, zx[3] = {1, 0, 3}, big[3] = {1, P, 3};
    memset(out, 0xAA, sizeof out);
    CHECK(secagg_shamir_split(secret, &len, 1, 4, xs, 3, rand, 120, out, 120) ==
          SECAGG_ERR_THRESHOLD);
    for (size_t i = 0; i < sizeof out; i++) CHECK(out[i] == 0);
    CHECK(secagg_shamir_split(secret, &len, 1, 0, xs, 3, rand, 0, out, 120) ==
          SECAGG_ERR_THRESHOLD);
    CHECK(secagg_shamir_split(secret, &len, 1, 2, dup, 3, rand, 40, out, 120) ==
          SECAGG_ERR_DUPLICATE_X);
    CHECK(secagg_shamir_split(secret, &len, 1, 2, zx, 3, rand, 40, out, 120) == SECAGG_ERR_ZERO_X);
    CHECK(secagg_shamir_split(secret, &len, 1, 2, big, 3, rand, 40, out, 120) == SECAGG_ERR_ZERO_X);
    CHECK(secagg_shamir_split(secret, &len, 1, 2, xs, 3, rand, 39, out, 120) == SECAGG_ERR_LENGTH);
    CHECK(secagg_shamir_split(secret, &zero_len, 1, 2, xs, 3, rand, 0, out, 0) ==
          SECAGG_ERR_LENGTH);
    CHECK(secagg_shamir_split(NULL, &len, 1, 2, xs, 3, rand, 40, out, 120) == SECAGG_ERR_NULL);
    CHECK(secagg_shamir_split(secret, &len, 1, 2, xs, 3, NULL, 40, out, 120) == SECAGG_ERR_NULL);
    CHECK(secagg_shamir_split(secret, &len, 1, 2, xs, 3, rand, 40, out, 120) == SECAGG_OK);
    CHECK(secagg_shamir_reconstruct(xs, 2, 3, out, 80, 1, 32, back, 32) == SECAGG_ERR_TOO_FEW);
    CHECK(secagg_shamir_reconstruct(xs, 3, 0, out, 120, 1, 32, back, 32) == SECAGG_ERR_THRESHOLD);
    CHECK(secagg_shamir_reconstruct(dup, 3, 3, out, 120, 1, 32, back, 32) ==
          SECAGG_ERR_DUPLICATE_X);
    CHECK(secagg_shamir_reconstruct(xs, 3, 2, out, 119, 1, 32, back, 32) == SECAGG_ERR_LENGTH);
    store64(out + 40, P);
    CHECK(secagg_shamir_reconstruct(xs, 3, 2, out, 120, 1, 32, back, 32) == SECAGG_ERR_RANGE);
    CHECK(secagg_rs_decode(xs, 3, 2, out, 120, 32, back, 32, wrong, 3) == SECAGG_ERR_RANGE);
    CHECK(secagg_rs_decode(xs, 3, 4, out, 120, 32, back, 32, wrong, 3) == SECAGG_ERR_TOO_FEW);
    CHECK(secagg_rs_decode(dup, 3, 2, out, 120, 32, back, 32, wrong, 3) == SECAGG_ERR_DUPLICATE_X);
    CHECK(secagg_rs_decode(xs, 3, 2, out, 120, 32, back, 32, wrong, 2) == SECAGG_ERR_LENGTH);
    /* a share value that puts the last (4-byte) chunk out of range at t = 1 */
    uint8_t one[40] = {0};
    store64(one + 32, (uint64_t)1 << 32);
    CHECK(secagg_shamir_reconstruct(xs, 1, 1, one, 40, 1, 32, back, 32) == SECAGG_ERR_CHUNK);
    for (size_t i = 0; i < 32; i++) CHECK(back[i] == 0);
    uint64_t lam[3];
    CHECK(secagg_shamir_lagrange_at_zero(xs, 0, lam) == SECAGG_ERR_LENGTH);
    CHECK(secagg_shamir_lagrange_at_zero(zx, 3, lam) == SECAGG_ERR_ZERO_X);
    CHECK(secagg_shamir_lagrange_at_zero(xs, 3, lam) == SECAGG_OK);
    CHECK(lam[0] == 3 && lam[1] == P - 3 && lam[2] == 1);
    CHECK(secagg_shamir_share_size(32) == 40 && secagg_shamir_rand_size(32, 3) == 80);
    CHECK(secagg_shamir_rand_size(32, 0) == 0);
    CHECK(secagg_shamir_rand_size(SIZE_MAX, 3) == 0); /* overflow reported as 0 */
    /* Size computations that would overflow are refused before any access. */
    const size_t huge = SIZE_MAX;
    CHECK(secagg_shamir_split(secret, &huge, 1, 2, xs, 3, rand, 40, out, 120) ==
          SECAGG_ERR_OVERFLOW);
    CHECK(secagg_shamir_reconstruct(xs, 3, 2, out, 120, SIZE_MAX / 8, 32, back, 32) ==
          SECAGG_ERR_OVERFLOW);
    CHECK(secagg_rs_decode(xs, SIZE_MAX / 2, 2, out, 120, 32, back, 32, wrong, 3) ==
          SECAGG_ERR_OVERFLOW);
}

int main(void) {
    test_field();
    test_vector();
    test_round_trips();
    test_rs_garbage();
    test_errors();
    if (failures) {
        fprintf(stderr, "test_shamir: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_shamir: all checks passed\n");
    return 0;
}

/* Fused masking and modular vector arithmetic. */
#include <stdlib.h>
#include <string.h>

#include "aes_impl.h"
#include "mask.h"
#include "secagg_common.h"

/* Slice of the vector processed for all keys before moving on: small enough
 * to stay in L1 while every key's keystream is added into it. */
#define SLICE_BYTES ((size_t)16384)

static int check32(const uint32_t *v, size_t m, int bits) {
    if (bits >= 32) return SECAGG_OK;
    const uint32_t lim = (uint32_t)1 << bits;
    uint32_t bad = 0; /* OR of (v >= lim): branch-free so the loop vectorises */
    for (size_t i = 0; i < m; i++) bad |= (uint32_t)(v[i] >= lim);
    return bad ? SECAGG_ERR_RANGE : SECAGG_OK;
}

static int check64(const uint64_t *v, size_t m, int bits) {
    if (bits >= 64) return SECAGG_OK;
    const uint64_t lim = (uint64_t)1 << bits;
    uint64_t bad = 0;
    for (size_t i = 0; i < m; i++) bad |= (uint64_t)(v[i] >= lim);
    return bad ? SECAGG_ERR_RANGE : SECAGG_OK;
}

static int check_any(const void *vec, size_t m, int bits) {
    return bits <= 32 ? check32((const uint32_t *)vec, m, bits)
                      : check64((const uint64_t *)vec, m, bits);
}

int secagg_vec_check(const void *vec, size_t m, int bits) {
    if (bits < 1 || bits > 64) return SECAGG_ERR_BITS;
    if (!vec && m) return SECAGG_ERR_NULL;
    return check_any(vec, m, bits);
}

static int vec_addsub(void *acc, const void *x, size_t m, int bits, int sub) {
    if (bits < 1 || bits > 64) return SECAGG_ERR_BITS;
    if ((!acc || !x) && m) return SECAGG_ERR_NULL;
    int rc = check_any(acc, m, bits);
    if (rc == SECAGG_OK) rc = check_any(x, m, bits);
    if (rc != SECAGG_OK) return rc;
    if (bits <= 32) {
        uint32_t *a = (uint32_t *)acc;
        const uint32_t *b = (const uint32_t *)x;
        const uint32_t mask = bits == 32 ? UINT32_MAX : (((uint32_t)1 << bits) - 1);
        if (sub)
            for (size_t i = 0; i < m; i++) a[i] = (a[i] - b[i]) & mask;
        else
            for (size_t i = 0; i < m; i++) a[i] = (a[i] + b[i]) & mask;
    } else {
        uint64_t *a = (uint64_t *)acc;
        const uint64_t *b = (const uint64_t *)x;
        const uint64_t mask = bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
        if (sub)
            for (size_t i = 0; i < m; i++) a[i] = (a[i] - b[i]) & mask;
        else
            for (size_t i = 0; i < m; i++) a[i] = (a[i] + b[i]) & mask;
    }
    return SECAGG_OK;
}

int secagg_vec_add(void *acc, const void *x, size_t m, int bits) {
    return vec_addsub(acc, x, m, bits, 0);
}

int secagg_vec_sub(void *acc, const void *x, size_t m, int bits) {
    return vec_addsub(acc, x, m, bits, 1);
}

/* Reduces words [0, n) of a slice mod 2^bits (sums were taken mod 2^w, and
 * 2^bits divides 2^w, so reducing once at the end gives the same result). */
static void reduce(uint8_t *p, size_t n, int bits) {
    if (bits == 32 || bits == 64) return;
    if (bits < 32) {
        uint32_t *v = (uint32_t *)p;
        const uint32_t mask = ((uint32_t)1 << bits) - 1;
        for (size_t i = 0; i < n; i++) v[i] &= mask;
    } else {
        uint64_t *v = (uint64_t *)p;
        const uint64_t mask = ((uint64_t)1 << bits) - 1;
        for (size_t i = 0; i < n; i++) v[i] &= mask;
    }
}

int secagg_mask_apply(int impl, void *vec, size_t m, int bits, const uint8_t *keys, size_t nkeys,
                      const int8_t *signs) {
    return secagg_mask_apply_at(impl, vec, m, bits, keys, nkeys, signs, 0);
}

int secagg_mask_apply_at(int impl, void *vec, size_t m, int bits, const uint8_t *keys,
                         size_t nkeys, const int8_t *signs, uint64_t first_block) {
    if (bits < 1 || bits > 64) return SECAGG_ERR_BITS;
    if ((!vec && m) || ((!keys || !signs) && nkeys)) return SECAGG_ERR_NULL;
    secagg_ctr_fn ctr = secagg_aes_kernel(impl);
    if (!ctr) return SECAGG_ERR_IMPL;
    const size_t w = bits <= 32 ? 4 : 8;
    if (m > SIZE_MAX / w) return SECAGG_ERR_OVERFLOW;
    /* The counter's high word stays 0: every block index must fit in 60 bits. */
    const uint64_t limit = (uint64_t)1 << 60, blocks = (uint64_t)(m * w / 16) + 1;
    if (blocks > limit || first_block > limit - blocks) return SECAGG_ERR_ARG;
    for (size_t j = 0; j < nkeys; j++)
        if (signs[j] != 1 && signs[j] != -1) return SECAGG_ERR_ARG;
    int rc = check_any(vec, m, bits);
    if (rc != SECAGG_OK || nkeys == 0 || m == 0) return rc;
    if (nkeys > SIZE_MAX / sizeof(secagg_aes_key)) return SECAGG_ERR_OVERFLOW;

    secagg_aes_key *ks = (secagg_aes_key *)malloc(nkeys * sizeof(secagg_aes_key));
    if (!ks) return SECAGG_ERR_NOMEM;
    secagg_key_fn setup = secagg_aes_key_setup(impl);
    for (size_t j = 0; j < nkeys; j++) setup(keys + 16 * j, &ks[j]);

    const int add = w == 4 ? SECAGG_OP_ADD32 : SECAGG_OP_ADD64;
    const int sub = w == 4 ? SECAGG_OP_SUB32 : SECAGG_OP_SUB64;
    uint8_t *base = (uint8_t *)vec;
    const size_t total = m * w;
    for (size_t off = 0; off < total; off += SLICE_BYTES) {
        const size_t len = total - off < SLICE_BYTES ? total - off : SLICE_BYTES;
        const size_t full = len / 16, rest = len % 16; /* rest only in the last slice */
        const uint64_t block = first_block + (uint64_t)(off / 16); /* < 2^60: no carry into hi */
        for (size_t j = 0; j < nkeys; j++) {
            const int op = signs[j] > 0 ? add : sub;
            if (full) ctr(&ks[j], 0, block, base + off, full, op);
            if (rest) {
                uint8_t last[16];
                ctr(&ks[j], 0, block + full, last, 1, SECAGG_OP_STORE);
                secagg_apply_op(base + off + 16 * full, last, rest, op);
                secagg_wipe(last, sizeof last);
            }
        }
        reduce(base + off, len / w, bits);
    }
    secagg_wipe(ks, nkeys * sizeof(secagg_aes_key)); /* best-effort erasure */
    free(ks);
    return SECAGG_OK;
}

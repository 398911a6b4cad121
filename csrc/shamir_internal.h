/* Helpers shared by shamir.c and rs.c (internal, no exported symbols). */
#ifndef SECAGG_SHAMIR_INTERNAL_H
#define SECAGG_SHAMIR_INTERNAL_H

#include <stdlib.h>
#include <string.h>

#include "gf61.h"
#include "secagg_common.h"

/* Number of 7-byte chunks of an L-byte secret. */
static inline size_t shamir_chunks(size_t secret_len) {
    return secret_len / 7 + (secret_len % 7 != 0);
}

/* Byte length of chunk c of an L-byte secret (7, or the shorter last one). */
static inline size_t shamir_chunk_len(size_t secret_len, size_t c) {
    size_t rest = secret_len - 7 * c;
    return rest < 7 ? rest : 7;
}

/* Little-endian load of len <= 8 bytes (len is public). */
static inline uint64_t shamir_load_le(const uint8_t *p, size_t len) {
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Little-endian store of the low len <= 8 bytes of v. */
static inline void shamir_store_le(uint8_t *p, uint64_t v, size_t len) {
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* 1 if v >= p, else 0, without a branch. */
static inline uint64_t shamir_not_canonical(uint64_t v) {
    /* v >= 2^61 sets a bit of v >> 61; v == p makes (v ^ p) - 1 wrap. */
    uint64_t big = (v >> 61) != 0;
    uint64_t eq = ((v ^ SECAGG_GF61_P) - 1) >> 63;
    return big | eq;
}

/* Zeroes a buffer in a way the compiler may not drop (it holds secrets). */
static inline void shamir_wipe(void *buf, size_t len) {
    volatile uint8_t *p = (volatile uint8_t *)buf;
    for (size_t i = 0; i < len; i++) p[i] = 0;
}

static inline int shamir_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Checks public evaluation points: each 1 <= x < p (ZERO_X), all distinct
 * (DUPLICATE_X). Returns SECAGG_OK or the error; NOMEM if the sort copy
 * cannot be allocated. */
static inline int shamir_check_xs(const uint64_t *xs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (xs[i] == 0 || xs[i] >= SECAGG_GF61_P) return SECAGG_ERR_ZERO_X;
    if (n < 2) return SECAGG_OK;
    if (n <= 16) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (xs[i] == xs[j]) return SECAGG_ERR_DUPLICATE_X;
        return SECAGG_OK;
    }
    uint64_t *copy = malloc(n * sizeof *copy);
    if (copy == NULL) return SECAGG_ERR_NOMEM;
    memcpy(copy, xs, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, shamir_cmp_u64);
    int rc = SECAGG_OK;
    for (size_t i = 1; i < n; i++)
        if (copy[i] == copy[i - 1]) { rc = SECAGG_ERR_DUPLICATE_X; break; }
    free(copy);
    return rc;
}

/* Overflow-checked a * b into *out; returns 0 on overflow. */
static inline int shamir_mul_ok(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

/* Batch inversion (Montgomery's trick): out[i] = 1 / in[i] for n nonzero
 * canonical values; in and out must not alias. One field inversion. */
static inline void shamir_batch_inv(const uint64_t *in, uint64_t *out, size_t n) {
    if (n == 0) return;
    uint64_t acc = 1;
    for (size_t i = 0; i < n; i++) {
        out[i] = acc;              /* product of in[0..i-1] */
        acc = gf61_mul(acc, in[i]);
    }
    uint64_t inv = gf61_inv(acc);  /* 1 / product of all */
    for (size_t i = n; i-- > 0;) {
        uint64_t prefix = out[i];
        out[i] = gf61_mul(inv, prefix);
        inv = gf61_mul(inv, in[i]);
    }
}

#endif

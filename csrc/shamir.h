/* Shamir secret sharing over GF(p), p = 2^61 - 1 (PROTOCOL.md section 3).
 *
 * Secrets are cut into little-endian 7-byte chunks (the last one shorter),
 * each chunk is the constant term of its own polynomial of degree t - 1, and
 * a share is one 8-byte little-endian value per chunk. Split and
 * reconstruction never branch on, or index memory by, secret values. */
#ifndef SECAGG_SHAMIR_H
#define SECAGG_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "secagg_common.h"

/* Operation codes for secagg_gf61_vec. */
#define SECAGG_GF61_ADD    0  /* a + b, both < p */
#define SECAGG_GF61_SUB    1  /* a - b, both < p */
#define SECAGG_GF61_MUL    2  /* a * b, both < p */
#define SECAGG_GF61_INV    3  /* 1 / a, 0 < a < p; b unused (may be NULL) */
#define SECAGG_GF61_REDUCE 4  /* a mod p for any 64-bit a; b unused (may be NULL) */
#define SECAGG_GF61_POW    5  /* a ^ b, a < p, b any 64-bit exponent */

/* Element-wise field operation over n elements: out[i] = op(a[i], b[i]).
 * Returns SECAGG_OK, or SECAGG_ERR_RANGE (an operand not below p, or 0 for
 * INV) / SECAGG_ERR_ARG / SECAGG_ERR_NULL before writing anything. The caller
 * owns all buffers; out may alias a or b. */
int secagg_gf61_vec(int op, const uint64_t *a, const uint64_t *b, uint64_t *out, size_t n);

/* Returns the byte length of one share of a secret_len-byte secret:
 * 8 * ceil(secret_len / 7). */
size_t secagg_shamir_share_size(size_t secret_len);

/* Returns the number of random bytes one split of a secret_len-byte secret
 * at threshold t consumes, 8 * (t - 1) * ceil(secret_len / 7), or 0 when t is
 * 0 or the size would overflow size_t. */
size_t secagg_shamir_rand_size(size_t secret_len, size_t t);

/* Splits n_secrets secrets at threshold t for the n_xs holders xs.
 * secrets: the secrets concatenated, secret_lens[i] bytes each (each >= 1).
 * rand: one buffer of secagg_shamir_rand_size(secret_lens[i], t) bytes per
 * secret, concatenated in argument order; rand_len must equal the total.
 * out: for each secret in order, for each holder in order, its share
 * (secagg_shamir_share_size(secret_lens[i]) bytes); out_len must equal the
 * total. Returns SECAGG_OK or an error code (THRESHOLD if t < 1 or t > n_xs,
 * ZERO_X, DUPLICATE_X, LENGTH, OVERFLOW, NOMEM, NULL); on error out is left
 * zeroed. The caller owns every buffer. */
int secagg_shamir_split(const uint8_t *secrets, const size_t *secret_lens, size_t n_secrets,
                        size_t t, const uint64_t *xs, size_t n_xs,
                        const uint8_t *rand, size_t rand_len,
                        uint8_t *out, size_t out_len);

/* Writes the n Lagrange coefficients at 0 for the distinct evaluation points
 * xs (each 1 <= x < p) into out (n values < p, caller-owned). Returns
 * SECAGG_OK, or ZERO_X / DUPLICATE_X / NOMEM / NULL / LENGTH (n == 0) with out
 * untouched. */
int secagg_shamir_lagrange_at_zero(const uint64_t *xs, size_t n, uint64_t *out);

/* Reconstructs n_secrets secrets of secret_len bytes each from one holder set.
 * xs: n_shares evaluation points; only the first t are used.
 * shares: for each secret, for each of the n_shares holders, its share
 * (secagg_shamir_share_size(secret_len) bytes); shares_len must equal the
 * total. out: n_secrets * secret_len bytes, caller-owned.
 * Returns SECAGG_OK; THRESHOLD (t < 1), TOO_FEW (n_shares < t), ZERO_X,
 * DUPLICATE_X, LENGTH, RANGE (a share value >= p), OVERFLOW, NOMEM, NULL
 * before computing anything; CHUNK if a reconstructed chunk does not fit its
 * byte length (wrong or inconsistent shares). On any error out is zeroed. */
int secagg_shamir_reconstruct(const uint64_t *xs, size_t n_shares, size_t t,
                              const uint8_t *shares, size_t shares_len,
                              size_t n_secrets, size_t secret_len,
                              uint8_t *out, size_t out_len);

#endif

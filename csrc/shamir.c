/* Shamir sharing and Lagrange reconstruction over GF(2^61 - 1).
 * See shamir.h for the contracts and PROTOCOL.md section 3 for the format. */
#include "shamir.h"

#include "shamir_internal.h"

size_t secagg_shamir_share_size(size_t secret_len) {
    return 8 * shamir_chunks(secret_len);
}

size_t secagg_shamir_rand_size(size_t secret_len, size_t t) {
    size_t words, bytes;
    if (t == 0) return 0;
    if (!shamir_mul_ok(t - 1, shamir_chunks(secret_len), &words)) return 0;
    if (!shamir_mul_ok(words, 8, &bytes)) return 0;
    return bytes;
}

/* Evaluates the polynomial coef[0] + coef[1] x + ... + coef[t-1] x^(t-1)
 * (canonical coefficients) at every xs[j] and stores the canonical value,
 * 8 bytes little-endian, at out + j * stride. Horner's rule on four points
 * at once keeps four independent multiply chains in flight; intermediate
 * values stay lazy (< 2^62 + 8) and are reduced once at the end. */
static void eval_points(const uint64_t *coef, size_t t, const uint64_t *xs, size_t n,
                        uint8_t *out, size_t stride) {
    const uint64_t top = coef[t - 1];
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint64_t x0 = xs[j], x1 = xs[j + 1], x2 = xs[j + 2], x3 = xs[j + 3];
        uint64_t a0 = top, a1 = top, a2 = top, a3 = top;
        for (size_t k = t - 1; k-- > 0;) {
            const uint64_t c = coef[k];
            a0 = gf61_mul_lazy(a0, x0) + c;
            a1 = gf61_mul_lazy(a1, x1) + c;
            a2 = gf61_mul_lazy(a2, x2) + c;
            a3 = gf61_mul_lazy(a3, x3) + c;
        }
        shamir_store_le(out + (j + 0) * stride, gf61_canon(a0), 8);
        shamir_store_le(out + (j + 1) * stride, gf61_canon(a1), 8);
        shamir_store_le(out + (j + 2) * stride, gf61_canon(a2), 8);
        shamir_store_le(out + (j + 3) * stride, gf61_canon(a3), 8);
    }
    for (; j < n; j++) {
        const uint64_t x = xs[j];
        uint64_t a = top;
        for (size_t k = t - 1; k-- > 0;) a = gf61_mul_lazy(a, x) + coef[k];
        shamir_store_le(out + j * stride, gf61_canon(a), 8);
    }
}

int secagg_shamir_split(const uint8_t *secrets, const size_t *secret_lens, size_t n_secrets,
                        size_t t, const uint64_t *xs, size_t n_xs,
                        const uint8_t *rand, size_t rand_len,
                        uint8_t *out, size_t out_len) {
    if (out == NULL && out_len != 0) return SECAGG_ERR_NULL;
    if (out != NULL) memset(out, 0, out_len);
    if (n_secrets == 0) return out_len == 0 && rand_len == 0 ? SECAGG_OK : SECAGG_ERR_LENGTH;
    if (secrets == NULL || secret_lens == NULL || xs == NULL || out == NULL)
        return SECAGG_ERR_NULL;
    if (t < 1 || t > n_xs) return SECAGG_ERR_THRESHOLD;
    if (t > 1 && rand == NULL) return SECAGG_ERR_NULL;

    /* Sizes first: every length must match before anything is computed. */
    size_t want_rand = 0, want_out = 0;
    for (size_t i = 0; i < n_secrets; i++) {
        size_t L = secret_lens[i], r, o;
        if (L == 0) return SECAGG_ERR_LENGTH;
        r = secagg_shamir_rand_size(L, t);
        if (r == 0 && t > 1) return SECAGG_ERR_OVERFLOW;
        if (!shamir_mul_ok(secagg_shamir_share_size(L), n_xs, &o)) return SECAGG_ERR_OVERFLOW;
        if (want_rand > SIZE_MAX - r || want_out > SIZE_MAX - o) return SECAGG_ERR_OVERFLOW;
        want_rand += r;
        want_out += o;
    }
    if (rand_len != want_rand || out_len != want_out) return SECAGG_ERR_LENGTH;
    int rc = shamir_check_xs(xs, n_xs);
    if (rc != SECAGG_OK) return rc;

    uint64_t *coef = malloc(t * sizeof *coef);
    if (coef == NULL) return SECAGG_ERR_NOMEM;

    const uint8_t *sec = secrets;
    const uint8_t *rnd = rand;
    uint8_t *dst = out;
    for (size_t i = 0; i < n_secrets; i++) {
        const size_t L = secret_lens[i];
        const size_t chunks = shamir_chunks(L);
        const size_t share = 8 * chunks;
        for (size_t c = 0; c < chunks; c++) {
            coef[0] = shamir_load_le(sec + 7 * c, shamir_chunk_len(L, c)); /* < 2^56 */
            for (size_t k = 1; k < t; k++)
                coef[k] = gf61_reduce64(shamir_load_le(rnd + 8 * (c * (t - 1) + k - 1), 8));
            eval_points(coef, t, xs, n_xs, dst + 8 * c, share);
        }
        sec += L;
        rnd += 8 * (t - 1) * chunks;
        dst += share * n_xs;
    }
    shamir_wipe(coef, t * sizeof *coef);
    free(coef);
    return SECAGG_OK;
}

/* Lagrange coefficients at 0 for validated, distinct, nonzero xs:
 * lambda_j = prod_{m != j} x_m / (x_m - x_j)
 *          = (prod_m x_m) / (x_j * prod_{m != j} (x_m - x_j)).
 * The O(n^2) denominators run four chains at once; one batch inversion. */
static int lagrange_raw(const uint64_t *xs, size_t n, uint64_t *out) {
    uint64_t *den = malloc(n * sizeof *den);
    if (den == NULL) return SECAGG_ERR_NOMEM;
    uint64_t num = 1;
    for (size_t m = 0; m < n; m++) num = gf61_mul_lazy(num, xs[m]);
    num = gf61_canon(num);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint64_t x0 = xs[j], x1 = xs[j + 1], x2 = xs[j + 2], x3 = xs[j + 3];
        uint64_t d0 = x0, d1 = x1, d2 = x2, d3 = x3;
        for (size_t m = 0; m < n; m++) {
            /* x_m + p - x_j is in [1, 2p) for m != j: a valid lazy operand.
             * For m == j it would be p (= 0): use 1 instead. */
            const uint64_t xm = xs[m] + SECAGG_GF61_P;
            d0 = gf61_mul_lazy(d0, m == j + 0 ? 1 : xm - x0);
            d1 = gf61_mul_lazy(d1, m == j + 1 ? 1 : xm - x1);
            d2 = gf61_mul_lazy(d2, m == j + 2 ? 1 : xm - x2);
            d3 = gf61_mul_lazy(d3, m == j + 3 ? 1 : xm - x3);
        }
        den[j] = gf61_canon(d0);
        den[j + 1] = gf61_canon(d1);
        den[j + 2] = gf61_canon(d2);
        den[j + 3] = gf61_canon(d3);
    }
    for (; j < n; j++) {
        uint64_t d = xs[j];
        for (size_t m = 0; m < n; m++)
            if (m != j) d = gf61_mul_lazy(d, xs[m] + SECAGG_GF61_P - xs[j]);
        den[j] = gf61_canon(d);
    }
    shamir_batch_inv(den, out, n);
    for (j = 0; j < n; j++) out[j] = gf61_mul(num, out[j]);
    free(den);
    return SECAGG_OK;
}

int secagg_shamir_lagrange_at_zero(const uint64_t *xs, size_t n, uint64_t *out) {
    if (n == 0) return SECAGG_ERR_LENGTH;
    if (xs == NULL || out == NULL) return SECAGG_ERR_NULL;
    if (n > SIZE_MAX / sizeof(uint64_t)) return SECAGG_ERR_OVERFLOW;
    int rc = shamir_check_xs(xs, n);
    if (rc != SECAGG_OK) return rc;
    return lagrange_raw(xs, n, out);
}

int secagg_shamir_reconstruct(const uint64_t *xs, size_t n_shares, size_t t,
                              const uint8_t *shares, size_t shares_len,
                              size_t n_secrets, size_t secret_len,
                              uint8_t *out, size_t out_len) {
    if (out == NULL && out_len != 0) return SECAGG_ERR_NULL;
    if (out != NULL) memset(out, 0, out_len);
    if (t < 1) return SECAGG_ERR_THRESHOLD;
    if (n_shares < t) return SECAGG_ERR_TOO_FEW;
    if (secret_len == 0) return SECAGG_ERR_LENGTH;
    const size_t chunks = shamir_chunks(secret_len);
    const size_t share = 8 * chunks;
    size_t per_secret, want_shares, want_out;
    if (!shamir_mul_ok(share, n_shares, &per_secret) ||
        !shamir_mul_ok(per_secret, n_secrets, &want_shares) ||
        !shamir_mul_ok(secret_len, n_secrets, &want_out) ||
        t > SIZE_MAX / sizeof(uint64_t))
        return SECAGG_ERR_OVERFLOW;
    if (shares_len != want_shares || out_len != want_out) return SECAGG_ERR_LENGTH;
    if (n_secrets == 0) return SECAGG_OK;
    if (xs == NULL || shares == NULL || out == NULL) return SECAGG_ERR_NULL;
    int rc = shamir_check_xs(xs, t);
    if (rc != SECAGG_OK) return rc;

    /* Every share value of the holders used must be < p. Accumulate the
     * verdict over all of them (no early exit on share contents). */
    uint64_t bad = 0;
    for (size_t i = 0; i < n_secrets; i++)
        for (size_t j = 0; j < t; j++)
            for (size_t c = 0; c < chunks; c++)
                bad |= shamir_not_canonical(
                    shamir_load_le(shares + i * per_secret + j * share + 8 * c, 8));
    if (bad) return SECAGG_ERR_RANGE;

    uint64_t *lambda = malloc(t * sizeof *lambda);
    if (lambda == NULL) return SECAGG_ERR_NOMEM;
    rc = lagrange_raw(xs, t, lambda);
    if (rc != SECAGG_OK) { free(lambda); return rc; }

    uint64_t out_of_range = 0;
    for (size_t i = 0; i < n_secrets; i++) {
        const uint8_t *base = shares + i * per_secret;
        for (size_t c = 0; c < chunks; c++) {
            uint64_t acc = 0; /* stays < 2^61 + 8 */
            for (size_t j = 0; j < t; j++) {
                uint64_t y = shamir_load_le(base + j * share + 8 * c, 8);
                acc = gf61_fold64(acc + gf61_mul_lazy(lambda[j], y));
            }
            acc = gf61_canon(acc);
            const size_t len = shamir_chunk_len(secret_len, c);
            out_of_range |= acc >> (8 * len); /* len <= 7: shift <= 56 */
            shamir_store_le(out + i * secret_len + 7 * c, acc, len);
        }
    }
    free(lambda);
    if (out_of_range) {
        shamir_wipe(out, out_len);
        return SECAGG_ERR_CHUNK;
    }
    return SECAGG_OK;
}

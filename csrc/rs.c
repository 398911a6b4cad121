/* Gao's Reed-Solomon decoder over GF(2^61 - 1), used for robust Shamir
 * reconstruction (see rs.h). It runs where the secret is being recovered
 * anyway (the server, after interpolation failed its check), so unlike
 * split/reconstruct it may branch on values.
 *
 * For points x_1..x_h, received values y_1..y_h and dimension t:
 *   g0 = prod (X - x_i);  g1 = the interpolating polynomial of (x_i, y_i);
 *   run the extended Euclidean algorithm on (g0, g1) until the remainder g
 *   has degree < (h + t) / 2, with g = u g0 + v g1;
 *   f = g / v must divide exactly and have degree < t; otherwise decoding
 *   fails. Every step is O(h^2) field operations. */
#include "rs.h"

#include "shamir.h"
#include "shamir_internal.h"

#include <limits.h>

/* Degree of poly a with coefficients a[0..cap], or -1 for the zero poly. */
static long poly_deg(const uint64_t *a, long cap) {
    while (cap >= 0 && a[cap] == 0) cap--;
    return cap;
}

/* Horner evaluation of a (degree deg) at x. */
static uint64_t poly_eval(const uint64_t *a, long deg, uint64_t x) {
    uint64_t acc = 0; /* lazy, < 2^62 + 8 */
    for (long k = deg; k >= 0; k--) acc = gf61_mul_lazy(acc, x) + a[k];
    return gf61_canon(acc);
}

typedef struct {
    size_t h;
    uint64_t *g0;  /* h + 1 coefficients */
    uint64_t *w;   /* h barycentric weights 1 / prod_{j != i} (x_i - x_j) */
    uint64_t *q;   /* h scratch */
    uint64_t *r0, *r1, *v0, *v1; /* h + 1 each */
    uint64_t *y;   /* h received values */
    uint64_t *mem;
} rs_work;

static int rs_alloc(rs_work *ws, size_t h) {
    size_t words;
    /* g0, r0, r1, v0, v1: h + 1 each; w, q, y: h each; plus slack. */
    if (h > SIZE_MAX / 16 || !shamir_mul_ok(8 * h + 8, sizeof(uint64_t), &words))
        return SECAGG_ERR_OVERFLOW;
    ws->mem = calloc(8 * h + 8, sizeof(uint64_t));
    if (ws->mem == NULL) return SECAGG_ERR_NOMEM;
    uint64_t *p = ws->mem;
    ws->h = h;
    ws->g0 = p; p += h + 1;
    ws->r0 = p; p += h + 1;
    ws->r1 = p; p += h + 1;
    ws->v0 = p; p += h + 1;
    ws->v1 = p; p += h + 1;
    ws->w = p; p += h;
    ws->q = p; p += h;
    ws->y = p;
    return SECAGG_OK;
}

/* g0 = prod (X - x_i) and the barycentric weights; xs validated. */
static void rs_setup(rs_work *ws, const uint64_t *xs) {
    const size_t h = ws->h;
    uint64_t *g0 = ws->g0;
    memset(g0, 0, (h + 1) * sizeof *g0);
    g0[0] = 1;
    for (size_t i = 0; i < h; i++) {
        /* multiply by (X - x_i): new[k] = old[k-1] - x_i old[k] */
        const uint64_t nx = gf61_neg(xs[i]);
        for (size_t k = i + 1; k > 0; k--) g0[k] = gf61_add(g0[k - 1], gf61_mul(nx, g0[k]));
        g0[0] = gf61_mul(nx, g0[0]);
    }
    uint64_t *den = ws->q; /* scratch */
    for (size_t i = 0; i < h; i++) {
        uint64_t d = 1;
        for (size_t j = 0; j < h; j++)
            if (j != i) d = gf61_mul_lazy(d, xs[i] + SECAGG_GF61_P - xs[j]);
        den[i] = gf61_canon(d);
    }
    shamir_batch_inv(den, ws->w, h);
}

/* The interpolating polynomials of all chunks at once: for chunk c,
 * g1_c = sum_i y_ci w_i g0 / (X - x_i), stored in g1s[c * (h + 1) ..].
 * The quotients g0 / (X - x_i) depend only on the points, so they are
 * produced once (synthetic division, top down) and added into every chunk's
 * polynomial straight away; four points at once keep four independent
 * multiply chains in flight. Values stay lazy (< 2^61 + 8), with one final
 * reduction per coefficient. */
static void rs_interpolate(const rs_work *ws, const uint64_t *xs, const uint64_t *ys,
                           size_t chunks, uint64_t *g1s, uint64_t *sc) {
    const size_t h = ws->h;
    const uint64_t *g0 = ws->g0, *w = ws->w;
    memset(g1s, 0, chunks * (h + 1) * sizeof *g1s);
    size_t i = 0;
    for (; i + 4 <= h; i += 4) {
        /* sc[4c + j] = y_c,(i+j) * w_(i+j) */
        for (size_t c = 0; c < chunks; c++)
            for (size_t j = 0; j < 4; j++) sc[4 * c + j] = gf61_mul(ys[c * h + i + j], w[i + j]);
        const uint64_t x0 = xs[i], x1 = xs[i + 1], x2 = xs[i + 2], x3 = xs[i + 3];
        uint64_t q0 = g0[h], q1 = g0[h], q2 = g0[h], q3 = g0[h]; /* coefficient k - 1 = h - 1 */
        for (size_t k = h; k > 0; k--) {
            if (k < h) {
                q0 = gf61_fold64(g0[k] + gf61_mul_lazy(x0, q0));
                q1 = gf61_fold64(g0[k] + gf61_mul_lazy(x1, q1));
                q2 = gf61_fold64(g0[k] + gf61_mul_lazy(x2, q2));
                q3 = gf61_fold64(g0[k] + gf61_mul_lazy(x3, q3));
            }
            for (size_t c = 0; c < chunks; c++) {
                const uint64_t *s = sc + 4 * c;
                const uint64_t sum = gf61_fold64(gf61_mul_lazy(s[0], q0) + gf61_mul_lazy(s[1], q1) +
                                                 gf61_mul_lazy(s[2], q2) + gf61_mul_lazy(s[3], q3));
                uint64_t *r = g1s + c * (h + 1);
                r[k - 1] = gf61_fold64(r[k - 1] + sum);
            }
        }
    }
    for (; i < h; i++) {
        for (size_t c = 0; c < chunks; c++) sc[c] = gf61_mul(ys[c * h + i], w[i]);
        const uint64_t x = xs[i];
        uint64_t qk = g0[h];
        for (size_t k = h; k > 0; k--) {
            if (k < h) qk = gf61_fold64(g0[k] + gf61_mul_lazy(x, qk));
            for (size_t c = 0; c < chunks; c++) {
                uint64_t *r = g1s + c * (h + 1);
                r[k - 1] = gf61_fold64(r[k - 1] + gf61_mul_lazy(sc[c], qk));
            }
        }
    }
    for (size_t c = 0; c < chunks; c++)
        for (size_t k = 0; k < h; k++) g1s[c * (h + 1) + k] = gf61_canon(g1s[c * (h + 1) + k]);
}

/* Decodes one chunk whose received values are ws->y and whose interpolating
 * polynomial is g1. On success stores f(0) in *value, flags the disagreeing
 * holders in wrong (OR-ed in) and returns SECAGG_OK; otherwise
 * SECAGG_ERR_DECODE. */
static int rs_decode_chunk(rs_work *ws, const uint64_t *xs, size_t t, const uint64_t *g1,
                           uint64_t *value, uint8_t *wrong) {
    const size_t h = ws->h;
    const long cap = (long)h;
    uint64_t *r0 = ws->r0, *r1 = ws->r1, *v0 = ws->v0, *v1 = ws->v1, *q = ws->q;
    size_t i;
    memcpy(r1, g1, (h + 1) * sizeof *r1);
    memcpy(r0, ws->g0, (h + 1) * sizeof *r0);
    memset(v0, 0, (h + 1) * sizeof *v0);
    memset(v1, 0, (h + 1) * sizeof *v1);
    v1[0] = 1;
    long d0 = (long)h, d1 = poly_deg(r1, cap), e0 = -1, e1 = 0; /* degrees of r0, r1, v0, v1 */
    const long stop = (long)(h + t); /* continue while 2 deg(r1) >= h + t */

    /* Each outer step strictly lowers deg(r1), so at most h + 1 steps. */
    while (d1 >= 0 && 2 * d1 >= stop) {
        const uint64_t inv_lead = gf61_inv(r1[d1]);
        while (d0 >= d1) {
            const long s = d0 - d1;
            const uint64_t c = gf61_mul(r0[d0], inv_lead);
            const uint64_t nc = gf61_neg(c);
            if (e1 + s > cap) return SECAGG_ERR_DECODE; /* cannot happen; never overrun */
            for (long k = 0; k <= d1; k++) r0[k + s] = gf61_add(r0[k + s], gf61_mul(nc, r1[k]));
            r0[d0] = 0;
            for (long k = 0; k <= e1; k++) v0[k + s] = gf61_add(v0[k + s], gf61_mul(nc, v1[k]));
            if (e1 + s > e0) e0 = e1 + s;
            e0 = poly_deg(v0, e0);
            d0 = poly_deg(r0, d0 - 1);
        }
        uint64_t *tp = r0; r0 = r1; r1 = tp;
        tp = v0; v0 = v1; v1 = tp;
        long td = d0; d0 = d1; d1 = td;
        td = e0; e0 = e1; e1 = td;
    }
    /* Keep the (possibly swapped) buffers owned by ws. */
    ws->r0 = r0; ws->r1 = r1; ws->v0 = v0; ws->v1 = v1;

    /* f = r1 / v1, exactly, with deg f < t. The quotient goes to q. */
    if (e1 < 0) return SECAGG_ERR_DECODE;
    long df = d1 - e1;
    if (d1 < 0) df = -1; /* zero remainder: f = 0 */
    if (df >= (long)t) return SECAGG_ERR_DECODE;
    memset(q, 0, h * sizeof *q);
    if (d1 >= 0) {
        if (df < 0) return SECAGG_ERR_DECODE; /* deg r1 < deg v1, r1 != 0: not exact */
        const uint64_t inv_lead = gf61_inv(v1[e1]);
        for (long k = df; k >= 0; k--) {
            const uint64_t c = gf61_mul(r1[k + e1], inv_lead);
            q[k] = c;
            const uint64_t nc = gf61_neg(c);
            for (long m = 0; m <= e1; m++) r1[k + m] = gf61_add(r1[k + m], gf61_mul(nc, v1[m]));
        }
        if (poly_deg(r1, d1) >= 0) return SECAGG_ERR_DECODE;
    }

    /* Count disagreements; more than the bound means failure. */
    uint8_t *mismatch = (uint8_t *)ws->v0; /* free now: h flags fit in h + 1 words */
    size_t errors = 0;
    i = 0;
    for (; df >= 0 && i + 4 <= h; i += 4) {
        /* Horner at four points at once (independent chains), lazily reduced. */
        const uint64_t x0 = xs[i], x1 = xs[i + 1], x2 = xs[i + 2], x3 = xs[i + 3];
        uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (long k = df; k >= 0; k--) {
            a0 = gf61_mul_lazy(a0, x0) + q[k];
            a1 = gf61_mul_lazy(a1, x1) + q[k];
            a2 = gf61_mul_lazy(a2, x2) + q[k];
            a3 = gf61_mul_lazy(a3, x3) + q[k];
        }
        mismatch[i] = gf61_canon(a0) != ws->y[i];
        mismatch[i + 1] = gf61_canon(a1) != ws->y[i + 1];
        mismatch[i + 2] = gf61_canon(a2) != ws->y[i + 2];
        mismatch[i + 3] = gf61_canon(a3) != ws->y[i + 3];
        errors += (size_t)mismatch[i] + mismatch[i + 1] + mismatch[i + 2] + mismatch[i + 3];
    }
    for (; i < h; i++) {
        mismatch[i] = poly_eval(q, df, xs[i]) != ws->y[i];
        errors += mismatch[i];
    }
    if (errors > (h - t) / 2) return SECAGG_ERR_DECODE;
    for (i = 0; i < h; i++) wrong[i] |= mismatch[i];
    *value = df >= 0 ? q[0] : 0;
    return SECAGG_OK;
}

int secagg_rs_decode(const uint64_t *xs, size_t h, size_t t,
                     const uint8_t *shares, size_t shares_len, size_t secret_len,
                     uint8_t *out, size_t out_len, uint8_t *wrong, size_t wrong_len) {
    if ((out == NULL && out_len != 0) || (wrong == NULL && wrong_len != 0))
        return SECAGG_ERR_NULL;
    if (out != NULL) memset(out, 0, out_len);
    if (wrong != NULL) memset(wrong, 0, wrong_len);
    if (t < 1) return SECAGG_ERR_THRESHOLD;
    if (h < t) return SECAGG_ERR_TOO_FEW;
    if (secret_len == 0) return SECAGG_ERR_LENGTH;
    const size_t chunks = shamir_chunks(secret_len);
    const size_t share = 8 * chunks;
    size_t want;
    if (!shamir_mul_ok(share, h, &want) || h > (size_t)(LONG_MAX / 4)) return SECAGG_ERR_OVERFLOW;
    if (shares_len != want || out_len != secret_len || wrong_len != h) return SECAGG_ERR_LENGTH;
    if (xs == NULL || shares == NULL) return SECAGG_ERR_NULL;
    int rc = shamir_check_xs(xs, h);
    if (rc != SECAGG_OK) return rc;
    for (size_t j = 0; j < h; j++)
        for (size_t c = 0; c < chunks; c++)
            if (shamir_load_le(shares + j * share + 8 * c, 8) >= SECAGG_GF61_P)
                return SECAGG_ERR_RANGE;

    rs_work ws;
    rc = rs_alloc(&ws, h);
    if (rc != SECAGG_OK) return rc;
    /* Every chunk's received values and interpolating polynomial, plus the
     * per-point products: chunks * (2h + 1) + 4 * chunks words. */
    size_t extra;
    if (!shamir_mul_ok(chunks, 2 * h + 5, &extra) || !shamir_mul_ok(extra, sizeof(uint64_t), &want)) {
        free(ws.mem);
        return SECAGG_ERR_OVERFLOW;
    }
    uint64_t *ys = calloc(extra, sizeof(uint64_t));
    if (ys == NULL) {
        free(ws.mem);
        return SECAGG_ERR_NOMEM;
    }
    uint64_t *g1s = ys + chunks * h, *sc = g1s + chunks * (h + 1);
    for (size_t c = 0; c < chunks; c++)
        for (size_t j = 0; j < h; j++) ys[c * h + j] = shamir_load_le(shares + j * share + 8 * c, 8);
    rs_setup(&ws, xs);
    rs_interpolate(&ws, xs, ys, chunks, g1s, sc);
    uint64_t out_of_range = 0;
    for (size_t c = 0; c < chunks && rc == SECAGG_OK; c++) {
        memcpy(ws.y, ys + c * h, h * sizeof *ws.y);
        uint64_t value = 0;
        rc = rs_decode_chunk(&ws, xs, t, g1s + c * (h + 1), &value, wrong);
        const size_t len = shamir_chunk_len(secret_len, c);
        out_of_range |= value >> (8 * len);
        shamir_store_le(out + 7 * c, value, len);
    }
    shamir_wipe(ys, extra * sizeof(uint64_t));
    free(ys);
    shamir_wipe(ws.mem, (8 * h + 8) * sizeof(uint64_t));
    free(ws.mem);
    if (rc == SECAGG_OK && out_of_range) rc = SECAGG_ERR_CHUNK;
    if (rc != SECAGG_OK) {
        shamir_wipe(out, out_len);
        memset(wrong, 0, wrong_len);
    }
    return rc;
}

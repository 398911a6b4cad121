/* Exported element-wise GF(2^61 - 1) operations, so the field code can be
 * checked against an independent reference from Python and from C tests. */
#include "gf61.h"
#include "shamir.h"

int secagg_gf61_vec(int op, const uint64_t *a, const uint64_t *b, uint64_t *out, size_t n) {
    if (n == 0) return SECAGG_OK;
    if (a == NULL || out == NULL) return SECAGG_ERR_NULL;
    int needs_b = (op == SECAGG_GF61_ADD || op == SECAGG_GF61_SUB ||
                   op == SECAGG_GF61_MUL || op == SECAGG_GF61_POW);
    if (op < SECAGG_GF61_ADD || op > SECAGG_GF61_POW) return SECAGG_ERR_ARG;
    if (needs_b && b == NULL) return SECAGG_ERR_NULL;
    /* Validate everything before writing anything. */
    for (size_t i = 0; i < n; i++) {
        if (op != SECAGG_GF61_REDUCE && a[i] >= SECAGG_GF61_P) return SECAGG_ERR_RANGE;
        if (op != SECAGG_GF61_POW && needs_b && b[i] >= SECAGG_GF61_P) return SECAGG_ERR_RANGE;
        if (op == SECAGG_GF61_INV && a[i] == 0) return SECAGG_ERR_RANGE;
    }
    for (size_t i = 0; i < n; i++) {
        switch (op) {
        case SECAGG_GF61_ADD: out[i] = gf61_add(a[i], b[i]); break;
        case SECAGG_GF61_SUB: out[i] = gf61_sub(a[i], b[i]); break;
        case SECAGG_GF61_MUL: out[i] = gf61_mul(a[i], b[i]); break;
        case SECAGG_GF61_INV: out[i] = gf61_inv(a[i]); break;
        case SECAGG_GF61_REDUCE: out[i] = gf61_reduce64(a[i]); break;
        default: out[i] = gf61_pow(a[i], b[i]); break; /* SECAGG_GF61_POW */
        }
    }
    return SECAGG_OK;
}

/* Arithmetic in GF(p), p = 2^61 - 1 (a Mersenne prime), for the Shamir and
 * Reed-Solomon code. Internal header: static inline helpers, no exported
 * symbols, no cffi declarations.
 *
 * Representation: a field element is a uint64_t. "Canonical" means < p.
 * "Lazy" means < 2^62 + 8: the hot loops keep values lazy and reduce to the
 * canonical form only at the end. Because 2^61 = 1 (mod p), a 128-bit product
 * folds as (lo 61 bits) + (the rest shifted down by 61). Every helper here is
 * branch-free, so it is safe on secret values. */
#ifndef SECAGG_GF61_H
#define SECAGG_GF61_H

#include <stddef.h>
#include <stdint.h>

#define SECAGG_GF61_P ((uint64_t)0x1FFFFFFFFFFFFFFFull) /* 2^61 - 1 */

__extension__ typedef unsigned __int128 secagg_u128; /* GCC and Clang on 64-bit targets */

/* Folds any 64-bit value to < 2^61 + 8 (congruent mod p). */
static inline uint64_t gf61_fold64(uint64_t v) {
    return (v & SECAGG_GF61_P) + (v >> 61);
}

/* Reduces a value < 2^62 + 8 to canonical form without branching. */
static inline uint64_t gf61_canon(uint64_t v) {
    v = gf61_fold64(v);                 /* < 2^61 + 2: at most one p too big */
    uint64_t over = (v + 1) >> 61;      /* 1 iff v >= p (v + 1 < 2^62) */
    return v - (over * SECAGG_GF61_P);
}

/* Reduces any 64-bit value (e.g. 8 random bytes) to canonical form. */
static inline uint64_t gf61_reduce64(uint64_t v) {
    return gf61_canon(gf61_fold64(v));
}

/* Lazy product: a, b < 2^62 + 8 gives a result < 2^61 + 8, congruent to a*b.
 * (a*b < 2^124 + 2^66: the high part is < 2^63 + small, one fold gives
 * < 2^63 + 2^61 + small, a second fold < 2^61 + 8.) */
static inline uint64_t gf61_mul_lazy(uint64_t a, uint64_t b) {
    secagg_u128 prod = (secagg_u128)a * b;
    uint64_t lo = (uint64_t)prod & SECAGG_GF61_P;
    uint64_t hi = (uint64_t)(prod >> 61);
    return gf61_fold64(lo + hi);
}

/* Canonical product of two canonical (or lazy) values. */
static inline uint64_t gf61_mul(uint64_t a, uint64_t b) {
    return gf61_canon(gf61_mul_lazy(a, b));
}

/* Canonical sum of two canonical values. */
static inline uint64_t gf61_add(uint64_t a, uint64_t b) {
    return gf61_canon(a + b);
}

/* Canonical difference a - b of two canonical values. */
static inline uint64_t gf61_sub(uint64_t a, uint64_t b) {
    return gf61_canon(a + SECAGG_GF61_P - b);
}

/* Canonical negation of a canonical value. */
static inline uint64_t gf61_neg(uint64_t a) {
    return gf61_canon(SECAGG_GF61_P - a);
}

/* a^e by square-and-multiply over all 64 bits of e (fixed sequence of
 * operations: no branch on a or e). */
static inline uint64_t gf61_pow(uint64_t a, uint64_t e) {
    uint64_t result = 1;
    uint64_t base = gf61_canon(a);
    for (int i = 0; i < 64; i++) {
        uint64_t bit = (e >> i) & 1u;
        uint64_t prod = gf61_mul(result, base);
        /* select prod if bit else result, without a branch */
        uint64_t mask = (uint64_t)0 - bit;
        result = (prod & mask) | (result & ~mask);
        base = gf61_mul(base, base);
    }
    return result;
}

/* Multiplicative inverse by Fermat (a^(p-2)); returns 0 for a = 0. */
static inline uint64_t gf61_inv(uint64_t a) {
    return gf61_pow(a, SECAGG_GF61_P - 2);
}

#endif

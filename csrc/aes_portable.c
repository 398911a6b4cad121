/* Portable, constant-time AES-128 (bitsliced, four blocks at a time) and the
 * key expansion shared by every implementation.
 *
 * Layout: a group of four 16-byte blocks (64 bytes) is held in eight 64-bit
 * words q[0..7]; bit n of q[j] is bit j of byte n of the group. Byte n of the
 * group is byte p = n % 16 of block n / 16, and the AES state byte at row r,
 * column c is byte p = 4c + r. So every 16-bit lane of a word is one block and
 * the nibbles of a lane are its columns.
 *
 * The S-box is computed, not looked up: inversion through a tower field
 * GF((2^4)^2) as a circuit of AND and XOR gates, then the affine map. There is
 * no table lookup and no branch on data anywhere in this file, so timing does
 * not depend on keys or plaintext. */
#include <string.h>

#include "aes_impl.h"

/* --- the S-box as a circuit over a tower field ---
 *
 * The inverse in GF(2^8) (AES polynomial x^8 + x^4 + x^3 + x + 1) is computed
 * in the isomorphic field GF(2^4)[y]/(y^2 + y + L), GF(2^4) = GF(2)[z]/(z^4 +
 * z + 1), L = z^3. A tower element is h*y + l; bits 0-3 hold l and bits 4-7
 * hold h (coefficients of 1, z, z^2, z^3). The isomorphism sends x to
 * beta = 0x20 (that is, y), so the input map below is the matrix whose column
 * i is beta^i; the output map is the inverse matrix followed by the AES
 * affine map (without its constant 0x63, added at the end). Both matrices
 * were derived by a short script and the whole S-box is checked on all 256
 * inputs by the C harness (tests/c/test_core_prg.c).
 *
 * Inverse of h*y + l: with D = L*h^2 + h*l + l^2 (in GF(2^4)),
 * (h*y + l)^-1 = (h/D)*y + (h + l)/D, and 0 maps to 0 because 1/0 := 0 below. */

/* r = a * b in GF(2^4), bitsliced: 16 AND + 15 XOR. */
static inline void gf16_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
    const uint64_t p0 = a[0] & b[0];
    const uint64_t p1 = (a[0] & b[1]) ^ (a[1] & b[0]);
    const uint64_t p2 = (a[0] & b[2]) ^ (a[1] & b[1]) ^ (a[2] & b[0]);
    const uint64_t p3 = (a[0] & b[3]) ^ (a[1] & b[2]) ^ (a[2] & b[1]) ^ (a[3] & b[0]);
    const uint64_t p4 = (a[1] & b[3]) ^ (a[2] & b[2]) ^ (a[3] & b[1]);
    const uint64_t p5 = (a[2] & b[3]) ^ (a[3] & b[2]);
    const uint64_t p6 = a[3] & b[3];
    /* z^4 = z + 1, z^5 = z^2 + z, z^6 = z^3 + z^2 */
    r[0] = p0 ^ p4;
    r[1] = p1 ^ p4 ^ p5;
    r[2] = p2 ^ p5 ^ p6;
    r[3] = p3 ^ p6;
}

/* r = a^2 in GF(2^4) (linear). */
static inline void gf16_sqr(uint64_t r[4], const uint64_t a[4]) {
    const uint64_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    r[0] = a0 ^ a2;
    r[1] = a2;
    r[2] = a1 ^ a3;
    r[3] = a3;
}

/* r = a^14 = a^-1 in GF(2^4) (0 -> 0). */
static inline void gf16_inv(uint64_t r[4], const uint64_t a[4]) {
    uint64_t a2[4], a4[4], a8[4], a6[4];
    gf16_sqr(a2, a);
    gf16_sqr(a4, a2);
    gf16_sqr(a8, a4);
    gf16_mul(a6, a2, a4);
    gf16_mul(r, a6, a8);
}

/* The AES S-box on 64 bytes at once. */
static void bs_sbox(uint64_t q[8]) {
    uint64_t t[8], u[8];
    /* AES polynomial basis -> tower basis */
    t[0] = q[0] ^ q[5] ^ q[7];
    t[1] = q[2];
    t[2] = q[2] ^ q[3] ^ q[4] ^ q[5] ^ q[6] ^ q[7];
    t[3] = q[3] ^ q[4];
    t[4] = q[4] ^ q[5] ^ q[6];
    t[5] = q[1] ^ q[4] ^ q[6] ^ q[7];
    t[6] = q[2] ^ q[3] ^ q[5] ^ q[7];
    t[7] = q[5] ^ q[7];
    const uint64_t *l = t, *h = t + 4;
    uint64_t hh[4], hl[4], ll[4], d[4], dinv[4], hs[4];
    gf16_sqr(hh, h);
    gf16_mul(hl, h, l);
    gf16_sqr(ll, l);
    /* d = L*h^2 + h*l + l^2 with L = z^3: (a0 + a1 z + a2 z^2 + a3 z^3) z^3
     * = a1 + (a1 + a2) z + (a2 + a3) z^2 + (a0 + a3) z^3 */
    d[0] = hh[1] ^ hl[0] ^ ll[0];
    d[1] = hh[1] ^ hh[2] ^ hl[1] ^ ll[1];
    d[2] = hh[2] ^ hh[3] ^ hl[2] ^ ll[2];
    d[3] = hh[0] ^ hh[3] ^ hl[3] ^ ll[3];
    gf16_inv(dinv, d);
    for (int i = 0; i < 4; i++) hs[i] = h[i] ^ l[i];
    gf16_mul(u + 4, h, dinv);  /* high half: h / d */
    gf16_mul(u, hs, dinv);     /* low half: (h + l) / d */
    /* tower basis -> AES basis, then the affine map; ~ adds the constant 0x63
     * (bits 0, 1, 5, 6) */
    q[0] = ~(u[0] ^ u[2] ^ u[6]);
    q[1] = ~(u[0] ^ u[1] ^ u[2] ^ u[3] ^ u[4] ^ u[5]);
    q[2] = u[0] ^ u[3] ^ u[5] ^ u[6];
    q[3] = u[0] ^ u[2] ^ u[5];
    q[4] = u[0] ^ u[1] ^ u[3] ^ u[4] ^ u[5];
    q[5] = ~(u[1] ^ u[2] ^ u[3] ^ u[5] ^ u[6] ^ u[7]);
    q[6] = ~(u[4] ^ u[6] ^ u[7]);
    q[7] = u[1] ^ u[2];
}

#define LANES(x) ((uint64_t)(x) * 0x0001000100010001ULL) /* repeat a 16-bit pattern */

static inline uint64_t rot_lane_right(uint64_t x, int s) {
    /* rotate every 16-bit lane right by s bits (0 < s < 16) */
    const uint64_t lo = LANES((1u << (16 - s)) - 1);
    return ((x >> s) & lo) | ((x << (16 - s)) & ~lo);
}

static inline uint64_t shift_rows(uint64_t x) {
    /* Row r moves left by r columns: output column c takes input column c + r,
     * i.e. each row's bits rotate right by 4r within the lane. */
    const uint64_t r0 = LANES(0x1111), r1 = r0 << 1, r2 = r0 << 2, r3 = r0 << 3;
    return (x & r0) | (rot_lane_right(x & r1, 4) & r1) | (rot_lane_right(x & r2, 8) & r2) |
           (rot_lane_right(x & r3, 12) & r3);
}

static inline uint64_t rot_col(uint64_t x, int s) {
    /* within every nibble (column), row r takes row r + s */
    const uint64_t lo = 0x1111111111111111ULL * ((1u << (4 - s)) - 1);
    return ((x >> s) & lo) | ((x << (4 - s)) & ~lo);
}

static void mix_columns(uint64_t q[8]) {
    /* out_r = 2 a_r + 3 a_(r+1) + a_(r+2) + a_(r+3)
     *       = 2 t_r + t_r + t_(r+2) + a_r  with t = a + rot1(a). */
    uint64_t t[8], u[8];
    for (int j = 0; j < 8; j++) {
        t[j] = q[j] ^ rot_col(q[j], 1);
        u[j] = t[j] ^ rot_col(t[j], 2) ^ q[j];
    }
    /* multiplication of t by x (xtime) in bitsliced form */
    q[0] = u[0] ^ t[7];
    q[1] = u[1] ^ t[0] ^ t[7];
    q[2] = u[2] ^ t[1];
    q[3] = u[3] ^ t[2] ^ t[7];
    q[4] = u[4] ^ t[3] ^ t[7];
    q[5] = u[5] ^ t[4];
    q[6] = u[6] ^ t[5];
    q[7] = u[7] ^ t[6];
}

/* 8x8 bit-matrix transpose inside a word: bit 8r + c <-> bit 8c + r. */
static inline uint64_t transpose8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x ^= t ^ (t << 28);
    return x;
}

/* 8x8 byte-matrix transpose across eight words: byte j of w[k] <-> byte k of w[j]. */
static inline void transpose_bytes(uint64_t w[8]) {
    static const uint64_t masks[3] = {0x00000000FFFFFFFFULL, 0x0000FFFF0000FFFFULL,
                                      0x00FF00FF00FF00FFULL};
    for (int stage = 0; stage < 3; stage++) {
        const int s = 4 >> stage; /* word distance 4, 2, 1 */
        const uint64_t m = masks[stage];
        for (int k = 0; k < 8; k++) {
            if (k & s) continue;
            uint64_t t = ((w[k] >> (8 * s)) ^ w[k + s]) & m;
            w[k + s] ^= t;
            w[k] ^= t << (8 * s);
        }
    }
}

/* 64 bytes -> bitsliced q, and back (the transform is its own inverse up to
 * the order of the two steps). */
static void bs_load(uint64_t q[8], const uint8_t in[64]) {
    for (int k = 0; k < 8; k++) q[k] = transpose8(secagg_le64(in + 8 * k));
    transpose_bytes(q);
}

static void bs_store(uint8_t out[64], const uint64_t q[8]) {
    uint64_t w[8];
    memcpy(w, q, sizeof w);
    transpose_bytes(w);
    for (int k = 0; k < 8; k++) secagg_store_le64(out + 8 * k, transpose8(w[k]));
}

void secagg_aes_portable_sbox64(uint8_t buf[64]) {
    uint64_t q[8];
    bs_load(q, buf);
    bs_sbox(q);
    bs_store(buf, q);
}

/* One 32-bit key-schedule word through the S-box (bytes in memory order). */
static void sub_word(uint8_t w[4]) {
    uint8_t buf[64] = {0};
    uint64_t q[8];
    memcpy(buf, w, 4);
    bs_load(q, buf);
    bs_sbox(q);
    bs_store(buf, q);
    memcpy(w, buf, 4);
}

void secagg_aes_expand_key(const uint8_t key[16], secagg_aes_key *out) {
    uint8_t w[44][4];
    uint8_t rcon = 1;
    memcpy(w, key, 16);
    for (int i = 4; i < 44; i++) {
        uint8_t t[4];
        memcpy(t, w[i - 1], 4);
        if (i % 4 == 0) {
            const uint8_t r = t[0]; /* RotWord */
            t[0] = t[1];
            t[1] = t[2];
            t[2] = t[3];
            t[3] = r;
            sub_word(t);
            t[0] ^= rcon;
            /* rcon is public, so branching on it leaks nothing */
            rcon = (uint8_t)((rcon << 1) ^ ((rcon & 0x80) ? 0x1b : 0));
        }
        for (int j = 0; j < 4; j++) w[i][j] = w[i - 4][j] ^ t[j];
    }
    for (int r = 0; r < 11; r++) {
        uint8_t buf[64];
        memcpy(out->rk[r], w[4 * r], 16);
        for (int b = 0; b < 4; b++) memcpy(buf + 16 * b, out->rk[r], 16);
        bs_load(out->bs[r], buf);
    }
}

/* Encrypts four blocks (64 bytes) in place. */
static void bs_encrypt4(const secagg_aes_key *key, uint8_t blk[64]) {
    uint64_t q[8];
    bs_load(q, blk);
    for (int j = 0; j < 8; j++) q[j] ^= key->bs[0][j];
    for (int r = 1; r <= 10; r++) {
        bs_sbox(q);
        for (int j = 0; j < 8; j++) q[j] = shift_rows(q[j]);
        if (r != 10) mix_columns(q);
        for (int j = 0; j < 8; j++) q[j] ^= key->bs[r][j];
    }
    bs_store(blk, q);
}

void secagg_apply_op(uint8_t *dst, const uint8_t *ks, size_t nbytes, int op) {
    switch (op) {
    case SECAGG_OP_STORE:
        memcpy(dst, ks, nbytes);
        break;
    case SECAGG_OP_ADD32:
    case SECAGG_OP_SUB32:
        for (size_t i = 0; i + 4 <= nbytes; i += 4) {
            uint32_t v;
            memcpy(&v, dst + i, 4);
            v = (op == SECAGG_OP_ADD32) ? v + secagg_le32(ks + i) : v - secagg_le32(ks + i);
            memcpy(dst + i, &v, 4);
        }
        break;
    default:
        for (size_t i = 0; i + 8 <= nbytes; i += 8) {
            uint64_t v;
            memcpy(&v, dst + i, 8);
            v = (op == SECAGG_OP_ADD64) ? v + secagg_le64(ks + i) : v - secagg_le64(ks + i);
            memcpy(dst + i, &v, 8);
        }
        break;
    }
}

void secagg_ctr_portable(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                         size_t nblocks, int op) {
    uint8_t buf[64];
    while (nblocks > 0) {
        const size_t n = nblocks < 4 ? nblocks : 4;
        for (size_t b = 0; b < 4; b++) {
            secagg_store_be64(buf + 16 * b, hi);
            secagg_store_be64(buf + 16 * b + 8, lo);
            lo++;
            hi += (lo == 0);
        }
        /* the extra blocks of a short last group are computed and discarded;
         * their counters were advanced past the end, which is harmless */
        bs_encrypt4(key, buf);
        secagg_apply_op(dst, buf, 16 * n, op);
        dst += 16 * n;
        nblocks -= n;
    }
    secagg_wipe(buf, sizeof buf);
}

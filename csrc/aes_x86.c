/* AES-128-CTR kernels for x86: AES-NI (8 blocks in flight), VAES on ymm
 * (2 blocks per instruction, 16 in flight) and VAES on zmm (4 blocks per
 * instruction, 32 in flight). Each function carries its own target attribute,
 * so the file compiles without -march flags; the implementation table only
 * hands a kernel out when cpu.c found the features and OS support for it.
 *
 * The counter is kept as a 128-bit little-endian number in a vector register
 * (low qword = low 64 bits) and byte-reversed with pshufb into the big-endian
 * counter block. The vector increment only touches the low qword, so it is
 * used when no carry into the high qword happens inside a batch; a batch that
 * crosses 2^64 takes the per-block path, which carries explicitly. */
#include "aes_impl.h"

#ifdef SECAGG_HAVE_X86
#include <immintrin.h>
#include <string.h>

#define T_AESNI __attribute__((target("aes,sse2,ssse3,sse4.1")))
#define T_VAES256 __attribute__((target("aes,sse2,ssse3,sse4.1,avx,avx2,vaes")))
#define T_VAES512 \
    __attribute__((target("aes,sse2,ssse3,sse4.1,avx,avx2,vaes,avx512f,avx512bw")))
#define INLINE static inline __attribute__((always_inline))

/* --- key expansion with AESKEYGENASSIST (FIPS-197 schedule, constant time) --- */

T_AESNI static __m128i key_step(__m128i k, __m128i assist) {
    assist = _mm_shuffle_epi32(assist, 0xff); /* RotWord(SubWord(w3)) ^ rcon, broadcast */
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, assist);
}

T_AESNI void secagg_aes_expand_key_aesni(const uint8_t key[16], secagg_aes_key *out) {
    __m128i k[11];
    k[0] = _mm_loadu_si128((const __m128i *)key);
    /* the round constant must be an immediate, hence the unrolled list */
    k[1] = key_step(k[0], _mm_aeskeygenassist_si128(k[0], 0x01));
    k[2] = key_step(k[1], _mm_aeskeygenassist_si128(k[1], 0x02));
    k[3] = key_step(k[2], _mm_aeskeygenassist_si128(k[2], 0x04));
    k[4] = key_step(k[3], _mm_aeskeygenassist_si128(k[3], 0x08));
    k[5] = key_step(k[4], _mm_aeskeygenassist_si128(k[4], 0x10));
    k[6] = key_step(k[5], _mm_aeskeygenassist_si128(k[5], 0x20));
    k[7] = key_step(k[6], _mm_aeskeygenassist_si128(k[6], 0x40));
    k[8] = key_step(k[7], _mm_aeskeygenassist_si128(k[7], 0x80));
    k[9] = key_step(k[8], _mm_aeskeygenassist_si128(k[8], 0x1b));
    k[10] = key_step(k[9], _mm_aeskeygenassist_si128(k[9], 0x36));
    for (int r = 0; r < 11; r++) _mm_storeu_si128((__m128i *)out->rk[r], k[r]);
}

/* --- single blocks with AES-NI (tails and counter-carry batches) --- */

T_AESNI static __m128i ctr_block(uint64_t hi, uint64_t lo) {
    const __m128i bswap = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm_shuffle_epi8(_mm_set_epi64x((long long)hi, (long long)lo), bswap);
}

T_AESNI static void ctr_one_by_one(const secagg_aes_key *key, uint64_t hi, uint64_t lo,
                                   uint8_t *dst, size_t nblocks, int op) {
    __m128i rk[11];
    for (int r = 0; r < 11; r++) rk[r] = _mm_loadu_si128((const __m128i *)key->rk[r]);
    for (size_t i = 0; i < nblocks; i++) {
        __m128i b = _mm_xor_si128(ctr_block(hi, lo), rk[0]);
        for (int r = 1; r < 10; r++) b = _mm_aesenc_si128(b, rk[r]);
        b = _mm_aesenclast_si128(b, rk[10]);
        uint8_t ks[16];
        _mm_storeu_si128((__m128i *)ks, b);
        secagg_apply_op(dst + 16 * i, ks, 16, op);
        lo++;
        hi += (lo == 0);
    }
}

/* Combines one 16-byte keystream vector with dst according to op (a constant
 * after inlining, so each caller compiles to one straight loop). */
#define COMBINE(LOAD, STORE, ADD32, SUB32, ADD64, SUB64, p, v, op)         \
    do {                                                                  \
        switch (op) {                                                     \
        case SECAGG_OP_STORE: STORE(p, v); break;                         \
        case SECAGG_OP_ADD32: STORE(p, ADD32(LOAD(p), v)); break;         \
        case SECAGG_OP_SUB32: STORE(p, SUB32(LOAD(p), v)); break;         \
        case SECAGG_OP_ADD64: STORE(p, ADD64(LOAD(p), v)); break;         \
        default: STORE(p, SUB64(LOAD(p), v)); break;                      \
        }                                                                 \
    } while (0)

#define LD128(p) _mm_loadu_si128((const __m128i *)(p))
#define ST128(p, v) _mm_storeu_si128((__m128i *)(p), (v))
#define LD256(p) _mm256_loadu_si256((const __m256i *)(p))
#define ST256(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define LD512(p) _mm512_loadu_si512((const void *)(p))
#define ST512(p, v) _mm512_storeu_si512((void *)(p), (v))

/* --- AES-NI, 8 blocks in flight --- */

INLINE T_AESNI void aesni_body(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                               size_t nblocks, const int op) {
    const __m128i bswap = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i rk[11];
    for (int r = 0; r < 11; r++) rk[r] = LD128(key->rk[r]);
    while (nblocks >= 8) {
        if (lo > UINT64_MAX - 7) { /* the batch crosses 2^64: carry block by block */
            ctr_one_by_one(key, hi, lo, dst, 8, op);
        } else {
            const __m128i c = _mm_set_epi64x((long long)hi, (long long)lo);
            __m128i b[8];
            for (int i = 0; i < 8; i++)
                b[i] = _mm_xor_si128(
                    _mm_shuffle_epi8(_mm_add_epi64(c, _mm_set_epi64x(0, i)), bswap), rk[0]);
            for (int r = 1; r < 10; r++)
                for (int i = 0; i < 8; i++) b[i] = _mm_aesenc_si128(b[i], rk[r]);
            for (int i = 0; i < 8; i++) {
                b[i] = _mm_aesenclast_si128(b[i], rk[10]);
                COMBINE(LD128, ST128, _mm_add_epi32, _mm_sub_epi32, _mm_add_epi64,
                        _mm_sub_epi64, dst + 16 * i, b[i], op);
            }
        }
        lo += 8;
        hi += (lo < 8);
        dst += 128;
        nblocks -= 8;
    }
    if (nblocks) ctr_one_by_one(key, hi, lo, dst, nblocks, op);
}

T_AESNI void secagg_ctr_aesni(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                              size_t nblocks, int op) {
    switch (op) {
    case SECAGG_OP_STORE: aesni_body(key, hi, lo, dst, nblocks, SECAGG_OP_STORE); break;
    case SECAGG_OP_ADD32: aesni_body(key, hi, lo, dst, nblocks, SECAGG_OP_ADD32); break;
    case SECAGG_OP_SUB32: aesni_body(key, hi, lo, dst, nblocks, SECAGG_OP_SUB32); break;
    case SECAGG_OP_ADD64: aesni_body(key, hi, lo, dst, nblocks, SECAGG_OP_ADD64); break;
    default: aesni_body(key, hi, lo, dst, nblocks, SECAGG_OP_SUB64); break;
    }
}

/* --- VAES on ymm: 8 registers x 2 blocks in flight --- */

INLINE T_VAES256 void vaes256_body(const secagg_aes_key *key, uint64_t hi, uint64_t lo,
                                   uint8_t *dst, size_t nblocks, const int op) {
    enum { R = 8, BLOCKS = 2 * R };
    const __m256i bswap = _mm256_broadcastsi128_si256(
        _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m256i rk[11];
    for (int r = 0; r < 11; r++) rk[r] = _mm256_broadcastsi128_si256(LD128(key->rk[r]));
    while (nblocks >= BLOCKS) {
        if (lo > UINT64_MAX - (BLOCKS - 1)) {
            ctr_one_by_one(key, hi, lo, dst, BLOCKS, op);
        } else {
            /* lane 0 holds counter lo, lane 1 holds lo + 1 */
            const __m256i c = _mm256_set_epi64x((long long)hi, (long long)(lo + 1),
                                                (long long)hi, (long long)lo);
            __m256i b[R];
            for (int i = 0; i < R; i++)
                b[i] = _mm256_xor_si256(
                    _mm256_shuffle_epi8(
                        _mm256_add_epi64(c, _mm256_set_epi64x(0, 2 * i, 0, 2 * i)), bswap),
                    rk[0]);
            for (int r = 1; r < 10; r++)
                for (int i = 0; i < R; i++) b[i] = _mm256_aesenc_epi128(b[i], rk[r]);
            for (int i = 0; i < R; i++) {
                b[i] = _mm256_aesenclast_epi128(b[i], rk[10]);
                COMBINE(LD256, ST256, _mm256_add_epi32, _mm256_sub_epi32, _mm256_add_epi64,
                        _mm256_sub_epi64, dst + 32 * i, b[i], op);
            }
        }
        lo += BLOCKS;
        hi += (lo < BLOCKS);
        dst += 16 * BLOCKS;
        nblocks -= BLOCKS;
    }
    if (nblocks) secagg_ctr_aesni(key, hi, lo, dst, nblocks, op);
}

T_VAES256 void secagg_ctr_vaes256(const secagg_aes_key *key, uint64_t hi, uint64_t lo,
                                  uint8_t *dst, size_t nblocks, int op) {
    switch (op) {
    case SECAGG_OP_STORE: vaes256_body(key, hi, lo, dst, nblocks, SECAGG_OP_STORE); break;
    case SECAGG_OP_ADD32: vaes256_body(key, hi, lo, dst, nblocks, SECAGG_OP_ADD32); break;
    case SECAGG_OP_SUB32: vaes256_body(key, hi, lo, dst, nblocks, SECAGG_OP_SUB32); break;
    case SECAGG_OP_ADD64: vaes256_body(key, hi, lo, dst, nblocks, SECAGG_OP_ADD64); break;
    default: vaes256_body(key, hi, lo, dst, nblocks, SECAGG_OP_SUB64); break;
    }
}

/* --- VAES on zmm: 8 registers x 4 blocks in flight --- */

INLINE T_VAES512 void vaes512_body(const secagg_aes_key *key, uint64_t hi, uint64_t lo,
                                   uint8_t *dst, size_t nblocks, const int op) {
    enum { R = 8, BLOCKS = 4 * R };
    const __m512i bswap = _mm512_broadcast_i32x4(
        _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i rk[11];
    for (int r = 0; r < 11; r++) rk[r] = _mm512_broadcast_i32x4(LD128(key->rk[r]));
    while (nblocks >= BLOCKS) {
        if (lo > UINT64_MAX - (BLOCKS - 1)) {
            ctr_one_by_one(key, hi, lo, dst, BLOCKS, op);
        } else {
            /* lanes 0..3 hold counters lo .. lo + 3 */
            const __m512i c = _mm512_set_epi64(
                (long long)hi, (long long)(lo + 3), (long long)hi, (long long)(lo + 2),
                (long long)hi, (long long)(lo + 1), (long long)hi, (long long)lo);
            __m512i b[R];
            for (int i = 0; i < R; i++)
                b[i] = _mm512_xor_si512(
                    _mm512_shuffle_epi8(
                        _mm512_add_epi64(c, _mm512_set_epi64(0, 4 * i, 0, 4 * i, 0, 4 * i, 0,
                                                             4 * i)),
                        bswap),
                    rk[0]);
            for (int r = 1; r < 10; r++)
                for (int i = 0; i < R; i++) b[i] = _mm512_aesenc_epi128(b[i], rk[r]);
            for (int i = 0; i < R; i++) {
                b[i] = _mm512_aesenclast_epi128(b[i], rk[10]);
                COMBINE(LD512, ST512, _mm512_add_epi32, _mm512_sub_epi32, _mm512_add_epi64,
                        _mm512_sub_epi64, dst + 64 * i, b[i], op);
            }
        }
        lo += BLOCKS;
        hi += (lo < BLOCKS);
        dst += 16 * BLOCKS;
        nblocks -= BLOCKS;
    }
    if (nblocks) secagg_ctr_vaes256(key, hi, lo, dst, nblocks, op);
}

T_VAES512 void secagg_ctr_vaes512(const secagg_aes_key *key, uint64_t hi, uint64_t lo,
                                  uint8_t *dst, size_t nblocks, int op) {
    switch (op) {
    case SECAGG_OP_STORE: vaes512_body(key, hi, lo, dst, nblocks, SECAGG_OP_STORE); break;
    case SECAGG_OP_ADD32: vaes512_body(key, hi, lo, dst, nblocks, SECAGG_OP_ADD32); break;
    case SECAGG_OP_SUB32: vaes512_body(key, hi, lo, dst, nblocks, SECAGG_OP_SUB32); break;
    case SECAGG_OP_ADD64: vaes512_body(key, hi, lo, dst, nblocks, SECAGG_OP_ADD64); break;
    default: vaes512_body(key, hi, lo, dst, nblocks, SECAGG_OP_SUB64); break;
    }
}

#endif /* SECAGG_HAVE_X86 */

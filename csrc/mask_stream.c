/* Masking with keystream produced outside the core (the "openssl"
 * implementation: OpenSSL's AES-128-CTR through pyca/cryptography). The
 * caller generates a slice of keystream per key into its own buffer; this
 * adds or subtracts them into the vector, so the arithmetic is the core's
 * whichever library made the keystream. */
#include <string.h>

#include "aes_impl.h"
#include "cpu.h"
#include "mask.h"
#include "secagg_common.h"

/* The vector is walked in tiles of this many bytes, every stream added into a
 * tile before the next: the tile stays in L1 and each keystream byte is read
 * once, instead of reading and writing the whole slice once per stream. */
#define TILE_BYTES ((size_t)4096)

/* Little-endian word loads. On little-endian hosts a plain memcpy load keeps
 * the loops below simple enough for the compiler to vectorise. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
#else
static inline uint32_t load32(const uint8_t *p) { return secagg_le32(p); }
static inline uint64_t load64(const uint8_t *p) { return secagg_le64(p); }
#endif

/* One loop body per word width, compiled once per instruction set below. The
 * sign is applied as (k ^ s) - s with s = 0 (add) or all ones (subtract), so
 * one branch-free loop serves both. */
#define ADD_LOOPS(suffix, attr)                                                                \
    attr static void add32_##suffix(uint32_t *v, const uint8_t *ks, size_t m, uint32_t mask,   \
                                    uint32_t s) {                                              \
        for (size_t i = 0; i < m; i++) v[i] = (v[i] + ((load32(ks + 4 * i) ^ s) - s)) & mask;  \
    }                                                                                          \
    attr static void add64_##suffix(uint64_t *v, const uint8_t *ks, size_t m, uint64_t mask,   \
                                    uint64_t s) {                                              \
        for (size_t i = 0; i < m; i++) v[i] = (v[i] + ((load64(ks + 8 * i) ^ s) - s)) & mask;  \
    }

ADD_LOOPS(base, )
#ifdef SECAGG_HAVE_X86
/* The add is a second pass over data the keystream library just wrote, so on
 * x86 it uses the widest vectors the CPU has (the VAES feature bits imply
 * AVX2, resp. AVX-512BW, with the OS saving the registers). */
ADD_LOOPS(avx2, __attribute__((target("avx2"))))
ADD_LOOPS(avx512, __attribute__((target("avx512f,avx512bw"))))
#endif

typedef void (*add32_fn)(uint32_t *, const uint8_t *, size_t, uint32_t, uint32_t);
typedef void (*add64_fn)(uint64_t *, const uint8_t *, size_t, uint64_t, uint64_t);

static void pick(add32_fn *f32, add64_fn *f64) {
    *f32 = add32_base;
    *f64 = add64_base;
#ifdef SECAGG_HAVE_X86
    const unsigned f = secagg_cpu_features();
    if (f & SECAGG_CPU_VAES512) {
        *f32 = add32_avx512;
        *f64 = add64_avx512;
    } else if (f & SECAGG_CPU_VAES256) {
        *f32 = add32_avx2;
        *f64 = add64_avx2;
    }
#endif
}

int secagg_mask_add_streams(void *vec, size_t m, int bits, const uint8_t *ks, size_t kslen,
                            const int8_t *signs, size_t nstreams) {
    if (bits < 1 || bits > 64) return SECAGG_ERR_BITS;
    if ((!vec && m) || ((!ks || !signs) && nstreams)) return SECAGG_ERR_NULL;
    const size_t w = bits <= 32 ? 4 : 8;
    if (m > SIZE_MAX / w) return SECAGG_ERR_OVERFLOW;
    const size_t len = m * w;
    if (nstreams && len > SIZE_MAX / nstreams) return SECAGG_ERR_OVERFLOW;
    if (kslen != len * nstreams) return SECAGG_ERR_LENGTH;
    for (size_t j = 0; j < nstreams; j++)
        if (signs[j] != 1 && signs[j] != -1) return SECAGG_ERR_ARG;
    const int rc = secagg_vec_check(vec, m, bits);
    if (rc != SECAGG_OK || m == 0 || nstreams == 0) return rc;

    add32_fn f32;
    add64_fn f64;
    pick(&f32, &f64);
    uint8_t *base = (uint8_t *)vec;
    for (size_t off = 0; off < len; off += TILE_BYTES) {
        const size_t n = (len - off < TILE_BYTES ? len - off : TILE_BYTES) / w;
        for (size_t j = 0; j < nstreams; j++) {
            const uint8_t *k = ks + j * len + off;
            if (w == 4)
                f32((uint32_t *)(base + off), k, n,
                    bits == 32 ? UINT32_MAX : (((uint32_t)1 << bits) - 1),
                    signs[j] > 0 ? 0 : UINT32_MAX);
            else
                f64((uint64_t *)(base + off), k, n,
                    bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1),
                    signs[j] > 0 ? 0 : UINT64_MAX);
        }
    }
    return SECAGG_OK;
}

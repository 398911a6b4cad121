/* Internal interface between the AES-CTR implementations, the masking code and
 * the implementation table. Not part of the cffi declarations. */
#ifndef SECAGG_AES_IMPL_H
#define SECAGG_AES_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* One expanded AES-128 key. rk: the 11 round keys in FIPS-197 byte order (for
 * the AES-NI/VAES paths); bs: the same round keys bitsliced for the portable
 * path (4 copies, see aes_portable.c). */
typedef struct {
    uint8_t rk[11][16];
    uint64_t bs[11][8];
} secagg_aes_key;

/* What a CTR kernel does with each keystream block. ADD/SUB combine the block,
 * read as little-endian words of 32 or 64 bits, with the words already in dst
 * (wrapping modulo 2^32 or 2^64). */
enum {
    SECAGG_OP_STORE = 0,
    SECAGG_OP_ADD32 = 1,
    SECAGG_OP_SUB32 = 2,
    SECAGG_OP_ADD64 = 3,
    SECAGG_OP_SUB64 = 4
};

/* A CTR kernel: processes nblocks consecutive counter blocks starting at the
 * 128-bit counter (hi, lo) into dst (16 * nblocks bytes). The caller guarantees
 * the counter does not wrap past 2^128 within the call. */
typedef void (*secagg_ctr_fn)(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                              size_t nblocks, int op);

/* Key setup of one implementation: fills the fields of secagg_aes_key its
 * kernel reads (constant time in every implementation). */
typedef void (*secagg_key_fn)(const uint8_t key[16], secagg_aes_key *out);

typedef struct {
    const char *name;
    unsigned required_features; /* SECAGG_CPU_* bits, 0 for portable */
    secagg_ctr_fn ctr;
    secagg_key_fn setup;
} secagg_aes_impl;

/* Portable constant-time key expansion (computed S-box, no tables): fills rk
 * and the bitsliced bs. */
void secagg_aes_expand_key(const uint8_t key[16], secagg_aes_key *out);

/* The implementation table (best first) and its size. */
extern const secagg_aes_impl secagg_aes_impls[];
extern const int secagg_aes_nimpls;

/* Returns the kernel for implementation `impl`, or NULL if it is out of range
 * or unsupported on this CPU. */
secagg_ctr_fn secagg_aes_kernel(int impl);

/* Returns the key setup of implementation `impl` (NULL as for the kernel). */
secagg_key_fn secagg_aes_key_setup(int impl);

/* Kernels. */
void secagg_ctr_portable(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                         size_t nblocks, int op);
#if defined(__x86_64__) || defined(__i386__)
#define SECAGG_HAVE_X86 1
void secagg_aes_expand_key_aesni(const uint8_t key[16], secagg_aes_key *out);
void secagg_ctr_aesni(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                      size_t nblocks, int op);
void secagg_ctr_vaes256(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                        size_t nblocks, int op);
void secagg_ctr_vaes512(const secagg_aes_key *key, uint64_t hi, uint64_t lo, uint8_t *dst,
                        size_t nblocks, int op);
#endif

/* Replaces each of the 64 bytes by its S-box value with the portable
 * (bitsliced) circuit; exposed for the exhaustive test in the C harness. */
void secagg_aes_portable_sbox64(uint8_t buf[64]);

/* Applies op to dst using 16*nblocks keystream bytes in ks (portable helper,
 * also used for partial blocks). nbytes must be a multiple of the word width. */
void secagg_apply_op(uint8_t *dst, const uint8_t *ks, size_t nbytes, int op);

/* Overwrites n bytes with zeros through a volatile pointer, so the compiler
 * cannot drop it as a dead store (best-effort erasure of key material). */
static inline void secagg_wipe(void *p, size_t n) {
    volatile uint8_t *q = (volatile uint8_t *)p;
    for (size_t i = 0; i < n; i++) q[i] = 0;
}

/* Little-endian loads/stores that compile to single moves on x86. */
static inline uint32_t secagg_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t secagg_le64(const uint8_t *p) {
    return (uint64_t)secagg_le32(p) | ((uint64_t)secagg_le32(p + 4) << 32);
}
static inline void secagg_store_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void secagg_store_be64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

#endif

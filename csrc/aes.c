/* Implementation table and the keystream entry points. */
#include <string.h>

#include "aes.h"
#include "aes_impl.h"
#include "cpu.h"
#include "secagg_common.h"

/* Best first: secagg.prg picks the first supported entry by default. */
const secagg_aes_impl secagg_aes_impls[] = {
#ifdef SECAGG_HAVE_X86
    {"vaes512", SECAGG_CPU_VAES512 | SECAGG_CPU_VAES256 | SECAGG_CPU_AESNI, secagg_ctr_vaes512,
     secagg_aes_expand_key_aesni},
    {"vaes256", SECAGG_CPU_VAES256 | SECAGG_CPU_AESNI, secagg_ctr_vaes256,
     secagg_aes_expand_key_aesni},
    {"aesni", SECAGG_CPU_AESNI, secagg_ctr_aesni, secagg_aes_expand_key_aesni},
#endif
    {"portable", 0, secagg_ctr_portable, secagg_aes_expand_key},
};
const int secagg_aes_nimpls = (int)(sizeof secagg_aes_impls / sizeof secagg_aes_impls[0]);

int secagg_impl_count(void) { return secagg_aes_nimpls; }

const char *secagg_impl_name(int impl) {
    if (impl < 0 || impl >= secagg_aes_nimpls) return NULL;
    return secagg_aes_impls[impl].name;
}

int secagg_impl_supported(int impl) {
    if (impl < 0 || impl >= secagg_aes_nimpls) return 0;
    const unsigned need = secagg_aes_impls[impl].required_features;
    return (secagg_cpu_features() & need) == need;
}

secagg_ctr_fn secagg_aes_kernel(int impl) {
    return secagg_impl_supported(impl) ? secagg_aes_impls[impl].ctr : NULL;
}

secagg_key_fn secagg_aes_key_setup(int impl) {
    return secagg_impl_supported(impl) ? secagg_aes_impls[impl].setup : NULL;
}

/* Largest slice handed to a kernel in one call by the entry points. */
#define SLICE_BLOCKS ((size_t)1 << 20)

int secagg_keystream(int impl, const uint8_t *key, size_t keylen, const uint8_t *counter,
                     size_t counterlen, uint8_t *out, size_t nbytes) {
    if (!key || !counter || (!out && nbytes)) return SECAGG_ERR_NULL;
    if (keylen != 16 || counterlen != 16) return SECAGG_ERR_LENGTH;
    secagg_ctr_fn ctr = secagg_aes_kernel(impl);
    if (!ctr) return SECAGG_ERR_IMPL;
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = (hi << 8) | counter[i];
        lo = (lo << 8) | counter[8 + i];
    }
    /* Refuse a request whose counter would wrap past 2^128 (keystream reuse). */
    const uint64_t nblocks = (uint64_t)(nbytes / 16) + (nbytes % 16 != 0);
    if (nblocks > 0 && hi == UINT64_MAX && lo > UINT64_MAX - (nblocks - 1)) return SECAGG_ERR_OVERFLOW;

    secagg_aes_key ks;
    secagg_aes_key_setup(impl)(key, &ks);
    size_t full = nbytes / 16;
    while (full > 0) {
        const size_t n = full < SLICE_BLOCKS ? full : SLICE_BLOCKS;
        ctr(&ks, hi, lo, out, n, SECAGG_OP_STORE);
        const uint64_t nlo = lo + n;
        hi += (nlo < lo);
        lo = nlo;
        out += 16 * n;
        full -= n;
    }
    if (nbytes % 16) {
        uint8_t last[16];
        ctr(&ks, hi, lo, last, 1, SECAGG_OP_STORE);
        memcpy(out, last, nbytes % 16);
        secagg_wipe(last, sizeof last);
    }
    secagg_wipe(&ks, sizeof ks);
    return SECAGG_OK;
}

int secagg_expand(int impl, const uint8_t *key, size_t keylen, int bits, void *out, size_t m) {
    if (!key || (!out && m)) return SECAGG_ERR_NULL;
    if (keylen != 16) return SECAGG_ERR_LENGTH;
    if (bits < 1 || bits > 64) return SECAGG_ERR_BITS;
    const size_t w = bits <= 32 ? 4 : 8;
    if (m > SIZE_MAX / w) return SECAGG_ERR_OVERFLOW;
    static const uint8_t zero[16] = {0};
    int rc = secagg_keystream(impl, key, keylen, zero, 16, (uint8_t *)out, m * w);
    if (rc != SECAGG_OK) return rc;
    /* The keystream bytes are little-endian words; convert in place to host
     * order (a no-op on little-endian hosts) and reduce mod 2^bits. */
    if (w == 4) {
        uint32_t *v = (uint32_t *)out;
        const uint32_t mask = bits == 32 ? UINT32_MAX : (((uint32_t)1 << bits) - 1);
        for (size_t i = 0; i < m; i++) v[i] = secagg_le32((const uint8_t *)&v[i]) & mask;
    } else {
        uint64_t *v = (uint64_t *)out;
        const uint64_t mask = bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
        for (size_t i = 0; i < m; i++) v[i] = secagg_le64((const uint8_t *)&v[i]) & mask;
    }
    return SECAGG_OK;
}

/* Bit packing: straight loops for b = 8, 16, 32, 64 and a bit-stream coder
 * with a 128-bit window (two words) for every other width. */
#include <string.h>

#include "aes_impl.h" /* little-endian load helpers */
#include "mask.h"
#include "pack.h"
#include "secagg_common.h"

int secagg_packed_size(size_t m, int bits, size_t *out) {
    if (!out) return SECAGG_ERR_NULL;
    if (bits < 1 || bits > 64) return SECAGG_ERR_BITS;
    if (m > SIZE_MAX / 64) return SECAGG_ERR_OVERFLOW;
    *out = (m / 8) * (size_t)bits + ((m % 8) * (size_t)bits + 7) / 8;
    return SECAGG_OK;
}

static inline uint64_t word_at(const void *vec, size_t i, int bits) {
    return bits <= 32 ? ((const uint32_t *)vec)[i] : ((const uint64_t *)vec)[i];
}

int secagg_pack(const void *vec, size_t m, int bits, uint8_t *out, size_t outlen) {
    size_t need;
    int rc = secagg_packed_size(m, bits, &need);
    if (rc != SECAGG_OK) return rc;
    if ((!vec && m) || (!out && outlen)) return SECAGG_ERR_NULL;
    if (outlen != need) return SECAGG_ERR_LENGTH;
    rc = secagg_vec_check(vec, m, bits);
    if (rc != SECAGG_OK) return rc;

    switch (bits) {
    case 8:
        for (size_t i = 0; i < m; i++) out[i] = (uint8_t)((const uint32_t *)vec)[i];
        return SECAGG_OK;
    case 16:
        for (size_t i = 0; i < m; i++) {
            const uint32_t v = ((const uint32_t *)vec)[i];
            out[2 * i] = (uint8_t)v;
            out[2 * i + 1] = (uint8_t)(v >> 8);
        }
        return SECAGG_OK;
    case 32:
    case 64:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* host words are already the little-endian wire layout */
        if (m) memcpy(out, vec, outlen);
#else
        for (size_t i = 0; i < m; i++) {
            const uint64_t v = word_at(vec, i, bits);
            for (int k = 0; k < bits / 8; k++) out[(size_t)(bits / 8) * i + (size_t)k] = (uint8_t)(v >> (8 * k));
        }
#endif
        return SECAGG_OK;
    default:
        break;
    }
    /* Generic: a window of `n` pending bits (n < 8 between elements). */
    uint64_t acc = 0;
    int n = 0;
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        const uint64_t v = word_at(vec, i, bits);
        uint64_t lo = acc | (v << n);
        uint64_t hi = n ? v >> (64 - n) : 0;
        int total = n + bits;
        while (total >= 8) {
            out[o++] = (uint8_t)lo;
            lo = (lo >> 8) | (hi << 56);
            hi >>= 8;
            total -= 8;
        }
        acc = lo;
        n = total;
    }
    if (n) out[o++] = (uint8_t)acc;
    return SECAGG_OK;
}

/* Length and padding checks shared by both decoders: nothing is written
 * unless the whole message is well formed. */
static int check_message(const uint8_t *in, size_t inlen, size_t m, int bits) {
    size_t need;
    int rc = secagg_packed_size(m, bits, &need);
    if (rc != SECAGG_OK) return rc;
    if (!in && inlen) return SECAGG_ERR_NULL;
    if (inlen != need) return SECAGG_ERR_LENGTH;
    const unsigned used = (unsigned)(((m % 8) * (size_t)bits) % 8); /* bits used in last byte */
    if (used && (in[inlen - 1] >> used) != 0) return SECAGG_ERR_PADDING;
    return SECAGG_OK;
}

enum { SINK_STORE, SINK_ADD };

static inline __attribute__((always_inline)) void sink(void *vec, size_t i, int bits, uint64_t v,
                                                       uint64_t mask, const int mode) {
    if (bits <= 32) {
        uint32_t *p = (uint32_t *)vec + i;
        *p = mode == SINK_STORE ? (uint32_t)v : (uint32_t)((*p + v) & mask);
    } else {
        uint64_t *p = (uint64_t *)vec + i;
        *p = mode == SINK_STORE ? v : ((*p + v) & mask);
    }
}

static inline __attribute__((always_inline)) void decode(const uint8_t *in, size_t m, int bits,
                                                         void *vec, const int mode) {
    const uint64_t mask = bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    switch (bits) {
    case 8:
        for (size_t i = 0; i < m; i++) sink(vec, i, 8, in[i], mask, mode);
        return;
    case 16:
        for (size_t i = 0; i < m; i++)
            sink(vec, i, 16, (uint64_t)in[2 * i] | ((uint64_t)in[2 * i + 1] << 8), mask, mode);
        return;
    case 32:
        for (size_t i = 0; i < m; i++) sink(vec, i, 32, secagg_le32(in + 4 * i), mask, mode);
        return;
    case 64:
        for (size_t i = 0; i < m; i++) sink(vec, i, 64, secagg_le64(in + 8 * i), mask, mode);
        return;
    default:
        break;
    }
    uint64_t lo = 0, hi = 0; /* window: n valid bits, n <= bits + 7 <= 70 */
    int n = 0;
    size_t pos = 0;
    for (size_t i = 0; i < m; i++) {
        while (n < bits) {
            const uint64_t byte = in[pos++];
            lo |= byte << n;
            if (n > 56) hi |= byte >> (64 - n);
            n += 8;
        }
        sink(vec, i, bits, lo & mask, mask, mode);
        if (bits == 64) {
            lo = hi;
            hi = 0;
        } else {
            lo = (lo >> bits) | (hi << (64 - bits));
            hi >>= bits;
        }
        n -= bits;
    }
}

int secagg_unpack(const uint8_t *in, size_t inlen, size_t m, int bits, void *vec) {
    int rc = check_message(in, inlen, m, bits);
    if (rc != SECAGG_OK) return rc;
    if (!vec && m) return SECAGG_ERR_NULL;
    decode(in, m, bits, vec, SINK_STORE);
    return SECAGG_OK;
}

int secagg_unpack_add(const uint8_t *in, size_t inlen, size_t m, int bits, void *acc) {
    int rc = check_message(in, inlen, m, bits);
    if (rc != SECAGG_OK) return rc;
    if (!acc && m) return SECAGG_ERR_NULL;
    rc = secagg_vec_check(acc, m, bits);
    if (rc != SECAGG_OK) return rc;
    decode(in, m, bits, acc, SINK_ADD);
    return SECAGG_OK;
}

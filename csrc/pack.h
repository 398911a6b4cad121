/* Bit packing of Z_2^b vectors (PROTOCOL.md section 1): m elements of b bits,
 * little-endian bit order, ceil(m*b/8) bytes, padding bits zero. Vectors are
 * m words of width 4 (bits <= 32) or 8 (bits > 32) in host order. */
#ifndef SECAGG_PACK_H
#define SECAGG_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Stores ceil(m*bits/8) in *out. Returns SECAGG_ERR_BITS or
 * SECAGG_ERR_OVERFLOW for impossible arguments. */
int secagg_packed_size(size_t m, int bits, size_t *out);

/* Packs the caller's vec into the caller's out (outlen must equal the packed
 * size). Returns SECAGG_ERR_RANGE, writing nothing, if a word is >= 2^bits. */
int secagg_pack(const void *vec, size_t m, int bits, uint8_t *out, size_t outlen);

/* Unpacks `in` into the caller's vec (m words). Returns SECAGG_ERR_LENGTH if
 * inlen is not the packed size, SECAGG_ERR_PADDING if a padding bit is set;
 * in both cases vec is untouched. */
int secagg_unpack(const uint8_t *in, size_t inlen, size_t m, int bits, void *vec);

/* acc = acc + unpack(in) mod 2^bits in one pass. The whole message (length,
 * padding) and every word of acc (< 2^bits, else SECAGG_ERR_RANGE) are
 * validated before acc is touched. */
int secagg_unpack_add(const uint8_t *in, size_t inlen, size_t m, int bits, void *acc);

#endif

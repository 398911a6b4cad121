/* Masking in Z_2^b (PROTOCOL.md sections 1-2): fused keystream expansion and
 * modular vector arithmetic. Vectors are m words of width w = 4 (bits <= 32)
 * or 8 (bits > 32) in host order, owned by the caller; every call validates
 * all of its inputs before writing anything. */
#ifndef SECAGG_MASK_H
#define SECAGG_MASK_H

#include <stddef.h>
#include <stdint.h>

/* Returns SECAGG_OK if every word of vec is < 2^bits, SECAGG_ERR_RANGE if one
 * is not, SECAGG_ERR_BITS for bits outside 1..64. Reads only. */
int secagg_vec_check(const void *vec, size_t m, int bits);

/* acc = acc + x mod 2^bits (elementwise), in place in the caller's acc.
 * Returns SECAGG_ERR_RANGE (acc untouched) if a word of acc or x is >= 2^bits. */
int secagg_vec_add(void *acc, const void *x, size_t m, int bits);

/* acc = acc - x mod 2^bits; same contract as secagg_vec_add. */
int secagg_vec_sub(void *acc, const void *x, size_t m, int bits);

/* For each j < nkeys: vec += signs[j] * PRG(keys[16j .. 16j+16]) mod 2^bits,
 * in place in the caller's vec, with implementation `impl`. signs[j] must be
 * +1 or -1 (SECAGG_ERR_ARG otherwise). The keystream is generated in
 * cache-sized slices fused with the arithmetic; no whole mask is ever held.
 * Returns SECAGG_ERR_RANGE (vec untouched) if a word of vec is >= 2^bits,
 * SECAGG_ERR_NOMEM if the key schedules cannot be allocated. */
int secagg_mask_apply(int impl, void *vec, size_t m, int bits, const uint8_t *keys, size_t nkeys,
                      const int8_t *signs);

/* secagg_mask_apply on a part of a longer vector: vec[0] is word
 * first_block * 16 / w of the whole, so each key's keystream starts at
 * counter block first_block instead of 0. Parts of one vector can then be
 * masked independently (in parallel threads) with the bytes of one call.
 * SECAGG_ERR_ARG if first_block + ceil(m*w/16) would pass 2^60 blocks. */
int secagg_mask_apply_at(int impl, void *vec, size_t m, int bits, const uint8_t *keys,
                         size_t nkeys, const int8_t *signs, uint64_t first_block);

/* For each j < nstreams: vec += signs[j] * (stream j) mod 2^bits, in place in
 * the caller's vec, where stream j is bytes [j*m*w, (j+1)*m*w) of ks read as
 * little-endian words of width w: the arithmetic of masking for keystream
 * made outside the core (one slice of each key's keystream). kslen must be
 * nstreams*m*w (SECAGG_ERR_LENGTH); signs[j] must be +1 or -1
 * (SECAGG_ERR_ARG). Returns SECAGG_ERR_RANGE (vec untouched) if a word of
 * vec is >= 2^bits. Reads ks and signs, writes only vec. */
int secagg_mask_add_streams(void *vec, size_t m, int bits, const uint8_t *ks, size_t kslen,
                            const int8_t *signs, size_t nstreams);

#endif

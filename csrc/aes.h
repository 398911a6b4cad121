/* AES-128-CTR keystream (PROTOCOL.md section 2): the public entry points.
 * Implementations are numbered 0..secagg_impl_count()-1, best first; every
 * entry point takes the number of the implementation to use. */
#ifndef SECAGG_AES_H
#define SECAGG_AES_H

#include <stddef.h>
#include <stdint.h>

/* Returns how many implementations are compiled in (supported or not). */
int secagg_impl_count(void);

/* Returns the static name of implementation `impl`, or NULL if out of range. */
const char *secagg_impl_name(int impl);

/* Returns 1 if this CPU and OS can run implementation `impl`, else 0. */
int secagg_impl_supported(int impl);

/* Writes nbytes of AES-128-CTR keystream for `key` (keylen must be 16) into
 * the caller's `out`, starting at the 128-bit big-endian counter block
 * `counter` (counterlen must be 16). Returns SECAGG_ERR_OVERFLOW if the
 * counter would wrap past 2^128. */
int secagg_keystream(int impl, const uint8_t *key, size_t keylen, const uint8_t *counter,
                     size_t counterlen, uint8_t *out, size_t nbytes);

/* Writes the mask vector of `key` into the caller's `out`: m words of width
 * w = 4 (bits <= 32) or 8, word i = little-endian keystream word i mod 2^bits,
 * stored in host order. `out` must hold m*w bytes. */
int secagg_expand(int impl, const uint8_t *key, size_t keylen, int bits, void *out, size_t m);

#endif

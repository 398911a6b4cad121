/* Reed-Solomon decoding of Shamir shares over GF(2^61 - 1) (Gao's decoder),
 * for robust reconstruction (PROTOCOL.md section 9). */
#ifndef SECAGG_RS_H
#define SECAGG_RS_H

#include <stddef.h>
#include <stdint.h>

#include "secagg_common.h"

/* Decodes one secret_len-byte secret from the shares of h >= t holders,
 * treating each chunk as a Reed-Solomon codeword of dimension t and
 * correcting up to floor((h - t) / 2) wrong shares per chunk.
 * xs: h distinct evaluation points (1 <= x < p). shares: h shares of
 * secagg_shamir_share_size(secret_len) bytes, holder by holder (shares_len
 * must equal the total). out: secret_len bytes. wrong: h bytes, set to 1 for
 * each holder whose share disagrees with a decoded polynomial, else 0.
 * Returns SECAGG_OK; THRESHOLD, TOO_FEW (h < t), ZERO_X, DUPLICATE_X, LENGTH,
 * RANGE (a share value >= p), OVERFLOW, NOMEM, NULL on bad input; DECODE when
 * some chunk is not within the correction bound of any codeword; CHUNK when a
 * decoded chunk does not fit its byte length. Beyond the bound the decoder
 * may also return another codeword: callers must check the result. On any
 * error out and wrong are zeroed. Time O(h^2) per chunk; never loops
 * unboundedly. The caller owns every buffer. */
int secagg_rs_decode(const uint64_t *xs, size_t h, size_t t,
                     const uint8_t *shares, size_t shares_len, size_t secret_len,
                     uint8_t *out, size_t out_len, uint8_t *wrong, size_t wrong_len);

#endif

#ifndef SECAGG_COMMON_H
#define SECAGG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define SECAGG_OK                 0
#define SECAGG_ERR_NULL          -1  /* a required pointer was NULL */
#define SECAGG_ERR_LENGTH        -2  /* a buffer length does not match what the call needs */
#define SECAGG_ERR_BITS          -3  /* bit width outside 1..64 or not fitting the word width */
#define SECAGG_ERR_RANGE         -4  /* an input value is out of range (word >= 2^b, share >= p) */
#define SECAGG_ERR_IMPL          -5  /* requested implementation unknown or not supported by this CPU */
#define SECAGG_ERR_DUPLICATE_X   -6  /* two evaluation points are equal */
#define SECAGG_ERR_ZERO_X        -7  /* an evaluation point is 0 (or >= p) */
#define SECAGG_ERR_THRESHOLD     -8  /* threshold t < 1 or larger than allowed */
#define SECAGG_ERR_TOO_FEW       -9  /* fewer shares than the threshold */
#define SECAGG_ERR_DECODE       -10  /* Reed-Solomon decoding failed (too many errors) */
#define SECAGG_ERR_PADDING      -11  /* non-zero padding bits in a packed vector */
#define SECAGG_ERR_OVERFLOW     -12  /* a size computation would overflow */
#define SECAGG_ERR_NOMEM        -13  /* memory allocation failed */
#define SECAGG_ERR_CHUNK        -14  /* a reconstructed chunk is out of its byte range */
#define SECAGG_ERR_ARG          -15  /* another invalid argument */

/* Returns a static, NUL-terminated description of a status code (never NULL). */
const char *secagg_strerror(int code);

/* Returns the core's version string (static storage). */
const char *secagg_version(void);

#endif

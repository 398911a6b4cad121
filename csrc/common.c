#include "secagg_common.h"

const char *secagg_strerror(int code) {
    switch (code) {
    case SECAGG_OK: return "success";
    case SECAGG_ERR_NULL: return "a required pointer was NULL";
    case SECAGG_ERR_LENGTH: return "a buffer length does not match what the call needs";
    case SECAGG_ERR_BITS: return "bit width outside 1..64 or wider than the storage word";
    case SECAGG_ERR_RANGE: return "an input value is out of range";
    case SECAGG_ERR_IMPL: return "implementation unknown or not supported by this CPU";
    case SECAGG_ERR_DUPLICATE_X: return "two evaluation points are equal";
    case SECAGG_ERR_ZERO_X: return "an evaluation point is 0 or not below p";
    case SECAGG_ERR_THRESHOLD: return "invalid threshold";
    case SECAGG_ERR_TOO_FEW: return "fewer shares than the threshold";
    case SECAGG_ERR_DECODE: return "Reed-Solomon decoding failed";
    case SECAGG_ERR_PADDING: return "non-zero padding bits in a packed vector";
    case SECAGG_ERR_OVERFLOW: return "a size computation would overflow";
    case SECAGG_ERR_NOMEM: return "memory allocation failed";
    case SECAGG_ERR_CHUNK: return "a reconstructed chunk is out of its byte range";
    case SECAGG_ERR_ARG: return "invalid argument";
    default: return "unknown error";
    }
}

const char *secagg_version(void) { return "0.1.0"; }

/* secagg C core: umbrella header. Plain C11, no Python.
 * Every exported symbol starts with secagg_. Functions that can fail return
 * int: 0 on success, a negative SECAGG_ERR_* code otherwise, and write only
 * into buffers the caller owns. */
#ifndef SECAGG_H
#define SECAGG_H

#include "secagg_common.h"

#include "aes.h"
#include "mask.h"
#include "pack.h"

#include "shamir.h"
#include "rs.h"

#endif

"""Wrappers of the compiled core's GF(2^61 - 1) arithmetic, Shamir sharing and
Reed-Solomon decoding (csrc/gf61.c, csrc/shamir.c, csrc/rs.c).

Like :mod:`secagg._core`, one thin function per C entry point, reached
through the compiled module that :mod:`secagg._core` loads; arguments are
validated by :mod:`secagg.shamir` (with messages naming the values) and the
status mapping here is the backstop for anything that reaches C anyway.
"""

from __future__ import annotations

import numpy as _np

from . import exceptions as _exc
from ._core import check_status, ffi, lib
from .exceptions import InvalidInputError


def _shamir_status(code: int, what: str) -> None:
    """Map Shamir/Reed-Solomon status codes to the package's exceptions."""
    if code == 0:
        return
    message = ffi.string(lib.secagg_strerror(code)).decode()
    if code == lib.SECAGG_ERR_RANGE:
        raise _exc.MalformedMessageError(
            f"{what}: {message}: a share value is not below p (status {code})."
        )
    if code == lib.SECAGG_ERR_TOO_FEW:
        raise _exc.NotEnoughSharesError(f"{what}: {message} (status {code}).")
    if code in (lib.SECAGG_ERR_DECODE, lib.SECAGG_ERR_CHUNK):
        raise _exc.DecodingError(f"{what}: {message} (status {code}).")
    check_status(code, what)


def _u64_array(values: object, what: str) -> _np.ndarray:
    arr = _np.ascontiguousarray(values, dtype=_np.uint64)
    if arr.ndim != 1:
        raise InvalidInputError(f"{what} must be one-dimensional, got shape {arr.shape}.")
    return arr


def gf61_vec(op: int, a: object, b: object | None = None) -> _np.ndarray:
    """Element-wise GF(2^61 - 1) operation ``op`` (``lib.SECAGG_GF61_*``) on uint64 arrays."""
    aa = _u64_array(a, "a")
    bb = _u64_array(aa if b is None else b, "b")
    if bb.shape != aa.shape:
        raise InvalidInputError(f"operands differ in length: {aa.shape[0]} and {bb.shape[0]}.")
    out = _np.empty_like(aa)
    code = lib.secagg_gf61_vec(
        op,
        ffi.from_buffer("uint64_t[]", aa),
        ffi.from_buffer("uint64_t[]", bb),
        ffi.from_buffer("uint64_t[]", out, require_writable=True),
        aa.shape[0],
    )
    check_status(code, "GF(2^61 - 1) operation")
    return out


def shamir_split(secrets: list[bytes], t: int, xs: object, rand: bytes) -> bytes:
    """Split ``secrets`` for holders ``xs``; all shares, secret by secret, holder by holder."""
    xa = _u64_array(xs, "xs")
    lens = _np.array([len(s) for s in secrets], dtype=_np.uintp)
    out_len = sum(int(lib.secagg_shamir_share_size(len(s))) for s in secrets) * xa.shape[0]
    out = bytearray(out_len)
    code = lib.secagg_shamir_split(
        ffi.from_buffer("uint8_t[]", b"".join(secrets)),
        ffi.from_buffer("size_t[]", lens),
        len(secrets),
        t,
        ffi.from_buffer("uint64_t[]", xa),
        xa.shape[0],
        ffi.from_buffer("uint8_t[]", rand),
        len(rand),
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        out_len,
    )
    _shamir_status(code, "Shamir split")
    return bytes(out)


def shamir_lagrange_at_zero(xs: object) -> _np.ndarray:
    """Lagrange coefficients at 0 (uint64 array) for distinct nonzero points ``xs``."""
    xa = _u64_array(xs, "xs")
    out = _np.empty_like(xa)
    code = lib.secagg_shamir_lagrange_at_zero(
        ffi.from_buffer("uint64_t[]", xa),
        xa.shape[0],
        ffi.from_buffer("uint64_t[]", out, require_writable=True),
    )
    _shamir_status(code, "Lagrange coefficients")
    return out


def shamir_reconstruct(xs: object, t: int, shares: bytes, n_secrets: int, secret_len: int) -> bytes:
    """Reconstruct ``n_secrets`` secrets from one holder set (first ``t`` of ``xs`` used)."""
    xa = _u64_array(xs, "xs")
    out = bytearray(n_secrets * secret_len)
    code = lib.secagg_shamir_reconstruct(
        ffi.from_buffer("uint64_t[]", xa),
        xa.shape[0],
        t,
        ffi.from_buffer("uint8_t[]", shares),
        len(shares),
        n_secrets,
        secret_len,
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        len(out),
    )
    _shamir_status(code, "Shamir reconstruction")
    return bytes(out)


def rs_decode(xs: object, t: int, shares: bytes, secret_len: int) -> tuple[bytes, bytes]:
    """Reed-Solomon decode one secret; returns (secret, one flag byte per holder: 1 = wrong)."""
    xa = _u64_array(xs, "xs")
    h = xa.shape[0]
    out = bytearray(secret_len)
    wrong = bytearray(h)
    code = lib.secagg_rs_decode(
        ffi.from_buffer("uint64_t[]", xa),
        h,
        t,
        ffi.from_buffer("uint8_t[]", shares),
        len(shares),
        secret_len,
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        len(out),
        ffi.from_buffer("uint8_t[]", wrong, require_writable=True),
        h,
    )
    _shamir_status(code, "Reed-Solomon decoding")
    return bytes(out), bytes(wrong)

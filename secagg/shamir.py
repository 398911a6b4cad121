"""Shamir secret sharing over GF(p), p = 2^61 - 1 (PROTOCOL.md section 3).

An L-byte secret is cut into ``ceil(L/7)`` little-endian chunks of 7 bytes
(the last one shorter); every chunk is the constant term of its own random
polynomial of degree ``t - 1``. Holder ``x`` receives the values of those
polynomials at ``x``: a share of ``8 * ceil(L/7)`` bytes (one 8-byte
little-endian value per chunk). Any ``t`` shares give the secret back by
Lagrange interpolation at 0; ``t - 1`` shares are consistent with every
secret. With more than ``t`` shares, :func:`decode` also corrects wrong ones
(Reed-Solomon, Gao's decoder) and names the holders that sent them.

The arithmetic runs in the compiled core, without branches or memory accesses
that depend on secret values. Randomness comes from ``os.urandom`` unless a
caller (a test) passes the exact random bytes to use.

Example:
    >>> shares = split([b"attack at dawn"], t=2, xs=[1, 2, 3])[0]
    >>> reconstruct([3, 1], [shares[2], shares[0]], t=2, secret_len=14)
    b'attack at dawn'
"""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence

import numpy as np

from . import _core_gf61
from .exceptions import (
    DecodingError,
    InvalidInputError,
    MalformedMessageError,
    NotEnoughSharesError,
)

__all__ = [
    "P",
    "share_size",
    "random_bytes_needed",
    "split",
    "lagrange_at_zero",
    "reconstruct",
    "reconstruct_many",
    "decode",
]

P = 2**61 - 1
"""The field modulus, the Mersenne prime 2^61 - 1."""

_BytesLike = bytes | bytearray | memoryview


def _int(value: object, name: str) -> int:
    """``value`` as a Python int (bool refused), or InvalidInputError."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be an integer, got the bool {value!r}.")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidInputError(
            f"{name} must be an integer, got {type(value).__name__} {value!r}."
        ) from None


def _secret_len(secret_len: object) -> int:
    n = _int(secret_len, "secret_len")
    if n < 1:
        raise InvalidInputError(f"secret_len must be at least 1 byte, got {n}.")
    return n


def _threshold(t: object) -> int:
    tt = _int(t, "the threshold t")
    if tt < 1:
        raise InvalidInputError(f"the threshold t must be at least 1, got {tt}.")
    return tt


def _xs(xs: Sequence[int], what: str = "xs") -> np.ndarray:
    """Validated evaluation points (1 <= x < p, distinct) as a uint64 array."""
    if isinstance(xs, (str, bytes, bytearray)):
        raise InvalidInputError(f"{what} must be a sequence of integers, got {type(xs).__name__}.")
    values = [_int(x, f"evaluation point {what}[{i}]") for i, x in enumerate(xs)]
    for i, x in enumerate(values):
        if not 1 <= x < P:
            raise InvalidInputError(
                f"evaluation point {what}[{i}] = {x} is outside 1..p-1 (p = 2^61 - 1); "
                "x = 0 would hand out the secret itself."
            )
    if len(set(values)) != len(values):
        seen: dict[int, int] = {}
        for i, x in enumerate(values):
            if x in seen:
                raise InvalidInputError(
                    f"evaluation point {x} appears twice in {what} (positions {seen[x]} and {i}); "
                    "the points must be distinct."
                )
            seen[x] = i
    return np.array(values, dtype=np.uint64)


def _bytes(value: object, name: str) -> bytes:
    if not isinstance(value, _BytesLike):
        raise InvalidInputError(f"{name} must be bytes, got {type(value).__name__}.")
    return bytes(value)


def share_size(secret_len: int) -> int:
    """Byte length of one share of a ``secret_len``-byte secret.

    Args:
        secret_len: length of the secret in bytes (at least 1).

    Returns:
        ``8 * ceil(secret_len / 7)`` (40 for a 32-byte secret).

    Raises:
        InvalidInputError: ``secret_len`` is not a positive integer.
    """
    return 8 * (-(-_secret_len(secret_len) // 7))


def random_bytes_needed(secret_len: int, t: int) -> int:
    """Random bytes one split of one ``secret_len``-byte secret consumes at threshold ``t``.

    Args:
        secret_len: length of the secret in bytes (at least 1).
        t: the threshold (at least 1).

    Returns:
        ``8 * (t - 1) * ceil(secret_len / 7)``.

    Raises:
        InvalidInputError: ``secret_len`` or ``t`` is not a positive integer.
    """
    return (_threshold(t) - 1) * share_size(secret_len)


def split(
    secrets: Sequence[bytes],
    t: int,
    xs: Sequence[int],
    rand: bytes | None = None,
) -> list[list[bytes]]:
    """Shamir-share several secrets for the same holders.

    Args:
        secrets: the secrets (at least 1 byte each; lengths may differ).
        t: the threshold: any ``t`` shares reconstruct, ``t - 1`` reveal nothing.
            The protocol requires ``t >= 2``; ``t = 1`` (every share equals the
            secret's chunks) is accepted here for completeness.
        xs: the holders' evaluation points (their ids): distinct, ``1 <= x < p``.
        rand: for deterministic tests only: the random bytes to use, one buffer
            of ``random_bytes_needed(len(s), t)`` bytes per secret,
            concatenated in the order of ``secrets``. ``None`` (the default)
            draws fresh bytes from ``os.urandom``.

    Returns:
        ``result[i][j]``: the share of ``secrets[i]`` for holder ``xs[j]``.

    Raises:
        InvalidInputError: a bad secret, threshold, point list or ``rand`` length,
            or ``t`` larger than the number of holders.
    """
    if isinstance(secrets, _BytesLike):
        raise InvalidInputError("secrets must be a sequence of byte strings, not one byte string.")
    blobs = [_bytes(s, f"secrets[{i}]") for i, s in enumerate(secrets)]
    for i, s in enumerate(blobs):
        if not s:
            raise InvalidInputError(f"secrets[{i}] is empty; a secret must have at least 1 byte.")
    tt = _threshold(t)
    xa = _xs(xs)
    if tt > len(xa):
        raise InvalidInputError(
            f"the threshold t = {tt} exceeds the {len(xa)} holders; "
            "the secret could never be reconstructed."
        )
    need = sum(random_bytes_needed(len(s), tt) for s in blobs)
    if rand is None:
        rnd = os.urandom(need)
    else:
        rnd = _bytes(rand, "rand")
        if len(rnd) != need:
            raise InvalidInputError(
                f"rand holds {len(rnd)} bytes but splitting {len(blobs)} secret(s) of "
                f"{[len(s) for s in blobs]} bytes at t = {tt} needs exactly {need}."
            )
    if not blobs:
        return []
    out = _core_gf61.shamir_split(blobs, tt, xa, rnd)
    result: list[list[bytes]] = []
    pos = 0
    for s in blobs:
        size = share_size(len(s))
        result.append([out[pos + j * size : pos + (j + 1) * size] for j in range(len(xa))])
        pos += size * len(xa)
    return result


def lagrange_at_zero(xs: Sequence[int]) -> list[int]:
    """Lagrange coefficients at 0: ``f(0) = sum(l_j * f(x_j))`` for any ``f`` of degree < len(xs).

    Args:
        xs: distinct evaluation points, ``1 <= x < p`` (at least one).

    Returns:
        One coefficient in ``0..p-1`` per point, in the order of ``xs``.

    Raises:
        InvalidInputError: empty ``xs``, a point out of range, or a repeated point.
    """
    xa = _xs(xs)
    if len(xa) == 0:
        raise InvalidInputError("lagrange_at_zero needs at least one evaluation point, got none.")
    return [int(v) for v in _core_gf61.shamir_lagrange_at_zero(xa)]


def _share_blob(shares: Sequence[bytes], xs: np.ndarray, size: int, what: str) -> bytes:
    """Concatenate shares after checking their length and that every value is < p."""
    parts = []
    for j, share in enumerate(shares):
        if not isinstance(share, _BytesLike):
            raise MalformedMessageError(
                f"{what} of holder {int(xs[j])} must be bytes, got {type(share).__name__}."
            )
        if len(share) != size:
            raise MalformedMessageError(
                f"{what} of holder {int(xs[j])} is {len(share)} bytes; expected {size}."
            )
        parts.append(bytes(share))
    blob = b"".join(parts)
    values = np.frombuffer(blob, dtype="<u8")
    bad = np.flatnonzero(values >= P)
    if bad.size:
        k = int(bad[0])
        raise MalformedMessageError(
            f"{what} of holder {int(xs[k // (size // 8)])}: value {k % (size // 8)} "
            "(0-based) is not below p = 2^61 - 1."
        )
    return blob


def _check_pairs(xs: Sequence[int], n_shares: int, what: str) -> None:
    if len(xs) != n_shares:
        raise InvalidInputError(
            f"{len(xs)} evaluation points but {n_shares} {what}; they must pair up."
        )


def reconstruct_many(
    xs: Sequence[int],
    shares: Sequence[Sequence[bytes]],
    t: int,
    secret_len: int,
) -> list[bytes]:
    """Reconstruct several secrets held by the same holders, with one Lagrange computation.

    Exactly the first ``t`` holders are used; further ones are ignored (use
    :func:`decode` to make use of redundant shares).

    Args:
        xs: the holders' evaluation points.
        shares: ``shares[i][j]`` is the share of secret ``i`` from holder ``xs[j]``.
        t: the threshold the secrets were split with.
        secret_len: the length of every secret in bytes.

    Returns:
        The secrets, in the order of ``shares``.

    Raises:
        InvalidInputError: bad ``t``, ``secret_len`` or points (out of range or
            repeated), or a share list that does not pair up with ``xs``.
        NotEnoughSharesError: fewer than ``t`` holders.
        MalformedMessageError: a share of the wrong length or with a value >= p.
        DecodingError: a reconstructed chunk does not fit its byte length (the
            shares are wrong or do not belong together).
    """
    tt = _threshold(t)
    size = share_size(secret_len)
    if isinstance(xs, (str, bytes, bytearray)):
        raise InvalidInputError(f"xs must be a sequence of integers, got {type(xs).__name__}.")
    for i, row in enumerate(shares):
        if isinstance(row, _BytesLike):
            raise InvalidInputError(
                f"shares[{i}] must be a sequence of shares (one per holder), not one byte string."
            )
        _check_pairs(xs, len(row), f"shares of secret {i}")
    if len(xs) < tt:
        raise NotEnoughSharesError(
            f"{len(xs)} shares available but the threshold is t = {tt}; "
            f"reconstruction needs {tt - len(xs)} more."
        )
    xa = _xs(list(xs)[:tt])
    blob = b"".join(
        _share_blob(list(row)[:tt], xa, size, f"share of secret {i}")
        for i, row in enumerate(shares)
    )
    if not shares:
        return []
    try:
        out = _core_gf61.shamir_reconstruct(xa, tt, blob, len(shares), secret_len)
    except DecodingError:
        raise DecodingError(
            f"reconstruction from holders {[int(x) for x in xa]} at t = {tt} gave a chunk that "
            f"does not fit a {secret_len}-byte secret: some share is wrong or the shares "
            "do not belong to the same secret."
        ) from None
    return [out[i * secret_len : (i + 1) * secret_len] for i in range(len(shares))]


def reconstruct(xs: Sequence[int], shares: Sequence[bytes], t: int, secret_len: int) -> bytes:
    """Reconstruct one secret from the shares of the first ``t`` holders.

    Args:
        xs: the holders' evaluation points, paired with ``shares``.
        shares: ``shares[j]`` is the share of holder ``xs[j]``.
        t: the threshold the secret was split with.
        secret_len: the secret's length in bytes.

    Returns:
        The secret.

    Raises:
        InvalidInputError: bad ``t``, ``secret_len`` or points, or ``xs`` and
            ``shares`` of different lengths.
        NotEnoughSharesError: fewer than ``t`` shares.
        MalformedMessageError: a share of the wrong length or with a value >= p.
        DecodingError: a reconstructed chunk does not fit its byte length.
    """
    if isinstance(shares, _BytesLike):
        raise InvalidInputError("shares must be a sequence of shares, not one byte string.")
    return reconstruct_many(xs, [shares], t, secret_len)[0]


def decode(
    xs: Sequence[int], shares: Sequence[bytes], t: int, secret_len: int
) -> tuple[bytes, tuple[int, ...]]:
    """Reed-Solomon decode a secret from all ``h >= t`` shares, correcting wrong ones.

    Each chunk is decoded as a codeword of dimension ``t`` (Gao's decoder), which
    corrects up to ``floor((h - t) / 2)`` wrong shares. With more wrong shares
    than that, decoding fails or may return another polynomial: the caller must
    check the secret (PROTOCOL.md section 9).

    Args:
        xs: the holders' evaluation points, paired with ``shares``.
        shares: ``shares[j]`` is the share of holder ``xs[j]``.
        t: the threshold the secret was split with.
        secret_len: the secret's length in bytes.

    Returns:
        The secret and the sorted ids of the holders whose shares disagree with
        the decoded polynomials.

    Raises:
        InvalidInputError: bad ``t``, ``secret_len`` or points, or ``xs`` and
            ``shares`` of different lengths.
        NotEnoughSharesError: fewer than ``t`` shares.
        MalformedMessageError: a share of the wrong length or with a value >= p.
        DecodingError: too many wrong shares to decode.
    """
    tt = _threshold(t)
    size = share_size(secret_len)
    if isinstance(shares, _BytesLike):
        raise InvalidInputError("shares must be a sequence of shares, not one byte string.")
    if isinstance(xs, (str, bytes, bytearray)):
        raise InvalidInputError(f"xs must be a sequence of integers, got {type(xs).__name__}.")
    _check_pairs(xs, len(shares), "shares")
    if len(xs) < tt:
        raise NotEnoughSharesError(
            f"{len(xs)} shares available but the threshold is t = {tt}; "
            f"decoding needs at least {tt}."
        )
    xa = _xs(xs)
    blob = _share_blob(shares, xa, size, "share")
    try:
        secret, wrong = _core_gf61.rs_decode(xa, tt, blob, secret_len)
    except DecodingError as exc:
        raise DecodingError(
            f"Reed-Solomon decoding of a {secret_len}-byte secret from {len(xa)} shares at "
            f"t = {tt} failed ({exc}): more than {(len(xa) - tt) // 2} of them are wrong, "
            "or they do not belong to one secret."
        ) from None
    bad = tuple(sorted(int(xa[j]) for j, flag in enumerate(wrong) if flag))
    return secret, bad

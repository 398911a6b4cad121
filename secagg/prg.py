"""The PRG of PROTOCOL.md section 2: HKDF-SHA256 key derivation and AES-128-CTR.

The keystream comes from the compiled core, which carries several
implementations (VAES on zmm or ymm, AES-NI, and a portable constant-time
bitsliced one). The best one this CPU supports is chosen once at import; the
environment variable ``SECAGG_IMPL=<name>`` forces one for the whole process
(import fails if the CPU cannot run it), and every entry point takes an
``impl=`` argument so a single process can check them all against each other.

Example:
    >>> key = derive_key(bytes(32), bytes(32), self_purpose())
    >>> len(keystream(key, 40))
    40
"""

from __future__ import annotations

import hmac
import os

import numpy as np

from . import _core
from .exceptions import InvalidInputError

__all__ = [
    "KEY_SIZE",
    "MAX_EXPAND_BYTES",
    "implementations",
    "selected_implementation",
    "derive_key",
    "self_purpose",
    "pair_purpose",
    "keystream",
    "expand",
]

KEY_SIZE = 16
"""Bytes in an AES-128 PRG key."""

MAX_EXPAND_BYTES = 2**36
"""Most keystream bytes one key may expand into a mask (PROTOCOL.md section 2)."""

_INFO_PREFIX = b"secagg/v1/prg/"
_SECRET_SIZE = 32
_SESSION_ID_SIZE = 32

_TABLE = _core.impl_table()
_INDEX = {name: i for i, (name, _) in enumerate(_TABLE)}
_SUPPORTED = tuple(name for name, ok in _TABLE if ok)


def _choose_default() -> str:
    forced = os.environ.get("SECAGG_IMPL")
    if forced is None or forced == "":
        return _SUPPORTED[0]
    if forced not in _INDEX:
        raise InvalidInputError(
            f"SECAGG_IMPL={forced!r} names no keystream implementation; known: {', '.join(_INDEX)}."
        )
    if forced not in _SUPPORTED:
        raise InvalidInputError(
            f"SECAGG_IMPL={forced!r} is not supported by this CPU; "
            f"supported here: {', '.join(_SUPPORTED)}."
        )
    return forced


_SELECTED = _choose_default()


def implementations() -> tuple[str, ...]:
    """Names of the keystream implementations this CPU supports, best first.

    Returns:
        A tuple such as ``("vaes512", "vaes256", "aesni", "portable")``;
        ``"portable"`` is always present.
    """
    return _SUPPORTED


def selected_implementation() -> str:
    """Name of the implementation used when a call passes no ``impl=``.

    Returns:
        The best supported implementation, or the one forced by ``SECAGG_IMPL``.
    """
    return _SELECTED


def resolve_impl(impl: str | None) -> int:
    """Index in the compiled table of implementation ``impl`` (None: the selected one).

    Raises:
        InvalidInputError: if ``impl`` is unknown or not supported by this CPU.
    """
    name = _SELECTED if impl is None else impl
    if not isinstance(name, str) or name not in _INDEX:
        raise InvalidInputError(
            f"Unknown keystream implementation {impl!r}; known: {', '.join(_INDEX)}."
        )
    if name not in _SUPPORTED:
        raise InvalidInputError(
            f"Keystream implementation {name!r} is not supported by this CPU; "
            f"supported here: {', '.join(_SUPPORTED)}."
        )
    return _INDEX[name]


def _check_id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{what} must be a client id (an integer >= 1), got {value!r}.")
    return value


def self_purpose() -> str:
    """The purpose label of a client's self mask: ``"self"``."""
    return "self"


def pair_purpose(u: int, v: int) -> str:
    """The purpose label of the pairwise mask of clients u and v: ``"pair:<min>:<max>"``.

    Args:
        u: one client id (>= 1).
        v: the other client id (>= 1, different from u).

    Returns:
        The label, with the smaller id first, in decimal without leading zeros.

    Raises:
        InvalidInputError: if an id is not a positive integer or u == v.
    """
    u = _check_id(u, "u")
    v = _check_id(v, "v")
    if u == v:
        raise InvalidInputError(f"A pairwise mask needs two different clients, got u = v = {u}.")
    return f"pair:{min(u, v)}:{max(u, v)}"


def _check_purpose(purpose: object) -> bytes:
    if not isinstance(purpose, str):
        raise InvalidInputError(f"purpose must be a str, got {type(purpose).__name__}.")
    if purpose == "self":
        return purpose.encode("ascii")
    parts = purpose.split(":")
    ok = len(parts) == 3 and parts[0] == "pair"
    if ok:
        a, b = parts[1], parts[2]
        ok = all(p.isascii() and p.isdigit() and p[0] != "0" for p in (a, b)) and int(a) < int(b)
    if not ok:
        raise InvalidInputError(
            f"purpose must be 'self' or 'pair:<min id>:<max id>' (decimal, no leading zeros, "
            f"min < max), got {purpose!r}."
        )
    return purpose.encode("ascii")


def _bytes_arg(value: object, what: str, size: int) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"{what} must be bytes, got {type(value).__name__}.")
    data = bytes(value)
    if len(data) != size:
        raise InvalidInputError(f"{what} must be {size} bytes, got {len(data)}.")
    return data


def derive_key(seed: bytes, session_id: bytes, purpose: str) -> bytes:
    """Derive a 16-byte PRG key: HKDF-SHA256(ikm=seed, salt=session_id, info=label).

    The label is ``b"secagg/v1/prg/" + purpose``; HKDF is RFC 5869 with one
    output block truncated to 16 bytes.

    Args:
        seed: the 32-byte secret (b_u for the self mask, the raw X25519 shared
            secret s_uv for a pairwise mask).
        session_id: the 32-byte session id.
        purpose: ``"self"`` or ``"pair:<min id>:<max id>"`` (see ``pair_purpose``).

    Returns:
        The 16-byte AES-128 key.

    Raises:
        InvalidInputError: on a wrong type or length, or a malformed purpose.
    """
    ikm = _bytes_arg(seed, "seed", _SECRET_SIZE)
    salt = _bytes_arg(session_id, "session_id", _SESSION_ID_SIZE)
    info = _INFO_PREFIX + _check_purpose(purpose)
    prk = hmac.digest(salt, ikm, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")[:KEY_SIZE]


def _check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidInputError(f"{what} must be a non-negative integer, got {value!r}.")
    return int(value)


def keystream(key: bytes, nbytes: int, *, counter: int = 0, impl: str | None = None) -> bytes:
    """AES-128-CTR keystream: the encryption of counter blocks counter, counter + 1, ...

    Counter blocks are 128-bit big-endian; with ``counter=0`` the output equals
    pycryptodome's ``AES.new(key, AES.MODE_CTR, nonce=b"", initial_value=0)``
    encrypting zeros.

    Args:
        key: the 16-byte key.
        nbytes: how many bytes to produce (any length; the last block is cut).
        counter: the first counter block as an integer in [0, 2^128).
        impl: implementation name (default: ``selected_implementation()``).

    Returns:
        nbytes of keystream.

    Raises:
        InvalidInputError: on a bad key, length, counter or implementation, or
            if the counter would pass 2^128 (the keystream would repeat).
    """
    key = _bytes_arg(key, "key", KEY_SIZE)
    nbytes = _check_count(nbytes, "nbytes")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter < 2**128:
        raise InvalidInputError(f"counter must be an integer in [0, 2^128), got {counter!r}.")
    blocks = -(-nbytes // 16)
    if counter + blocks > 2**128:
        raise InvalidInputError(
            f"{nbytes} bytes from counter {counter} would pass 2^128 ({blocks} blocks needed); "
            "the counter must not wrap."
        )
    index = resolve_impl(impl)
    return _core.keystream(index, key, counter.to_bytes(16, "big"), nbytes)


def expand(key: bytes, m: int, b: int, *, impl: str | None = None) -> np.ndarray:
    """The mask vector PRG(key) in Z_2^b: word i = little-endian keystream word i mod 2^b.

    Words are 4 bytes for b <= 32 and 8 bytes otherwise (PROTOCOL.md section 2).

    Args:
        key: the 16-byte key.
        m: vector length (m * w <= 2^36).
        b: bit width, 1..64.
        impl: implementation name (default: ``selected_implementation()``).

    Returns:
        A new uint32 (b <= 32) or uint64 array of length m.

    Raises:
        InvalidInputError: on a bad key, m, b or implementation.
    """
    key = _bytes_arg(key, "key", KEY_SIZE)
    m = _check_count(m, "m")
    w = _core.word_dtype(b).itemsize  # type: ignore[attr-defined]
    if m * w > MAX_EXPAND_BYTES:
        raise InvalidInputError(
            f"m * w = {m} * {w} = {m * w} bytes exceeds the 2^36-byte limit of one key."
        )
    return _core.expand(resolve_impl(impl), key, m, b)  # type: ignore[return-value]

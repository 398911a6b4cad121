"""The PRG of PROTOCOL.md section 2: HKDF-SHA256 key derivation and AES-128-CTR.

The keystream has several implementations: the compiled core's (VAES on zmm
or ymm, AES-NI, and a portable constant-time bitsliced one) and ``openssl``,
OpenSSL's AES-128-CTR through pyca/cryptography (when installed) with the
core's masking arithmetic. One is chosen once at import: the best x86 AES
path the CPU has, else ``openssl`` (hardware AES on ARMv8 and others), else
``portable``. The environment variable ``SECAGG_IMPL=<name>`` forces one for
the whole process (import fails if it cannot run here), and every entry point
takes an ``impl=`` argument so a single process can check them all against
each other.

Example:
    >>> key = derive_key(bytes(32), bytes(32), self_purpose())
    >>> len(keystream(key, 40))
    40
"""

from __future__ import annotations

import hmac
import os
import platform

import numpy as np

from . import _core, _openssl
from .exceptions import InvalidInputError

__all__ = [
    "KEY_SIZE",
    "MAX_EXPAND_BYTES",
    "OPENSSL",
    "implementations",
    "selected_implementation",
    "selection_reason",
    "choose_implementation",
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

OPENSSL = "openssl"
"""Name of the implementation whose keystream is OpenSSL's (through pyca/cryptography)."""

_OPENSSL_INDEX = -1  # not an index of the core's table: resolved here, never passed to C
_TABLE = _core.impl_table()
_INDEX = {name: i for i, (name, _) in enumerate(_TABLE)} | {OPENSSL: _OPENSSL_INDEX}

# What cpuid reported for each x86 path of the core (csrc/cpu.c).
_X86_FEATURES = {
    "vaes512": "VAES with AVX-512F/BW (and the OS saving zmm state)",
    "vaes256": "VAES with AVX2 (and the OS saving ymm state)",
    "aesni": "AES-NI with SSSE3 and SSE4.1",
}


def supported_implementations(native: tuple[str, ...], openssl: str | None) -> tuple[str, ...]:
    """The usable implementations, best first: the core's x86 AES paths the CPU runs,
    then ``openssl`` when pyca/cryptography imports, then ``portable``.

    Args:
        native: the core's implementations this CPU supports, best first.
        openssl: the OpenSSL build pyca/cryptography uses, None without it.
    """
    x86 = tuple(name for name in native if name in _X86_FEATURES)
    return x86 + ((OPENSSL,) if openssl is not None else ()) + ("portable",)


def choose_implementation(
    native: tuple[str, ...], openssl: str | None, forced: str | None
) -> tuple[str, str]:
    """The implementation a process uses, and why: the pure selection rule.

    ``SECAGG_IMPL`` (``forced``) wins; else the best x86 AES path of the core;
    else ``openssl``; else ``portable``. Taking the CPU's answer as ``native``
    lets the tests pretend a CPU without AES-NI (as on ARM).

    Args:
        native: the core's implementations this CPU supports, best first.
        openssl: the OpenSSL build pyca/cryptography uses, None without it.
        forced: the value of ``SECAGG_IMPL`` (None or "" if unset).

    Returns:
        (name, reason), the reason a sentence fragment for ``python -m secagg info``.

    Raises:
        InvalidInputError: if ``forced`` names no implementation, or one this
            CPU or installation cannot run (the message says what is missing).
    """
    usable = supported_implementations(native, openssl)
    missing = _openssl.MISSING or "pyca/cryptography is not installed"
    if forced:
        if forced not in _INDEX:
            raise InvalidInputError(
                f"SECAGG_IMPL={forced!r} names no keystream implementation; "
                f"known: {', '.join(_INDEX)}."
            )
        if forced == OPENSSL and openssl is None:
            raise InvalidInputError(
                f"SECAGG_IMPL='openssl' needs pyca/cryptography (pip install 'secagg[fast]'), "
                f"but {missing}."
            )
        if forced not in usable:
            raise InvalidInputError(
                f"SECAGG_IMPL={forced!r} is not supported by this CPU; "
                f"supported here: {', '.join(usable)}."
            )
        build = f" ({openssl})" if forced == OPENSSL else ""
        return forced, f"forced by SECAGG_IMPL={forced}{build}"
    if usable[0] in _X86_FEATURES:
        return usable[0], f"cpuid reports {_X86_FEATURES[usable[0]]}"
    cpu = f"no x86 AES path on this CPU ({platform.machine() or 'unknown machine'})"
    if openssl is not None:
        return OPENSSL, f"{cpu}; AES-128-CTR from {openssl}"
    return "portable", f"{cpu} and {missing}: the bitsliced constant-time path"


_NATIVE = tuple(name for name, ok in _TABLE if ok)
_OPENSSL_BUILD = _openssl.describe() if _openssl.AVAILABLE else None
_SUPPORTED = supported_implementations(_NATIVE, _OPENSSL_BUILD)
_SELECTED, _REASON = choose_implementation(_NATIVE, _OPENSSL_BUILD, os.environ.get("SECAGG_IMPL"))


def implementations() -> tuple[str, ...]:
    """Names of the keystream implementations usable here, best first.

    Returns:
        A tuple such as ``("vaes512", "vaes256", "aesni", "openssl", "portable")``;
        ``"openssl"`` is there when pyca/cryptography imports, ``"portable"`` always.
    """
    return _SUPPORTED


def selected_implementation() -> str:
    """Name of the implementation used when a call passes no ``impl=``.

    Returns:
        The best x86 AES path of the core, else ``openssl``, else ``portable``,
        unless ``SECAGG_IMPL`` forces one.
    """
    return _SELECTED


def selection_reason() -> str:
    """Why ``selected_implementation()`` is the one in use (for ``python -m secagg info``)."""
    return _REASON


def resolve_impl(impl: str | None) -> int:
    """Index in the compiled table of implementation ``impl`` (None: the selected one);
    ``openssl`` has a negative index, handled by this module.

    Raises:
        InvalidInputError: if ``impl`` is unknown or not usable here.
    """
    name = _SELECTED if impl is None else impl
    if not isinstance(name, str) or name not in _INDEX:
        raise InvalidInputError(
            f"Unknown keystream implementation {impl!r}; known: {', '.join(_INDEX)}."
        )
    if name not in _SUPPORTED:
        raise InvalidInputError(
            f"Keystream implementation {name!r} is not usable here "
            f"({_openssl.MISSING if name == OPENSSL else 'the CPU lacks it'}); "
            f"usable: {', '.join(_SUPPORTED)}."
        )
    return _INDEX[name]


def apply_keystreams(
    index: int, vec: np.ndarray, keys: bytes, signs: bytes, b: int, first_block: int = 0
) -> None:
    """vec += sum_j signs[j] * PRG(keys[16j:16j+16]) mod 2^b with implementation ``index``
    (from ``resolve_impl``); keys and signs (int8 bytes) already checked by the caller.
    With ``first_block`` > 0, vec is the part of a longer vector that starts at that
    16-byte counter block."""
    if index == _OPENSSL_INDEX:
        _openssl.mask_apply(vec, keys, signs, b, first_block)
    else:
        _core.mask_apply(index, vec, keys, signs, b, first_block)


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
    if index == _OPENSSL_INDEX:
        out = bytearray(nbytes)
        _openssl.keystream_into(key, counter.to_bytes(16, "big"), out)
        return bytes(out)
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
    index = resolve_impl(impl)
    if index == _OPENSSL_INDEX:
        out = np.zeros(m, dtype=_core.word_dtype(b))  # type: ignore[call-overload]
        _openssl.mask_apply(out, key, b"\x01", b)
        return out
    return _core.expand(index, key, m, b)  # type: ignore[return-value]

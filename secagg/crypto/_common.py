"""What every part of :mod:`secagg.crypto` shares: sizes, argument checks, HKDF.

Also the :class:`Primitives` protocol, the raw library calls each backend
module implements.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Any, Protocol

from ..exceptions import InvalidInputError

#: X25519 keys, Ed25519 seeds and verification keys.
KEY_SIZE = 32
#: AES-GCM nonce.
NONCE_SIZE = 12
#: AES-GCM tag.
TAG_SIZE = 16
#: Ed25519 signature.
SIGNATURE_SIZE = 64
#: Session id (PROTOCOL.md §5).
SESSION_ID_SIZE = 32


class Primitives(Protocol):
    """Raw library calls; inputs are already validated by CryptoBackend."""

    name: str

    def x25519_public(self, sk: bytes) -> bytes: ...
    def x25519(self, sk: bytes, pk: bytes) -> bytes: ...
    def x25519_load(self, sk: bytes) -> Any: ...
    def x25519_with(self, key: Any, pk: bytes) -> bytes: ...
    def gcm_seal(self, key: bytes, nonce: bytes, pt: bytes | memoryview, aad: bytes) -> bytes: ...
    def gcm_open(
        self, key: bytes, nonce: bytes, ct: bytes | memoryview, aad: bytes
    ) -> bytes | None: ...
    def ed25519_public(self, seed: bytes) -> bytes: ...
    def ed25519_sign(self, seed: bytes, msg: bytes) -> bytes: ...
    def ed25519_verify(self, vk: bytes, msg: bytes, sig: bytes) -> bool: ...


def as_bytes(name: str, value: object, size: int | None = None) -> bytes:
    """``value`` as bytes, of exactly ``size`` bytes if given; else InvalidInputError."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"{name} must be bytes, got {type(value).__name__}.")
    data = bytes(value)
    if size is not None and len(data) != size:
        raise InvalidInputError(f"{name} must be {size} bytes, got {len(data)}.")
    return data


def draw(rng: Callable[[int], bytes] | None, size: int, what: str) -> bytes:
    """``size`` bytes from the OS CSPRNG, or from ``rng`` when a test injects one."""
    if rng is None:
        return os.urandom(size)
    out = rng(size)
    return as_bytes(f"the injected rng's output for {what}", out, size)


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869), extract then expand.

    Args:
        ikm: Input keying material.
        salt: Salt (empty means 32 zero bytes, as RFC 5869 says).
        info: Context label.
        length: Output length, 1..8160 bytes.

    Returns:
        ``length`` bytes of output keying material.

    Raises:
        InvalidInputError: Non-bytes argument or length out of range.
    """
    ikm = as_bytes("ikm", ikm)
    salt = as_bytes("salt", salt)
    info = as_bytes("info", info)
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 255 * 32:
        raise InvalidInputError(f"HKDF-SHA256 output length must be 1..8160, got {length!r}.")
    prk = hmac.digest(salt or bytes(32), ikm, "sha256")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        out += block
        counter += 1
    return out[:length]

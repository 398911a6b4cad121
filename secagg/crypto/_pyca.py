"""The pyca/cryptography (OpenSSL) backend: raw library calls, nothing checked here.

Importing this module fails with ImportError where pyca/cryptography is not
installed; :func:`secagg.crypto.get_backend` reports that as the backend being
unavailable.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_INVALID = (InvalidSignature, InvalidTag, ValueError)


class Primitives:
    """The :class:`secagg.crypto._common.Primitives` calls on pyca/cryptography."""

    name = "cryptography"

    def x25519_public(self, sk: bytes) -> bytes:
        return x25519.X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw()

    def x25519(self, sk: bytes, pk: bytes) -> bytes:
        return self.x25519_with(self.x25519_load(sk), pk)

    def x25519_load(self, sk: bytes) -> Any:
        return x25519.X25519PrivateKey.from_private_bytes(sk)

    def x25519_with(self, key: Any, pk: bytes) -> bytes:
        try:
            shared: bytes = key.exchange(x25519.X25519PublicKey.from_public_bytes(pk))
            return shared
        except ValueError:
            # OpenSSL refuses an all-zero result; report it as such.
            return bytes(32)

    def gcm_seal(self, key: bytes, nonce: bytes, pt: bytes | memoryview, aad: bytes) -> bytes:
        return AESGCM(key).encrypt(nonce, pt, aad)

    def gcm_open(
        self, key: bytes, nonce: bytes, ct: bytes | memoryview, aad: bytes
    ) -> bytes | None:
        try:
            return AESGCM(key).decrypt(nonce, ct, aad)
        except _INVALID:
            return None

    def ed25519_public(self, seed: bytes) -> bytes:
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()

    def ed25519_sign(self, seed: bytes, msg: bytes) -> bytes:
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(msg)

    def ed25519_verify(self, vk: bytes, msg: bytes, sig: bytes) -> bool:
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(vk).verify(sig, msg)
        except _INVALID:
            return False
        return True

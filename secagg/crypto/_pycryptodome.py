"""The pycryptodome backend: raw library calls, nothing checked here.

pycryptodome is a required dependency, so this backend is always available;
it needs ``Crypto.Protocol.DH`` (pycryptodome 3.21 or later).
"""

from __future__ import annotations

from typing import Any

from Crypto.Cipher import AES
from Crypto.Protocol import DH
from Crypto.Signature import eddsa

from ._common import TAG_SIZE


class Primitives:
    """The :class:`secagg.crypto._common.Primitives` calls on pycryptodome."""

    name = "pycryptodome"

    def x25519_public(self, sk: bytes) -> bytes:
        key = DH.import_x25519_private_key(sk)
        return bytes(key.public_key().export_key(format="raw"))

    def x25519(self, sk: bytes, pk: bytes) -> bytes:
        return self.x25519_with(self.x25519_load(sk), pk)

    def x25519_load(self, sk: bytes) -> Any:
        return DH.import_x25519_private_key(sk)

    def x25519_with(self, key: Any, pk: bytes) -> bytes:
        try:
            return bytes(
                DH.key_agreement(
                    static_priv=key,
                    static_pub=DH.import_x25519_public_key(pk),
                    kdf=lambda z: bytes(z),
                )
            )
        except ValueError:
            # pycryptodome refuses the point at infinity (all-zero output).
            return bytes(32)

    def gcm_seal(self, key: bytes, nonce: bytes, pt: bytes | memoryview, aad: bytes) -> bytes:
        cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_SIZE)
        cipher.update(aad)
        ct, tag = cipher.encrypt_and_digest(pt)
        return ct + tag

    def gcm_open(
        self, key: bytes, nonce: bytes, ct: bytes | memoryview, aad: bytes
    ) -> bytes | None:
        cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_SIZE)
        cipher.update(aad)
        try:
            return bytes(cipher.decrypt_and_verify(ct[:-TAG_SIZE], ct[-TAG_SIZE:]))
        except ValueError:
            return None

    def ed25519_public(self, seed: bytes) -> bytes:
        key = eddsa.import_private_key(seed)
        return bytes(key.public_key().export_key(format="raw"))

    def ed25519_sign(self, seed: bytes, msg: bytes) -> bytes:
        key = eddsa.import_private_key(seed)
        return bytes(eddsa.new(key, "rfc8032").sign(msg))

    def ed25519_verify(self, vk: bytes, msg: bytes, sig: bytes) -> bool:
        try:
            key = eddsa.import_public_key(vk)
            eddsa.new(key, "rfc8032").verify(msg, sig)
        except (ValueError, TypeError):
            return False
        return True

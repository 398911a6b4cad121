"""Public-key and authenticated-encryption primitives (PROTOCOL.md §4), in one place.

This package is the only place that calls X25519, Ed25519 or AES-GCM. Two backends
give byte-identical results: pyca/cryptography (faster; used when importable)
and pycryptodome (the required dependency). ``SECAGG_CRYPTO_BACKEND`` set to
``cryptography`` or ``pycryptodome`` forces one; it is read once, at import.

Everything here takes and returns ``bytes``; backend key objects never leave
the package. Checks that the two libraries might disagree on (canonical and
small-order X25519 keys, strict Ed25519 encodings, S < L) are done here in
Python, before the library is called, so the answer does not depend on the
backend. HKDF and hashing use the standard library.

The module also builds the fixed byte strings of §4 that are signed, hashed
or committed to.

Inside the package: ``_common`` (sizes, argument checks, HKDF), ``_checks``
(the X25519 key and strict Ed25519 encoding checks), ``_x25519`` and
``_backend`` (the API bound to one library, and choosing it), ``_pyca`` and
``_pycryptodome`` (the raw library calls, the only code that imports either
library) and ``_bytestrings`` (the signed and hashed strings).
"""

from __future__ import annotations

from ._backend import BACKEND_ENV, CryptoBackend, available_backends, get_backend, select_default
from ._bytestrings import (
    COMMIT_SELF,
    SIG_CONFIG,
    SIG_KEYS,
    SIG_SURVIVORS,
    TRANSCRIPT_LABEL,
    advert_message,
    config_message,
    self_commitment,
    survivors_message,
    transcript_hash,
)
from ._checks import SMALL_ORDER_X25519, check_public_key, ed25519_check_encoding
from ._common import (
    KEY_SIZE,
    NONCE_SIZE,
    SESSION_ID_SIZE,
    SIGNATURE_SIZE,
    TAG_SIZE,
    hkdf_sha256,
)
from ._x25519 import ENC_INFO, X25519Key

__all__ = [
    "BACKEND_ENV",
    "CryptoBackend",
    "available_backends",
    "get_backend",
    "backend_name",
    "x25519_keypair",
    "x25519_public",
    "x25519_shared",
    "x25519_shared_many",
    "x25519_load",
    "X25519Key",
    "check_public_key",
    "hkdf_sha256",
    "channel_key",
    "aes_gcm_encrypt",
    "aes_gcm_decrypt",
    "aes_gcm_seal",
    "aes_gcm_open",
    "ed25519_keypair",
    "ed25519_public",
    "ed25519_sign",
    "ed25519_verify",
    "ed25519_check_encoding",
    "advert_message",
    "transcript_hash",
    "survivors_message",
    "config_message",
    "self_commitment",
    "SMALL_ORDER_X25519",
    "KEY_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "SIGNATURE_SIZE",
    "SESSION_ID_SIZE",
    "ENC_INFO",
    "SIG_CONFIG",
    "SIG_KEYS",
    "SIG_SURVIVORS",
    "TRANSCRIPT_LABEL",
    "COMMIT_SELF",
]

_default = select_default()


def backend_name() -> str:
    """Name of the backend the module-level functions use."""
    return _default.name


x25519_keypair = _default.x25519_keypair
x25519_public = _default.x25519_public
x25519_shared = _default.x25519_shared
x25519_shared_many = _default.x25519_shared_many
x25519_load = _default.x25519_load
channel_key = _default.channel_key
aes_gcm_encrypt = _default.aes_gcm_encrypt
aes_gcm_decrypt = _default.aes_gcm_decrypt
aes_gcm_seal = _default.aes_gcm_seal
aes_gcm_open = _default.aes_gcm_open
ed25519_keypair = _default.ed25519_keypair
ed25519_public = _default.ed25519_public
ed25519_sign = _default.ed25519_sign
ed25519_verify = _default.ed25519_verify

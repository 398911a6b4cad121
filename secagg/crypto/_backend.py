"""The backend-bound API: :class:`CryptoBackend` on one library, and choosing the library."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from ..exceptions import InvalidInputError, ProtocolViolationError
from ._checks import ed25519_check_encoding
from ._common import KEY_SIZE, NONCE_SIZE, TAG_SIZE, Primitives, as_bytes, draw
from ._x25519 import KeyAgreement


class CryptoBackend(KeyAgreement):
    """The key-agreement, encryption and signature API on one library.

    Module-level functions use the default backend; tests and benchmarks get
    a specific one from :func:`get_backend`. The X25519 methods come from
    :class:`~secagg.crypto._x25519.KeyAgreement`.
    """

    def __init__(self, primitives: Primitives) -> None:
        """Wrap a library; use :func:`get_backend` rather than this."""
        self._p = primitives

    @property
    def name(self) -> str:
        """``"cryptography"`` or ``"pycryptodome"``."""
        return self._p.name

    def __repr__(self) -> str:
        return f"CryptoBackend({self.name!r})"

    def aes_gcm_encrypt(
        self, key: bytes, plaintext: bytes, aad: bytes, nonce: bytes | None = None
    ) -> bytes:
        """AES-256-GCM: nonce(12) ‖ ciphertext ‖ tag(16).

        Args:
            key: 32-byte key.
            plaintext: Message.
            aad: Associated data.
            nonce: 12 bytes, for tests only; None draws a fresh random nonce.

        Raises:
            InvalidInputError: Wrong key or nonce length.
        """
        nonce = os.urandom(NONCE_SIZE) if nonce is None else as_bytes("nonce", nonce, NONCE_SIZE)
        return nonce + self.aes_gcm_seal(key, nonce, as_bytes("plaintext", plaintext), aad)

    def aes_gcm_decrypt(self, key: bytes, data: bytes, aad: bytes) -> bytes:
        """Open nonce ‖ ciphertext ‖ tag from :meth:`aes_gcm_encrypt`.

        Raises:
            InvalidInputError: Wrong key length or non-bytes input.
            ProtocolViolationError: Too short, or the tag does not verify.
        """
        key = as_bytes("AES-256-GCM key", key, 32)
        data = as_bytes("ciphertext", data)
        if len(data) < NONCE_SIZE + TAG_SIZE:
            raise ProtocolViolationError(
                f"AES-GCM ciphertext is {len(data)} bytes, shorter than nonce + tag "
                f"({NONCE_SIZE + TAG_SIZE})."
            )
        return self.aes_gcm_open(key, data[:NONCE_SIZE], memoryview(data)[NONCE_SIZE:], aad)

    def aes_gcm_seal(
        self, key: bytes, nonce: bytes, plaintext: bytes | memoryview, aad: bytes
    ) -> bytes:
        """AES-256-GCM with the nonce kept apart: ciphertext ‖ tag(16), the same bytes
        :meth:`aes_gcm_encrypt` puts after its nonce. A large plaintext (a view is
        fine) is read in place, not copied first.

        Raises:
            InvalidInputError: Wrong key or nonce length, or a plaintext that is not bytes.
        """
        key = as_bytes("AES-256-GCM key", key, 32)
        nonce = as_bytes("nonce", nonce, NONCE_SIZE)
        return self._p.gcm_seal(key, nonce, _buffer("plaintext", plaintext), as_bytes("aad", aad))

    def aes_gcm_open(
        self, key: bytes, nonce: bytes, sealed: bytes | memoryview, aad: bytes
    ) -> bytes:
        """Open ciphertext ‖ tag from :meth:`aes_gcm_seal` (a view is read in place).

        Raises:
            InvalidInputError: Wrong key or nonce length, or non-bytes input.
            ProtocolViolationError: Shorter than a tag, or the tag does not verify.
        """
        key = as_bytes("AES-256-GCM key", key, 32)
        nonce = as_bytes("nonce", nonce, NONCE_SIZE)
        data = _buffer("ciphertext", sealed)
        if len(data) < TAG_SIZE:
            raise ProtocolViolationError(
                f"AES-GCM ciphertext is {len(data)} bytes, shorter than its tag ({TAG_SIZE})."
            )
        pt = self._p.gcm_open(key, nonce, data, as_bytes("aad", aad))
        if pt is None:
            raise ProtocolViolationError("AES-GCM tag does not verify (wrong key, data or aad).")
        return pt

    def ed25519_keypair(self, rng: Callable[[int], bytes] | None = None) -> tuple[bytes, bytes]:
        """A fresh Ed25519 key pair (32-byte seed, 32-byte verification key).

        Args:
            rng: Source of the seed; None uses the OS CSPRNG (tests only).
        """
        seed = draw(rng, KEY_SIZE, "an Ed25519 seed")
        return seed, self._p.ed25519_public(seed)

    def ed25519_public(self, sk: bytes) -> bytes:
        """The verification key of a 32-byte Ed25519 seed.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return self._p.ed25519_public(as_bytes("Ed25519 seed", sk, KEY_SIZE))

    def ed25519_sign(self, sk: bytes, message: bytes) -> bytes:
        """Pure Ed25519 (RFC 8032) signature, 64 bytes, deterministic.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return self._p.ed25519_sign(
            as_bytes("Ed25519 seed", sk, KEY_SIZE), as_bytes("message", message)
        )

    def ed25519_verify(self, vk: bytes, message: bytes, signature: bytes) -> bool:
        """Strict RFC 8032 §5.1.7 verification.

        Non-canonical A or R encodings, S >= L and wrong lengths are refused
        here, before the library sees them, so both backends agree.

        Returns:
            True exactly when the signature is valid.

        Raises:
            InvalidInputError: An argument is not bytes.
        """
        vk = as_bytes("verification key", vk)
        message = as_bytes("message", message)
        signature = as_bytes("signature", signature)
        if ed25519_check_encoding(vk, signature) is not None:
            return False
        return self._p.ed25519_verify(vk, message, signature)


#: Environment variable that forces the default backend, read once at import.
BACKEND_ENV = "SECAGG_CRYPTO_BACKEND"

# Each backend's module, preferred first; a module imports its library at the top.
_MODULES = {
    "cryptography": "secagg.crypto._pyca",
    "pycryptodome": "secagg.crypto._pycryptodome",
}
_PREFERENCE = ("cryptography", "pycryptodome")
_instances: dict[str, CryptoBackend] = {}


def available_backends() -> tuple[str, ...]:
    """Names of the backends importable here, preferred first."""
    names = []
    for name in _PREFERENCE:
        try:
            get_backend(name)
        except ImportError:
            continue
        names.append(name)
    return tuple(names)


def get_backend(name: str) -> CryptoBackend:
    """The backend called ``name``.

    Raises:
        InvalidInputError: Unknown name.
        ImportError: Its library is not importable.
    """
    if name not in _MODULES:
        raise InvalidInputError(
            f"unknown crypto backend {name!r}; choose one of {', '.join(_PREFERENCE)}."
        )
    backend = _instances.get(name)
    if backend is None:
        try:
            # Imported on demand: pyca/cryptography is optional, and a backend
            # that is never asked for costs no import time.
            module = importlib.import_module(_MODULES[name])
        except ImportError as exc:
            raise ImportError(f"the {name!r} crypto backend is not importable here: {exc}") from exc
        backend = CryptoBackend(module.Primitives())
        _instances[name] = backend
    return backend


def select_default() -> CryptoBackend:
    """The backend ``SECAGG_CRYPTO_BACKEND`` forces, else the first importable one.

    Raises:
        InvalidInputError: The variable names no backend.
        ImportError: The forced backend, or every backend, is not importable.
    """
    forced = os.environ.get(BACKEND_ENV, "").strip()
    if forced:
        if forced not in _MODULES:
            raise InvalidInputError(
                f"{BACKEND_ENV}={forced!r} names no crypto backend; use one of "
                f"{', '.join(_PREFERENCE)}."
            )
        try:
            return get_backend(forced)
        except ImportError as exc:
            raise ImportError(
                f"{BACKEND_ENV}={forced} forces a backend whose library is not importable: {exc}"
            ) from exc
    for name in _PREFERENCE:
        try:
            return get_backend(name)
        except ImportError:
            continue
    raise ImportError("neither pyca/cryptography nor pycryptodome is importable.")


def _buffer(name: str, value: object) -> bytes | memoryview:
    """Bytes, or a flat byte view of a buffer, without copying; else InvalidInputError."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        view = memoryview(value)
        if view.contiguous:
            return view.cast("B") if view.format != "B" or view.ndim != 1 else view
    raise InvalidInputError(f"{name} must be bytes, got {type(value).__name__}.")

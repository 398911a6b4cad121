"""Public-key and authenticated-encryption primitives (PROTOCOL.md §4), in one place.

This is the only module that calls X25519, Ed25519 or AES-GCM. Two backends
give byte-identical results: pyca/cryptography (faster; used when importable)
and pycryptodome (the required dependency). ``SECAGG_CRYPTO_BACKEND`` set to
``cryptography`` or ``pycryptodome`` forces one; it is read once, at import.

Everything here takes and returns ``bytes``; backend key objects never leave
the module. Checks that the two libraries might disagree on (canonical and
small-order X25519 keys, strict Ed25519 encodings, S < L) are done here in
Python, before the library is called, so the answer does not depend on the
backend. HKDF and hashing use the standard library.

The module also builds the fixed byte strings of §4 that are signed, hashed
or committed to, and the LSB-first bitmaps of PROTOCOL.md's notation.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from .exceptions import InvalidInputError, MalformedMessageError, ProtocolViolationError

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
    "bitmap",
    "from_bitmap",
    "SMALL_ORDER_X25519",
]

BACKEND_ENV = "SECAGG_CRYPTO_BACKEND"
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
SIGNATURE_SIZE = 64
SESSION_ID_SIZE = 32
ENC_INFO = b"secagg/v1/enc"
SIG_CONFIG = b"secagg/v1/sig/config"
SIG_KEYS = b"secagg/v1/sig/keys"
SIG_SURVIVORS = b"secagg/v1/sig/survivors"
TRANSCRIPT_LABEL = b"secagg/v1/transcript"
COMMIT_SELF = b"secagg/v1/commit/self"
_U32_MAX = 2**32 - 1

# Curve25519 field prime and Ed25519 group order.
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493

# The canonical u-coordinates (bit 255 clear, u < p) of points of order
# dividing 8 on Curve25519 or its twist: X25519 of any clamped scalar with
# them is all zero (RFC 7748 §6.1). The remaining entries of the usual list
# of such keys (p, p + 1, and variants with bit 255 set) are non-canonical
# and refused by the canonical-encoding check first.
SMALL_ORDER_X25519: frozenset[int] = frozenset(
    {
        0,
        1,
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
        _P - 1,
    }
)


def _as_bytes(name: str, value: object, size: int | None = None) -> bytes:
    """``value`` as bytes, of exactly ``size`` bytes if given; else InvalidInputError."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"{name} must be bytes, got {type(value).__name__}.")
    data = bytes(value)
    if size is not None and len(data) != size:
        raise InvalidInputError(f"{name} must be {size} bytes, got {len(data)}.")
    return data


def _draw(rng: Callable[[int], bytes] | None, size: int, what: str) -> bytes:
    if rng is None:
        return os.urandom(size)
    out = rng(size)
    return _as_bytes(f"the injected rng's output for {what}", out, size)


# ---------------------------------------------------------------- backends


class _Primitives(Protocol):
    """Raw library calls; inputs are already validated by CryptoBackend."""

    name: str

    def x25519_public(self, sk: bytes) -> bytes: ...
    def x25519(self, sk: bytes, pk: bytes) -> bytes: ...
    def x25519_load(self, sk: bytes) -> Any: ...
    def x25519_with(self, key: Any, pk: bytes) -> bytes: ...
    def gcm_seal(self, key: bytes, nonce: bytes, pt: bytes, aad: bytes) -> bytes: ...
    def gcm_open(self, key: bytes, nonce: bytes, ct: bytes, aad: bytes) -> bytes | None: ...
    def ed25519_public(self, seed: bytes) -> bytes: ...
    def ed25519_sign(self, seed: bytes, msg: bytes) -> bytes: ...
    def ed25519_verify(self, vk: bytes, msg: bytes, sig: bytes) -> bool: ...


class _Cryptography:
    name = "cryptography"

    def __init__(self) -> None:
        from cryptography.exceptions import InvalidSignature, InvalidTag
        from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._x = x25519
        self._ed = ed25519
        self._gcm = AESGCM
        self._invalid = (InvalidSignature, InvalidTag, ValueError)

    def x25519_public(self, sk: bytes) -> bytes:
        return self._x.X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw()

    def x25519(self, sk: bytes, pk: bytes) -> bytes:
        return self.x25519_with(self.x25519_load(sk), pk)

    def x25519_load(self, sk: bytes) -> Any:
        return self._x.X25519PrivateKey.from_private_bytes(sk)

    def x25519_with(self, key: Any, pk: bytes) -> bytes:
        try:
            shared: bytes = key.exchange(self._x.X25519PublicKey.from_public_bytes(pk))
            return shared
        except ValueError:
            # OpenSSL refuses an all-zero result; report it as such.
            return bytes(32)

    def gcm_seal(self, key: bytes, nonce: bytes, pt: bytes, aad: bytes) -> bytes:
        return self._gcm(key).encrypt(nonce, pt, aad)

    def gcm_open(self, key: bytes, nonce: bytes, ct: bytes, aad: bytes) -> bytes | None:
        try:
            return self._gcm(key).decrypt(nonce, ct, aad)
        except self._invalid:
            return None

    def ed25519_public(self, seed: bytes) -> bytes:
        return self._ed.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()

    def ed25519_sign(self, seed: bytes, msg: bytes) -> bytes:
        return self._ed.Ed25519PrivateKey.from_private_bytes(seed).sign(msg)

    def ed25519_verify(self, vk: bytes, msg: bytes, sig: bytes) -> bool:
        try:
            self._ed.Ed25519PublicKey.from_public_bytes(vk).verify(sig, msg)
        except self._invalid:
            return False
        return True


class _Pycryptodome:
    name = "pycryptodome"

    def __init__(self) -> None:
        from Crypto.Cipher import AES
        from Crypto.Protocol import DH
        from Crypto.Signature import eddsa

        self._aes = AES
        self._dh = DH
        self._eddsa = eddsa

    def x25519_public(self, sk: bytes) -> bytes:
        key = self._dh.import_x25519_private_key(sk)
        return bytes(key.public_key().export_key(format="raw"))

    def x25519(self, sk: bytes, pk: bytes) -> bytes:
        return self.x25519_with(self.x25519_load(sk), pk)

    def x25519_load(self, sk: bytes) -> Any:
        return self._dh.import_x25519_private_key(sk)

    def x25519_with(self, key: Any, pk: bytes) -> bytes:
        try:
            return bytes(
                self._dh.key_agreement(
                    static_priv=key,
                    static_pub=self._dh.import_x25519_public_key(pk),
                    kdf=lambda z: bytes(z),
                )
            )
        except ValueError:
            # pycryptodome refuses the point at infinity (all-zero output).
            return bytes(32)

    def gcm_seal(self, key: bytes, nonce: bytes, pt: bytes, aad: bytes) -> bytes:
        cipher = self._aes.new(key, self._aes.MODE_GCM, nonce=nonce, mac_len=TAG_SIZE)
        cipher.update(aad)
        ct, tag = cipher.encrypt_and_digest(pt)
        return ct + tag

    def gcm_open(self, key: bytes, nonce: bytes, ct: bytes, aad: bytes) -> bytes | None:
        cipher = self._aes.new(key, self._aes.MODE_GCM, nonce=nonce, mac_len=TAG_SIZE)
        cipher.update(aad)
        try:
            return bytes(cipher.decrypt_and_verify(ct[:-TAG_SIZE], ct[-TAG_SIZE:]))
        except ValueError:
            return None

    def ed25519_public(self, seed: bytes) -> bytes:
        key = self._eddsa.import_private_key(seed)
        return bytes(key.public_key().export_key(format="raw"))

    def ed25519_sign(self, seed: bytes, msg: bytes) -> bytes:
        key = self._eddsa.import_private_key(seed)
        return bytes(self._eddsa.new(key, "rfc8032").sign(msg))

    def ed25519_verify(self, vk: bytes, msg: bytes, sig: bytes) -> bool:
        try:
            key = self._eddsa.import_public_key(vk)
            self._eddsa.new(key, "rfc8032").verify(msg, sig)
        except (ValueError, TypeError):
            return False
        return True


_FACTORIES: dict[str, Callable[[], _Primitives]] = {
    "cryptography": _Cryptography,
    "pycryptodome": _Pycryptodome,
}
_PREFERENCE = ("cryptography", "pycryptodome")


# ---------------------------------------------------------------- stateless helpers


def check_public_key(pk: bytes) -> None:
    """Refuse an X25519 public key that PROTOCOL.md §4 does not allow.

    Args:
        pk: The peer's public key as received.

    Raises:
        ProtocolViolationError: Not 32 bytes, non-canonical (bit 255 set or
            u >= 2^255 - 19), or one of the small-order u-coordinates that give
            an all-zero shared secret.
    """
    if not isinstance(pk, (bytes, bytearray, memoryview)) or len(pk) != KEY_SIZE:
        got = len(pk) if isinstance(pk, (bytes, bytearray, memoryview)) else type(pk).__name__
        raise ProtocolViolationError(f"an X25519 public key must be 32 bytes, got {got}.")
    u = int.from_bytes(bytes(pk), "little")
    if u >> 255:
        raise ProtocolViolationError("X25519 public key is not canonical: its bit 255 is set.")
    if u >= _P:
        raise ProtocolViolationError(
            "X25519 public key is not canonical: its u-coordinate is >= 2^255 - 19."
        )
    if u in SMALL_ORDER_X25519:
        raise ProtocolViolationError(
            "X25519 public key is a small-order point (its shared secret would be all zero)."
        )


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
    ikm = _as_bytes("ikm", ikm)
    salt = _as_bytes("salt", salt)
    info = _as_bytes("info", info)
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 255 * 32:
        raise InvalidInputError(f"HKDF-SHA256 output length must be 1..8160, got {length!r}.")
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _decode_ed25519_y(encoding: bytes, what: str) -> str | None:
    """Why an Ed25519 point encoding is non-canonical (RFC 8032 §5.1.3), or None."""
    y = int.from_bytes(encoding, "little") & ((1 << 255) - 1)
    sign = encoding[31] >> 7
    if y >= _P:
        return f"{what} is not canonical: y >= 2^255 - 19"
    # x = 0 exactly when y^2 = 1; then a set sign bit is a second encoding of (0, y).
    if sign and y in (1, _P - 1):
        return f"{what} is not canonical: x = 0 with the sign bit set"
    return None


def ed25519_check_encoding(vk: bytes, signature: bytes) -> str | None:
    """The reason strict RFC 8032 §5.1.7 verification refuses these encodings, or None.

    Checks lengths, canonical A (the verification key) and R, and S < L.
    Whether the points lie on the curve is left to the library.
    """
    if len(vk) != KEY_SIZE:
        return f"verification key must be 32 bytes, got {len(vk)}"
    if len(signature) != SIGNATURE_SIZE:
        return f"signature must be 64 bytes, got {len(signature)}"
    reason = _decode_ed25519_y(vk, "verification key A")
    if reason is None:
        reason = _decode_ed25519_y(signature[:32], "signature point R")
    if reason is None and int.from_bytes(signature[32:], "little") >= _L:
        reason = "signature scalar S is not below the group order L"
    return reason


def _u32(name: str, value: object) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _U32_MAX:
        raise InvalidInputError(f"{name} must be an integer in 1..{_U32_MAX}, got {value!r}.")
    return struct.pack(">I", value)


def advert_message(session_id: bytes, u: int, c_pk: bytes, s_pk: bytes) -> bytes:
    """The signed key advert A_u = "secagg/v1/sig/keys" ‖ sid ‖ u32be(u) ‖ c_pk ‖ s_pk."""
    return (
        SIG_KEYS
        + _as_bytes("session_id", session_id, SESSION_ID_SIZE)
        + _u32("client id", u)
        + _as_bytes("c_pk", c_pk, KEY_SIZE)
        + _as_bytes("s_pk", s_pk, KEY_SIZE)
    )


def transcript_hash(session_id: bytes, adverts: Mapping[int, tuple[bytes, bytes]]) -> bytes:
    """T = SHA-256("secagg/v1/transcript" ‖ sid ‖ per v in U1 ascending: u32be(v) ‖ c_pk ‖ s_pk).

    Args:
        session_id: The 32-byte session id.
        adverts: Every client of U1 mapped to its (c_pk, s_pk).

    Raises:
        InvalidInputError: Wrong lengths or ids.
    """
    h = hashlib.sha256(TRANSCRIPT_LABEL)
    h.update(_as_bytes("session_id", session_id, SESSION_ID_SIZE))
    for v in sorted(adverts):
        pair = adverts[v]
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InvalidInputError(f"advert of client {v!r} must be a (c_pk, s_pk) pair.")
        h.update(_u32("client id", v))
        h.update(_as_bytes(f"c_pk of client {v}", pair[0], KEY_SIZE))
        h.update(_as_bytes(f"s_pk of client {v}", pair[1], KEY_SIZE))
    return h.digest()


def survivors_message(T: bytes, bitmap: bytes) -> bytes:  # noqa: N803 - PROTOCOL's name
    """The signed survivor list S = "secagg/v1/sig/survivors" ‖ T ‖ bitmap_n(U3)."""
    return SIG_SURVIVORS + _as_bytes("transcript hash T", T, 32) + _as_bytes("bitmap", bitmap)


def config_message(nonce: bytes, canonical: bytes) -> bytes:
    """The config authority's signed string "secagg/v1/sig/config" ‖ nonce ‖ canonical."""
    return SIG_CONFIG + _as_bytes("nonce", nonce, 32) + _as_bytes("canonical config", canonical)


def self_commitment(session_id: bytes, u: int, b_u: bytes) -> bytes:
    """com_u = SHA-256("secagg/v1/commit/self" ‖ sid ‖ u32be(u) ‖ b_u)."""
    return hashlib.sha256(
        COMMIT_SELF
        + _as_bytes("session_id", session_id, SESSION_ID_SIZE)
        + _u32("client id", u)
        + _as_bytes("b_u", b_u, 32)
    ).digest()


def bitmap(ids: Iterable[int], universe: Sequence[int]) -> bytes:
    """The LSB-first bitmap of ``ids`` over the list ``universe``.

    Entry j of ``universe`` is bit (j mod 8) of byte floor(j/8); the result is
    ceil(len(universe)/8) bytes with the unused bits zero.

    Raises:
        InvalidInputError: An id is not in ``universe``, or ``universe``
            repeats an id.
    """
    index = {v: j for j, v in enumerate(universe)}
    if len(index) != len(universe):
        raise InvalidInputError("the bitmap's universe lists an id more than once.")
    out = bytearray((len(universe) + 7) // 8)
    for v in ids:
        j = index.get(v)
        if j is None:
            raise InvalidInputError(f"id {v!r} is not in the bitmap's universe.")
        out[j >> 3] |= 1 << (j & 7)
    return bytes(out)


def from_bitmap(data: bytes, universe: Sequence[int]) -> list[int]:
    """Decode a bitmap over ``universe``; the ids set, in the universe's order.

    Raises:
        MalformedMessageError: Wrong length, or a non-zero unused bit.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedMessageError(f"a bitmap must be bytes, got {type(data).__name__}.")
    data = bytes(data)
    size = len(universe)
    if len(data) != (size + 7) // 8:
        raise MalformedMessageError(
            f"a bitmap over {size} ids is {(size + 7) // 8} bytes, got {len(data)}."
        )
    if size % 8 and data[-1] >> (size % 8):
        raise MalformedMessageError(
            f"bitmap over {size} ids has non-zero unused bits in its last byte (0x{data[-1]:02x})."
        )
    return [universe[j] for j in range(size) if (data[j >> 3] >> (j & 7)) & 1]


# ---------------------------------------------------------------- backend-bound API


class X25519Key:
    """An X25519 private key loaded once into the backend, for many agreements.

    Reloading the same 32 bytes for every peer costs about as much as the
    agreement itself; a client keeps one of these per key for its session
    and drops it when the session ends. The library's key object stays
    inside; the results are the bytes :meth:`CryptoBackend.x25519_shared`
    gives, with the same checks. Get one from :meth:`CryptoBackend.x25519_load`
    or :func:`x25519_load`.
    """

    __slots__ = ("_p", "_key")

    def __init__(self, primitives: _Primitives, sk: bytes) -> None:
        """Use :func:`x25519_load`; ``sk`` must already be 32 bytes."""
        self._p = primitives
        self._key: Any = primitives.x25519_load(sk)

    def __repr__(self) -> str:
        return f"X25519Key(backend={self._p.name!r})"

    def __getstate__(self) -> object:
        raise TypeError("an X25519Key holds a private key and cannot be pickled.")

    def shared(self, peer_pk: bytes) -> bytes:
        """The raw 32-byte X25519 of this key and ``peer_pk``.

        Raises:
            ProtocolViolationError: ``peer_pk`` fails :func:`check_public_key`,
                or the shared secret is all zero.
        """
        check_public_key(peer_pk)
        shared = self._p.x25519_with(self._key, bytes(peer_pk))
        if not any(shared):
            raise ProtocolViolationError("X25519 shared secret is all zero (small-order peer key).")
        return shared

    def shared_many(self, peer_pks: Sequence[bytes]) -> list[bytes]:
        """:meth:`shared` for every key of ``peer_pks``, in order.

        Raises:
            ProtocolViolationError: For the first peer key refused.
        """
        return [self.shared(pk) for pk in peer_pks]

    def channel_key(self, peer_pk: bytes, session_id: bytes) -> bytes:
        """The pair's share-encryption key, as :meth:`CryptoBackend.channel_key`.

        Raises:
            InvalidInputError: ``session_id`` is not 32 bytes.
            ProtocolViolationError: The peer key is refused.
        """
        sid = _as_bytes("session_id", session_id, SESSION_ID_SIZE)
        return hkdf_sha256(self.shared(peer_pk), sid, ENC_INFO, 32)


class CryptoBackend:
    """The key-agreement, encryption and signature API on one library.

    Module-level functions use the default backend; tests and benchmarks get
    a specific one from :func:`get_backend`.
    """

    def __init__(self, primitives: _Primitives) -> None:
        """Wrap a library; use :func:`get_backend` rather than this."""
        self._p = primitives

    @property
    def name(self) -> str:
        """``"cryptography"`` or ``"pycryptodome"``."""
        return self._p.name

    def __repr__(self) -> str:
        return f"CryptoBackend({self.name!r})"

    def x25519_keypair(self, rng: Callable[[int], bytes] | None = None) -> tuple[bytes, bytes]:
        """A fresh X25519 key pair (sk, pk).

        Args:
            rng: Source of the 32 secret bytes; None (the default) uses the OS
                CSPRNG. Inject only in deterministic tests.

        Returns:
            (sk, pk): sk is the 32 bytes exactly as drawn (before clamping,
            as Shamir shares it), pk the 32-byte public key.
        """
        sk = _draw(rng, KEY_SIZE, "an X25519 private key")
        return sk, self._p.x25519_public(sk)

    def x25519_public(self, sk: bytes) -> bytes:
        """The public key of a 32-byte X25519 private key.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return self._p.x25519_public(_as_bytes("X25519 private key", sk, KEY_SIZE))

    def x25519_shared(self, sk: bytes, peer_pk: bytes) -> bytes:
        """The raw 32-byte X25519(sk, peer_pk).

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
            ProtocolViolationError: ``peer_pk`` fails :func:`check_public_key`,
                or the shared secret is all zero.
        """
        sk = _as_bytes("X25519 private key", sk, KEY_SIZE)
        check_public_key(peer_pk)
        shared = self._p.x25519(sk, bytes(peer_pk))
        if not any(shared):
            raise ProtocolViolationError("X25519 shared secret is all zero (small-order peer key).")
        return shared

    def x25519_load(self, sk: bytes) -> X25519Key:
        """Load a private key once, for many agreements with :class:`X25519Key`.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return X25519Key(self._p, _as_bytes("X25519 private key", sk, KEY_SIZE))

    def x25519_shared_many(self, sk: bytes, peer_pks: Sequence[bytes]) -> list[bytes]:
        """X25519(sk, pk) for every pk of ``peer_pks``, in order; the key is loaded once.

        Gives exactly what :meth:`x25519_shared` gives for each peer, and
        raises what it raises for the first peer it refuses.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
            ProtocolViolationError: A peer key fails :func:`check_public_key`,
                or a shared secret is all zero.
        """
        return self.x25519_load(sk).shared_many(peer_pks)

    def channel_key(self, sk: bytes, peer_pk: bytes, session_id: bytes) -> bytes:
        """The pair's share-encryption key (§4): HKDF(X25519(sk, pk), sid, "secagg/v1/enc", 32).

        Raises:
            InvalidInputError: Wrong key or session-id length.
            ProtocolViolationError: The peer key is refused.
        """
        sid = _as_bytes("session_id", session_id, SESSION_ID_SIZE)
        return hkdf_sha256(self.x25519_shared(sk, peer_pk), sid, ENC_INFO, 32)

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
        key = _as_bytes("AES-256-GCM key", key, 32)
        nonce = os.urandom(NONCE_SIZE) if nonce is None else _as_bytes("nonce", nonce, NONCE_SIZE)
        pt = _as_bytes("plaintext", plaintext)
        return nonce + self._p.gcm_seal(key, nonce, pt, _as_bytes("aad", aad))

    def aes_gcm_decrypt(self, key: bytes, data: bytes, aad: bytes) -> bytes:
        """Open nonce ‖ ciphertext ‖ tag from :meth:`aes_gcm_encrypt`.

        Raises:
            InvalidInputError: Wrong key length or non-bytes input.
            ProtocolViolationError: Too short, or the tag does not verify.
        """
        key = _as_bytes("AES-256-GCM key", key, 32)
        data = _as_bytes("ciphertext", data)
        aad = _as_bytes("aad", aad)
        if len(data) < NONCE_SIZE + TAG_SIZE:
            raise ProtocolViolationError(
                f"AES-GCM ciphertext is {len(data)} bytes, shorter than nonce + tag "
                f"({NONCE_SIZE + TAG_SIZE})."
            )
        pt = self._p.gcm_open(key, data[:NONCE_SIZE], data[NONCE_SIZE:], aad)
        if pt is None:
            raise ProtocolViolationError("AES-GCM tag does not verify (wrong key, data or aad).")
        return pt

    def ed25519_keypair(self, rng: Callable[[int], bytes] | None = None) -> tuple[bytes, bytes]:
        """A fresh Ed25519 key pair (32-byte seed, 32-byte verification key).

        Args:
            rng: Source of the seed; None uses the OS CSPRNG (tests only).
        """
        seed = _draw(rng, KEY_SIZE, "an Ed25519 seed")
        return seed, self._p.ed25519_public(seed)

    def ed25519_public(self, sk: bytes) -> bytes:
        """The verification key of a 32-byte Ed25519 seed.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return self._p.ed25519_public(_as_bytes("Ed25519 seed", sk, KEY_SIZE))

    def ed25519_sign(self, sk: bytes, message: bytes) -> bytes:
        """Pure Ed25519 (RFC 8032) signature, 64 bytes, deterministic.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return self._p.ed25519_sign(
            _as_bytes("Ed25519 seed", sk, KEY_SIZE), _as_bytes("message", message)
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
        vk = _as_bytes("verification key", vk)
        message = _as_bytes("message", message)
        signature = _as_bytes("signature", signature)
        if ed25519_check_encoding(vk, signature) is not None:
            return False
        return self._p.ed25519_verify(vk, message, signature)


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
    if name not in _FACTORIES:
        raise InvalidInputError(
            f"unknown crypto backend {name!r}; choose one of {', '.join(_PREFERENCE)}."
        )
    backend = _instances.get(name)
    if backend is None:
        try:
            backend = CryptoBackend(_FACTORIES[name]())
        except ImportError as exc:
            raise ImportError(f"the {name!r} crypto backend is not importable here: {exc}") from exc
        _instances[name] = backend
    return backend


def _select_default() -> CryptoBackend:
    forced = os.environ.get(BACKEND_ENV, "").strip()
    if forced:
        if forced not in _FACTORIES:
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


_default = _select_default()


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
ed25519_keypair = _default.ed25519_keypair
ed25519_public = _default.ed25519_public
ed25519_sign = _default.ed25519_sign
ed25519_verify = _default.ed25519_verify

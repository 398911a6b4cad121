"""X25519 key agreement and the pairwise channel key of PROTOCOL.md §4.

:class:`KeyAgreement` holds the X25519 half of
:class:`~secagg.crypto.CryptoBackend`'s API; :class:`X25519Key` is a private
key loaded once for many agreements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import ProtocolViolationError
from ._checks import check_public_key
from ._common import KEY_SIZE, SESSION_ID_SIZE, Primitives, as_bytes, draw, hkdf_sha256

#: HKDF info of the share-encryption (channel) key.
ENC_INFO = b"secagg/v1/enc"


def _refuse_zero(shared: bytes) -> bytes:
    if not any(shared):
        raise ProtocolViolationError("X25519 shared secret is all zero (small-order peer key).")
    return shared


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

    def __init__(self, primitives: Primitives, sk: bytes) -> None:
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
        return _refuse_zero(self._p.x25519_with(self._key, bytes(peer_pk)))

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
        sid = as_bytes("session_id", session_id, SESSION_ID_SIZE)
        return hkdf_sha256(self.shared(peer_pk), sid, ENC_INFO, 32)


class KeyAgreement:
    """The X25519 methods of :class:`~secagg.crypto.CryptoBackend`, on the library in ``_p``."""

    _p: Primitives

    def x25519_keypair(self, rng: Callable[[int], bytes] | None = None) -> tuple[bytes, bytes]:
        """A fresh X25519 key pair (sk, pk).

        Args:
            rng: Source of the 32 secret bytes; None (the default) uses the OS
                CSPRNG. Inject only in deterministic tests.

        Returns:
            (sk, pk): sk is the 32 bytes exactly as drawn (before clamping,
            as Shamir shares it), pk the 32-byte public key.
        """
        sk = draw(rng, KEY_SIZE, "an X25519 private key")
        return sk, self._p.x25519_public(sk)

    def x25519_public(self, sk: bytes) -> bytes:
        """The public key of a 32-byte X25519 private key.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return self._p.x25519_public(as_bytes("X25519 private key", sk, KEY_SIZE))

    def x25519_shared(self, sk: bytes, peer_pk: bytes) -> bytes:
        """The raw 32-byte X25519(sk, peer_pk).

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
            ProtocolViolationError: ``peer_pk`` fails :func:`check_public_key`,
                or the shared secret is all zero.
        """
        sk = as_bytes("X25519 private key", sk, KEY_SIZE)
        check_public_key(peer_pk)
        return _refuse_zero(self._p.x25519(sk, bytes(peer_pk)))

    def x25519_load(self, sk: bytes) -> X25519Key:
        """Load a private key once, for many agreements with :class:`X25519Key`.

        Raises:
            InvalidInputError: ``sk`` is not 32 bytes.
        """
        return X25519Key(self._p, as_bytes("X25519 private key", sk, KEY_SIZE))

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
        sid = as_bytes("session_id", session_id, SESSION_ID_SIZE)
        return hkdf_sha256(self.x25519_shared(sk, peer_pk), sid, ENC_INFO, 32)

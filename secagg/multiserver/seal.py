"""Sealing a 32-byte seed to one server's pinned X25519 key (HPKE-like, base mode).

sealed = eph_pk (32) ‖ nonce (12) ‖ AES-256-GCM ciphertext of the seed (32) ‖ tag (16),
92 bytes, where

- eph_sk, eph_pk is a fresh X25519 key pair for this one seed;
- key = HKDF-SHA256(ikm = X25519(eph_sk, server_pk), salt = session_id,
  info = "secagg/v1/ms/seal" ‖ eph_pk ‖ server_pk, L = 32);
- associated data = "secagg/v1/ms/seed" ‖ session_id ‖ u32be(client) ‖ u8(server).

Both sides refuse a non-canonical or small-order key and an all-zero shared
secret (the checks of secagg.crypto), so a seed is never sealed under a key
an attacker can predict.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from .. import crypto
from ..exceptions import ProtocolViolationError

__all__ = ["SEALED_SIZE", "seed_aad", "seal_seed", "open_seed"]

LABEL_SEAL = b"secagg/v1/ms/seal"
LABEL_SEED = b"secagg/v1/ms/seed"
SEED_SIZE = 32
SEALED_SIZE = 32 + crypto.NONCE_SIZE + SEED_SIZE + crypto.TAG_SIZE
"""Bytes of a sealed seed: 92."""


def seed_aad(session_id: bytes, client: int, server: int) -> bytes:
    """Associated data: "secagg/v1/ms/seed" ‖ sid ‖ u32be(client) ‖ u8(server)."""
    return LABEL_SEED + session_id + struct.pack(">IB", client, server)


def _seal_key(shared: bytes, session_id: bytes, eph_pk: bytes, server_pk: bytes) -> bytes:
    return crypto.hkdf_sha256(shared, session_id, LABEL_SEAL + eph_pk + server_pk, 32)


def seal_seed(
    server_pk: bytes,
    seed: bytes,
    session_id: bytes,
    client: int,
    server: int,
    rng: Callable[[int], bytes] | None = None,
) -> bytes:
    """Seal ``seed`` so that only the holder of ``server_pk``'s private key opens it.

    Args:
        server_pk: The server's pinned X25519 public key.
        seed: The 32-byte seed.
        session_id: The 32-byte session id.
        client: The sending client's id.
        server: The receiving server's index.
        rng: Source of the ephemeral key and nonce; None (the default) uses
            the OS CSPRNG. Inject only in deterministic tests.

    Returns:
        The 92-byte sealed seed.

    Raises:
        ProtocolViolationError: ``server_pk`` is non-canonical or small-order.
    """
    eph_sk, eph_pk = crypto.x25519_keypair(rng)
    shared = crypto.x25519_shared(eph_sk, server_pk)
    key = _seal_key(shared, session_id, eph_pk, bytes(server_pk))
    nonce = None if rng is None else rng(crypto.NONCE_SIZE)
    ct = crypto.aes_gcm_encrypt(key, seed, seed_aad(session_id, client, server), nonce=nonce)
    return eph_pk + ct


def open_seed(
    server_key: crypto.X25519Key,
    server_pk: bytes,
    sealed: bytes,
    session_id: bytes,
    client: int,
    server: int,
) -> bytes:
    """Open a seed sealed by :func:`seal_seed`.

    Args:
        server_key: This server's X25519 private key, loaded once.
        server_pk: Its public key (part of the key derivation).
        sealed: The 92 bytes received.
        session_id: The 32-byte session id.
        client: The claimed sender.
        server: This server's index.

    Returns:
        The 32-byte seed.

    Raises:
        ProtocolViolationError: Wrong length, a refused ephemeral key, or a
            tag that does not verify (wrong key, session, client or server).
    """
    if len(sealed) != SEALED_SIZE:
        raise ProtocolViolationError(f"a sealed seed is {SEALED_SIZE} bytes, got {len(sealed)}.")
    eph_pk = bytes(sealed[:32])
    try:
        shared = server_key.shared(eph_pk)
    except ProtocolViolationError as exc:
        raise ProtocolViolationError(
            f"client {client}'s seed for server {server} uses a refused ephemeral key: {exc}"
        ) from exc
    key = _seal_key(shared, session_id, eph_pk, server_pk)
    try:
        seed = crypto.aes_gcm_decrypt(key, sealed[32:], seed_aad(session_id, client, server))
    except ProtocolViolationError as exc:
        raise ProtocolViolationError(
            f"client {client}'s sealed seed for server {server} does not open: {exc}"
        ) from exc
    return seed

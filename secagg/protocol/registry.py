"""Active mode's trust anchors: the registry of verification keys and the config authority.

Active mode needs, besides the config, a registry mapping every client id to
its Ed25519 verification key (whose digest goes into the config), each
client's signing key, and a config authority whose signature on the config
and nonce every client checks (PROTOCOL.md §5, §10). :func:`active_setup`
builds all of it in one place for simulations and demos; a deployment
provisions the same pieces out of band.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from .. import crypto
from ..exceptions import InvalidInputError
from .config import Config
from .thresholds import is_int
from .vocabulary import MAX_N, REGISTRY_LABEL, Mode, Rng, default_rng

__all__ = ["Registry", "ActiveSetup", "active_setup", "registry_digest"]


def registry_digest(verify_keys: Mapping[int, bytes], n: int) -> bytes:
    """SHA-256("secagg/v1/registry" ‖ for id = 1..n: u32be(id) ‖ vk_id) (PROTOCOL §5).

    Args:
        verify_keys: Every client id 1..n mapped to its 32-byte Ed25519
            verification key, and nothing else.
        n: Number of clients.

    Returns:
        The 32-byte registry digest.

    Raises:
        InvalidInputError: An id is missing or extra, or a key is not 32 bytes.
    """
    if not is_int(n) or not 1 <= n <= MAX_N:
        raise InvalidInputError(f"n must be an integer in 1..{MAX_N}, got {n!r}.")
    n = int(n)
    if not isinstance(verify_keys, Mapping):
        raise InvalidInputError(
            f"verify_keys must map ids to keys, got {type(verify_keys).__name__}."
        )
    outside = [i for i in verify_keys if not (is_int(i) and 1 <= i <= n)]
    if outside:
        raise InvalidInputError(
            f"the registry holds ids outside 1..{n}: {sorted(map(repr, outside))[:5]}."
        )
    h = hashlib.sha256(REGISTRY_LABEL)
    for uid in range(1, n + 1):
        if uid not in verify_keys:
            raise InvalidInputError(f"the registry has no verification key for id {uid} (n = {n}).")
        vk = verify_keys[uid]
        if not isinstance(vk, (bytes, bytearray, memoryview)) or len(vk) != 32:
            got = len(vk) if isinstance(vk, (bytes, bytearray, memoryview)) else type(vk).__name__
            raise InvalidInputError(
                f"the verification key of id {uid} must be 32 bytes, got {got}."
            )
        h.update(struct.pack(">I", uid))
        h.update(bytes(vk))
    return h.digest()


@dataclass(frozen=True)
class Registry:
    """The clients' Ed25519 keys for one cohort, ids 1..n.

    Attributes:
        signing_keys: Client id -> 32-byte signing key (each client keeps only
            its own; a simulation holds them all).
        verify_keys: Client id -> 32-byte verification key (the registry every
            client holds from a source the server cannot change).
        digest: :func:`registry_digest` of ``verify_keys``.
    """

    signing_keys: Mapping[int, bytes]
    verify_keys: Mapping[int, bytes]
    digest: bytes

    @classmethod
    def generate(cls, n: int, rng: Rng = default_rng) -> Registry:
        """Fresh signing keys for clients 1..n (from ``rng``, the OS CSPRNG by default)."""
        return cls.from_signing_keys({u: crypto.ed25519_keypair(rng)[0] for u in range(1, n + 1)})

    @classmethod
    def from_signing_keys(cls, signing_keys: Mapping[int, bytes]) -> Registry:
        """The registry of the given signing keys, which must cover ids 1..len(keys).

        Raises:
            InvalidInputError: The ids are not exactly 1..n or a key is malformed.
        """
        n = len(signing_keys)
        missing = [u for u in range(1, n + 1) if u not in signing_keys]
        if missing:
            raise InvalidInputError(
                f"signing keys are needed for ids 1..{n}; missing {missing[:8]}."
            )
        verify = {u: crypto.ed25519_public(signing_keys[u]) for u in range(1, n + 1)}
        return cls(dict(signing_keys), verify, registry_digest(verify, n))


@dataclass(frozen=True)
class ActiveSetup:
    """Everything an active-mode session needs besides its inputs.

    Attributes:
        config: The config, its registry digest that of ``registry``.
        registry: The clients' keys.
        authority_vk: The config authority's verification key (each client's
            policy pins it).
        config_signature: The authority's signature on the config and nonce.
    """

    config: Config
    registry: Registry
    authority_vk: bytes
    config_signature: bytes


def active_setup(
    config: Config,
    nonce: bytes,
    *,
    signing_keys: Mapping[int, bytes] | None = None,
    rng: Rng = default_rng,
) -> ActiveSetup:
    """The registry, authority key and config signature of one active session.

    Args:
        config: An active-mode config.
        nonce: The session nonce the authority signs with the config.
        signing_keys: The clients' signing keys (ids 1..n). None draws fresh
            keys and puts their registry digest into the config; given keys
            are used as they are, and a config whose digest does not match
            them is kept, so that its clients refuse it.
        rng: Source of random bytes for new keys (OS CSPRNG by default).

    Raises:
        InvalidInputError: A semi_honest config, or keys not covering 1..n.
    """
    if config.mode is not Mode.ACTIVE:
        raise InvalidInputError("active_setup needs an active-mode config.")
    if signing_keys is None:
        registry = Registry.generate(config.n, rng)
        config = dataclasses.replace(config, registry_digest=registry.digest)
    else:
        missing = [u for u in range(1, config.n + 1) if u not in signing_keys]
        if missing or len(signing_keys) != config.n:
            raise InvalidInputError(
                f"signing_keys must cover exactly the ids 1..{config.n}; missing {missing[:8]}."
            )
        registry = Registry.from_signing_keys(signing_keys)
    authority_sk, authority_vk = crypto.ed25519_keypair(rng)
    signature = crypto.ed25519_sign(authority_sk, crypto.config_message(nonce, config.canonical()))
    return ActiveSetup(config, registry, authority_vk, signature)

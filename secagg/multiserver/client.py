"""The client role: split one encoded vector into S additive shares and sign them.

For servers j = 0..S-2 the client draws a 32-byte seed r_j; the share is
PRG(share_key(r_j, sid, u, j)) in Z_2^b and only the seed travels, sealed to
server j's pinned X25519 key. Server S-1 gets the correction vector
c = x - sum_j PRG(...) mod 2^b, computed in one fused pass of the compiled
core. The S shares add up to x; any S - 1 of them are independent of x.

Each server's part gets a fresh 32-byte salt and a digest
d_j = SHA-256(label ‖ sid ‖ u ‖ j ‖ salt_j ‖ part_j); the client signs all S
digests with its registered Ed25519 key, so a server can check its own part
and that it belongs to a split the client vouched for, while the other
digests tell it nothing about the other parts.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .. import crypto, masking, packing
from ..encoding import EncodedUpdate
from ..exceptions import InvalidInputError
from .params import (
    SALT_SIZE,
    SEED_SIZE,
    MultiServerConfig,
    check_session_id,
    client_message,
    part_digest,
    share_key,
)
from .seal import seal_seed
from .wire import ShareBundle

__all__ = ["split_update"]


def _draw(rng: Callable[[int], bytes] | None, size: int) -> bytes:
    out = os.urandom(size) if rng is None else rng(size)
    if not isinstance(out, bytes) or len(out) != size:
        raise InvalidInputError(f"the injected rng must return {size} bytes.")
    return out


def _words(x: np.ndarray | EncodedUpdate, config: MultiServerConfig) -> np.ndarray:
    if isinstance(x, EncodedUpdate):
        if x.bits != config.b:
            raise InvalidInputError(
                f"the encoded update has b = {x.bits} bits, the session has b = {config.b}."
            )
        x = x.take()
    if not isinstance(x, np.ndarray) or x.ndim != 1 or x.shape[0] != config.m:
        shape = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise InvalidInputError(
            f"the client's vector must be one-dimensional of length m = {config.m}, got {shape}."
        )
    masking.check_vector(x, config.b)
    return x


def split_update(
    config: MultiServerConfig,
    session_id: bytes,
    client: int,
    signing_key: bytes,
    x: np.ndarray | EncodedUpdate,
    *,
    rng: Callable[[int], bytes] | None = None,
) -> dict[int, bytes]:
    """Split ``x`` into S additive shares mod 2^b and build one signed bundle per server.

    Call it once per session: an :class:`~secagg.encoding.EncodedUpdate` is
    consumed (a second session needs a fresh encoding), and the vector must
    not be shared again under another session.

    Args:
        config: The session's parameters (servers' pinned keys, registry, b, m).
        session_id: The 32-byte session id.
        client: This client's id (1..n).
        signing_key: Its Ed25519 seed; its verification key must be the one
            the registry holds for ``client``.
        x: The encoded vector (length m, words < 2^b), or an EncodedUpdate.
        rng: Source of every random byte (seeds, salts, ephemeral keys,
            nonces); None (the default) uses the OS CSPRNG. Inject only in
            deterministic tests.

    Returns:
        Server index -> the bytes of its :class:`~secagg.multiserver.wire.ShareBundle`.

    Raises:
        InvalidInputError: A bad config, session id, client id, signing key
            or vector; an EncodedUpdate already used (UpdateReusedError).
    """
    if not isinstance(config, MultiServerConfig):
        raise InvalidInputError(f"config must be a MultiServerConfig, got {type(config).__name__}.")
    sid = check_session_id(session_id)
    if isinstance(client, bool) or not isinstance(client, int) or client not in config.registry:
        raise InvalidInputError(f"client {client!r} is not a registered id in 1..{config.n}.")
    if crypto.ed25519_public(signing_key) != config.registry[client]:
        raise InvalidInputError(
            f"the signing key of client {client} does not match its registered verification key."
        )
    words = _words(x, config)
    S, last = config.S, config.correction_server
    seeds = [_draw(rng, SEED_SIZE) for _ in range(last)]
    salts = [_draw(rng, SALT_SIZE) for _ in range(S)]
    keys = [share_key(seeds[j], sid, client, j) for j in range(last)]
    correction = np.array(words, dtype=config.dtype, order="C", copy=True)
    masking.apply_masks(correction, keys, [-1] * last, config.b)
    payloads = [seal_seed(config.seed_keys[j], seeds[j], sid, client, j, rng) for j in range(last)]
    payloads.append(packing.pack(correction, config.b))
    del seeds, keys, correction
    digests = tuple(part_digest(sid, client, j, salts[j], payloads[j]) for j in range(S))
    signature = crypto.ed25519_sign(signing_key, client_message(sid, client, digests))
    return {
        j: ShareBundle(sid, client, j, digests, salts[j], payloads[j], signature).to_bytes()
        for j in range(S)
    }

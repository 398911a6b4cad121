"""What one multi-server server receives: client bundles checked, their shares kept.

A seed server (0..S-2) opens each client's sealed seed with its X25519 key
and keeps the 16-byte PRG key derived from it; the correction server (S-1)
keeps the unpacked correction vector. :meth:`ShareInbox.partial` adds up the
shares of a client set; the server forgets them after its release.
"""

from __future__ import annotations

import numpy as np

from .. import crypto, masking, packing
from ..exceptions import InvalidInputError, ProtocolViolationError, RefusedError
from .decisions import member_ids
from .params import MultiServerConfig, client_message, part_digest, share_key
from .seal import open_seed
from .wire import ShareBundle

__all__ = ["ShareInbox"]


class ShareInbox:
    """The bundles server ``index`` accepted and the shares they carry.

    Args:
        config: The session's parameters.
        session_id: The 32-byte session id.
        index: The server's index; S - 1 is the correction server.
        seed_key: The server's X25519 private key (seed servers, matching
            ``config.seed_keys[index]``); None for the correction server.

    Raises:
        InvalidInputError: A seed key given to the correction server, or a
            seed server without the private key of its pinned seed key.
    """

    def __init__(
        self, config: MultiServerConfig, session_id: bytes, index: int, seed_key: bytes | None
    ) -> None:
        self.config, self.session_id, self.index = config, session_id, index
        self._seed_key: crypto.X25519Key | None = None
        if index == config.correction_server:
            if seed_key is not None:
                raise InvalidInputError(
                    f"server {index} receives correction vectors and takes no seed key."
                )
        else:
            if seed_key is None or crypto.x25519_public(seed_key) != config.seed_keys[index]:
                raise InvalidInputError(
                    f"server {index} needs the X25519 private key of its pinned seed key."
                )
            self._seed_key = crypto.x25519_load(seed_key)
        self._shares: dict[int, object] = {}
        self.accepted: set[int] = set()
        self.bytes_received = 0

    def receive(self, data: bytes) -> bool:
        """Check one bundle and keep its share (the first valid bundle of a client wins).

        Raises:
            MalformedMessageError: The bytes do not decode for this session.
            ProtocolViolationError: Another session or server, a digest or
                client signature that does not verify, or a seed that does
                not open.
        """
        bundle = ShareBundle.from_bytes(data, self.config)
        u, j = bundle.client, self.index
        if bundle.session_id != self.session_id:
            raise ProtocolViolationError(
                f"client {u}'s bundle carries another session id than this session's."
            )
        if bundle.server != j:
            raise ProtocolViolationError(
                f"client {u}'s bundle is addressed to server {bundle.server}, this is server {j}."
            )
        if u in self.accepted:
            return False
        digest = part_digest(self.session_id, u, j, bundle.salt, bundle.payload)
        if digest != bundle.digests[j]:
            raise ProtocolViolationError(
                f"client {u}'s bundle for server {j} does not match the digest d_{j} it signed."
            )
        message = client_message(self.session_id, u, bundle.digests)
        if not crypto.ed25519_verify(self.config.registry[u], message, bundle.signature):
            raise ProtocolViolationError(
                f"client {u}'s bundle signature does not verify with its registered key."
            )
        if self._seed_key is None:
            share: object = packing.unpack(bundle.payload, self.config.m, self.config.b)
        else:
            seed = open_seed(
                self._seed_key, self.config.seed_keys[j], bundle.payload, self.session_id, u, j
            )
            share = share_key(seed, self.session_id, u, j)
        self._shares[u] = share
        self.accepted.add(u)
        self.bytes_received += len(data)
        return True

    def check_holds(self, members: frozenset[int]) -> None:
        """Refuse a release over members whose share this inbox does not hold.

        Raises:
            RefusedError: A member's share is missing (never received, or
                forgotten by a restart); the message names them.
        """
        missing = members - self._shares.keys()
        if missing:
            raise RefusedError(
                f"server {self.index} lacks the bundles of clients {{{member_ids(missing)}}}; "
                "feed them again before the release."
            )

    def partial(self, members: list[int]) -> np.ndarray:
        """Σ of the members' shares mod 2^b (seed servers expand their PRG keys)."""
        acc = np.zeros(self.config.m, dtype=self.config.dtype)
        if self._seed_key is None:
            for u in members:
                share = self._shares[u]
                assert isinstance(share, np.ndarray)
                masking.add_into(acc, share, self.config.b)
        else:
            keys = [self._shares[u] for u in members]
            masking.apply_masks(acc, keys, [1] * len(keys), self.config.b)  # type: ignore[arg-type]
        return acc

    def forget(self) -> None:
        """Drop every share (after the release)."""
        self._shares.clear()

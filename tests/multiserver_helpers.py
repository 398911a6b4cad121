"""A small multi-server session with every key, for the multi-server tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from secagg import crypto
from secagg.multiserver import MultiServerConfig, ShareServer, split_update


@dataclass
class Session:
    """Keys, config, session id and inputs of one test session."""

    config: MultiServerConfig
    session_id: bytes
    client_keys: dict[int, bytes]
    server_keys: list[bytes]
    seed_sks: list[bytes]
    inputs: dict[int, np.ndarray]
    rng: Callable[[int], bytes]
    stores: dict[int, list[bytes]] = field(default_factory=dict)
    sent: dict[int, dict[int, bytes]] = field(default_factory=dict)

    def server(
        self,
        j: int,
        *,
        state: bytes | None = None,
        persist: Callable[[bytes], None] | None = None,
    ) -> ShareServer:
        """A fresh ShareServer j; its state goes to ``persist`` (default: appended to stores[j])."""
        store = self.stores.setdefault(j, [])
        return ShareServer(
            self.config,
            self.session_id,
            j,
            signing_key=self.server_keys[j],
            seed_key=self.seed_sks[j] if j < self.config.S - 1 else None,
            state=state,
            persist=store.append if persist is None else persist,
        )

    def bundles(self, u: int) -> dict[int, bytes]:
        """Client u's bundles (a fresh split each call)."""
        return split_update(
            self.config, self.session_id, u, self.client_keys[u], self.inputs[u], rng=self.rng
        )


def make_session(
    rng: Callable[[int], bytes], *, S: int = 2, n: int = 5, n_min: int = 3, b: int = 16, m: int = 7
) -> Session:
    """A session over clients 1..n with deterministic keys and inputs from ``rng``."""
    client_keys = {u: crypto.ed25519_keypair(rng)[0] for u in range(1, n + 1)}
    server_keys = [crypto.ed25519_keypair(rng)[0] for _ in range(S)]
    seed_sks = [crypto.x25519_keypair(rng)[0] for _ in range(S - 1)]
    config = MultiServerConfig(
        seed_keys=tuple(crypto.x25519_public(sk) for sk in seed_sks),
        server_verify_keys=tuple(crypto.ed25519_public(sk) for sk in server_keys),
        registry={u: crypto.ed25519_public(k) for u, k in client_keys.items()},
        n_min=n_min,
        corrupt_clients=0,
        b=b,
        m=m,
    )
    gen = np.random.default_rng(int.from_bytes(rng(8), "little"))  # test data, not secrets
    mask = (1 << b) - 1
    inputs = {
        u: (gen.integers(0, 2**64, size=m, dtype=np.uint64) & np.uint64(mask)).astype(config.dtype)
        for u in range(1, n + 1)
    }
    return Session(
        config, config.session_id(rng(32)), client_keys, server_keys, seed_sks, inputs, rng
    )


def numpy_sum(inputs: dict[int, np.ndarray], members, b: int) -> np.ndarray:
    """Σ_{u∈members} inputs[u] mod 2^b with plain numpy (uint64 wraps mod 2^64)."""
    total = np.zeros(len(next(iter(inputs.values()))), dtype=np.uint64)
    for u in members:
        total += inputs[u].astype(np.uint64)
    if b < 64:
        total &= np.uint64((1 << b) - 1)
    return total

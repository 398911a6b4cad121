"""Drives one server and n real clients by hand, with a hook on every message."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from helpers import det_rng

from secagg import crypto
from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.policy import ClientPolicy
from secagg.protocol.registry import registry_digest
from secagg.protocol.server import Server, State
from secagg.protocol.vocabulary import Mode

Hook = Callable[[str, int, bytes], "bytes | list[bytes] | None"]


def vectors(config: Config, seed: int = 0) -> dict[int, np.ndarray]:
    gen = np.random.default_rng(seed)
    return {
        u: gen.integers(0, 1 << config.b, config.m, dtype=np.uint64).astype(config.dtype)
        for u in range(1, config.n + 1)
    }


def plain_sum(config: Config, inputs, ids) -> np.ndarray:
    total = np.zeros(config.m, dtype=object)
    for u in ids:
        total = total + inputs[u].astype(object)
    return np.array([int(x) % (1 << config.b) for x in total], dtype=config.dtype)


@dataclasses.dataclass
class Active:
    config: Config
    keys: dict[int, bytes]
    vks: dict[int, bytes]
    auth_sk: bytes
    auth_vk: bytes


def active_setup(n: int = 6, t: int = 5, c: int = 1, m: int = 4, seed: int = 0) -> Active:
    rng = det_rng(1000 + seed)
    keys = {u: crypto.ed25519_keypair(rng)[0] for u in range(1, n + 1)}
    vks = {u: crypto.ed25519_public(k) for u, k in keys.items()}
    config = Config(
        n=n,
        t=t,
        n_min=t,
        k=n - 1,
        b=16,
        m=m,
        c=c,
        mode=Mode.ACTIVE,
        registry_digest=registry_digest(vks, n),
    )
    auth_sk, auth_vk = crypto.ed25519_keypair(rng)
    return Active(config, keys, vks, auth_sk, auth_vk)


class Session:
    """Drives one server and n clients by hand, with hooks on every message."""

    def __init__(
        self,
        config: Config,
        *,
        active: Active | None = None,
        seed: int = 0,
        client_config: Config | None | str = "same",
        policy: ClientPolicy | None = None,
    ):
        self.config = config
        self.inputs = vectors(config, seed)
        rng = det_rng(seed)
        nonce = rng(32)
        sig = None
        kw: dict = {}
        if active is not None:
            sig = crypto.ed25519_sign(
                active.auth_sk, crypto.config_message(nonce, config.canonical())
            )
            kw = {"verify_keys": active.vks, "authority_vk": active.auth_vk}
        self.server = Server(
            config,
            nonce=nonce,
            config_signature=sig,
            rng=rng,
            verify_keys=active.vks if active else None,
        )
        cc = config if client_config == "same" else client_config
        self.clients = {
            u: Client(
                cc,
                u,
                self.inputs[u],
                signing_key=active.keys[u] if active else None,
                policy=policy,
                rng=rng,
                **kw,
            )
            for u in range(1, config.n + 1)
        }
        self.sent: dict[tuple[str, int], list[bytes]] = {}

    def run(
        self,
        to_client: Hook | None = None,
        to_server: Hook | None = None,
        stop: dict[int, str] | None = None,
    ) -> Server:
        stop = stop or {}
        order = ["R0", "R1", "R2", "R3", "R4"]
        requests = self.server.start()
        while self.server.state not in (State.COMPLETED, State.ABORTED):
            rnd = self.server.round
            for u, req in sorted(requests.items()):
                if u in stop and order.index(stop[u]) <= order.index(rnd):
                    continue
                req_out = to_client(rnd, u, req) if to_client else req
                reqs = (
                    [] if req_out is None else req_out if isinstance(req_out, list) else [req_out]
                )
                for r in reqs:
                    for reply in self.clients[u].handle(r):
                        self.sent.setdefault((rnd, u), []).append(reply)
                        out = to_server(rnd, u, reply) if to_server else reply
                        outs = [] if out is None else out if isinstance(out, list) else [out]
                        for o in outs:
                            self.server.receive(u, o)
            requests = self.server.close_round()
        self.last_requests = requests
        return self.server

    def expected(self) -> np.ndarray:
        return plain_sum(self.config, self.inputs, self.server.u3)


def rewrite(data: bytes, **changes) -> bytes:
    """Re-encode a message with some fields replaced."""
    return dataclasses.replace(M.decode(data), **changes).to_bytes()


def only_for(rnd: str, u: int, fn: Callable[[bytes], bytes | list[bytes] | None]) -> Hook:
    def hook(r: str, v: int, data: bytes):
        return fn(data) if (r, v) == (rnd, u) else data

    return hook


SEMI = Config(n=5, t=3, n_min=3, k=4, b=16, m=6)


SPARSE = Config(n=10, t=3, n_min=3, k=4, b=16, m=6)


def server_sid(s: Session) -> bytes:
    return s.server.session_id

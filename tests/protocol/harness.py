"""A test harness: real clients and an honest server that a test can bypass.

Shared by the adversarial test modules (a malicious server, a deviating
server in semi_honest mode, abort notices): each drives real
:class:`~secagg.protocol.client.Client` objects with messages the honest server would
never send, built with ``secagg.protocol.messages``.
"""

from __future__ import annotations

import numpy as np
from helpers import det_rng

from secagg import crypto
from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.registry import registry_digest
from secagg.protocol.server import Server
from secagg.protocol.vocabulary import State


class Harness:
    """Real clients and an honest server that a test can bypass at any step."""

    def __init__(
        self,
        n: int,
        t: int,
        *,
        k: int | None = None,
        mode: str = "semi_honest",
        c: int = 0,
        n_min: int | None = None,
        m: int = 6,
        b: int = 16,
        seed: bytes = b"harness",
        nonce: bytes | None = None,
        signing_keys: dict[int, bytes] | None = None,
        authority: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.rng = det_rng(seed)
        active = mode == "active"
        self.verify_keys = None
        self.signing_keys = None
        digest = bytes(32)
        if active:
            self.signing_keys = signing_keys or {
                u: crypto.ed25519_keypair(self.rng)[0] for u in range(1, n + 1)
            }
            self.verify_keys = {u: crypto.ed25519_public(s) for u, s in self.signing_keys.items()}
            digest = registry_digest(self.verify_keys, n)
        self.config = Config(
            n=n,
            t=t,
            k=n - 1 if k is None else k,
            b=b,
            m=m,
            c=c,
            n_min=t if n_min is None else n_min,
            mode=mode,
            registry_digest=digest,
        )
        self.nonce = nonce if nonce is not None else self.rng(32)
        self.sid = self.config.session_id(self.nonce)
        config_sig = None
        self.authority_vk = None
        if active:
            a_sk, self.authority_vk = authority or crypto.ed25519_keypair(self.rng)
            config_sig = crypto.ed25519_sign(
                a_sk, crypto.config_message(self.nonce, self.config.canonical())
            )
        self.inputs = {
            u: (np.arange(m, dtype=np.uint64) * 1000 + u).astype(self.config.dtype)
            for u in range(1, n + 1)
        }
        self.clients = {
            u: Client(
                self.config,
                u,
                self.inputs[u],
                signing_key=None if self.signing_keys is None else self.signing_keys[u],
                verify_keys=self.verify_keys,
                authority_vk=self.authority_vk,
                rng=self.rng,
            )
            for u in range(1, n + 1)
        }
        self.server = Server(
            self.config,
            nonce=self.nonce,
            config_signature=config_sig,
            verify_keys=self.verify_keys,
            rng=self.rng,
        )
        self.requests = self.server.start()
        self.replies: dict[str, dict[int, list[bytes]]] = {}

    def round(self, skip: tuple[int, ...] = ()) -> dict[int, bytes]:
        """Honest round: clients answer the pending requests, the server closes it."""
        rnd = self.server.round
        assert rnd is not None
        got = {}
        for u, req in sorted(self.requests.items()):
            if u in skip:
                continue
            got[u] = self.clients[u].handle(req)
            for reply in got[u]:
                self.server.receive(u, reply)
        self.replies[rnd] = got
        self.requests = self.server.close_round()
        return self.requests

    def until(self, rnd: str, skip: dict[str, tuple[int, ...]] | None = None) -> None:
        """Run honest rounds until the server is collecting round ``rnd``."""
        skip = skip or {}
        while self.server.round != rnd:
            self.round(skip.get(self.server.round or "", ()))

    def send(self, u: int, msg: M.Message | bytes) -> list[bytes]:
        """Deliver one (possibly hand-made) server message to client u."""
        data = msg if isinstance(msg, bytes) else msg.to_bytes()
        return self.clients[u].handle(data)


def shares_in(replies: list[bytes]) -> list[M.ShareEntry]:
    """All share entries carried by a client's replies."""
    out = []
    for r in replies:
        msg = M.decode(r)
        if isinstance(msg, M.UnmaskResponse):
            out.extend(msg.shares)
    return out


def assert_refused(h: Harness, u: int, replies: list[bytes], why: str) -> None:
    """Client u aborted with a reason containing ``why`` and sent no share."""
    c = h.clients[u]
    assert c.state is State.ABORTED, f"client {u} is {c.state}, expected ABORTED"
    assert c.abort_reason and why in c.abort_reason, c.abort_reason
    assert shares_in(replies) == []
    assert all(M.decode(r).TYPE == M.MsgType.ABORT for r in replies)


def only_aborts(replies: list[bytes]) -> bool:
    """True when every reply is an abort notice (a refusal may say why, nothing more)."""
    return all(M.decode(r).TYPE == M.MsgType.ABORT for r in replies)


def count_shares(collected: dict[int, list[M.ShareEntry]]) -> dict[tuple[int, int], set[int]]:
    """(owner, kind) -> holders whose share of it the server obtained."""
    out: dict[tuple[int, int], set[int]] = {}
    for holder, entries in collected.items():
        for e in entries:
            out.setdefault((e.id, e.kind), set()).add(holder)
    return out


def unmask_request(h: Harness, survivors, sigs=None) -> M.UnmaskRequest:
    return M.UnmaskRequest(h.sid, 0, h.config.n, tuple(sorted(survivors)), sigs)

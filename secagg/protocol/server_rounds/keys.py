"""R0 and R1 on the server: collect and forward key adverts, then encrypted shares."""

from __future__ import annotations

from bisect import bisect_left
from typing import ClassVar

import numpy as np

from ... import crypto
from ...exceptions import SecAggError
from ..messages import (
    Advert,
    AdvertForward,
    CiphertextIn,
    EncryptedShares,
    KeyAdvert,
    Message,
    ShareForward,
)
from ..vocabulary import CIPHERTEXT_LEN, SERVER_ID, State
from .base import Closing, Ledger, ServerSession, ServerState
from .masked import CollectMaskedInputs

__all__ = ["CollectAdverts", "CollectShares"]


class CollectAdverts(ServerState):
    """R0: collecting every client's two public keys (and signature, active mode)."""

    STATE: ClassVar[State] = State.R0_ADVERTISE_KEYS
    EXPECTS: ClassVar[type] = KeyAdvert

    def __init__(self, session: ServerSession, ledger: Ledger, asked: set[int]) -> None:
        super().__init__(session, ledger, asked)
        self.adverts: dict[int, KeyAdvert] = {}

    def accept(self, sender: int, msg: Message) -> str | None:
        """Keep a canonical, non-small-order advert with two different keys."""
        assert isinstance(msg, KeyAdvert)
        for key in (msg.c_pk, msg.s_pk):
            problem = _key_problem(key)
            if problem is not None:
                return problem
        if msg.c_pk == msg.s_pk:
            return "its channel and masking public keys are equal"
        session = self.session
        if session.verify_keys is not None and session.active:
            vk = session.verify_keys.get(sender)
            assert msg.signature is not None
            message = crypto.advert_message(session.session_id, sender, msg.c_pk, msg.s_pk)
            if vk is None or not crypto.ed25519_verify(vk, message, msg.signature):
                return "its key advert signature does not verify"
        self.adverts[sender] = msg
        return None

    def forget(self, sender: int) -> None:
        """Forget a dropped sender's advert."""
        self.adverts.pop(sender, None)

    def close(self, alive: list[int]) -> Closing:
        """Drop clients sharing a key, fix U1 and forward each client its neighbours'
        adverts (all of U1 in active mode, so that each can compute T)."""
        owners: dict[bytes, list[int]] = {}
        for u in alive:
            a = self.adverts[u]
            owners.setdefault(a.c_pk, []).append(u)
            owners.setdefault(a.s_pk, []).append(u)
        clash = {u for us in owners.values() if len(us) > 1 for u in us}
        for u in sorted(clash):
            self.ledger.dropped[u] = "R0"
            self.ledger.drop_reasons[u] = "its public key equals another client's"
            del self.adverts[u]
        u1 = [u for u in alive if u not in clash]
        self.ledger.u1 = tuple(u1)
        short = self.check_enough(u1, "advertised valid keys")
        if short is not None:
            return self.abort(short, alive)
        session = self.session
        adverts = {u: self.adverts[u] for u in u1}
        u1_set = set(u1)
        out: dict[int, Message] = {}
        everyone = None
        if session.active:
            everyone = AdvertForward(
                session.session_id, SERVER_ID, tuple(_advert(u, adverts[u]) for u in u1)
            )
        for u in u1:
            if everyone is not None:
                out[u] = everyone
                continue
            ids = [v for v in session.neighbours(u) if v in u1_set]
            fwd = tuple(_advert(v, adverts[v]) for v in ids)
            out[u] = AdvertForward(session.session_id, SERVER_ID, fwd)
        return Closing(CollectShares(session, self.ledger, set(u1), adverts), out)


def _key_problem(key: bytes) -> str | None:
    try:
        crypto.check_public_key(key)
    except (SecAggError, ValueError) as exc:  # a library's own rejection counts the same (§4)
        return str(exc)
    return None


def _advert(u: int, a: KeyAdvert) -> Advert:
    return Advert(u, a.c_pk, a.s_pk, a.signature)


class CollectShares(ServerState):
    """R1: collecting each client's commitment and one ciphertext per neighbour in U1.

    Attributes:
        adverts: U1's adverts (the masking keys are needed until R4).
    """

    STATE: ClassVar[State] = State.R1_SHARE_KEYS
    EXPECTS: ClassVar[type] = EncryptedShares

    def __init__(
        self,
        session: ServerSession,
        ledger: Ledger,
        asked: set[int],
        adverts: dict[int, KeyAdvert],
    ) -> None:
        super().__init__(session, ledger, asked)
        self.adverts = adverts
        self.commitments: dict[int, bytes] = {}
        # Sender -> (its receivers in increasing id, their ciphertexts joined in
        # that order): one object per sender rather than one per ciphertext.
        self.ciphertexts: dict[int, tuple[tuple[int, ...], bytes]] = {}

    def accept(self, sender: int, msg: Message) -> str | None:
        """Keep shares addressed to exactly the sender's neighbours in U1."""
        assert isinstance(msg, EncryptedShares)
        u1 = self.ledger.members("u1")
        want = [v for v in self.session.neighbours(sender) if v in u1]
        got = [c.receiver for c in msg.ciphertexts]
        if got != want:
            return (
                f"it sent ciphertexts for {got[:8]}, expected exactly its neighbours in U1 "
                f"{want[:8]}"
            )
        self.commitments[sender] = msg.commitment
        self.ciphertexts[sender] = (tuple(got), b"".join(c.ciphertext for c in msg.ciphertexts))
        return None

    def forget(self, sender: int) -> None:
        """Forget a dropped sender's shares."""
        self.ciphertexts.pop(sender, None)
        self.commitments.pop(sender, None)

    def close(self, alive: list[int]) -> Closing:
        """Fix U2 and forward to each client exactly the ciphertexts of N(u) ∩ U2."""
        self.ledger.u2 = tuple(alive)
        short = self.check_enough(alive, "sent their encrypted shares")
        if short is not None:
            return self.abort(short, alive)
        session = self.session
        u2 = set(alive)
        cts, self.ciphertexts = self.ciphertexts, {}
        # Each ciphertext is forwarded exactly once; a sender's ciphertexts are
        # released as soon as the last of its receivers' messages is built.
        left = {v: sum(1 for u in cts[v][0] if u in u2) for v in alive}
        out: dict[int, Message] = {}
        for u in alive:
            entries = []
            for v in session.neighbours(u):
                if v not in u2:
                    continue
                receivers, blob = cts[v]
                j = bisect_left(receivers, u)
                ct = blob[j * CIPHERTEXT_LEN : (j + 1) * CIPHERTEXT_LEN]
                entries.append(CiphertextIn(v, self.commitments[v], ct))
                left[v] -= 1
                if not left[v]:
                    del cts[v]
            out[u] = ShareForward(session.session_id, SERVER_ID, tuple(entries))
        keep = {v: self.adverts[v] for v in self.ledger.u1}
        acc = np.zeros(session.config.m, dtype=session.config.dtype)
        nxt = CollectMaskedInputs(session, self.ledger, set(alive), (keep, self.commitments, acc))
        return Closing(nxt, out)

"""R1 ShareKeys: the client checks its neighbours' adverts and shares b_u and s_u^SK."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import crypto, shamir
from ...exceptions import SecAggError
from ..messages import AdvertForward, CiphertextOut, EncryptedShares
from ..vocabulary import AbortCode, Rng, State, share_aad
from .base import ClientState, Secrets, Session, Step, Trust, refuse
from .r2 import R2MaskedInputCollection

__all__ = ["R1ShareKeys"]


@dataclass
class R1ShareKeys(ClientState):
    """Waiting for the adverts of N(u) ∩ U1 (all of U1 in active mode).

    Attributes:
        session: The session's public facts.
        secrets: The session's randomness.
        words: The input x_u in the ring's storage type.
        c_pk: This client's advertised channel key.
        s_pk: This client's advertised masking key.
    """

    STATE: ClassVar[State] = State.R1_SHARE_KEYS
    EXPECTS: ClassVar[type] = AdvertForward
    session: Session
    secrets: Secrets
    words: np.ndarray
    c_pk: bytes
    s_pk: bytes

    def handle(self, msg: AdvertForward, trust: Trust, rng: Rng) -> Step:  # type: ignore[override]
        """Check every advert, agree a channel key with each neighbour, split b_u and
        s_u^SK over H(u) ∩ U1 and encrypt each holder's pair of shares."""
        session, secrets = self.session, self.secrets
        config, sid, me = session.config, session.session_id, session.client_id
        c_pk, s_pk = self.c_pk, self.s_pk
        nbrs = set(session.neighbours)
        transcript = None
        if session.active:
            refusal = _check_active_adverts(msg, session, trust, c_pk, s_pk)
            if refusal is not None:
                return refusal
            transcript = crypto.transcript_hash(sid, {a.id: (a.c_pk, a.s_pk) for a in msg.adverts})
        else:
            outside = [a.id for a in msg.adverts if a.id not in nbrs]
            if outside:
                return refuse(
                    AbortCode.LIST_NOT_SUBSET,
                    f"the forwarded adverts include clients {outside[:5]} that are not "
                    "neighbours of this client.",
                )
        c_key = crypto.x25519_load(secrets.c_sk)
        seen: set[bytes] = set()
        channel: dict[int, bytes] = {}
        s_pks: dict[int, bytes] = {}
        for a in msg.adverts:
            if a.id == me or a.id not in nbrs:
                continue
            try:
                for key in (a.c_pk, a.s_pk):
                    crypto.check_public_key(key)
                    if key in seen or key in (c_pk, s_pk):
                        return refuse(
                            AbortCode.ADVERT_INVALID,
                            f"the advert of client {a.id} repeats a key seen before.",
                            a.id,
                        )
                    seen.add(key)
                channel[a.id] = c_key.channel_key(a.c_pk, sid)
            except SecAggError as exc:
                return refuse(AbortCode.ADVERT_INVALID, f"the advert of client {a.id}: {exc}", a.id)
            s_pks[a.id] = a.s_pk
        holders = sorted([me, *channel])
        if len(holders) < config.t:
            return refuse(
                AbortCode.TOO_FEW_HOLDERS,
                f"only {len(holders)} of this client's holders advertised keys, fewer "
                f"than t = {config.t}.",
            )
        b_shares, sk_shares = shamir.split(
            [bytes(secrets.b), secrets.s_sk],
            config.t,
            holders,
            rand=secrets.rand_b + secrets.rand_sk,
        )
        cts = []
        own = (b"", b"")
        nonces = secrets.gcm_nonces(sid, session.neighbours)
        for j, v in enumerate(holders):
            if v == me:
                own = (b_shares[j], sk_shares[j])
                continue
            ct = crypto.aes_gcm_encrypt(
                channel[v],
                b_shares[j] + sk_shares[j],
                share_aad(sid, me, v),
                nonce=nonces[v],
            )
            cts.append(CiphertextOut(v, ct))
        com = crypto.self_commitment(sid, me, bytes(secrets.b))
        nxt = R2MaskedInputCollection(
            session, secrets.s_sk, secrets.b, self.words, channel, s_pks, own, transcript
        )
        return Step(nxt, (EncryptedShares(sid, me, com, tuple(cts)),))

    def facts(self) -> Session:
        """The session's public facts."""
        return self.session

    def erase(self) -> None:
        """Overwrite the seed and the input."""
        self.secrets.erase()
        self.words.fill(0)


def _check_active_adverts(
    msg: AdvertForward, session: Session, trust: Trust, c_pk: bytes, s_pk: bytes
) -> Step | None:
    """Active mode: its own advert unchanged, every signature valid, at least n_min adverts."""
    config, sid, me = session.config, session.session_id, session.client_id
    own = [a for a in msg.adverts if a.id == me]
    if not own or own[0].c_pk != c_pk or own[0].s_pk != s_pk:
        return refuse(
            AbortCode.OWN_ADVERT_CHANGED,
            "the forwarded advert list does not hold this client's own advert unchanged.",
        )
    assert trust.verify_keys is not None
    for a in msg.adverts:
        vk = trust.verify_keys.get(a.id)
        if (
            vk is None
            or a.signature is None
            or not crypto.ed25519_verify(
                vk, crypto.advert_message(sid, a.id, a.c_pk, a.s_pk), a.signature
            )
        ):
            return refuse(
                AbortCode.ADVERT_INVALID,
                f"the key advert of client {a.id} has an invalid signature.",
                a.id,
            )
    if len(msg.adverts) < config.n_min:
        return refuse(
            AbortCode.TOO_FEW_SURVIVORS,
            f"only {len(msg.adverts)} clients advertised keys, fewer than n_min = {config.n_min}.",
        )
    return None

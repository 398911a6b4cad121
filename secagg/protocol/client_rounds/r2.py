"""R2 MaskedInputCollection: the client opens its neighbours' shares and sends y_u."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import crypto, masking, packing, prg
from ...exceptions import SecAggError
from ..messages import MaskedInput, ShareForward, encode_bitmap
from ..vocabulary import SHARE_LEN, SHARE_PLAINTEXT_LEN, AbortCode, Rng, State, share_aad
from .base import ClientState, Session, Step, Trust, refuse, valid_share
from .r4 import Held, R3ConsistencyCheck, R4Unmasking

__all__ = ["R2MaskedInputCollection"]


@dataclass
class R2MaskedInputCollection(ClientState):
    """Waiting for the share ciphertexts of N(u) ∩ U2 (with their commitments).

    Attributes:
        session: The session's public facts.
        s_sk: The masking key's secret half (for the pairwise seeds).
        b: The self-mask seed b_u.
        words: The input x_u.
        channel: Neighbour -> the pair's share-encryption key.
        s_pks: Neighbour -> its masking public key.
        own: This client's own shares of (b_u, s_u^SK).
        transcript: T, the transcript hash of U1's adverts (active mode).
    """

    STATE: ClassVar[State] = State.R2_MASKED_INPUT_COLLECTION
    EXPECTS: ClassVar[type] = ShareForward
    session: Session
    s_sk: bytes
    b: bytearray
    words: np.ndarray
    channel: dict[int, bytes]
    s_pks: dict[int, bytes]
    own: tuple[bytes, bytes]
    transcript: bytes | None

    def handle(self, msg: ShareForward, trust: Trust, rng: Rng) -> Step:  # type: ignore[override]
        """Decrypt every forwarded ciphertext, then send y_u = x_u + PRG(b_u) + Σ ±PRG(s_uv)
        over the neighbours M_u whose shares arrived, with M_u as a bitmap over N(u)."""
        session = self.session
        config, sid, me = session.config, session.session_id, session.client_id
        senders = [c.sender for c in msg.ciphertexts]
        outside = [v for v in senders if v not in self.channel]
        if outside:
            return refuse(
                AbortCode.LIST_NOT_SUBSET,
                f"the forwarded ciphertexts come from clients {outside[:5]} outside the "
                "neighbours whose adverts this client received (M_u ⊄ U1 ∩ N(u)).",
            )
        held: dict[int, tuple[bytes, bytes]] = {}
        for c in msg.ciphertexts:
            try:
                plain = crypto.aes_gcm_decrypt(
                    self.channel[c.sender], c.ciphertext, share_aad(sid, c.sender, me)
                )
            except SecAggError as exc:
                return refuse(
                    AbortCode.CIPHERTEXT_INVALID,
                    f"the share ciphertext from client {c.sender}: {exc}",
                    c.sender,
                )
            if len(plain) != SHARE_PLAINTEXT_LEN:
                return refuse(
                    AbortCode.CIPHERTEXT_INVALID,
                    f"the share ciphertext from client {c.sender} decrypts to {len(plain)} "
                    f"bytes, not {SHARE_PLAINTEXT_LEN}.",
                    c.sender,
                )
            b_sh, sk_sh = plain[:SHARE_LEN], plain[SHARE_LEN:]
            if not (valid_share(b_sh) and valid_share(sk_sh)):
                return refuse(
                    AbortCode.CIPHERTEXT_INVALID,
                    f"the shares from client {c.sender} hold a value ≥ p.",
                    c.sender,
                )
            held[c.sender] = (b_sh, sk_sh)
        if len(senders) + 1 < config.t:
            return refuse(
                AbortCode.TOO_FEW_HOLDERS,
                f"only {len(senders)} neighbours sent shares; with this client that is "
                f"fewer than t = {config.t} holders.",
            )
        y = self.words if self.words.dtype == config.dtype else self.words.astype(config.dtype)
        keys = [prg.derive_key(bytes(self.b), sid, "self")]
        signs = [1]
        shared = crypto.x25519_load(self.s_sk).shared_many([self.s_pks[v] for v in senders])
        for v, s_uv in zip(senders, shared, strict=True):
            keys.append(prg.derive_key(s_uv, sid, prg.pair_purpose(me, v)))
            signs.append(1 if me < v else -1)
        # The input is masked in place, and the message is encoded from it with
        # one copy (the full-width words are already the wire layout).
        masking.apply_masks(y, keys, signs, config.b)
        neighbours = session.neighbours
        index = {v: j for j, v in enumerate(neighbours)}
        bitmap = encode_bitmap([index[v] for v in senders], len(neighbours))
        packed = packing.pack_view(y, config.b)
        reply = MaskedInput(sid, me, len(neighbours), bitmap, config.b, config.m, packed)
        encoded = reply.to_bytes()
        del reply, packed
        # y is now the masked vector, public once sent: only an unmasked copy
        # of the input (a dtype conversion kept the original) needs erasing.
        if y is not self.words:
            self.words.fill(0)
        kept = Held(session, held, self.own, tuple(senders), self.transcript)
        nxt = R3ConsistencyCheck(kept) if session.active else R4Unmasking(kept, None)
        self.b[:] = bytes(len(self.b))
        return Step(nxt, (encoded,))

    def facts(self) -> Session:
        """The session's public facts."""
        return self.session

    def erase(self) -> None:
        """Overwrite the seed and the input."""
        self.b[:] = bytes(len(self.b))
        self.words.fill(0)

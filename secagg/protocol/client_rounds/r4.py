"""R3 ConsistencyCheck (active mode) and R4 Unmasking: the client answers one survivor list."""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import ClassVar

from ... import crypto
from ..messages import (
    ShareEntry,
    SurvivorRequest,
    SurvivorSignature,
    UnmaskRequest,
    UnmaskResponse,
    encode_bitmap,
)
from ..vocabulary import AbortCode, Rng, ShareKind, State
from ..wire import IdBitmap
from .base import ClientState, Completed, Session, Step, Trust, refuse

__all__ = ["Held", "R3ConsistencyCheck", "R4Unmasking"]


def members(survivors: Sequence[int]) -> Container[int]:
    """Constant-time membership in a survivor list: its bitmap as decoded, else a set."""
    return survivors if isinstance(survivors, IdBitmap) else frozenset(survivors)


@dataclass
class Held:
    """What a client keeps after sending y_u: the shares it may release.

    Attributes:
        session: The session's public facts.
        shares: Neighbour v in M_u -> (share of b_v, share of s_v^SK).
        own: This client's own shares of (b_u, s_u^SK).
        masking_set: M_u, the neighbours whose shares arrived, increasing id.
        transcript: T, the transcript hash (active mode).
    """

    session: Session
    shares: dict[int, tuple[bytes, bytes]]
    own: tuple[bytes, bytes]
    masking_set: tuple[int, ...]
    transcript: bytes | None

    def check(self, survivors: tuple[int, ...], unmasking: bool) -> Step | None:
        """The §8 rules on a survivor list, as this client sees it; None if it passes."""
        config, me = self.session.config, self.session.client_id
        u3 = members(survivors)
        if me not in u3:
            return refuse(
                AbortCode.NOT_A_SURVIVOR, f"this client ({me}) is absent from the survivor list."
            )
        neighbours = self.session.neighbours
        masked = set(self.masking_set)
        missing = [v for v in neighbours if v in u3 and v not in masked]
        if missing:
            return refuse(
                AbortCode.LIST_NOT_SUBSET,
                f"the survivor list names neighbours {missing[:5]} that are not in this "
                "client's masking set (U3 ∩ N(u) ⊄ M_u).",
            )
        live = sum(1 for v in neighbours if v in u3)
        if live + 1 < config.t:
            return refuse(
                AbortCode.TOO_FEW_HOLDERS,
                f"only {live + 1} of this client's holders survive, fewer than t = {config.t}.",
            )
        if len(survivors) < config.n_min:
            return refuse(
                AbortCode.TOO_FEW_SURVIVORS,
                f"the survivor list has {len(survivors)} clients, fewer than "
                f"n_min = {config.n_min}.",
            )
        if unmasking and live < config.c + 1:
            # With b_u released, y_u minus the surviving neighbours' pairwise
            # masks is x_u: if every one of them could be a colluder, answering
            # would hand the server this client's input.
            return refuse(
                AbortCode.TOO_FEW_NEIGHBOURS,
                f"only {live} of this client's neighbours survive, fewer than "
                f"c + 1 = {config.c + 1}: all of them could be colluders.",
            )
        return None

    def survivors_message(self, survivors: tuple[int, ...]) -> bytes:
        """S = "secagg/v1/sig/survivors" ‖ T ‖ bitmap_n(U3), what active clients sign."""
        assert self.transcript is not None
        n = self.session.config.n
        if isinstance(survivors, IdBitmap) and len(survivors.bitmap) == (n + 7) // 8:
            bitmap = survivors.bitmap
        else:
            bitmap = encode_bitmap([v - 1 for v in survivors], n)
        return crypto.survivors_message(self.transcript, bitmap)


@dataclass
class R3ConsistencyCheck(ClientState):
    """Active mode: waiting for U3, which this client signs at most once."""

    STATE: ClassVar[State] = State.R3_CONSISTENCY_CHECK
    EXPECTS: ClassVar[type] = SurvivorRequest
    held: Held

    def facts(self) -> Session:
        """The session's public facts."""
        return self.held.session

    def handle(self, msg: SurvivorRequest, trust: Trust, rng: Rng) -> Step:  # type: ignore[override]
        """Check U3 against this client's view and sign S."""
        refusal = self.held.check(msg.survivors, unmasking=False)
        if refusal is not None:
            return refusal
        assert trust.signing_key is not None
        sig = crypto.ed25519_sign(trust.signing_key, self.held.survivors_message(msg.survivors))
        session = self.held.session
        reply = SurvivorSignature(session.session_id, session.client_id, sig)
        return Step(R4Unmasking(self.held, msg.survivors), (reply,))


@dataclass
class R4Unmasking(ClientState):
    """Waiting for the unmasking request; answers it once, then the session is over.

    Attributes:
        held: The shares this client may release.
        signed: The survivor list this client signed (active mode), else None.
    """

    STATE: ClassVar[State] = State.R4_UNMASKING
    EXPECTS: ClassVar[type] = UnmaskRequest
    held: Held
    signed: tuple[int, ...] | None

    def facts(self) -> Session:
        """The session's public facts."""
        return self.held.session

    def handle(self, msg: UnmaskRequest, trust: Trust, rng: Rng) -> Step:  # type: ignore[override]
        """For each v in M_u ∪ {u}: the share of b_v if v is in U3, else of s_v^SK; never
        both. In active mode only for owners with t valid signatures on the signed U3."""
        held = self.held
        refusal = held.check(msg.survivors, unmasking=True)
        if refusal is not None:
            return refusal
        me = held.session.client_id
        owners = sorted({me, *held.masking_set})
        if held.session.active:
            answerable = self._answerable(msg, trust, owners)
            if isinstance(answerable, Step):
                return answerable
            owners = answerable
        u3 = members(msg.survivors)
        entries = []
        for v in owners:
            if v == me:
                entries.append(ShareEntry(v, ShareKind.SELF_MASK, held.own[0]))
            elif v in u3:
                entries.append(ShareEntry(v, ShareKind.SELF_MASK, held.shares[v][0]))
            else:
                entries.append(ShareEntry(v, ShareKind.SECRET_KEY, held.shares[v][1]))
        reply = UnmaskResponse(held.session.session_id, me, tuple(entries))
        return Step(Completed(), (reply,))

    def _answerable(self, msg: UnmaskRequest, trust: Trust, owners: list[int]) -> list[int] | Step:
        """Owners with t valid signatures on the list this client signed, or the refusal."""
        held = self.held
        config = held.session.config
        if msg.survivors != self.signed:
            return refuse(
                AbortCode.SURVIVOR_LIST_CHANGED,
                "the unmasking request's survivor list is not the one this client signed.",
            )
        assert msg.signatures is not None and trust.verify_keys is not None
        s_msg = held.survivors_message(msg.survivors)
        u3 = members(msg.survivors)
        valid: set[int] = set()
        for entry in msg.signatures:
            if entry.id not in u3:
                return refuse(
                    AbortCode.SIGNATURE_INVALID,
                    f"the unmasking request carries a signature of client {entry.id}, "
                    "which is not a survivor.",
                    entry.id,
                )
            vk = trust.verify_keys.get(entry.id)
            if vk is None or not crypto.ed25519_verify(vk, s_msg, entry.signature):
                return refuse(
                    AbortCode.SIGNATURE_INVALID,
                    f"the survivor-list signature of client {entry.id} does not verify.",
                    entry.id,
                )
            valid.add(entry.id)
        if config.complete:  # H(v) ∩ U3 = U3 for every owner
            answerable = owners if sum(1 for v in valid if v in u3) >= config.t else []
        else:
            graph = held.session.graph
            answerable = [
                v
                for v in owners
                if sum(1 for h in {v, *graph.neighbours(v)} if h in valid and h in u3) >= config.t
            ]
        if not answerable:
            return refuse(
                AbortCode.TOO_FEW_SIGNATURES,
                f"only {len(valid)} valid survivor-list signatures, fewer than "
                f"t = {config.t} from any secret's holders.",
            )
        return answerable

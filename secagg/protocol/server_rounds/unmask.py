"""R4 on the server: collect shares, rebuild each needed secret robustly, unmask the sum."""

from __future__ import annotations

from typing import ClassVar

from ... import crypto, masking, prg, shamir
from ...exceptions import DecodingError, SecAggError
from ..messages import Message, UnmaskResponse
from ..vocabulary import ShareKind, State
from .base import (
    AfterShares,
    Carried,
    Closing,
    Ledger,
    ServerCompleted,
    ServerResult,
    ServerSession,
)

__all__ = ["CollectUnmasking"]

#: Masks removed per pass over the sum in R4.
STRIP_KEYS = 1024


class CollectUnmasking(AfterShares):
    """R4: collecting, from each survivor, one share per secret owner in its masking set.

    Attributes:
        shares: (owner, kind) -> holder -> share.
    """

    STATE: ClassVar[State] = State.R4_UNMASKING
    EXPECTS: ClassVar[type] = UnmaskResponse

    def __init__(
        self, session: ServerSession, ledger: Ledger, asked: set[int], carried: Carried
    ) -> None:
        super().__init__(session, ledger, asked, carried)
        self.shares: dict[tuple[int, int], dict[int, bytes]] = {}

    def accept(self, sender: int, msg: Message) -> str | None:
        """Keep shares for owners in the sender's masking set, of the kind U3 implies."""
        assert isinstance(msg, UnmaskResponse)
        u2, u3 = self.ledger.members("u2"), self.ledger.members("u3")
        allowed = {sender} | {v for v in self.session.neighbours(sender) if v in u2}
        for e in msg.shares:
            if e.id not in allowed:
                return f"it sent a share for client {e.id}, which is not in its masking set"
            want = ShareKind.SELF_MASK if e.id in u3 else ShareKind.SECRET_KEY
            if e.kind != want:
                return f"it sent a share of kind {e.kind} for client {e.id}, expected {want}"
        for e in msg.shares:
            self.shares.setdefault((e.id, e.kind), {})[sender] = e.share
        return None

    def forget(self, sender: int) -> None:
        """Forget a dropped sender's shares."""
        # Only the sender's neighbours (and itself) can have had it as a holder.
        for v in (sender, *self.session.neighbours(sender)):
            for kind in (ShareKind.SELF_MASK, ShareKind.SECRET_KEY):
                holders = self.shares.get((v, kind))
                if holders is not None:
                    holders.pop(sender, None)

    def close(self, alive: list[int]) -> Closing:
        """Rebuild b_v for v in U3 and s_v^SK for v in U2 \\ U3 with a neighbour in U3,
        strip their masks from the sum and complete, or abort naming the clients."""
        session, config, ledger = self.session, self.session.config, self.ledger
        u3 = ledger.members("u3")
        needed = [(v, ShareKind.SELF_MASK) for v in ledger.u3] + [
            (v, ShareKind.SECRET_KEY)
            for v in ledger.u2
            if v not in u3 and any(u in u3 for u in session.neighbours(v))
        ]
        short = [
            self._shortage(v, kind)
            for v, kind in needed
            if len(self.shares.get((v, kind), {})) < config.t
        ]
        if short:
            # Name every client whose mask cannot be removed, not only the first.
            return self.abort("; ".join(short), alive)
        acc = self.acc
        bad: set[int] = set()
        corrected: dict[int, tuple[int, ...]] = {}
        rebuilt: dict[int, list[int]] = {ShareKind.SELF_MASK: [], ShareKind.SECRET_KEY: []}
        keys: list[bytes] = []
        signs: list[int] = []
        for v, kind in needed:
            recovered = _recover(self, v, kind)
            if isinstance(recovered, str):
                return self.abort(recovered, alive)
            secret, wrong = recovered
            del self.shares[(v, kind)]  # rebuilt: its shares are done
            if wrong:
                corrected[v] = wrong
                bad.update(wrong)
            self._mask_keys(v, kind, secret, keys, signs)
            rebuilt[kind].append(v)
        # The masks come off in passes of up to STRIP_KEYS keys over the sum
        # (bounding the core's key schedules), each split across the CPUs for
        # a large m (the core releases the GIL).
        threads = masking.default_threads()
        for g in range(0, len(keys), STRIP_KEYS):
            group = slice(g, g + STRIP_KEYS)
            masking.apply_masks(acc, keys[group], signs[group], config.b, threads=threads)
        result = ServerResult(
            sum=acc,
            survivors=frozenset(ledger.u3),
            dropped=dict(ledger.dropped),
            reconstructed={
                "self_mask": tuple(rebuilt[ShareKind.SELF_MASK]),
                "pairwise": tuple(rebuilt[ShareKind.SECRET_KEY]),
            },
            bad_holders=tuple(sorted(bad)),
            corrected=corrected,
        )
        return Closing(ServerCompleted(session, ledger, result), {})

    def _mask_keys(
        self, v: int, kind: int, secret: bytes, keys: list[bytes], signs: list[int]
    ) -> None:
        """Append the PRG keys (and signs) that take v's self mask (b_v) or its pairwise
        masks with U3 (s_v^SK) out of the sum."""
        session = self.session
        sid = session.session_id
        if kind == ShareKind.SELF_MASK:
            keys.append(prg.derive_key(secret, sid, "self"))
            signs.append(-1)
            return
        u3 = self.ledger.members("u3")
        partners = [u for u in session.neighbours(v) if u in u3]
        shared = crypto.x25519_shared_many(secret, [self.adverts[u].s_pk for u in partners])
        for u, s_uv in zip(partners, shared, strict=True):
            keys.append(prg.derive_key(s_uv, sid, prg.pair_purpose(u, v)))
            # y_u holds +PRG when u < v and -PRG when u > v: take it out.
            signs.append(-1 if u < v else 1)

    def _shortage(self, owner: int, kind: int) -> str:
        what = "self-mask seed b" if kind == ShareKind.SELF_MASK else "masking key s^SK"
        count = len(self.shares.get((owner, kind), {}))
        return (
            f"client {owner}: only {count} shares of its {what} arrived, fewer than "
            f"t = {self.session.config.t}; its mask cannot be removed."
        )


def _fits(state: CollectUnmasking, owner: int, kind: int, secret: bytes) -> bool:
    """The §9 check: b must reproduce the commitment, s^SK the advertised s_pk."""
    if kind == ShareKind.SELF_MASK:
        found = crypto.self_commitment(state.session.session_id, owner, secret)
        return found == state.commitments[owner]
    try:
        return crypto.x25519_public(secret) == state.adverts[owner].s_pk
    except SecAggError:
        return False


def _recover(state: CollectUnmasking, owner: int, kind: int) -> tuple[bytes, tuple[int, ...]] | str:
    """The secret and the holders found wrong, or why it cannot be rebuilt.

    Interpolates from t shares; only on a failed check decodes all of
    them as a Reed–Solomon codeword (§9).
    """
    t = state.session.config.t
    what = "self-mask seed b" if kind == ShareKind.SELF_MASK else "masking key s^SK"
    got = state.shares.get((owner, kind), {})
    xs = sorted(got)
    try:
        secret = shamir.reconstruct(xs[:t], [got[x] for x in xs[:t]], t, 32)
        if _fits(state, owner, kind, secret):
            return secret, ()
    except (SecAggError, ValueError):
        pass
    try:
        secret, bad = shamir.decode(xs, [got[x] for x in xs], t, 32)
    except (DecodingError, SecAggError, ValueError) as exc:
        return (
            f"client {owner}: its {what} could not be reconstructed from the "
            f"{len(xs)} shares received (too many wrong shares: {exc})."
        )
    if not _fits(state, owner, kind, secret):
        return (
            f"client {owner}: the {what} decoded from {len(xs)} shares fails its check "
            "(too many wrong shares)."
        )
    return secret, tuple(sorted(bad))

"""R2 and R3 on the server: fold masked inputs, then collect survivor-list signatures."""

from __future__ import annotations

from typing import ClassVar

from ... import crypto, packing
from ..messages import (
    MaskedInput,
    Message,
    SignatureEntry,
    SurvivorRequest,
    SurvivorSignature,
    UnmaskRequest,
    encode_bitmap,
)
from ..vocabulary import SERVER_ID, State
from .base import AfterShares, Carried, Closing, Ledger, ServerSession, ServerState
from .unmask import CollectUnmasking

__all__ = ["CollectMaskedInputs", "CollectSignatures"]


class CollectMaskedInputs(AfterShares):
    """R2: folding each masked input into one running sum as it arrives (O(m) memory)."""

    STATE: ClassVar[State] = State.R2_MASKED_INPUT_COLLECTION
    EXPECTS: ClassVar[type] = MaskedInput

    def accept(self, sender: int, msg: Message) -> str | None:
        """Fold y_u if its masking set is exactly N(u) ∩ U2 (validated before it is added)."""
        assert isinstance(msg, MaskedInput)
        nbrs = self.session.neighbours(sender)
        u2 = self.ledger.members("u2")
        claimed = [nbrs[j] for j in msg.masking_positions()]
        expected = [v for v in nbrs if v in u2]
        if claimed != expected:
            return f"its masking set {claimed[:8]} differs from its neighbours in U2 {expected[:8]}"
        packing.unpack_add(self.acc, msg.packed, self.session.config.b)
        return None

    def close(self, alive: list[int]) -> Closing:
        """Fix U3; abort below n_min or when the survivors fall apart on a ring; ask
        for signatures on U3 (active) or for the unmasking shares (semi_honest)."""
        session, config = self.session, self.session.config
        self.ledger.u3 = tuple(alive)
        short = self.check_enough(alive, "had their masked input folded")
        if short is not None:
            return self.abort(short, alive)
        gaps = session.graph.cut_gaps(alive)
        if len(gaps) >= 2:
            shown = ", ".join(f"{length} at ring position {start}" for start, length in gaps[:5])
            return self.abort(
                f"the {len(alive)} surviving clients are not connected on the k = "
                f"{config.k} ring: {len(gaps)} runs of at least k/2 = {config.k // 2} "
                f"missing clients ({shown}) split them, and the sum of each part could be "
                "learned on its own.",
                alive,
            )
        asked = set(alive)
        u3 = tuple(alive)
        if session.active:
            req: Message = SurvivorRequest(session.session_id, SERVER_ID, config.n, u3)
            nxt: ServerState = CollectSignatures(session, self.ledger, asked, self.carried())
        else:
            req = UnmaskRequest(session.session_id, SERVER_ID, config.n, u3, None)
            nxt = CollectUnmasking(session, self.ledger, asked, self.carried())
        return Closing(nxt, {u: req for u in alive})


class CollectSignatures(AfterShares):
    """R3 (active mode): collecting the survivors' signatures on U3."""

    STATE: ClassVar[State] = State.R3_CONSISTENCY_CHECK
    EXPECTS: ClassVar[type] = SurvivorSignature

    def __init__(
        self, session: ServerSession, ledger: Ledger, asked: set[int], carried: Carried
    ) -> None:
        super().__init__(session, ledger, asked, carried)
        self.signatures: dict[int, bytes] = {}
        self._signed: bytes | None = None

    def signed_message(self) -> bytes:
        """S = "secagg/v1/sig/survivors" ‖ T ‖ bitmap_n(U3), built once."""
        if self._signed is None:
            session = self.session
            transcript = crypto.transcript_hash(
                session.session_id,
                {u: (self.adverts[u].c_pk, self.adverts[u].s_pk) for u in self.ledger.u1},
            )
            bitmap = encode_bitmap([v - 1 for v in self.ledger.u3], session.config.n)
            self._signed = crypto.survivors_message(transcript, bitmap)
        return self._signed

    def accept(self, sender: int, msg: Message) -> str | None:
        """Keep the signature (checked here too when the server holds the registry)."""
        assert isinstance(msg, SurvivorSignature)
        verify_keys = self.session.verify_keys
        if verify_keys is not None:
            vk = verify_keys.get(sender)
            if vk is None or not crypto.ed25519_verify(vk, self.signed_message(), msg.signature):
                return "its survivor-list signature does not verify"
        self.signatures[sender] = msg.signature
        return None

    def forget(self, sender: int) -> None:
        """Forget a dropped sender's signature."""
        self.signatures.pop(sender, None)

    def close(self, alive: list[int]) -> Closing:
        """Send U3 with every signature collected, if at least t clients signed."""
        session, config = self.session, self.session.config
        if len(alive) < config.t:
            return self.abort(
                f"only {len(alive)} clients signed the survivor list, fewer than t = {config.t}.",
                alive,
            )
        sigs = tuple(SignatureEntry(u, self.signatures[u]) for u in alive)
        req = UnmaskRequest(session.session_id, SERVER_ID, config.n, self.ledger.u3, sigs)
        nxt = CollectUnmasking(session, self.ledger, set(alive), self.carried())
        return Closing(nxt, {u: req for u in alive})

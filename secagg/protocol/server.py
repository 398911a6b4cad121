"""The server state machine (PROTOCOL.md §8 and §9, one object per session).

The caller sends the messages :meth:`Server.start` returns, feeds every reply
to :meth:`Server.receive` as it arrives (with the sender id its transport
authenticated), and decides when a round ends by calling
:meth:`Server.close_round`, which returns the next round's requests. There is
no I/O, no thread and no clock inside.

A reply that is malformed, late, duplicated, from an unknown sender, for
another session, of the wrong type or breaking a rule of §8 makes its sender
count as dropped (``server.dropped[id]`` is the round) and is never folded into
the sum. Masked inputs are folded into one running accumulator as they arrive
(O(m) memory, never O(n·m)). At the end ``server.result`` holds the sum over
exactly the clients whose masked input was folded (U3), or ``server.state`` is
``ABORTED`` and ``server.abort_reason`` says why.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import crypto, masking, packing, prg, shamir
from ..exceptions import (
    DecodingError,
    InvalidInputError,
    ProtocolViolationError,
    SecAggError,
)
from ..prg import pair_purpose
from .config import Config
from .graph import Graph
from .messages import (
    CIPHERTEXT_LEN,
    AbortNotice,
    Advert,
    AdvertForward,
    CiphertextIn,
    ConfigRequest,
    EncryptedShares,
    KeyAdvert,
    MaskedInput,
    ShareForward,
    SignatureEntry,
    SurvivorRequest,
    SurvivorSignature,
    UnmaskRequest,
    UnmaskResponse,
    decode,
    encode_bitmap,
    peek_header,
)
from .vocabulary import (
    AbortCode,
    Mode,
    MsgType,
    Rng,
    ShareKind,
    State,
    default_rng,
    parse_notice_reason,
)

__all__ = ["Server", "ServerResult", "State"]

_EXPECTED = {
    State.R0_ADVERTISE_KEYS: MsgType.KEY_ADVERT,
    State.R1_SHARE_KEYS: MsgType.ENCRYPTED_SHARES,
    State.R2_MASKED_INPUT_COLLECTION: MsgType.MASKED_INPUT,
    State.R3_CONSISTENCY_CHECK: MsgType.SURVIVOR_SIGNATURE,
    State.R4_UNMASKING: MsgType.UNMASK_RESPONSE,
}


@dataclass(frozen=True)
class ServerResult:
    """What the server outputs after a successful session.

    Attributes:
        sum: Σ_{u∈U3} x_u mod 2^b, dtype ``config.dtype``, length m.
        survivors: U3, the clients whose masked input was folded.
        dropped: Client id -> round ("R0".."R4") at which it counted as dropped.
        reconstructed: ``{"self_mask": ids whose b was rebuilt, "pairwise":
            ids whose s^SK was rebuilt}``.
        bad_holders: Holders whose shares disagreed with a reconstructed
            secret (found by Reed–Solomon decoding), in increasing id.
        corrected: Owner id -> holders whose wrong shares were corrected.
    """

    sum: np.ndarray
    survivors: frozenset[int]
    dropped: dict[int, str]
    reconstructed: dict[str, tuple[int, ...]]
    bad_holders: tuple[int, ...]
    corrected: dict[int, tuple[int, ...]] = field(default_factory=dict)


class _Abort(Exception):
    """Internal: the session must abort; the text is the reason."""


class Server:
    """The aggregation server's side of one session.

    Args:
        config: The session config.
        nonce: 32-byte session nonce; drawn from ``rng`` when None. In active
            mode it must be the nonce the config authority signed.
        config_signature: The config authority's Ed25519 signature on
            ``"secagg/v1/sig/config" ‖ nonce ‖ canonical(config)`` (active
            mode, required there).
        verify_keys: The registry id -> verification key (active mode,
            optional): when given, the server also checks advert and
            survivor-list signatures and drops clients whose signature fails
            rather than forwarding it for the clients to refuse.
        rng: Source of random bytes (default ``os.urandom``); inject only in
            tests.

    Raises:
        InvalidInputError: Bad nonce, or active mode without a signature.
    """

    def __init__(
        self,
        config: Config,
        *,
        nonce: bytes | None = None,
        config_signature: bytes | None = None,
        verify_keys: Mapping[int, bytes] | None = None,
        rng: Rng | None = None,
    ) -> None:
        if not isinstance(config, Config):
            raise InvalidInputError(f"config must be a Config, got {type(config).__name__}.")
        self._rng: Rng = rng if rng is not None else default_rng
        if nonce is None:
            nonce = self._rng(32)
        self.config = config
        self.nonce = bytes(nonce)
        self.session_id = config.session_id(self.nonce)
        if config.mode is Mode.ACTIVE and config_signature is None:
            raise InvalidInputError(
                "active mode needs the config authority's signature on the config and nonce."
            )
        if config.mode is not Mode.ACTIVE and config_signature is not None:
            raise InvalidInputError("a config signature is only used in active mode.")
        if config_signature is not None and len(config_signature) != 64:
            raise InvalidInputError(
                f"the config signature must be 64 bytes, got {len(config_signature)}."
            )
        self._config_sig = config_signature
        self._verify_keys = dict(verify_keys) if verify_keys is not None else None
        self.graph = Graph.build(config, self.session_id)
        self._nbrs: dict[int, tuple[int, ...]] = {}
        self.state = State.R0_ADVERTISE_KEYS
        self.abort_reason: str | None = None
        self.result: ServerResult | None = None
        #: Client id -> round at which it counted as dropped.
        self.dropped: dict[int, str] = {}
        #: Client id -> why it was dropped (when it sent something wrong).
        self.drop_reasons: dict[int, str] = {}
        #: Messages discarded without effect, counted per (round, sender,
        #: reason); sender -1 stands for every sender that is no client of
        #: this session. Counts, not a log: spam cannot grow it without bound.
        self.discarded: Counter[tuple[str, int, str]] = Counter()
        #: Abort notices received: reporter -> (rule, peer named or None).
        self.reports: dict[int, tuple[AbortCode, int | None]] = {}
        self._started = False
        self._asked: set[int] = set()
        self._answered: set[int] = set()
        self.u1: tuple[int, ...] = ()
        self.u2: tuple[int, ...] = ()
        self.u3: tuple[int, ...] = ()
        self._u1_set: set[int] = set()
        self._u2_set: set[int] = set()
        self._u3_set: set[int] = set()
        self._adverts: dict[int, KeyAdvert] = {}
        self._commitments: dict[int, bytes] = {}
        # Sender -> (its receivers in increasing id, their ciphertexts joined in
        # that order): one object per sender rather than one per ciphertext.
        self._cts: dict[int, tuple[tuple[int, ...], bytes]] = {}
        self._acc: np.ndarray | None = None
        self._sigs: dict[int, bytes] = {}
        self._transcript_hash: bytes | None = None
        self._shares: dict[tuple[int, int], dict[int, bytes]] = {}

    # ------------------------------------------------------------------ API

    def neighbours(self, u: int) -> tuple[int, ...]:
        """N(u) in increasing id."""
        got = self._nbrs.get(u)
        if got is None:
            got = tuple(self.graph.neighbours(u))
            self._nbrs[u] = got
        return got

    @property
    def round(self) -> str | None:
        """The round being collected ("R0".."R4"), None when finished."""
        return self.state.round

    def start(self) -> dict[int, bytes]:
        """Begin the session: the R0 request for every client 1..n.

        Raises:
            ProtocolViolationError: Called twice.
        """
        if self._started:
            raise ProtocolViolationError("Server.start() was already called for this session.")
        self._started = True
        req = ConfigRequest(
            self.session_id, 0, self.config.canonical(), self.nonce, self._config_sig
        ).to_bytes()
        self._asked = set(range(1, self.config.n + 1))
        return {u: req for u in range(1, self.config.n + 1)}

    def receive(self, sender: int, data: bytes) -> None:
        """Take one client's reply for the current round.

        Never raises because of the message or its sender: anything wrong makes
        the sender count as dropped (or, for a sender that is no client of
        this session, is discarded and recorded in ``discarded``).

        Args:
            sender: The client id the transport authenticated.
            data: The complete message.
        """
        rnd = self.state.round or self.state.value
        # The sender is checked before it is ever formatted: an arbitrary
        # object (or a huge int) must not make receive() raise.
        if (
            isinstance(sender, bool)
            or not isinstance(sender, (int, np.integer))
            or not (1 <= sender <= self.config.n)
        ):
            self.discarded[(rnd, -1, "unknown sender")] += 1
            return
        sender = int(sender)
        if not self._started:
            self.discarded[(rnd, sender, "the session has not started")] += 1
            return
        if self.state in (State.COMPLETED, State.ABORTED):
            self.discarded[(rnd, sender, "the session is over")] += 1
            return
        if sender in self.dropped:
            self.discarded[(rnd, sender, "the sender already counts as dropped")] += 1
            return
        if sender not in self._asked:
            self._drop(sender, "it sent a message in a round it was not asked to answer")
            return
        if sender in self._answered:
            if self.state is State.R2_MASKED_INPUT_COLLECTION:
                # Its first masked input is folded and cannot be taken out again;
                # the repeat is discarded (the transport should remove duplicates).
                self.discarded[(rnd, sender, "a second masked input was discarded")] += 1
                return
            self._drop(sender, "it sent a second reply in the same round")
            return
        try:
            mtype, sid, hdr_sender = peek_header(data)
            if sid != self.session_id:
                raise ProtocolViolationError("its message carries another session id")
            if hdr_sender != sender:
                raise ProtocolViolationError(f"its message names sender {hdr_sender}, not {sender}")
            if mtype == MsgType.ABORT:
                msg = decode(data, self.config)
                assert isinstance(msg, AbortNotice)
                raise ProtocolViolationError(self._take_report(sender, msg.reason))
            if mtype != _EXPECTED[self.state]:
                raise ProtocolViolationError(
                    f"it sent message type 0x{mtype:02x} in round {rnd}, which expects "
                    f"0x{_EXPECTED[self.state]:02x}"
                )
            msg = decode(data, self.config)
            self._accept(sender, msg)
        except (SecAggError, ValueError) as exc:
            self._drop(sender, str(exc))
            return
        self._answered.add(sender)

    def close_round(self) -> dict[int, bytes]:
        """End the current round: fix its survivor set and build the next requests.

        Clients asked in this round that did not answer count as dropped. After
        R4 this reconstructs the secrets and sets ``result`` (or aborts).

        Returns:
            Client id -> message for the next round (abort notices when the
            session aborts; empty once finished).

        Raises:
            ProtocolViolationError: Called before start() or after the end.
        """
        if not self._started:
            raise ProtocolViolationError("close_round() called before start().")
        if self.state in (State.COMPLETED, State.ABORTED):
            raise ProtocolViolationError(f"close_round() called in final state {self.state.value}.")
        rnd = self.state.round
        assert rnd is not None
        for u in sorted(self._asked - self._answered):
            self.dropped[u] = rnd
        alive = sorted(self._answered)
        self._answered = set()
        try:
            if self.state is State.R0_ADVERTISE_KEYS:
                return self._close_r0(alive)
            if self.state is State.R1_SHARE_KEYS:
                return self._close_r1(alive)
            if self.state is State.R2_MASKED_INPUT_COLLECTION:
                return self._close_r2(alive)
            if self.state is State.R3_CONSISTENCY_CHECK:
                return self._close_r3(alive)
            return self._close_r4(alive)
        except _Abort as exc:
            return self._abort(str(exc), alive)

    # -------------------------------------------------------------- helpers

    def _drop(self, u: int, reason: str) -> None:
        rnd = self.state.round or self.state.value
        self.dropped[u] = rnd
        self.drop_reasons[u] = reason
        self._asked.discard(u)
        self._answered.discard(u)
        if self.state is State.R0_ADVERTISE_KEYS:
            self._adverts.pop(u, None)
        if self.state is State.R1_SHARE_KEYS:
            self._cts.pop(u, None)
            self._commitments.pop(u, None)
        if self.state is State.R3_CONSISTENCY_CHECK:
            self._sigs.pop(u, None)
        if self.state is State.R4_UNMASKING:
            for holders in self._shares.values():
                holders.pop(u, None)

    def _take_report(self, reporter: int, reason: str) -> str:
        """Record a client's abort notice; return why the client counts as dropped."""
        parsed = parse_notice_reason(reason, self.config.n)
        if parsed is None:
            return "it aborted with a notice outside the fixed vocabulary"
        code, peer = parsed
        self.reports[reporter] = (code, peer)
        if peer is None:
            return f"it aborted: {code.value}"
        return f"it aborted: {code.value} (the message of client {peer})"

    def _reported_peers(self) -> str:
        """Which clients were named in abort notices, and by whom ('' if none)."""
        named: dict[int, dict[str, list[int]]] = {}
        for reporter, (code, peer) in sorted(self.reports.items()):
            if peer is not None:
                named.setdefault(peer, {}).setdefault(code.value, []).append(reporter)
        parts = []
        for peer, by_code in sorted(named.items()):
            said = "; ".join(
                f"{code} by {', '.join(map(str, reporters[:10]))}"
                + (f" and {len(reporters) - 10} more" if len(reporters) > 10 else "")
                for code, reporters in sorted(by_code.items())
            )
            parts.append(f"client {peer} ({said})")
        if not parts:
            return ""
        return " Clients reported by their neighbours: " + ", ".join(parts) + "."

    def _abort(self, reason: str, recipients: list[int]) -> dict[int, bytes]:
        self.state = State.ABORTED
        reason += self._reported_peers()
        self.abort_reason = reason
        self._release()
        note = AbortNotice(self.session_id, 0, reason).to_bytes()
        return {u: note for u in recipients}

    def _check_enough(self, alive: list[int], what: str) -> None:
        if len(alive) < self.config.n_min:
            raise _Abort(
                f"only {len(alive)} clients {what}, fewer than n_min = {self.config.n_min}."
            )

    def _accept(self, u: int, msg: object) -> None:
        if isinstance(msg, KeyAdvert):
            self._accept_advert(u, msg)
        elif isinstance(msg, EncryptedShares):
            self._accept_shares(u, msg)
        elif isinstance(msg, MaskedInput):
            self._accept_masked(u, msg)
        elif isinstance(msg, SurvivorSignature):
            self._accept_signature(u, msg)
        elif isinstance(msg, UnmaskResponse):
            self._accept_unmask(u, msg)
        else:  # pragma: no cover - _EXPECTED rules this out
            raise ProtocolViolationError(f"unexpected message {type(msg).__name__}")

    # ------------------------------------------------------------------- R0

    def _accept_advert(self, u: int, msg: KeyAdvert) -> None:
        crypto.check_public_key(msg.c_pk)
        crypto.check_public_key(msg.s_pk)
        if msg.c_pk == msg.s_pk:
            raise ProtocolViolationError("its channel and masking public keys are equal")
        if self._verify_keys is not None and self.config.mode is Mode.ACTIVE:
            vk = self._verify_keys.get(u)
            assert msg.signature is not None
            if vk is None or not crypto.ed25519_verify(
                vk, crypto.advert_message(self.session_id, u, msg.c_pk, msg.s_pk), msg.signature
            ):
                raise ProtocolViolationError("its key advert signature does not verify")
        self._adverts[u] = msg

    def _close_r0(self, alive: list[int]) -> dict[int, bytes]:
        owners: dict[bytes, list[int]] = {}
        for u in alive:
            a = self._adverts[u]
            owners.setdefault(a.c_pk, []).append(u)
            owners.setdefault(a.s_pk, []).append(u)
        clash = sorted({u for us in owners.values() if len(us) > 1 for u in us})
        for u in clash:
            self.dropped[u] = "R0"
            self.drop_reasons[u] = "its public key equals another client's"
            del self._adverts[u]
        u1 = [u for u in alive if u not in set(clash)]
        self.u1 = tuple(u1)
        self._u1_set = set(u1)
        self._check_enough(u1, "advertised valid keys")
        u1_set = self._u1_set
        active = self.config.mode is Mode.ACTIVE
        if active:
            self._transcript_hash = crypto.transcript_hash(
                self.session_id, {u: (self._adverts[u].c_pk, self._adverts[u].s_pk) for u in u1}
            )
        out: dict[int, bytes] = {}
        for u in u1:
            ids = u1 if active else [v for v in self.neighbours(u) if v in u1_set]
            adverts = tuple(
                Advert(v, self._adverts[v].c_pk, self._adverts[v].s_pk, self._adverts[v].signature)
                for v in ids
            )
            out[u] = AdvertForward(self.session_id, 0, adverts).to_bytes()
        self._asked = set(u1)
        self.state = State.R1_SHARE_KEYS
        return out

    # ------------------------------------------------------------------- R1

    def _accept_shares(self, u: int, msg: EncryptedShares) -> None:
        u1 = self._u1_set
        want = [v for v in self.neighbours(u) if v in u1]
        got = [c.receiver for c in msg.ciphertexts]
        if got != want:
            raise ProtocolViolationError(
                f"it sent ciphertexts for {got[:8]}, expected exactly its neighbours in U1 "
                f"{want[:8]}"
            )
        self._commitments[u] = msg.commitment
        self._cts[u] = (tuple(got), b"".join(c.ciphertext for c in msg.ciphertexts))

    def _close_r1(self, alive: list[int]) -> dict[int, bytes]:
        self.u2 = tuple(alive)
        self._u2_set = set(alive)
        self._check_enough(alive, "sent their encrypted shares")
        u2 = set(alive)
        cts = self._cts
        self._cts = {}
        # Each ciphertext is forwarded exactly once; a sender's ciphertexts are
        # released as soon as the last of its receivers' messages is built.
        left = {v: sum(1 for u in cts[v][0] if u in u2) for v in alive}
        out: dict[int, bytes] = {}
        for u in alive:
            entries = []
            for v in self.neighbours(u):
                if v not in u2:
                    continue
                receivers, blob = cts[v]
                j = bisect_left(receivers, u)
                ct = blob[j * CIPHERTEXT_LEN : (j + 1) * CIPHERTEXT_LEN]
                entries.append(CiphertextIn(v, self._commitments[v], ct))
                left[v] -= 1
                if not left[v]:
                    del cts[v]
            out[u] = ShareForward(self.session_id, 0, tuple(entries)).to_bytes()
        del cts, left
        self._asked = set(alive)
        self._acc = np.zeros(self.config.m, dtype=self.config.dtype)
        self.state = State.R2_MASKED_INPUT_COLLECTION
        return out

    # ------------------------------------------------------------------- R2

    def _accept_masked(self, u: int, msg: MaskedInput) -> None:
        nbrs = self.neighbours(u)
        u2 = self._u2_set
        claimed = [nbrs[j] for j in msg.masking_positions()]
        expected = [v for v in nbrs if v in u2]
        if claimed != expected:
            raise ProtocolViolationError(
                f"its masking set {claimed[:8]} differs from its neighbours in U2 {expected[:8]}"
            )
        assert self._acc is not None
        # Validates the whole packed vector before touching the accumulator.
        packing.unpack_add(self._acc, msg.packed, self.config.b)

    def _close_r2(self, alive: list[int]) -> dict[int, bytes]:
        self.u3 = tuple(alive)
        self._u3_set = set(alive)
        self._check_enough(alive, "had their masked input folded")
        gaps = self.graph.cut_gaps(alive)
        if len(gaps) >= 2:
            shown = ", ".join(f"{length} at ring position {start}" for start, length in gaps[:5])
            raise _Abort(
                f"the {len(alive)} surviving clients are not connected on the k = "
                f"{self.config.k} ring: {len(gaps)} runs of at least k/2 = {self.config.k // 2} "
                f"missing clients ({shown}) split them, and the sum of each part could be "
                "learned on its own."
            )
        self._asked = set(alive)
        if self.config.mode is Mode.ACTIVE:
            req = SurvivorRequest(self.session_id, 0, self.config.n, self.u3).to_bytes()
            self.state = State.R3_CONSISTENCY_CHECK
        else:
            req = UnmaskRequest(self.session_id, 0, self.config.n, self.u3, None).to_bytes()
            self.state = State.R4_UNMASKING
        return {u: req for u in alive}

    # ------------------------------------------------------------------- R3

    def _accept_signature(self, u: int, msg: SurvivorSignature) -> None:
        if self._verify_keys is not None:
            assert self._transcript_hash is not None
            s_msg = crypto.survivors_message(
                self._transcript_hash, encode_bitmap([v - 1 for v in self.u3], self.config.n)
            )
            vk = self._verify_keys.get(u)
            if vk is None or not crypto.ed25519_verify(vk, s_msg, msg.signature):
                raise ProtocolViolationError("its survivor-list signature does not verify")
        self._sigs[u] = msg.signature

    def _close_r3(self, alive: list[int]) -> dict[int, bytes]:
        if len(alive) < self.config.t:
            raise _Abort(
                f"only {len(alive)} clients signed the survivor list, fewer than "
                f"t = {self.config.t}."
            )
        sigs = tuple(SignatureEntry(u, self._sigs[u]) for u in alive)
        req = UnmaskRequest(self.session_id, 0, self.config.n, self.u3, sigs).to_bytes()
        self._asked = set(alive)
        self.state = State.R4_UNMASKING
        return {u: req for u in alive}

    # ------------------------------------------------------------------- R4

    def _accept_unmask(self, u: int, msg: UnmaskResponse) -> None:
        u2, u3 = self._u2_set, self._u3_set
        allowed = {u} | {v for v in self.neighbours(u) if v in u2}
        for e in msg.shares:
            if e.id not in allowed:
                raise ProtocolViolationError(
                    f"it sent a share for client {e.id}, which is not in its masking set"
                )
            want = ShareKind.SELF_MASK if e.id in u3 else ShareKind.SECRET_KEY
            if e.kind != want:
                raise ProtocolViolationError(
                    f"it sent a share of kind {e.kind} for client {e.id}, expected {want}"
                )
        for e in msg.shares:
            self._shares.setdefault((e.id, e.kind), {})[u] = e.share

    def _shortage(self, owner: int, kind: int) -> str:
        what = "self-mask seed b" if kind == ShareKind.SELF_MASK else "masking key s^SK"
        count = len(self._shares.get((owner, kind), {}))
        return (
            f"client {owner}: only {count} shares of its {what} arrived, fewer than "
            f"t = {self.config.t}; its mask cannot be removed."
        )

    def _recover(self, owner: int, kind: int) -> tuple[bytes, tuple[int, ...]]:
        t = self.config.t
        what = "self-mask seed b" if kind == ShareKind.SELF_MASK else "masking key s^SK"
        got = self._shares.get((owner, kind), {})
        xs = sorted(got)
        if len(xs) < t:
            raise _Abort(self._shortage(owner, kind))

        def ok(secret: bytes) -> bool:
            if kind == ShareKind.SELF_MASK:
                return (
                    crypto.self_commitment(self.session_id, owner, secret)
                    == (self._commitments[owner])
                )
            try:
                return crypto.x25519_public(secret) == self._adverts[owner].s_pk
            except SecAggError:
                return False

        try:
            secret = shamir.reconstruct(xs[:t], [got[x] for x in xs[:t]], t, 32)
            if ok(secret):
                return secret, ()
        except (SecAggError, ValueError):
            pass
        try:
            secret, bad = shamir.decode(xs, [got[x] for x in xs], t, 32)
        except (DecodingError, SecAggError, ValueError) as exc:
            raise _Abort(
                f"client {owner}: its {what} could not be reconstructed from the "
                f"{len(xs)} shares received (too many wrong shares: {exc})."
            ) from None
        if not ok(secret):
            raise _Abort(
                f"client {owner}: the {what} decoded from {len(xs)} shares fails its check "
                "(too many wrong shares)."
            )
        return secret, tuple(sorted(bad))

    def _close_r4(self, alive: list[int]) -> dict[int, bytes]:
        config = self.config
        assert self._acc is not None
        u3 = set(self.u3)
        u2 = set(self.u2)
        bad: set[int] = set()
        corrected: dict[int, tuple[int, ...]] = {}
        self_ids: list[int] = []
        pair_ids: list[int] = []
        acc = self._acc
        needed = [(v, ShareKind.SELF_MASK) for v in self.u3] + [
            (v, ShareKind.SECRET_KEY)
            for v in self.u2
            if v not in u3 and any(u in u3 for u in self.neighbours(v))
        ]
        short = [
            self._shortage(v, kind)
            for v, kind in needed
            if len(self._shares.get((v, kind), {})) < config.t
        ]
        if short:
            # Name every client whose mask cannot be removed, not only the first.
            raise _Abort("; ".join(short))
        for v in self.u3:
            b_v, wrong = self._recover(v, ShareKind.SELF_MASK)
            del self._shares[(v, ShareKind.SELF_MASK)]  # rebuilt: its shares are done
            if wrong:
                corrected[v] = wrong
                bad.update(wrong)
            masking.apply_masks(acc, [prg.derive_key(b_v, self.session_id, "self")], [-1], config.b)
            self_ids.append(v)
        for v in self.u2:
            if v in u3:
                continue
            partners = [u for u in self.neighbours(v) if u in u3]
            if not partners:
                continue
            sk_v, wrong = self._recover(v, ShareKind.SECRET_KEY)
            del self._shares[(v, ShareKind.SECRET_KEY)]
            if wrong:
                corrected[v] = wrong
                bad.update(wrong)
            keys = []
            signs = []
            shared = crypto.x25519_shared_many(sk_v, [self._adverts[u].s_pk for u in partners])
            for u, s_uv in zip(partners, shared, strict=True):
                keys.append(prg.derive_key(s_uv, self.session_id, pair_purpose(u, v)))
                # y_u holds +PRG when u < v and -PRG when u > v: take it out.
                signs.append(-1 if u < v else 1)
            masking.apply_masks(acc, keys, signs, config.b)
            pair_ids.append(v)
        assert u2 >= u3
        self.result = ServerResult(
            sum=acc,
            survivors=frozenset(self.u3),
            dropped=dict(self.dropped),
            reconstructed={"self_mask": tuple(self_ids), "pairwise": tuple(pair_ids)},
            bad_holders=tuple(sorted(bad)),
            corrected=corrected,
        )
        self.state = State.COMPLETED
        self._release()
        return {}

    def _release(self) -> None:
        """Drop the per-session bookkeeping once the session is over."""
        self._acc = None
        self._shares = {}
        self._cts = {}
        self._commitments = {}
        self._sigs = {}

    def __repr__(self) -> str:
        extra = f", reason={self.abort_reason!r}" if self.abort_reason else ""
        return f"Server(n={self.config.n}, state={self.state.value}{extra})"

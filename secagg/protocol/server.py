"""The aggregation server of one session: a thin facade over its round states.

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
``ABORTED`` and ``server.abort_reason`` says why. The work is done by one state
object per round (:mod:`secagg.protocol.server_rounds`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from ..exceptions import InvalidInputError, ProtocolViolationError, SecAggError
from .config import Config
from .graph import Graph
from .messages import AbortNotice, ConfigRequest, Message, decode, peek_header
from .persist.envelope import SERVER, Envelope, open_blob, seal
from .persist.server_state import decode_server_state, encode_server_state
from .server_rounds import (
    CollectAdverts,
    Ledger,
    ServerAborted,
    ServerCompleted,
    ServerResult,
    ServerSession,
    ServerState,
)
from .vocabulary import (
    SERVER_ID,
    SIG_LEN,
    AbortCode,
    Mode,
    MsgType,
    Rng,
    State,
    default_rng,
    parse_notice_reason,
)

__all__ = ["Server", "ServerResult", "State"]


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
        draw = rng if rng is not None else default_rng
        if nonce is None:
            nonce = draw(32)
        nonce = bytes(nonce)
        if config.mode is Mode.ACTIVE and config_signature is None:
            raise InvalidInputError(
                "active mode needs the config authority's signature on the config and nonce."
            )
        if config.mode is not Mode.ACTIVE and config_signature is not None:
            raise InvalidInputError("a config signature is only used in active mode.")
        if config_signature is not None and len(config_signature) != SIG_LEN:
            raise InvalidInputError(
                f"the config signature must be {SIG_LEN} bytes, got {len(config_signature)}."
            )
        session = ServerSession(
            config,
            nonce,
            config.session_id(nonce),
            config_signature,
            dict(verify_keys) if verify_keys is not None else None,
        )
        self._state: ServerState = CollectAdverts(session, Ledger(), set())
        self._started = False
        self._moved = False
        self._next_seq = 0
        self._outbox: dict[int, bytes] = {}

    # ------------------------------------------------------------------ API

    def start(self) -> dict[int, bytes]:
        """Begin the session: the R0 request for every client 1..n.

        Raises:
            ProtocolViolationError: Called twice.
        """
        if self._started:
            raise ProtocolViolationError("Server.start() was already called for this session.")
        self._check_live()
        self._started = True
        session = self._session
        req = ConfigRequest(
            session.session_id,
            SERVER_ID,
            session.config.canonical(),
            session.nonce,
            session.config_signature,
        ).to_bytes()
        self._state.asked = set(range(1, session.config.n + 1))
        self._outbox = dict.fromkeys(range(1, session.config.n + 1), req)
        return dict(self._outbox)

    def receive(self, sender: int, data: bytes) -> None:
        """Take one client's reply for the current round.

        Never raises because of the message or its sender: anything wrong makes
        the sender count as dropped (or, for a sender that is no client of
        this session, is counted in ``discarded``).

        Args:
            sender: The client id the transport authenticated.
            data: The complete message.
        """
        state, ledger = self._state, self._state.ledger
        rnd = state.STATE.round or state.STATE.value
        # The sender is checked before it is ever formatted: an arbitrary
        # object (or a huge int) must not make receive() raise.
        if (
            isinstance(sender, bool)
            or not isinstance(sender, (int, np.integer))
            or not (1 <= sender <= self.config.n)
        ):
            ledger.discarded[(rnd, -1, "unknown sender")] += 1
            return
        sender = int(sender)
        why = self._discard_reason(sender)
        if why is not None:
            ledger.discarded[(rnd, sender, why)] += 1
            return
        if sender not in state.asked:
            self._drop(sender, "it sent a message in a round it was not asked to answer")
            return
        if sender in state.answered:
            if state.STATE is State.R2_MASKED_INPUT_COLLECTION:
                # Its first masked input is folded and cannot be taken out again;
                # the repeat is discarded (the transport should remove duplicates).
                ledger.discarded[(rnd, sender, "a second masked input was discarded")] += 1
                return
            self._drop(sender, "it sent a second reply in the same round")
            return
        problem = self._accept(sender, data)
        if problem is not None:
            self._drop(sender, problem)
        else:
            state.answered.add(sender)

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
        self._check_live()
        if not self._started:
            raise ProtocolViolationError("close_round() called before start().")
        state = self._state
        if isinstance(state, (ServerCompleted, ServerAborted)):
            raise ProtocolViolationError(f"close_round() called in final state {self.state.value}.")
        rnd = state.STATE.round
        assert rnd is not None
        for u in sorted(state.asked - state.answered):
            state.ledger.dropped[u] = rnd
        closing = state.close(sorted(state.answered))
        self._state = closing.state
        if isinstance(closing.state, ServerAborted):
            note = AbortNotice(self.session_id, SERVER_ID, closing.state.reason).to_bytes()
            self._outbox = dict.fromkeys(closing.notified, note)
        else:
            self._outbox = _encode_all(closing.requests)
        return dict(self._outbox)

    # ---------------------------------------------------------- persistence

    @property
    def outbox(self) -> dict[int, bytes]:
        """The requests the last start() or close_round() returned (to send again after a
        restart: a restored server never decides a closed round anew)."""
        return dict(self._outbox)

    @property
    def next_seq(self) -> int:
        """The sequence number the next export carries."""
        return self._next_seq

    def export(self, key: bytes) -> bytes:
        """Move this session into a sealed blob (PROTOCOL.md §13); this object then refuses
        further use.

        Export after close_round() and store the blob (with :attr:`next_seq`)
        before sending any request it returned: U3 and every R4 request are then
        durable before they leave. Only one live server may run a session.

        Raises:
            ProtocolViolationError: The session ended or was already exported.
            InvalidInputError: A key that is not 32 bytes.
        """
        self._check_live()
        if isinstance(self._state, (ServerCompleted, ServerAborted)):
            raise ProtocolViolationError(
                f"a server in state {self.state.value} has nothing to export."
            )
        plaintext = encode_server_state(self._state, self._started, self._outbox)
        envelope = Envelope(SERVER, self.state, self.session_id, SERVER_ID, self._next_seq)
        blob = seal(envelope, plaintext, key)
        self._moved = True
        return blob

    @classmethod
    def restore(
        cls,
        blob: bytes,
        key: bytes,
        *,
        session_id: bytes,
        expected_seq: int,
        verify_keys: Mapping[int, bytes] | None = None,
    ) -> Server:
        """Continue an exported session (after a crash, in another process).

        Restore with the sequence number the caller's counter holds and advance
        the counter to the restored server's :attr:`next_seq` before using it;
        then send :attr:`outbox` again if the last requests may not all have
        left.

        Raises:
            ProtocolViolationError: A blob of another version, role or session,
                with another sequence number, or that does not verify.
            MalformedMessageError: A blob whose contents are malformed.
        """
        tag, plaintext = open_blob(
            blob,
            key,
            role=SERVER,
            session_id=session_id,
            party=SERVER_ID,
            expected_seq=expected_seq,
        )
        keys = dict(verify_keys) if verify_keys is not None else None
        snapshot = decode_server_state(tag, plaintext, bytes(session_id), keys)
        server = cls.__new__(cls)
        server._state = snapshot.state
        server._started = snapshot.started
        server._moved = False
        server._next_seq = expected_seq + 1
        server._outbox = snapshot.outbox
        return server

    def neighbours(self, u: int) -> tuple[int, ...]:
        """N(u) in increasing id."""
        return self._session.neighbours(u)

    @property
    def current(self) -> ServerState:
        """The current round state object."""
        return self._state

    @property
    def state(self) -> State:
        """The round being collected, COMPLETED or ABORTED."""
        return self._state.STATE

    @property
    def round(self) -> str | None:
        """The round being collected ("R0".."R4"), None when finished."""
        return self._state.STATE.round

    @property
    def result(self) -> ServerResult | None:
        """The sum and its survivors once COMPLETED, else None."""
        return self._state.result if isinstance(self._state, ServerCompleted) else None

    @property
    def abort_reason(self) -> str | None:
        """Why the session aborted, else None."""
        return self._state.reason if isinstance(self._state, ServerAborted) else None

    @property
    def config(self) -> Config:
        """The session config."""
        return self._session.config

    @property
    def nonce(self) -> bytes:
        """The session nonce."""
        return self._session.nonce

    @property
    def session_id(self) -> bytes:
        """The session id."""
        return self._session.session_id

    @property
    def graph(self) -> Graph:
        """The session graph."""
        return self._session.graph

    @property
    def dropped(self) -> dict[int, str]:
        """Client id -> round at which it counted as dropped."""
        return self._state.ledger.dropped

    @property
    def drop_reasons(self) -> dict[int, str]:
        """Client id -> why it was dropped (when it sent something wrong)."""
        return self._state.ledger.drop_reasons

    @property
    def discarded(self) -> Counter[tuple[str, int, str]]:
        """Messages without effect, counted per (round, sender, reason)."""
        return self._state.ledger.discarded

    @property
    def reports(self) -> dict[int, tuple[AbortCode, int | None]]:
        """Abort notices received: reporter -> (rule, peer named or None)."""
        return self._state.ledger.reports

    @property
    def u1(self) -> tuple[int, ...]:
        """U1: the clients whose adverts were forwarded."""
        return self._state.ledger.u1

    @property
    def u2(self) -> tuple[int, ...]:
        """U2: the clients whose encrypted shares were forwarded."""
        return self._state.ledger.u2

    @property
    def u3(self) -> tuple[int, ...]:
        """U3: the clients whose masked input was folded."""
        return self._state.ledger.u3

    # -------------------------------------------------------------- helpers

    @property
    def _session(self) -> ServerSession:
        return self._state.session

    def _check_live(self) -> None:
        if self._moved:
            raise ProtocolViolationError(
                "this server session was exported; restore the blob to continue it."
            )

    def _discard_reason(self, sender: int) -> str | None:
        if self._moved:
            return "the session was exported"
        if not self._started:
            return "the session has not started"
        if isinstance(self._state, (ServerCompleted, ServerAborted)):
            return "the session is over"
        if sender in self._state.ledger.dropped:
            return "the sender already counts as dropped"
        return None

    def _accept(self, sender: int, data: bytes) -> str | None:
        """Decode and check one reply; return why its sender is dropped, or None."""
        state = self._state
        try:
            mtype, sid, hdr_sender = peek_header(data)
            if sid != self.session_id:
                return "its message carries another session id"
            if hdr_sender != sender:
                return f"its message names sender {hdr_sender}, not {sender}"
            if mtype == MsgType.ABORT:
                notice = decode(data, self.config)
                assert isinstance(notice, AbortNotice)
                return self._take_report(sender, notice.reason)
            expected = state.EXPECTS.TYPE  # type: ignore[union-attr]
            if mtype != expected:
                return (
                    f"it sent message type 0x{mtype:02x} in round {state.STATE.round}, which "
                    f"expects 0x{expected:02x}"
                )
            msg = decode(data, self.config)
            return state.accept(sender, msg)
        except (SecAggError, ValueError) as exc:
            return str(exc)

    def _take_report(self, reporter: int, reason: str) -> str:
        """Record a client's abort notice; return why the client counts as dropped."""
        parsed = parse_notice_reason(reason, self.config.n)
        if parsed is None:
            return "it aborted with a notice outside the fixed vocabulary"
        code, peer = parsed
        self._state.ledger.reports[reporter] = (code, peer)
        if peer is None:
            return f"it aborted: {code.value}"
        return f"it aborted: {code.value} (the message of client {peer})"

    def _drop(self, u: int, reason: str) -> None:
        state = self._state
        state.ledger.dropped[u] = state.STATE.round or state.STATE.value
        state.ledger.drop_reasons[u] = reason
        state.asked.discard(u)
        state.answered.discard(u)
        state.forget(u)

    def __repr__(self) -> str:
        extra = f", reason={self.abort_reason!r}" if self.abort_reason else ""
        return f"Server(n={self.config.n}, state={self.state.value}{extra})"


def _encode_all(requests: Mapping[int, Message]) -> dict[int, bytes]:
    """Encode each request once, however many clients it goes to."""
    cache: dict[int, bytes] = {}
    out: dict[int, bytes] = {}
    for u, msg in requests.items():
        data = cache.get(id(msg))
        if data is None:
            data = cache[id(msg)] = msg.to_bytes()
        out[u] = data
    return out

"""The server's engine: who may send what, and what a reply does to the round state."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...exceptions import ProtocolViolationError, SecAggError
from ..messages import AbortNotice, ConfigRequest, Message, decode, peek_header
from ..vocabulary import SERVER_ID, MsgType, State, parse_notice_reason
from .base import ServerAborted, ServerCompleted, ServerState

__all__ = ["ServerEngine"]


class ServerEngine:
    """Feeds the clients' replies to the server's current round state.

    A reply from a client that is no client of the session, or arrives when
    the session has not started, is over or was exported, or comes from a
    client already dropped, is counted as discarded and has no effect.
    Anything else that is wrong (not asked, a second reply, another session
    or sender in the header, an abort notice, the wrong type, a malformed
    message, a rule of §8) makes its sender count as dropped.

    Attributes:
        state: The current round state.
        started: Whether the R0 requests went out.
        outbox: The requests the last start or close produced.
        moved: Whether the session was exported (the engine then takes nothing).
    """

    def __init__(self, state: ServerState, started: bool, outbox: dict[int, bytes]) -> None:
        self.state = state
        self.started = started
        self.outbox = outbox
        self.moved = False

    def start(self) -> dict[int, bytes]:
        """The R0 request for every client 1..n."""
        if self.started:
            raise ProtocolViolationError("Server.start() was already called for this session.")
        self.started = True
        session = self.state.session
        req = ConfigRequest(
            session.session_id,
            SERVER_ID,
            session.config.canonical(),
            session.nonce,
            session.config_signature,
        ).to_bytes()
        everyone = range(1, session.config.n + 1)
        self.state.asked = set(everyone)
        self.outbox = dict.fromkeys(everyone, req)
        return dict(self.outbox)

    def receive(self, sender: object, data: bytes | bytearray | memoryview) -> None:
        """Take one reply; never raises, whatever ``sender`` and ``data`` are."""
        state, ledger = self.state, self.state.ledger
        rnd = state.STATE.round or state.STATE.value
        # The sender is checked before it is ever formatted: an arbitrary
        # object (or a huge int) must not make receive() raise.
        if (
            isinstance(sender, bool)
            or not isinstance(sender, (int, np.integer))
            or not (1 <= sender <= state.session.config.n)
        ):
            ledger.discarded[(rnd, -1, "unknown sender")] += 1
            return
        u = int(sender)
        why = self._discard_reason(u)
        if why is not None:
            ledger.discarded[(rnd, u, why)] += 1
        elif u not in state.asked:
            self._drop(u, "it sent a message in a round it was not asked to answer")
        elif u in state.answered:
            if state.STATE is State.R2_MASKED_INPUT_COLLECTION:
                # Its first masked input is folded and cannot be taken out again;
                # the repeat is discarded (the transport should remove duplicates).
                ledger.discarded[(rnd, u, "a second masked input was discarded")] += 1
            else:
                self._drop(u, "it sent a second reply in the same round")
        else:
            problem = self._accept(u, data)
            if problem is None:
                state.answered.add(u)
            else:
                self._drop(u, problem)

    def close(self) -> dict[int, bytes]:
        """Fix the round's survivors and return the next requests (or abort notices)."""
        if not self.started:
            raise ProtocolViolationError("close_round() called before start().")
        state = self.state
        if isinstance(state, (ServerCompleted, ServerAborted)):
            raise ProtocolViolationError(
                f"close_round() called in final state {state.STATE.value}."
            )
        rnd = state.STATE.round
        assert rnd is not None
        for u in sorted(state.asked - state.answered):
            state.ledger.dropped[u] = rnd
        closing = state.close(sorted(state.answered))
        self.state = closing.state
        if isinstance(closing.state, ServerAborted):
            sid = closing.state.session.session_id
            note = AbortNotice(sid, SERVER_ID, closing.state.reason).to_bytes()
            self.outbox = dict.fromkeys(closing.notified, note)
        else:
            self.outbox = _encode_all(closing.requests)
        return dict(self.outbox)

    def _discard_reason(self, sender: int) -> str | None:
        if self.moved:
            return "the session was exported"
        if not self.started:
            return "the session has not started"
        if isinstance(self.state, (ServerCompleted, ServerAborted)):
            return "the session is over"
        if sender in self.state.ledger.dropped:
            return "the sender already counts as dropped"
        return None

    def _accept(self, sender: int, data: bytes | bytearray | memoryview) -> str | None:
        """Decode and check one reply; return why its sender is dropped, or None."""
        state = self.state
        session = state.session
        try:
            mtype, sid, hdr_sender = peek_header(data)
            if sid != session.session_id:
                return "its message carries another session id"
            if hdr_sender != sender:
                return f"its message names sender {hdr_sender}, not {sender}"
            if mtype == MsgType.ABORT:
                notice = decode(data, session.config)
                assert isinstance(notice, AbortNotice)
                return self._take_report(sender, notice.reason)
            expected = state.EXPECTS.TYPE  # type: ignore[union-attr]
            if mtype != expected:
                return (
                    f"it sent message type 0x{mtype:02x} in round {state.STATE.round}, which "
                    f"expects 0x{expected:02x}"
                )
            return state.accept(sender, decode(data, session.config))
        except (SecAggError, ValueError) as exc:
            return str(exc)

    def _take_report(self, reporter: int, reason: str) -> str:
        """Record a client's abort notice; return why the client counts as dropped."""
        parsed = parse_notice_reason(reason, self.state.session.config.n)
        if parsed is None:
            return "it aborted with a notice outside the fixed vocabulary"
        code, peer = parsed
        self.state.ledger.reports[reporter] = (code, peer)
        if peer is None:
            return f"it aborted: {code.value}"
        return f"it aborted: {code.value} (the message of client {peer})"

    def _drop(self, u: int, reason: str) -> None:
        state = self.state
        state.ledger.dropped[u] = state.STATE.round or state.STATE.value
        state.ledger.drop_reasons[u] = reason
        state.asked.discard(u)
        state.answered.discard(u)
        state.forget(u)


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

"""The client's engine: from received bytes to the current state and the bytes to send."""

from __future__ import annotations

from ...exceptions import MalformedMessageError
from ..messages import AbortNotice, decode, peek_header
from ..vocabulary import AbortCode, MsgType, Rng, notice_reason
from .base import Aborted, ClientState, Completed, Session, Step, Trust

__all__ = ["ClientEngine"]


class ClientEngine:
    """Feeds one client's messages to its current round state.

    It checks what every state relies on (the header decodes, the type is the
    one the state accepts, the session id is this session's), decodes the
    message with the session's limits, lets the state handle it, and encodes
    the replies, or the abort notice that names only the rule and the peer
    (PROTOCOL.md §8).

    Attributes:
        client_id: This client's id.
        trust: Its node-local trust anchors.
        rng: Its source of randomness (drawn from only when R0 is handled).
        state: The current round state.
        session: The session's public facts, once R0 fixed them.
    """

    def __init__(
        self,
        client_id: int,
        trust: Trust,
        rng: Rng,
        state: ClientState,
        session: Session | None = None,
    ) -> None:
        self.client_id = client_id
        self.trust = trust
        self.rng = rng
        self.state = state
        self.session = session
        # Before the session id is established (a refused R0 request), an
        # abort notice echoes the id the request carried.
        self.request_sid: bytes | None = session.session_id if session else None

    def feed(self, data: bytes) -> list[bytes]:
        """Handle one message; return the bytes to send back."""
        try:
            step = self._step(data)
        except Exception as exc:  # a bug: still never leave secrets behind
            why = f"internal error while handling a message: {exc!r}"
            self._finish(Step(Aborted(why, AbortCode.INTERNAL_ERROR)))
            raise
        return self._finish(step)

    def _step(self, data: bytes) -> Step:
        try:
            mtype, sid, _sender = peek_header(data)
        except MalformedMessageError as exc:
            return Step(Aborted(str(exc), AbortCode.MALFORMED_MESSAGE))
        if self.session is None:
            self.request_sid = sid
        session_id = self.session.session_id if self.session is not None else None
        config = self.session.config if self.session is not None else self.trust.config
        if mtype == MsgType.ABORT:
            return self._server_abort(data, session_id)
        expects = self.state.EXPECTS
        assert expects is not None
        if mtype != expects.TYPE:  # type: ignore[attr-defined]
            return Step(
                Aborted(
                    f"in state {self.state.STATE.value} the client accepts only message type "
                    f"0x{expects.TYPE:02x}, got 0x{mtype:02x}.",  # type: ignore[attr-defined]
                    AbortCode.UNEXPECTED_MESSAGE,
                )
            )
        if session_id is not None and sid != session_id:
            return Step(
                Aborted(
                    f"the message carries session id {sid.hex()[:16]}…, this session is "
                    f"{session_id.hex()[:16]}….",
                    AbortCode.WRONG_SESSION,
                )
            )
        try:
            msg = decode(data, config)
        except MalformedMessageError as exc:
            return Step(Aborted(str(exc), AbortCode.MALFORMED_MESSAGE))
        return self.state.handle(msg, self.trust, self.rng)

    def _server_abort(self, data: bytes, session_id: bytes | None) -> Step:
        """The server's abort notice ends the session (no notice goes back)."""
        config = self.session.config if self.session is not None else self.trust.config
        try:
            notice = decode(data, config)
        except MalformedMessageError as exc:
            return Step(Aborted(str(exc), AbortCode.MALFORMED_MESSAGE))
        assert isinstance(notice, AbortNotice)
        if session_id is not None and notice.session_id != session_id:
            return Step(
                Aborted(
                    f"received an abort notice for another session "
                    f"({notice.session_id.hex()[:16]}…).",
                    AbortCode.WRONG_SESSION,
                )
            )
        return Step(Aborted(f"the server aborted the session: {notice.reason}", notify=False))

    def _finish(self, step: Step) -> list[bytes]:
        """Move to the step's state; encode its replies, or a refusal's abort notice."""
        old, state = self.state, step.state
        self.state = state
        facts = state.facts()
        if facts is not None:
            self.session = facts
        if isinstance(state, (Completed, Aborted)):
            old.erase()
        if not isinstance(state, Aborted):
            return [r if isinstance(r, bytes) else r.to_bytes() for r in step.replies]
        sid = self.session.session_id if self.session is not None else self.request_sid
        if not state.notify or sid is None or state.code is None:
            return []
        # Only the rule and the peer leave the client (§8): the sentence in
        # abort_reason may name values derived from the input or the keys.
        reason = notice_reason(state.code, state.peer)
        return [AbortNotice(sid, self.client_id, reason).to_bytes()]

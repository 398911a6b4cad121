"""The client of one aggregation session: a thin facade over its round states.

A :class:`Client` holds one vector and runs exactly one session. The caller
hands it every message the server sent it, in order, with
:meth:`Client.handle`, and sends back the bytes it returns. There is no I/O,
no thread and no clock inside: the caller's transport moves the bytes (and
must keep them confidential, and in semi_honest mode authenticate both ends;
see docs/api.md).

The work is done by one state object per round
(:mod:`secagg.protocol.client_rounds`): each accepts one kind of message and
returns the next state and the replies. Anything a peer does wrong moves the
client to ``Aborted``, whose notice carries only the rule broken and the
peer named (PROTOCOL.md §8); the sentence stays in ``abort_reason``. Secrets
are overwritten where Python allows when the session ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError, MalformedMessageError, ProtocolViolationError
from .client_rounds import (
    Aborted,
    ClientState,
    Completed,
    R0AdvertiseKeys,
    Session,
    Step,
    Trust,
)
from .client_rounds.base import input_words
from .config import Config
from .messages import AbortNotice, decode, peek_header
from .persist.client_state import decode_client_state, encode_client_state
from .persist.envelope import CLIENT, Envelope, open_blob, seal
from .policy import ClientPolicy
from .vocabulary import AbortCode, Mode, MsgType, Rng, State, default_rng, notice_reason

__all__ = ["Client", "State"]


class Client:
    """One client's side of one aggregation session.

    Args:
        config: The session config this client expects, or None to accept the
            one the server's R0 request carries if ``policy`` allows it. When
            given, the R0 request must carry exactly this config.
        client_id: This client's id, 1..n.
        vector: The input, length m, words < 2^b (any unsigned or signed
            integer dtype holding such values); copied. May be None and given
            later with :meth:`set_input`, before the R0 request is handled
            (an adapter that trains when the round starts).
        signing_key: Ed25519 signing key (active mode).
        verify_keys: The registry id -> Ed25519 verification key for ids 1..n,
            from a source the server cannot change (active mode). Its digest
            must equal the config's registry digest.
        policy: The operator's :class:`~secagg.protocol.policy.ClientPolicy`;
            checked against the config of the R0 request.
        authority_vk: The config authority's Ed25519 verification key (active
            mode): the R0 request's signature must verify under it.
        rng: Source of random bytes (default ``os.urandom``); inject only in
            tests. All of the session's randomness is drawn from it when the
            R0 request is handled.

    Raises:
        InvalidInputError: Bad arguments (id, vector, missing active-mode keys).
    """

    def __init__(
        self,
        config: Config | None,
        client_id: int,
        vector: np.ndarray | None = None,
        *,
        signing_key: bytes | None = None,
        verify_keys: Mapping[int, bytes] | None = None,
        policy: ClientPolicy | None = None,
        authority_vk: bytes | None = None,
        rng: Rng | None = None,
    ) -> None:
        if config is None and policy is None:
            raise InvalidInputError(
                "a client needs either the session config or a policy to judge the "
                "config the server sends."
            )
        if isinstance(client_id, bool) or not isinstance(client_id, (int, np.integer)):
            raise InvalidInputError(f"client_id must be an integer, got {client_id!r}.")
        client_id = int(client_id)
        if client_id < 1 or (config is not None and client_id > config.n):
            raise InvalidInputError(
                f"client_id {client_id} is not a client id of the session (1..n)."
            )
        trust = Trust(
            config,
            policy,
            signing_key,
            dict(verify_keys) if verify_keys is not None else None,
            authority_vk,
        )
        if trust.wants_active and (
            signing_key is None or verify_keys is None or authority_vk is None
        ):
            raise InvalidInputError(
                "active mode needs the client's signing_key, the registry's "
                "verify_keys and the config authority's authority_vk."
            )
        self.id = client_id
        self._trust = trust
        self._rng: Rng = rng if rng is not None else default_rng
        self._state: ClientState = R0AdvertiseKeys(client_id, np.zeros(0, dtype=np.uint8))
        self._has_input = False
        self._session: Session | None = None
        self._request_sid: bytes | None = None
        self._moved = False
        self._next_seq = 0
        #: Messages received after the session ended (ignored).
        self.ignored = 0
        if vector is not None:
            self.set_input(vector)

    # ------------------------------------------------------------------ API

    def set_input(self, vector: np.ndarray) -> None:
        """Fix this session's input x_u; only before the R0 request is handled.

        Raises:
            InvalidInputError: Not a 1-D integer vector (or one that does not
                fit the config this client was built for), or the session has
                already started.
        """
        if not isinstance(self._state, R0AdvertiseKeys):
            raise InvalidInputError("the input is fixed before the session starts (R0).")
        vec = np.asarray(vector)
        if vec.ndim != 1:
            raise InvalidInputError(f"the input vector must be 1-D, got shape {vec.shape}.")
        if self._trust.config is not None:
            problem = input_words(vec, self._trust.config)
            if problem is not None:
                raise InvalidInputError(problem)
        self._state = R0AdvertiseKeys(self.id, np.array(vec, copy=True))
        self._has_input = True

    def handle(self, data: bytes) -> list[bytes]:
        """Process one message from the server and return the replies to send.

        Never raises because of what the server (or a peer) sent: any decoding
        or verification failure or rule violation moves the client to
        ``ABORTED`` and returns an abort notice for the server.

        Args:
            data: One complete message as received.

        Returns:
            The messages to send to the server (empty when there is nothing
            to say, e.g. after the session ended).

        Raises:
            InvalidInputError: No input was given before the R0 request.
            ProtocolViolationError: This session was exported (a move: only the
                restored copy may go on).
        """
        self._check_live()
        if isinstance(self._state, (Completed, Aborted)):
            self.ignored += 1
            return []
        if isinstance(self._state, R0AdvertiseKeys) and not self._has_input:
            raise InvalidInputError("the client has no input: call set_input() before R0.")
        try:
            step = self._step(data)
        except Exception as exc:  # a bug: still never leave secrets behind
            self._finish(
                Aborted(
                    f"internal error while handling a message: {exc!r}", AbortCode.INTERNAL_ERROR
                )
            )
            raise
        return self._finish(step.state, step)

    # ---------------------------------------------------------- persistence

    @property
    def next_seq(self) -> int:
        """The sequence number the next export carries (0, or one past the restored blob's)."""
        return self._next_seq

    def export(self, key: bytes) -> bytes:
        """Move this session into a sealed blob (PROTOCOL.md §13); this object then refuses
        every further message.

        Store the blob and its sequence number (:attr:`next_seq`) before sending any
        reply of the message just handled. A client blob together with the masked
        input it sent reveals the input: the blob never leaves this client's node.

        Args:
            key: The caller's 32-byte key, kept apart from the blob.

        Returns:
            The blob.

        Raises:
            ProtocolViolationError: Nothing to export: before the R0 request was
                handled, after the session ended, or already exported.
            InvalidInputError: A key that is not 32 bytes.
        """
        self._check_live()
        session = self._state.facts()
        if session is None or isinstance(self._state, (Completed, Aborted)):
            raise ProtocolViolationError(
                f"a client in state {self.state.value} has no session to export "
                "(sessions are exported after R0 and before they end)."
            )
        envelope = Envelope(CLIENT, self.state, session.session_id, self.id, self._next_seq)
        blob = seal(envelope, encode_client_state(self._state), key)
        self._state.erase()
        self._moved = True
        return blob

    def handle_and_export(self, data: bytes, key: bytes) -> tuple[list[bytes], bytes | None]:
        """:meth:`handle` a message, then :meth:`export` the session (a move).

        Returns:
            The replies, and the blob to store before sending them (None when the
            session ended: nothing is exported after Completed or Aborted).
        """
        replies = self.handle(data)
        if isinstance(self._state, (Completed, Aborted)):
            return replies, None
        return replies, self.export(key)

    @classmethod
    def restore(
        cls,
        blob: bytes,
        key: bytes,
        *,
        session_id: bytes,
        client_id: int,
        expected_seq: int,
        config: Config | None = None,
        policy: ClientPolicy | None = None,
        signing_key: bytes | None = None,
        verify_keys: Mapping[int, bytes] | None = None,
        authority_vk: bytes | None = None,
        rng: Rng | None = None,
    ) -> Client:
        """Continue an exported session in this process.

        The sequence number is the caller's guard against a second live copy:
        restore with the value its counter holds, and advance the counter to
        the restored client's :attr:`next_seq` before handing it a message, so
        that the same blob never restores twice. The trust anchors are passed
        again (they never travel in the blob).

        Args:
            blob: What :meth:`export` returned.
            key: The same 32-byte key.
            session_id: The session this client belongs to.
            client_id: This client's id.
            expected_seq: The sequence number the blob must carry.
            config, policy, signing_key, verify_keys, authority_vk, rng: As for
                the constructor.

        Raises:
            ProtocolViolationError: A blob of another version, role, session or
                id, with another sequence number, or that does not verify.
            MalformedMessageError: A blob whose contents are malformed.
            InvalidInputError: Active mode without the client's keys.
        """
        tag, plaintext = open_blob(
            blob,
            key,
            role=CLIENT,
            session_id=session_id,
            party=client_id,
            expected_seq=expected_seq,
        )
        state = decode_client_state(tag, plaintext, bytes(session_id), client_id)
        session = state.facts()
        assert session is not None
        trust = Trust(
            config,
            policy,
            signing_key,
            dict(verify_keys) if verify_keys is not None else None,
            authority_vk,
        )
        if config is not None and config != session.config:
            raise ProtocolViolationError("the blob's session runs another config than given.")
        if session.active and (signing_key is None or verify_keys is None):
            raise InvalidInputError(
                "restoring an active-mode session needs the client's signing_key and the "
                "registry's verify_keys."
            )
        client = cls.__new__(cls)
        client.id = client_id
        client._trust = trust
        client._rng = rng if rng is not None else default_rng
        client._state = state
        client._has_input = True
        client._session = session
        client._request_sid = session.session_id
        client._moved = False
        client._next_seq = expected_seq + 1
        client.ignored = 0
        return client

    def _check_live(self) -> None:
        if self._moved:
            raise ProtocolViolationError(
                "this client session was exported; restore the blob to continue it."
            )

    @property
    def current(self) -> ClientState:
        """The current round state object (it holds this session's secrets)."""
        return self._state

    @property
    def state(self) -> State:
        """The state: the round whose request it waits for, COMPLETED or ABORTED."""
        return self._state.STATE

    @property
    def round(self) -> str | None:
        """The round whose request this client waits for ("R0".."R4"), None at the end."""
        return self._state.STATE.round

    @property
    def abort_reason(self) -> str | None:
        """Why the session ended in ABORTED (a sentence kept local), else None."""
        return self._state.reason if isinstance(self._state, Aborted) else None

    @property
    def abort_code(self) -> AbortCode | None:
        """The rule this client's abort notice named, else None."""
        return self._state.code if isinstance(self._state, Aborted) else None

    @property
    def config(self) -> Config | None:
        """The session config (known once the R0 request was accepted)."""
        return self._session.config if self._session is not None else self._trust.config

    @property
    def session_id(self) -> bytes | None:
        """The session id (known once the R0 request was accepted)."""
        return self._session.session_id if self._session is not None else None

    @property
    def active(self) -> bool:
        """True when the session (once known) runs in active mode."""
        config = self.config
        return config is not None and config.mode is Mode.ACTIVE

    # -------------------------------------------------------------- helpers

    def _step(self, data: bytes) -> Step:
        """Decode, check the header against this session and hand the message on."""
        try:
            mtype, sid, _sender = peek_header(data)
        except MalformedMessageError as exc:
            return Step(Aborted(str(exc), AbortCode.MALFORMED_MESSAGE))
        if self._session is None:
            self._request_sid = sid
        session_id = self.session_id
        if mtype == MsgType.ABORT:
            try:
                notice = decode(data, self.config)
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
            reason = f"the server aborted the session: {notice.reason}"
            return Step(Aborted(reason, None, notify=False))
        expected = self._state.EXPECTS
        assert expected is not None
        if mtype != expected.TYPE:  # type: ignore[attr-defined]
            return Step(
                Aborted(
                    f"in state {self.state.value} the client accepts only message type "
                    f"0x{expected.TYPE:02x}, got 0x{mtype:02x}.",  # type: ignore[attr-defined]
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
            msg = decode(data, self.config)
        except MalformedMessageError as exc:
            return Step(Aborted(str(exc), AbortCode.MALFORMED_MESSAGE))
        return self._state.handle(msg, self._trust, self._rng)

    def _finish(self, state: ClientState, step: Step | None = None) -> list[bytes]:
        """Move to ``state``; encode the replies, or the abort notice of a refusal."""
        old = self._state
        self._state = state
        session = state.facts()
        if session is not None:
            self._session = session
        if isinstance(state, (Completed, Aborted)):
            old.erase()
        if isinstance(state, Aborted):
            # Before the session id is established (a refused R0 request), the
            # notice echoes the id the request carried so the server can log why.
            sid = self.session_id if self.session_id is not None else self._request_sid
            if not state.notify or sid is None or state.code is None:
                return []
            # Only the rule and the peer leave the client (§8): the sentence in
            # abort_reason may name values derived from the input or the keys.
            return [AbortNotice(sid, self.id, notice_reason(state.code, state.peer)).to_bytes()]
        return [reply.to_bytes() for reply in (step.replies if step is not None else ())]

    def __repr__(self) -> str:
        extra = f", reason={self.abort_reason!r}" if self.abort_reason else ""
        return f"Client(id={self.id}, state={self.state.value}{extra})"

    # Never let key material reach logs or pickles through default behaviour.
    def __getstate__(self) -> Any:
        raise TypeError("a Client holds session secrets and cannot be pickled.")

"""Export and restore for :class:`~secagg.protocol.server.Server` (PROTOCOL.md §13)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from ...exceptions import ProtocolViolationError
from ..server_rounds import ServerAborted, ServerCompleted
from ..server_rounds.engine import ServerEngine
from ..vocabulary import SERVER_ID
from .envelope import SERVER, Envelope, open_blob, seal
from .server_state import decode_server_state, encode_server_state

__all__ = ["ServerExport"]

_S = TypeVar("_S", bound="ServerExport")


class ServerExport:
    """The export half of a server: a session moved into a blob and back."""

    _engine: ServerEngine
    _next_seq: int

    @property
    def outbox(self) -> dict[int, bytes]:
        """The requests the last start() or close_round() returned.

        After a restart, send these again: a restored server never decides a
        closed round anew, so they are exactly the ones decided before.
        """
        return dict(self._engine.outbox)

    @property
    def next_seq(self) -> int:
        """The sequence number the next export carries."""
        return self._next_seq

    def _check_live(self) -> None:
        if self._engine.moved:
            raise ProtocolViolationError(
                "this server session was exported; restore the blob to continue it."
            )

    def export(self, key: bytes) -> bytes:
        """Move this session into a sealed blob; this object then takes nothing more.

        Export after close_round() and store the blob (with :attr:`next_seq`)
        before sending any request it returned, so that U3 and every R4
        request are durable before they leave. One live server per session.

        Raises:
            ProtocolViolationError: The session ended or was already exported.
            InvalidInputError: A key that is not 32 bytes.
        """
        self._check_live()
        engine = self._engine
        state = engine.state
        if isinstance(state, (ServerCompleted, ServerAborted)):
            raise ProtocolViolationError(
                f"a server in state {state.STATE.value} has nothing to export."
            )
        plaintext = encode_server_state(state, engine.started, engine.outbox)
        envelope = Envelope(
            SERVER, state.STATE, state.session.session_id, SERVER_ID, self._next_seq
        )
        blob = seal(envelope, plaintext, key)
        engine.moved = True
        return blob

    @classmethod
    def restore(
        cls: type[_S],
        blob: bytes,
        key: bytes,
        *,
        session_id: bytes,
        expected_seq: int,
        verify_keys: Mapping[int, bytes] | None = None,
    ) -> _S:
        """Continue an exported session (after a crash, in another process).

        Restore with the value the caller's counter holds and advance the
        counter to the restored server's :attr:`next_seq` before using it;
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
        server._engine = ServerEngine(snapshot.state, snapshot.started, snapshot.outbox)
        server._next_seq = expected_seq + 1
        return server

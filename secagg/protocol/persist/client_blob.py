"""Export and restore for :class:`~secagg.protocol.client.Client` (PROTOCOL.md §13)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from ...exceptions import InvalidInputError, ProtocolViolationError
from ..client_rounds import Aborted, Completed, Trust
from ..client_rounds.engine import ClientEngine
from ..config import Config
from ..policy import ClientPolicy
from ..vocabulary import Rng, default_rng
from .client_state import decode_client_state, encode_client_state
from .envelope import CLIENT, Envelope, open_blob, seal

__all__ = ["ClientExport"]

_C = TypeVar("_C", bound="ClientExport")


class ClientExport:
    """The export half of a client: a session moved into a blob and back."""

    id: int
    ignored: int
    _engine: ClientEngine
    _has_input: bool
    _moved: bool
    _next_seq: int

    @property
    def next_seq(self) -> int:
        """The sequence number the next export carries (0, or one past the restored blob's)."""
        return self._next_seq

    def _check_live(self) -> None:
        if self._moved:
            raise ProtocolViolationError(
                "this client session was exported; restore the blob to continue it."
            )

    def export(self, key: bytes) -> bytes:
        """Move this session into a sealed blob; this object then refuses every message.

        Store the blob and :attr:`next_seq` before sending any reply of the
        message just handled. A client blob with the masked input it sent
        reveals the input: the blob never leaves the client's node.

        Args:
            key: The caller's 32-byte key, kept apart from the blob.

        Raises:
            ProtocolViolationError: Before R0 was handled, after the session
                ended, or already exported.
            InvalidInputError: A key that is not 32 bytes.
        """
        self._check_live()
        state = self._engine.state
        session = state.facts()
        if session is None or isinstance(state, (Completed, Aborted)):
            raise ProtocolViolationError(
                f"a client in state {state.STATE.value} has no session to export "
                "(sessions are exported after R0 and before they end)."
            )
        envelope = Envelope(CLIENT, state.STATE, session.session_id, self.id, self._next_seq)
        blob = seal(envelope, encode_client_state(state), key)
        state.erase()
        self._moved = True
        return blob

    def handle_and_export(self, data: bytes, key: bytes) -> tuple[list[bytes], bytes | None]:
        """Handle a message, then export the session (a move).

        Returns:
            The replies, and the blob to store before sending them (None once
            the session ended: nothing is exported after Completed or Aborted).
        """
        replies = self.handle(data)
        if isinstance(self._engine.state, (Completed, Aborted)):
            return replies, None
        return replies, self.export(key)

    def handle(self, data: bytes) -> list[bytes]:  # pragma: no cover - Client defines it
        raise NotImplementedError

    @classmethod
    def restore(
        cls: type[_C],
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
    ) -> _C:
        """Continue an exported session.

        Restore with the value the caller's counter holds, then advance the
        counter to the restored client's :attr:`next_seq` before handing it a
        message, so that no blob restores twice. The trust anchors are passed
        again: they never travel in a blob.

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
        if config is not None and config != session.config:
            raise ProtocolViolationError("the blob's session runs another config than given.")
        if session.active and (signing_key is None or verify_keys is None):
            raise InvalidInputError(
                "restoring an active-mode session needs the client's signing_key and the "
                "registry's verify_keys."
            )
        keys = dict(verify_keys) if verify_keys is not None else None
        trust = Trust(config, policy, signing_key, keys, authority_vk)
        client = cls.__new__(cls)
        client.id = client_id
        client.ignored = 0
        client._engine = ClientEngine(client_id, trust, rng or default_rng, state, session)
        client._has_input = True
        client._moved = False
        client._next_seq = expected_seq + 1
        return client

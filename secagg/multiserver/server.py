"""The server role: one of the S servers of multi-server additive sharing.

A server accepts each client's signed share bundle, then takes part in one
release. The danger is an honest server releasing two sums, over U and over
U \\ {v}: with S = 2 the other server could then subtract them and learn
x_v. So a server

- signs the statement ("secagg/v1/ms/set", sid, U) at most once per session,
  and only if |U| >= n_min and it accepted a valid bundle from every client
  of U;
- releases its partial sum at most once, and only on a request carrying all
  S servers' signatures on the very statement it signed itself.

Both decisions are recorded in a small state (:meth:`ShareServer.export_state`)
that is handed to the ``persist`` callback *before* a signature or a sum
leaves the object, so a restarted server (``state=`` the last blob) cannot
sign or release again. When a call fails part-way the object stays bound to
what it was asked (fail closed): it may repeat that exact step, nothing else.
The bundle checks live in :mod:`.inbox`, the decisions and their record in
:mod:`.decisions`; this class joins them.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import crypto, packing
from ..exceptions import InvalidInputError, ProtocolViolationError, RefusedError
from .decisions import STATE_LABEL, Decisions
from .inbox import ShareInbox
from .params import MultiServerConfig, check_session_id, members_bitmap, partial_message
from .wire import PartialSum, ReleaseRequest, SetSignature, SetStatement

__all__ = ["ShareServer", "STATE_LABEL"]


def _statement(
    config: MultiServerConfig, session_id: bytes, statement: SetStatement | bytes
) -> SetStatement:
    """The statement, checked against this session (every member a client id)."""
    if isinstance(statement, SetStatement):
        st = SetStatement(statement.session_id, config.n, frozenset(statement.members))
        members_bitmap(st.members, st.n)
    else:
        st = SetStatement.from_bytes(statement, config)
    if st.session_id != session_id:
        raise ProtocolViolationError("the statement carries another session id.")
    return st


def _check_server(
    config: MultiServerConfig, session_id: bytes, index: int, signing_key: bytes
) -> bytes:
    """The checked session id; refuses a config of another type, a session id that is
    not 32 bytes, an index outside 0..S-1 or a signing key not pinned for the index."""
    if not isinstance(config, MultiServerConfig):
        raise InvalidInputError(f"config must be a MultiServerConfig, got {type(config).__name__}.")
    sid = check_session_id(session_id)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < config.S:
        raise InvalidInputError(f"server index must lie in 0..{config.S - 1}, got {index!r}.")
    if crypto.ed25519_public(signing_key) != config.server_verify_keys[index]:
        raise InvalidInputError(
            f"the signing key of server {index} does not match its pinned verification key."
        )
    return sid


class ShareServer:
    """Server ``index`` (0..S-1) of one multi-server session.

    Args:
        config: The session's parameters.
        session_id: The 32-byte session id.
        index: This server's index; S - 1 is the correction server.
        signing_key: This server's Ed25519 seed (its verification key must be
            ``config.server_verify_keys[index]``).
        seed_key: This server's X25519 private key (servers 0..S-2, matching
            ``config.seed_keys[index]``); None for the correction server.
        state: A blob from :meth:`export_state` (or ``persist``) of an earlier
            run of this server in this session; None for a fresh start.
        persist: Called with the new state blob before any signature or
            partial sum is returned; it must make the blob durable (or raise,
            and then nothing is returned). None keeps the state in memory
            only: a restarted server would then forget what it signed.

    Raises:
        InvalidInputError: Keys that do not match the config, a bad index, or
            a state blob of another session, server or layout.
    """

    def __init__(
        self,
        config: MultiServerConfig,
        session_id: bytes,
        index: int,
        *,
        signing_key: bytes,
        seed_key: bytes | None = None,
        state: bytes | None = None,
        persist: Callable[[bytes], None] | None = None,
    ) -> None:
        self.session_id = _check_server(config, session_id, index, signing_key)
        self.config, self.index = config, index
        self._signing_key = bytes(signing_key)
        self._inbox = ShareInbox(config, self.session_id, index, seed_key)
        self._decisions = Decisions(config, self.session_id, index, persist, state)

    @property
    def accepted(self) -> frozenset[int]:
        """Clients whose bundle this server accepted (in this run; kept after the release)."""
        return frozenset(self._inbox.accepted)

    @property
    def bytes_received(self) -> int:
        """Bytes of the bundles this server accepted."""
        return self._inbox.bytes_received

    @property
    def signed(self) -> frozenset[int] | None:
        """The client set this server signed, or None."""
        return self._decisions.signed

    @property
    def released(self) -> bool:
        """Whether this server has released its partial sum."""
        return self._decisions.released is not None

    def export_state(self) -> bytes:
        """The small state that must survive a restart (layout: ``Decisions.export``).

        It holds no secret. Store only the newest blob: restoring an older one
        makes a second server that may sign or release again.
        """
        return self._decisions.export()

    def receive(self, data: bytes) -> bool:
        """Check and keep one client's share bundle.

        Returns:
            True if accepted; False if this client's bundle was already
            accepted (the first one is kept and later ones are discarded).

        Raises:
            MalformedMessageError, ProtocolViolationError: As
                :meth:`ShareInbox.receive <secagg.multiserver.inbox.ShareInbox.receive>`.
            RefusedError: This server has already released its sum.
        """
        if self.released:
            raise RefusedError(
                f"server {self.index} has released its partial sum and accepts no more bundles "
                "in this session."
            )
        return self._inbox.receive(data)

    def sign(self, statement: SetStatement | bytes) -> bytes:
        """Sign the statement that the session's sum covers exactly the set U.

        Args:
            statement: A SetStatement or its bytes.

        Returns:
            The bytes of this server's SetSignature (the same bytes again if
            asked twice for the identical statement).

        Raises:
            RefusedError: This server already signed another set, |U| < n_min,
                or it holds no valid bundle from some client of U.
            MalformedMessageError, ProtocolViolationError: A bad statement.
        """
        st = _statement(self.config, self.session_id, statement)
        self._decisions.approve_sign(st.members, self.accepted)
        signature = crypto.ed25519_sign(self._signing_key, st.message())
        return SetSignature(st, self.index, signature).to_bytes()

    def release(self, request: ReleaseRequest | bytes) -> bytes:
        """Release this server's partial sum over U, once per session.

        Args:
            request: A ReleaseRequest (or its bytes) with all S servers'
                signatures on one statement.

        Returns:
            The bytes of this server's signed PartialSum.

        Raises:
            RefusedError: A partial sum was already released; this server did
                not sign this statement (another set, or none); a server's
                signature does not verify; or it lacks the bundles of U.
            MalformedMessageError, ProtocolViolationError: A bad request.
        """
        if not isinstance(request, ReleaseRequest):
            request = ReleaseRequest.from_bytes(request, self.config)
        st = _statement(self.config, self.session_id, request.statement)
        members = st.members
        self._decisions.check_release(st, request.signatures)
        self._inbox.check_holds(members)
        packed = packing.pack(self._inbox.partial(sorted(members)), self.config.b)
        self._decisions.record_release(members)
        self._inbox.forget()
        message = partial_message(self.session_id, self.index, st.bitmap, packed)
        signature = crypto.ed25519_sign(self._signing_key, message)
        cfg = self.config
        return PartialSum(st, self.index, cfg.b, cfg.m, packed, signature).to_bytes()

    def __repr__(self) -> str:
        return (
            f"ShareServer(index={self.index}, accepted={len(self._inbox.accepted)}, "
            f"signed={self.signed is not None}, released={self.released})"
        )

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
object per round (:mod:`secagg.protocol.server_rounds`); a session can be
exported and restored (PROTOCOL.md §13).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from ..exceptions import InvalidInputError
from .config import Config
from .graph import Graph
from .persist.server_blob import ServerExport
from .server_rounds import (
    CollectAdverts,
    Ledger,
    ServerAborted,
    ServerCompleted,
    ServerResult,
    ServerSession,
    ServerState,
)
from .server_rounds.engine import ServerEngine
from .vocabulary import SIG_LEN, Mode, Rng, State, default_rng

__all__ = ["Server", "ServerResult", "State"]

_T = TypeVar("_T")


class _Ledger(Generic[_T]):
    """A read-only view of one field of the server's ledger (see :class:`Ledger`)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, server: Server, owner: type | None = None) -> _T:
        value: _T = getattr(server._engine.state.ledger, self.name)
        return value


class Server(ServerExport):
    """The aggregation server's side of one session.

    Args:
        config: The session config.
        nonce: 32-byte session nonce; drawn from ``rng`` when None. In active
            mode it must be the nonce the config authority signed.
        config_signature: The config authority's Ed25519 signature on
            ``"secagg/v1/sig/config" ‖ nonce ‖ canonical(config)`` (active
            mode, required there).
        verify_keys: The registry id -> verification key (active mode,
            optional): with it the server also checks advert and survivor-list
            signatures and drops clients whose signature fails.
        rng: Source of random bytes (default ``os.urandom``); tests only.

    Raises:
        InvalidInputError: Bad nonce, or active mode without a signature.
    """

    #: Client id -> round ("R0".."R4") at which it counted as dropped.
    dropped: _Ledger[dict[int, str]] = _Ledger()
    #: Client id -> why it was dropped (when it sent something wrong).
    drop_reasons: _Ledger[dict[int, str]] = _Ledger()
    #: Messages without effect, counted per (round, sender, reason).
    discarded: _Ledger[Any] = _Ledger()
    #: Abort notices received: reporter -> (rule, peer named or None).
    reports: _Ledger[dict[int, Any]] = _Ledger()
    #: U1, U2, U3: whose adverts, shares and masked inputs went on.
    u1: _Ledger[tuple[int, ...]] = _Ledger()
    u2: _Ledger[tuple[int, ...]] = _Ledger()
    u3: _Ledger[tuple[int, ...]] = _Ledger()

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
        nonce = bytes(nonce if nonce is not None else (rng or default_rng)(32))
        active = config.mode is Mode.ACTIVE
        if active and config_signature is None:
            raise InvalidInputError(
                "active mode needs the config authority's signature on the config and nonce."
            )
        if not active and config_signature is not None:
            raise InvalidInputError("a config signature is only used in active mode.")
        if config_signature is not None and len(config_signature) != SIG_LEN:
            raise InvalidInputError(
                f"the config signature must be {SIG_LEN} bytes, got {len(config_signature)}."
            )
        keys = dict(verify_keys) if verify_keys is not None else None
        session = ServerSession(config, nonce, config.session_id(nonce), config_signature, keys)
        self._engine = ServerEngine(CollectAdverts(session, Ledger(), set()), False, {})
        self._next_seq = 0

    def start(self) -> dict[int, bytes]:
        """Begin the session: the R0 request for every client 1..n.

        Raises:
            ProtocolViolationError: Called twice, or after the session was exported.
        """
        self._check_live()
        return self._engine.start()

    def receive(self, sender: int, data: bytes | bytearray | memoryview) -> None:
        """Take one client's reply for the current round; never raises.

        Anything wrong makes the sender count as dropped or, for a sender that
        is no client of this session (or a session over or not begun), is
        counted in ``discarded``.

        Args:
            sender: The client id the transport authenticated.
            data: The complete message.
        """
        self._engine.receive(sender, data)

    def close_round(self) -> dict[int, bytes]:
        """End the current round: fix its survivor set and build the next requests.

        Clients asked in this round that did not answer count as dropped. After
        R4 this reconstructs the secrets and sets ``result`` (or aborts).

        Returns:
            Client id -> message for the next round (abort notices when the
            session aborts; empty once finished).

        Raises:
            ProtocolViolationError: Called before start(), after the end, or
                after the session was exported.
        """
        self._check_live()
        return self._engine.close()

    def neighbours(self, u: int) -> tuple[int, ...]:
        """N(u) in increasing id."""
        return self._session.neighbours(u)

    @property
    def current(self) -> ServerState:
        """The current round state object."""
        return self._engine.state

    @property
    def state(self) -> State:
        """The round being collected, COMPLETED or ABORTED."""
        return self._engine.state.STATE

    @property
    def round(self) -> str | None:
        """The round being collected ("R0".."R4"), None when finished."""
        return self.state.round

    @property
    def result(self) -> ServerResult | None:
        """The sum and its survivors once COMPLETED, else None."""
        state = self._engine.state
        return state.result if isinstance(state, ServerCompleted) else None

    @property
    def abort_reason(self) -> str | None:
        """Why the session aborted, else None."""
        state = self._engine.state
        return state.reason if isinstance(state, ServerAborted) else None

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
    def _session(self) -> ServerSession:
        return self._engine.state.session

    def __repr__(self) -> str:
        extra = f", reason={self.abort_reason!r}" if self.abort_reason else ""
        return f"Server(n={self.config.n}, state={self.state.value}{extra})"

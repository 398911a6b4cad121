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
are overwritten where Python allows when the session ends. A session can be
exported to a sealed blob and restored in another process (PROTOCOL.md §13).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError
from .client_rounds import Aborted, ClientState, Completed, R0AdvertiseKeys, Trust
from .client_rounds.base import input_words
from .client_rounds.engine import ClientEngine
from .config import Config
from .persist.client_blob import ClientExport
from .policy import ClientPolicy
from .vocabulary import AbortCode, Mode, Rng, State, default_rng

__all__ = ["Client", "State"]


class Client(ClientExport):
    """One client's side of one aggregation session.

    Args:
        config: The session config this client expects, or None to accept the
            one the server's R0 request carries if ``policy`` allows it.
        client_id: This client's id, 1..n.
        vector: The input, length m, words < 2^b (any integer dtype holding
            such values); copied. May be None and given with
            :meth:`set_input` before R0 (an adapter that trains when the
            round starts).
        signing_key: Ed25519 signing key (active mode).
        verify_keys: The registry id -> Ed25519 verification key for ids 1..n,
            from a source the server cannot change (active mode).
        policy: The operator's :class:`~secagg.protocol.policy.ClientPolicy`.
        authority_vk: The config authority's Ed25519 verification key (active).
        rng: Source of random bytes (default ``os.urandom``); inject only in
            tests. The whole session's randomness is drawn when R0 is handled.

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
        keys = dict(verify_keys) if verify_keys is not None else None
        trust = Trust(config, policy, signing_key, keys, authority_vk)
        if trust.wants_active and None in (signing_key, verify_keys, authority_vk):
            raise InvalidInputError(
                "active mode needs the client's signing_key, the registry's "
                "verify_keys and the config authority's authority_vk."
            )
        self.id = client_id
        #: Messages received after the session ended (ignored).
        self.ignored = 0
        idle = R0AdvertiseKeys(client_id, np.zeros(0, dtype=np.uint8))
        self._engine = ClientEngine(client_id, trust, rng or default_rng, idle)
        self._has_input = False
        self._moved = False
        self._next_seq = 0
        if vector is not None:
            self.set_input(vector)

    def set_input(self, vector: np.ndarray) -> None:
        """Fix this session's input x_u; only before the R0 request is handled.

        Raises:
            InvalidInputError: Not a 1-D vector fitting the config this client
                was built for, or the session has already started.
        """
        if not isinstance(self._engine.state, R0AdvertiseKeys):
            raise InvalidInputError("the input is fixed before the session starts (R0).")
        vec = np.asarray(vector)
        if vec.ndim != 1:
            raise InvalidInputError(f"the input vector must be 1-D, got shape {vec.shape}.")
        config = self._engine.trust.config
        problem = input_words(vec, config) if config is not None else None
        if problem is not None:
            raise InvalidInputError(problem)
        self._engine.state = R0AdvertiseKeys(self.id, np.array(vec, copy=True))
        self._has_input = True

    def handle(self, data: bytes) -> list[bytes]:
        """Process one message from the server and return the replies to send.

        Never raises because of what the server (or a peer) sent: any decoding
        or verification failure or rule violation moves the client to
        ``ABORTED`` and returns an abort notice for the server (empty once the
        session ended).

        Raises:
            InvalidInputError: No input was given before the R0 request.
            ProtocolViolationError: This session was exported (a move).
        """
        self._check_live()
        state = self._engine.state
        if isinstance(state, (Completed, Aborted)):
            self.ignored += 1
            return []
        if isinstance(state, R0AdvertiseKeys) and not self._has_input:
            raise InvalidInputError("the client has no input: call set_input() before R0.")
        return self._engine.feed(data)

    @property
    def current(self) -> ClientState:
        """The current round state object (it holds this session's secrets)."""
        return self._engine.state

    @property
    def state(self) -> State:
        """The state: the round whose request it waits for, COMPLETED or ABORTED."""
        return self._engine.state.STATE

    @property
    def round(self) -> str | None:
        """The round whose request this client waits for ("R0".."R4"), None at the end."""
        return self.state.round

    @property
    def abort_reason(self) -> str | None:
        """Why the session ended in ABORTED (a sentence kept local), else None."""
        state = self._engine.state
        return state.reason if isinstance(state, Aborted) else None

    @property
    def abort_code(self) -> AbortCode | None:
        """The rule this client's abort notice named, else None."""
        state = self._engine.state
        return state.code if isinstance(state, Aborted) else None

    @property
    def config(self) -> Config | None:
        """The session config (known once the R0 request was accepted)."""
        session = self._engine.session
        return session.config if session is not None else self._engine.trust.config

    @property
    def session_id(self) -> bytes | None:
        """The session id (known once the R0 request was accepted)."""
        session = self._engine.session
        return session.session_id if session is not None else None

    @property
    def active(self) -> bool:
        """True when the session (once known) runs in active mode."""
        config = self.config
        return config is not None and config.mode is Mode.ACTIVE

    def __repr__(self) -> str:
        extra = f", reason={self.abort_reason!r}" if self.abort_reason else ""
        return f"Client(id={self.id}, state={self.state.value}{extra})"

    def __getstate__(self) -> Any:  # never let key material reach a pickle by accident
        raise TypeError("a Client holds session secrets and cannot be pickled.")

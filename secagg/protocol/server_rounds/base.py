"""What every server state shares: the session, the ledger, the end states.

A server state collects one kind of client reply until the caller closes
the round: :meth:`ServerState.accept` takes one decoded reply (returning why
its sender must count as dropped, or None), :meth:`ServerState.close` fixes
the round's survivors and returns the next state with the next requests.
An abort is a state, :class:`ServerAborted`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..config import Config
from ..graph import Graph
from ..messages import KeyAdvert, Message
from ..vocabulary import AbortCode, Mode, State

__all__ = [
    "AfterShares",
    "Carried",
    "Closing",
    "Ledger",
    "ServerAborted",
    "ServerCompleted",
    "ServerResult",
    "ServerSession",
    "ServerState",
]


@dataclass(frozen=True)
class ServerSession:
    """One session's fixed facts on the server side.

    Attributes:
        config: The session config.
        nonce: The session nonce (the session id derives from it).
        session_id: SHA-256("secagg/v1/session" ‖ nonce ‖ canonical(config)).
        config_signature: The config authority's signature (active mode).
        verify_keys: The registry (active mode, optional): with it the server
            checks advert and survivor-list signatures itself.
    """

    config: Config
    nonce: bytes
    session_id: bytes
    config_signature: bytes | None
    verify_keys: Mapping[int, bytes] | None

    @property
    def graph(self) -> Graph:
        """The session graph (built once per process and session)."""
        return Graph.build(self.config, self.session_id)

    def neighbours(self, u: int) -> tuple[int, ...]:
        """N(u) in increasing id."""
        return self.graph.neighbours(u)

    @property
    def active(self) -> bool:
        """True in active mode."""
        return self.config.mode is Mode.ACTIVE


@dataclass
class Ledger:
    """What the server records across rounds, bounded by n, never by traffic.

    Attributes:
        dropped: Client id -> round ("R0".."R4") at which it counted as dropped.
        drop_reasons: Client id -> why it was dropped, when it sent something
            wrong (or an abort notice).
        discarded: Messages without effect, counted per (round, sender,
            reason); sender -1 stands for every id that is no client.
        reports: Abort notices received: reporter -> (rule, peer named).
        u1: The clients whose adverts were forwarded (fixed when R0 closes).
        u2: The clients whose shares were forwarded (R1).
        u3: The clients whose masked input was folded (R2).
    """

    dropped: dict[int, str] = field(default_factory=dict)
    drop_reasons: dict[int, str] = field(default_factory=dict)
    discarded: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    reports: dict[int, tuple[AbortCode, int | None]] = field(default_factory=dict)
    u1: tuple[int, ...] = ()
    u2: tuple[int, ...] = ()
    u3: tuple[int, ...] = ()
    _sets: dict[str, tuple[tuple[int, ...], frozenset[int]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def members(self, name: str) -> frozenset[int]:
        """U1, U2 or U3 (``name`` "u1".."u3") as a set, built once per list.

        Every accepted message asks whether ids are in these lists: a set
        built per message would make the server's work quadratic in n.
        """
        ids = getattr(self, name)
        cached = self._sets.get(name)
        if cached is None or cached[0] is not ids:
            cached = self._sets[name] = (ids, frozenset(ids))
        return cached[1]

    def reported_peers(self) -> str:
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


class ServerState:
    """The server collecting one round's replies.

    Attributes:
        asked: The clients sent this round's request.
        answered: Those whose reply was accepted so far.
    """

    STATE: ClassVar[State]
    EXPECTS: ClassVar[type | None] = None

    def __init__(self, session: ServerSession, ledger: Ledger, asked: set[int]) -> None:
        self.session = session
        self.ledger = ledger
        self.asked = asked
        self.answered: set[int] = set()

    def accept(self, sender: int, msg: Message) -> str | None:
        """Take one decoded reply; return why its sender counts as dropped, or None."""
        raise NotImplementedError

    def forget(self, sender: int) -> None:
        """Drop what ``sender`` contributed to this round (it counts as dropped)."""

    def close(self, alive: list[int]) -> Closing:
        """Fix this round's survivors (``alive``, increasing id) and move on."""
        raise NotImplementedError

    def abort(self, reason: str, recipients: list[int]) -> Closing:
        """Abort the session; the notice goes to ``recipients``."""
        reason += self.ledger.reported_peers()
        return Closing(ServerAborted(self.session, self.ledger, reason), {}, tuple(recipients))

    def check_enough(self, alive: list[int], what: str) -> str | None:
        """The abort reason when fewer than n_min clients remain, else None."""
        n_min = self.session.config.n_min
        if len(alive) < n_min:
            return f"only {len(alive)} clients {what}, fewer than n_min = {n_min}."
        return None


#: What the rounds after R1 carry over: U1's adverts, U2's commitments, Σ y_u.
Carried = tuple[dict[int, KeyAdvert], dict[int, bytes], np.ndarray]


class AfterShares(ServerState):
    """A round after R1: the server holds U1's adverts, U2's commitments and Σ y_u.

    Attributes:
        adverts: U1's adverts (masking keys: a rebuilt s^SK must give its s_pk,
            and the pairwise masks of a dropped client are recomputed from them).
        commitments: U2's commitments to b_u (a rebuilt b must reproduce them).
        acc: Σ y_u over the masked inputs folded so far, mod 2^b.
    """

    def __init__(
        self, session: ServerSession, ledger: Ledger, asked: set[int], carried: Carried
    ) -> None:
        super().__init__(session, ledger, asked)
        self.adverts, self.commitments, self.acc = carried

    def carried(self) -> Carried:
        """What the next round's state takes over: adverts, commitments, the sum."""
        return self.adverts, self.commitments, self.acc


@dataclass(frozen=True)
class Closing:
    """What closing a round produced.

    Attributes:
        state: The next state.
        requests: Client id -> the next round's request.
        notified: Clients to send the abort notice to, when ``state`` aborted.
    """

    state: ServerState
    requests: dict[int, Message]
    notified: tuple[int, ...] = ()


class ServerCompleted(ServerState):
    """The session ended with a sum."""

    STATE: ClassVar[State] = State.COMPLETED

    def __init__(self, session: ServerSession, ledger: Ledger, result: ServerResult) -> None:
        super().__init__(session, ledger, set())
        self.result = result


class ServerAborted(ServerState):
    """The session ended without a sum; ``reason`` says why."""

    STATE: ClassVar[State] = State.ABORTED

    def __init__(self, session: ServerSession, ledger: Ledger, reason: str) -> None:
        super().__init__(session, ledger, set())
        self.reason = reason

"""The aggregation boundary: what crosses from the clients to the server in one round.

An :class:`Aggregator` takes one round's encoded updates (keyed by session
id 1..n) and the round's dropout schedule, and returns a
:class:`RoundOutcome`: the sum over the survivors in Z_2^b, or why nothing
was released, and everything the aggregation server held. Each aggregator
declares, as a :class:`ServerHeld`, what kind of thing that is: masked
vectors and their sum for secure aggregation, ciphertexts for Paillier, one
additive share per server for multi-server sharing, every update in the
clear for the plain baseline. The federated loop, the server and the audit
(:mod:`fl.audit`) see only RoundOutcomes; an update itself never leaves the
aggregator it was handed to.

Dropouts are given as the masking protocol's schedule (which client stops
before which of R0..R4). Every other path reads it with the same rule: a
client that stops before :data:`UPLOAD_ROUND` (R2) or earlier sends nothing
and contributes nothing; one that stops later has already sent its input,
which is in the sum (:func:`survivors_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from secagg.encoding import EncodedUpdate, UpdateReusedError, check_codec
from secagg.exceptions import InvalidInputError
from secagg.protocol.config import Config
from secagg.protocol.vocabulary import ROUNDS

from .plan import SessionPlan

__all__ = [
    "ServerHeld",
    "HELD_MASKED",
    "HELD_PLAIN",
    "RoundOutcome",
    "Aggregator",
    "AggregatorFactory",
    "UPLOAD_ROUND",
    "survivors_of",
    "take_inputs",
]

#: The round whose reply carries a client's (masked) input: a client that stops
#: before it, or earlier, contributes nothing to the sum.
UPLOAD_ROUND = "R2"


@dataclass(frozen=True)
class ServerHeld:
    """What an aggregation server holds after a round, as its aggregator declares it.

    The audit reads the declaration of every round: a run whose server held
    any update in the clear is never called private, and the uniformity
    checks on per-client vectors run only where ``uniform_words`` is
    declared (and then must pass).

    Attributes:
        description: What the server held, in words (printed by the demo).
        updates_in_clear: Whether the server saw individual updates as they are.
        uniform_words: Whether every per-client vector the server held is, on
            its own, uniform in Z_2^b (true of masked vectors, and of one
            server's additive shares; not of ciphertexts, which are not ring
            words, nor of plain updates).
    """

    description: str
    updates_in_clear: bool
    uniform_words: bool


#: Secure aggregation by masking (PROTOCOL.md §11: the sum over U3, and U3).
HELD_MASKED = ServerHeld(
    "masked vectors y_u and their sum over the survivors U3",
    updates_in_clear=False,
    uniform_words=True,
)
#: The insecure baseline.
HELD_PLAIN = ServerHeld(
    "every survivor's encoded update in the clear", updates_in_clear=True, uniform_words=False
)


@dataclass(frozen=True)
class RoundOutcome:
    """What the aggregation server held after one round.

    Attributes:
        held: The kind of thing the server held (the aggregator's declaration).
        sum: Σ_{u∈U3} x_u mod 2^b (dtype of the config), None if nothing was released.
        survivors: U3, the clients whose input is in the sum.
        aborted: Why nothing was released, or None.
        dropped: Client id -> round before which it stopped, as the server saw it.
        received: Client id -> the vector the server received from it (masked,
            plain, or the correction server's share, as ``held`` says), kept
            only when the aggregator was asked to record it; None otherwise.
        reconstructed: Masking only: ``{"self_mask": ids, "pairwise": ids}``,
            whose self-mask seed b_u and whose masking key s_u^SK the server
            rebuilt from shares; empty for other aggregators.
        timings: Phase -> seconds; ``"total"`` is the whole round.
        bytes_sent: Client id -> phase -> bytes that client uploaded.
        config: The session's Config.
        releases: Party -> the client set of the one aggregate it decrypted
            or released in the round: the Paillier key holder, each committee
            member that gave a decryption share, each multi-server server's
            partial sum. Empty for masking and plain, where the aggregation
            server computes the sum itself.
    """

    held: ServerHeld
    sum: np.ndarray | None
    survivors: frozenset[int]
    aborted: str | None
    dropped: Mapping[int, str]
    received: Mapping[int, np.ndarray] | None
    reconstructed: Mapping[str, tuple[int, ...]]
    timings: Mapping[str, float]
    bytes_sent: Mapping[int, Mapping[str, int]]
    config: Config
    releases: Mapping[str, frozenset[int]] = field(default_factory=dict)

    @property
    def total_time(self) -> float:
        """Wall time of the round in seconds (the ``"total"`` phase, else the phase sum)."""
        if "total" in self.timings:
            return float(self.timings["total"])
        return float(sum(self.timings.values()))

    def upload_bytes_per_client(self) -> float:
        """Mean bytes uploaded per client over all phases of the round."""
        if not self.bytes_sent:
            return 0.0
        return float(np.mean([sum(per.values()) for per in self.bytes_sent.values()]))


class Aggregator(Protocol):
    """One aggregation per call over one round's encoded updates.

    Implementations: :class:`fl.aggregators.MaskingAggregator` (secure
    aggregation), :class:`fl.paillier.PaillierAggregator` and
    :class:`fl.paillier.ThresholdPaillierAggregator` (packed Paillier),
    :class:`fl.multiserver.MultiServerAggregator` (additive shares across
    servers) and :class:`fl.aggregators.PlainAggregator` (the insecure
    baseline). Each implements :meth:`aggregate` and declares :attr:`held`;
    the loop, the server and the audit need nothing else.
    """

    @property
    def held(self) -> ServerHeld:
        """What this aggregator's server holds after a round."""
        ...

    def aggregate(
        self, encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str]
    ) -> RoundOutcome:
        """Aggregate one round.

        Every encoded update is consumed, survivor or not; a refused call
        consumes none.

        Args:
            encoded: Session id (1..n) -> that client's encoded update.
            dropouts: Session id -> round ("R0".."R4") before whose reply it stops.

        Returns:
            What the server held after the round.

        Raises:
            InvalidInputError: If the ids are not 1..n, an update does not fit
                the session, or a dropout round is unknown.
            UpdateReusedError: If an update was already used.
        """
        ...


#: The aggregator of one round, given the run's plan and the round's session
#: (session id -> client id); active mode needs the latter for the keys.
AggregatorFactory = Callable[[SessionPlan, Mapping[int, int]], Aggregator]


def survivors_of(ids: list[int] | range, dropouts: Mapping[int, str]) -> frozenset[int]:
    """Clients that reach :data:`UPLOAD_ROUND`'s reply under a dropout schedule (U3)."""
    last = ROUNDS.index(UPLOAD_ROUND)
    return frozenset(u for u in ids if u not in dropouts or ROUNDS.index(dropouts[u]) > last)


def take_inputs(
    encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str], config: Config
) -> dict[int, np.ndarray]:
    """Check one round's arguments against the session, then take every update's words.

    Everything is checked before anything is consumed, so a refused call
    leaves every update unused.

    Raises:
        InvalidInputError: If the ids are not exactly 1..n, a dropout entry
            names an unknown client or round, or an update does not fit the
            config (:func:`secagg.encoding.check_codec`: b, length, n <= n_max).
        UpdateReusedError: If an update was already submitted to a session.
    """
    if set(encoded) != set(range(1, config.n + 1)):
        raise InvalidInputError(
            f"encoded updates are needed for exactly the clients 1..{config.n}, got ids "
            f"{sorted(encoded)[:10]}{'...' if len(encoded) > 10 else ''}"
        )
    for cid, rnd in dropouts.items():
        if cid not in encoded or rnd not in ROUNDS:
            raise InvalidInputError(
                f"dropout entry {cid}: {rnd!r} needs a client id in 1..{config.n} and a round "
                f"in {ROUNDS}"
            )
    for cid, enc in encoded.items():
        check_codec(enc, config, name=f"client {cid}'s update")
        if enc.used:
            raise UpdateReusedError(
                f"client {cid}'s encoded update was already submitted to a session; "
                "a retried round must re-encode it"
            )
    return {cid: enc.take() for cid, enc in encoded.items()}

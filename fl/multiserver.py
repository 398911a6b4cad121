"""The multi-server aggregator: each update split into additive shares across S servers.

Each round is one session of :mod:`secagg.multiserver`, run in process by
:func:`secagg.multiserver.run_session` (which makes the session's keys):
every client that does not stop before the upload
(:data:`~fl.boundary.UPLOAD_ROUND`, the same rule as the plain baseline)
splits its encoded words into S shares mod 2^b, one per server; each server
signs the set of clients that reached every server (at least n_min of
them, n_min from the session plan, C its colluding clients) and releases
its partial sum over that set once; the partial sums add up to the sum.
No server holds an update: a seed server holds sealed 32-byte seeds, the
correction server vectors that are uniform on their own, and each its
partial sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from secagg.encoding import EncodedUpdate
from secagg.exceptions import InvalidInputError
from secagg.multiserver import run_session
from secagg.multiserver.params import MAX_SERVERS
from secagg.protocol.config import Config

from .boundary import UPLOAD_ROUND, RoundOutcome, ServerHeld, survivors_of, take_inputs
from .plan import SessionPlan

__all__ = ["HELD_SHARES", "MultiServerAggregator", "multiserver_round"]

#: What the servers held: one share per client each, and their partial sums.
HELD_SHARES = ServerHeld(
    "at each server one additive share of each survivor's update (a sealed seed, or at the "
    "correction server a vector uniform on its own) and that server's partial sum",
    updates_in_clear=False,
    uniform_words=True,
)


@dataclass(frozen=True)
class MultiServerAggregator:
    """Additive sharing across ``servers`` non-colluding servers: one session per call.

    Attributes:
        config: The session Config (n, b, m and n_min are used).
        servers: S, the number of servers (2..255).
        colluders: C, the registered clients assumed to collude with servers.
        record: Keep the correction vectors the correction server received,
            for the audit (the vectors declared uniform).

    Raises:
        InvalidInputError: On construction (before any update is taken), S
            outside 2..255 or C outside 0..n_min - 1.
    """

    config: Config
    servers: int = 2
    colluders: int = 0
    record: bool = False

    def __post_init__(self) -> None:
        if not 2 <= self.servers <= MAX_SERVERS:
            raise InvalidInputError(
                f"multi-server sharing needs 2..{MAX_SERVERS} servers, got S = {self.servers}."
            )
        if not 0 <= self.colluders < self.config.n_min:
            raise InvalidInputError(
                f"C = {self.colluders} colluding clients must lie in 0..n_min - 1 = "
                f"{self.config.n_min - 1}, so that a released sum covers an honest client."
            )

    @property
    def held(self) -> ServerHeld:
        """One share per survivor at each server, and each server's partial sum."""
        return HELD_SHARES

    def aggregate(
        self, encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str]
    ) -> RoundOutcome:
        """One session over clients 1..n with the given dropout schedule.

        Args:
            encoded: Session id (1..n) -> encoded update, for every client.
            dropouts: Session id -> round ("R0".."R4") before whose reply it
                stops; before R2 or earlier means it sends nothing.

        Returns:
            The sum over the clients that reached every server, or why
            nothing was released (fewer than n_min of them).

        Raises:
            InvalidInputError, UpdateReusedError: As :func:`fl.boundary.take_inputs`.
        """
        cfg = self.config
        inputs = take_inputs(encoded, dropouts, cfg)
        survivors = survivors_of(sorted(inputs), dropouts)
        out = run_session(
            inputs,
            servers=self.servers,
            b=cfg.b,
            n_min=cfg.n_min,
            corrupt_clients=self.colluders,
            dropouts=[u for u in inputs if u not in survivors],
            keep_received=self.record,
        )
        del inputs  # from here on only the servers' view exists
        correction = out.servers[-1]
        releases = {
            f"server {v.index}": frozenset(v.signed)
            for v in out.servers
            if v.signed is not None and v.partial is not None
        }
        return RoundOutcome(
            held=HELD_SHARES,
            sum=None if out.sum is None else out.sum.astype(cfg.dtype),
            survivors=out.members if out.aborted is None else survivors,
            aborted=out.aborted,
            dropped={u: r for u, r in dropouts.items() if u not in survivors},
            received=correction.received if self.record else None,
            reconstructed={},
            timings=dict(out.timings),
            bytes_sent={
                u: {UPLOAD_ROUND: out.bytes_sent[u]} if u in survivors else {}
                for u in out.bytes_sent
            },
            config=cfg,
            releases=releases,
        )


def multiserver_round(
    plan: SessionPlan, session: Mapping[int, int], *, servers: int = 2, record: bool = False
) -> MultiServerAggregator:
    """The multi-server aggregator of one round (an :data:`~fl.boundary.AggregatorFactory`).

    Args:
        plan: The run's plan (its Config and colluders C).
        session: Session id -> client id (unused: each session makes its keys).
        servers: S.
        record: Keep the correction vectors for the audit.
    """
    return MultiServerAggregator(plan.config, servers, plan.colluders, record)

"""The aggregators behind :class:`fl.boundary.Aggregator`: masking and the plain baseline.

:class:`MaskingAggregator` runs one session of the secure aggregation
protocol (:func:`secagg.protocol.runner.run_round`) per round; its server
holds masked vectors and their sum over the survivors. :class:`PlainAggregator`
is the insecure baseline: its server receives every update as it is and
adds them up, so that accuracy can be compared on the same seed and
survivor schedule. Both take the same encoded updates and return the same
:class:`~fl.boundary.RoundOutcome`; only what the server held differs, and
each says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from secagg.encoding import EncodedUpdate
from secagg.packing import packed_size
from secagg.protocol.config import Config
from secagg.protocol.runner import run_round

from .boundary import (
    HELD_MASKED,
    HELD_PLAIN,
    UPLOAD_ROUND,
    RoundOutcome,
    ServerHeld,
    survivors_of,
    take_inputs,
)
from .plan import SessionPlan

__all__ = ["MaskingAggregator", "PlainAggregator", "masking_round", "plain_round"]


@dataclass(frozen=True)
class MaskingAggregator:
    """Secure aggregation: one protocol session per call.

    Attributes:
        config: The session Config (b and m must match the codec; in active
            mode its registry digest must be that of ``signing_keys``).
        signing_keys: Active mode: session id -> that client's Ed25519
            signing key; None in semi_honest mode.
        record: Keep the masked vectors the server received (the runner's
            full transcript), for the audit.
        workers: Processes that run the clients (``run_round``'s
            ``workers``): the sum is the same for every count, the clients'
            key agreement, encryption and masking use that many cores.
    """

    config: Config
    signing_keys: Mapping[int, bytes] | None = None
    record: bool = False
    workers: int = 1

    @property
    def held(self) -> ServerHeld:
        """Masked vectors and their sum over the survivors."""
        return HELD_MASKED

    def aggregate(
        self, encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str]
    ) -> RoundOutcome:
        """One protocol session over clients 1..n with the given dropout schedule.

        Args:
            encoded: Session id (1..n) -> encoded update, for every client.
            dropouts: Session id -> round ("R0".."R4") before whose reply it stops.

        Returns:
            What the protocol's server held: the sum over U3 or the abort
            reason, U3, what it reconstructed, timings, bytes and (when
            recording) the masked vectors.

        Raises:
            InvalidInputError: As :func:`fl.boundary.take_inputs`, or a
                worker count outside 1..MAX_WORKERS.
            UpdateReusedError: As :func:`fl.boundary.take_inputs`.
        """
        inputs = take_inputs(encoded, dropouts, self.config)
        result = run_round(
            self.config,
            inputs,
            dropouts=dict(dropouts),
            transcript="full" if self.record else None,
            signing_keys=self.signing_keys,
            workers=self.workers,
        )
        del inputs  # from here on only the server's view exists
        return RoundOutcome(
            held=HELD_MASKED,
            sum=result.sum,
            survivors=frozenset(result.survivors),
            aborted=result.aborted,
            dropped=dict(result.dropped),
            received=result.masked_inputs if self.record else None,
            reconstructed=dict(result.reconstructed),
            timings=dict(result.timings),
            bytes_sent={u: dict(per) for u, per in result.bytes_sent.items()},
            config=self.config,
        )


@dataclass(frozen=True)
class PlainAggregator:
    """The insecure baseline: the server receives every update and adds them up.

    A client that stops before the upload (the masking protocol's
    ``UPLOAD_ROUND``, R2, or earlier) sends nothing; every other client's
    encoded words reach the server as they are. Any non-empty survivor set
    is released (no n_min: there is nothing to protect).

    Attributes:
        config: The session Config (only n, b and m are used).
        record: Keep the updates the server received, for the audit.
    """

    config: Config
    record: bool = False

    @property
    def held(self) -> ServerHeld:
        """Every survivor's update in the clear."""
        return HELD_PLAIN

    def aggregate(
        self, encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str]
    ) -> RoundOutcome:
        """Sum the survivors' words in the clear (arguments as :class:`MaskingAggregator`).

        Raises:
            InvalidInputError: As :func:`fl.boundary.take_inputs`.
            UpdateReusedError: As :func:`fl.boundary.take_inputs`.
        """
        cfg = self.config
        inputs = take_inputs(encoded, dropouts, cfg)
        start = time.perf_counter()
        survivors = survivors_of(sorted(inputs), dropouts)
        total = np.zeros(cfg.m, dtype=np.uint64)
        for u in sorted(survivors):
            total += inputs[u].astype(np.uint64)  # wraps mod 2^64, then reduced mod 2^b
        if cfg.b < 64:
            total &= np.uint64((1 << cfg.b) - 1)
        elapsed = time.perf_counter() - start
        upload = packed_size(cfg.m, cfg.b)
        return RoundOutcome(
            held=HELD_PLAIN,
            sum=total.astype(cfg.dtype) if survivors else None,
            survivors=survivors,
            aborted=None if survivors else "no client uploaded its update",
            dropped={u: r for u, r in dropouts.items() if u not in survivors},
            received={u: inputs[u] for u in sorted(survivors)} if self.record else None,
            reconstructed={},
            timings={"total": elapsed},
            bytes_sent={u: {UPLOAD_ROUND: upload} if u in survivors else {} for u in inputs},
            config=cfg,
        )


def masking_round(
    plan: SessionPlan, session: Mapping[int, int], *, record: bool = False, workers: int = 1
) -> MaskingAggregator:
    """The masking aggregator of one round (an :data:`~fl.boundary.AggregatorFactory`).

    In active mode the session's Config carries the digest of its own
    registry, cut from the clients' long-term keys, and the aggregator the
    matching signing keys.

    Args:
        plan: The run's plan.
        session: Session id -> client id.
        record: Keep the masked vectors for the audit.
        workers: Processes that run the clients (see :class:`MaskingAggregator`).
    """
    config, registry = plan.session_config(session)
    keys = None if registry is None else registry.signing_keys
    return MaskingAggregator(config, keys, record, workers)


def plain_round(
    plan: SessionPlan, session: Mapping[int, int], *, record: bool = False
) -> PlainAggregator:
    """The plain baseline of one round (an :data:`~fl.boundary.AggregatorFactory`)."""
    return PlainAggregator(plan.config, record)

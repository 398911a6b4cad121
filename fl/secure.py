"""The boundary between clients and server: one secure aggregation per round.

:class:`SecureAggregator` is the only place where client data crosses to the
server side. Clients hand it :class:`secagg.encoding.EncodedUpdate` objects;
it runs one session of the protocol (``secagg.protocol.runner.run_round``) over them
with the round's dropout schedule and returns a :class:`ServerView`: exactly
what the protocol's server ends up holding — the sum over the survivors (in
Z_2^b), the survivor set, what it reconstructed, and, when a full transcript
is requested, the masked vectors it received. No unmasked individual update
is ever part of a ServerView.

:class:`PlainAggregator` is the insecure baseline (the server sees every
update) used only to compare accuracy on the same seed and survivor schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from secagg.encoding import EncodedUpdate, UpdateCodec, UpdateReusedError, check_codec
from secagg.exceptions import InvalidInputError
from secagg.protocol.thresholds import count_of, threshold

from .models import Params

__all__ = [
    "ServerView",
    "SecureAggregator",
    "PlainAggregator",
    "DROPOUT_ROUNDS",
    "build_config",
]

#: Protocol rounds before whose reply a client may stop (R3 exists in active mode only).
DROPOUT_ROUNDS = ("R0", "R1", "R2", "R3", "R4")


@dataclass(frozen=True)
class ServerView:
    """What the aggregation server holds after one session.

    Attributes:
        sum: Σ_{u∈U3} x_u mod 2^b (config dtype), or None if the session aborted.
        survivors: U3, the clients whose masked input was folded into the sum.
        aborted: The abort reason, or None.
        dropped: Client id -> round before which it stopped (as the server saw it).
        reconstructed: ``{"self_mask": ids, "pairwise": ids}``: whose self-mask
            seed b_u (survivors) and whose masking key s_u^SK (clients dropped
            after sharing keys) the server rebuilt from shares.
        timings: Phase -> seconds.
        bytes_sent: Client id -> round -> bytes uploaded.
        masked_inputs: Client id -> the masked vector y_u the server received
            (only when a full transcript was requested; uniform-looking words).
        config: The session's Config.
    """

    sum: np.ndarray | None
    survivors: frozenset[int]
    aborted: str | None
    dropped: Mapping[int, str]
    reconstructed: Mapping[str, Any]
    timings: Mapping[str, float]
    bytes_sent: Mapping[int, Mapping[str, int]]
    masked_inputs: Mapping[int, np.ndarray] | None
    config: Any = None

    @property
    def total_time(self) -> float:
        """Wall time of the session in seconds (the runner's "total", else the phase sum)."""
        if not self.timings:
            return 0.0
        if "total" in self.timings:
            return float(self.timings["total"])
        return float(sum(self.timings.values()))

    def upload_bytes_per_client(self) -> float:
        """Mean bytes uploaded per client over all rounds of the session."""
        if not self.bytes_sent:
            return 0.0
        totals = [sum(per_round.values()) for per_round in self.bytes_sent.values()]
        return float(np.mean(totals))


def build_config(
    n: int,
    bits: int,
    length: int,
    *,
    mode: str = "semi_honest",
    planned_dropout: float | Fraction = 0.2,
    k: int | None = None,
    t: int | None = None,
    n_min: int | None = None,
    corrupt: float = 0.0,
    registry_digest: bytes = bytes(32),
) -> Any:
    """The session Config: from the planner, or from an explicit k (and t).

    With an explicit ``k``, ``t`` defaults to the threshold the planner's
    rule gives for that graph (semi_honest: max(2, c + 1) on a ring, a live
    majority on the complete graph; active: floor((h + c)/2) + 1), and
    ``n_min`` to max(t, n - D) with D = floor(planned_dropout * n); the
    Config then validates them.

    Raises:
        InvalidInputError: If the planner or the Config refuses the parameters.
    """
    from secagg.protocol.config import Config
    from secagg.protocol.planner import plan
    from secagg.protocol.vocabulary import Mode

    if k is None:
        p = plan(n, planned_dropout, corrupt, mode)
        if t is not None:
            return Config(
                n=n,
                t=t,
                k=p.k,
                b=bits,
                m=length,
                c=p.c,
                n_min=max(t, p.n_min) if n_min is None else n_min,
                mode=Mode.parse(mode),
                registry_digest=registry_digest,
            )
        return p.config(bits, length, n_min=n_min, registry_digest=registry_digest)
    c = count_of(corrupt, n)
    dropouts = count_of(planned_dropout, n)
    if t is None:
        t = threshold(n, k, c, mode, dropouts)
    return Config(
        n=n,
        t=t,
        k=k,
        b=bits,
        m=length,
        c=c,
        n_min=max(t, n - dropouts) if n_min is None else n_min,
        mode=Mode.parse(mode),
        registry_digest=registry_digest,
    )


RunRound = Callable[..., Any]


@dataclass
class SecureAggregator:
    """Runs one secure aggregation session per call over the clients' encoded updates.

    Attributes:
        config: The session Config (b and m must match the codec).
        transcript: ``"full"`` to keep the masked inputs (for the audit), else None.
        run_round: The protocol runner (default ``secagg.protocol.runner.run_round``).
        signing_keys: Active mode: the clients' Ed25519 signing keys, if the
            runner needs them supplied.
    """

    config: Any
    transcript: str | None = None
    run_round: RunRound | None = None
    signing_keys: Any = None
    rounds_run: int = field(default=0, init=False)

    def _runner(self) -> RunRound:
        if self.run_round is not None:
            return self.run_round
        from secagg.protocol.runner import run_round

        return run_round

    def aggregate(
        self,
        encoded: Mapping[int, EncodedUpdate],
        dropouts: Mapping[int, str] | None = None,
        observer: Callable[[Mapping[int, np.ndarray]], None] | None = None,
    ) -> ServerView:
        """One session over clients 1..n with the given dropout schedule.

        Every encoded update is consumed (:meth:`EncodedUpdate.take`), whether
        or not its client survives: an update goes into at most one session,
        so a retried round must re-encode.

        Args:
            encoded: Client id (1..n) -> its encoded update, for every client.
            dropouts: Client id -> round ("R0".."R4") before whose reply it stops.
            observer: Simulation instrumentation only (the demo's audit): called
                with a copy of the clients' encoded words before the session,
                to measure how they relate to what the server receives. It is
                never part of the server's view.

        Returns:
            The server's view of the session.

        Raises:
            InvalidInputError: If the ids are not exactly 1..n, an update does
                not fit the config (:func:`secagg.encoding.check_codec`: b,
                length, n <= n_max), or a dropout round is unknown.
        """
        cfg = self.config
        if set(encoded) != set(range(1, cfg.n + 1)):
            raise InvalidInputError(
                f"encoded updates are needed for exactly the clients 1..{cfg.n}, got ids "
                f"{sorted(encoded)[:10]}{'...' if len(encoded) > 10 else ''}"
            )
        dropouts = dict(dropouts or {})
        for cid, rnd in dropouts.items():
            if cid not in encoded or rnd not in DROPOUT_ROUNDS:
                raise InvalidInputError(
                    f"dropout entry {cid}: {rnd!r} needs a client id in 1..{cfg.n} and a round "
                    f"in {DROPOUT_ROUNDS}"
                )
        # Validate everything before consuming anything: a refused call leaves the
        # encoded updates unused.
        for cid, enc in encoded.items():
            check_codec(enc, cfg, name=f"client {cid}'s update")
            if enc.used:
                raise UpdateReusedError(
                    f"client {cid}'s encoded update was already submitted to a session; "
                    "a retried round must re-encode it"
                )
        inputs = {cid: enc.take() for cid, enc in encoded.items()}
        if observer is not None:
            observer({cid: w.copy() for cid, w in inputs.items()})
        kwargs: dict[str, Any] = {"dropouts": dropouts, "transcript": self.transcript}
        if self.signing_keys is not None:
            kwargs["signing_keys"] = self.signing_keys
        result = self._runner()(cfg, inputs, **kwargs)
        del inputs
        self.rounds_run += 1
        masked = getattr(result, "masked_inputs", None) if self.transcript == "full" else None
        return ServerView(
            sum=result.sum,
            survivors=frozenset(result.survivors),
            aborted=result.aborted,
            dropped=dict(result.dropped or {}),
            reconstructed=dict(result.reconstructed or {}),
            timings=dict(result.timings or {}),
            bytes_sent={k: dict(v) for k, v in (result.bytes_sent or {}).items()},
            masked_inputs=masked,
            config=cfg,
        )


class PlainAggregator:
    """Insecure baseline: the server receives every survivor's float update.

    Used only to compare accuracy with the secure path on the same seed and
    the same survivor schedule.
    """

    @staticmethod
    def weighted_mean(
        updates: Mapping[int, tuple[Params, float]], survivors: frozenset[int]
    ) -> tuple[Params, float]:
        """Weighted mean of the survivors' updates and their total weight.

        Raises:
            InvalidInputError: If no survivor has an update or the total weight is 0.
        """
        chosen = [updates[c] for c in sorted(survivors) if c in updates]
        total = float(sum(w for _, w in chosen))
        if not chosen or total <= 0:
            raise InvalidInputError(
                f"a plain mean needs survivors with positive weight; got {len(chosen)} "
                f"survivors with total weight {total}"
            )
        n_arrays = len(chosen[0][0])
        mean: Params = [
            np.sum([w * u[i] for u, w in chosen], axis=0) / total for i in range(n_arrays)
        ]
        return mean, total


def check_codec_matches(codec: UpdateCodec, config: Any) -> None:
    """Raise InvalidInputError unless the codec fits the config (b, length, n <= n_max).

    Kept for existing callers; it is :func:`secagg.encoding.check_codec`.
    """
    check_codec(codec, config)

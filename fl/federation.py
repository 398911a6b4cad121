"""The federated loop: sample, broadcast, train locally, aggregate, update.

Roles are kept apart in code:

* :class:`FLClient` (client side) trains on its own data and encodes its
  update; it is the only holder of that update.
* An aggregator (:class:`fl.boundary.Aggregator`: secure aggregation by
  masking, or the plain baseline) takes the round's encoded updates and
  returns what its server held, a :class:`fl.boundary.RoundOutcome`.
* :class:`fl.server.Server` (server side) decodes the sum and steps the model.
* On request, :class:`fl.audit.Audit` checks what the server held.

What every round shares (codec, session config, DP, active-mode keys) is
planned once (:mod:`fl.plan`).

Randomness: the data partition, client sampling, the dropout schedule and
local SGD shuffling come from numpy generators seeded by ``seed`` (public
simulation choices, reproducible so secure and plain runs can be compared).
Every secret comes from the OS CSPRNG (inside the protocol). Stochastic
rounding bits and DP noise come from a numpy Generator (PCG64) seeded with 32
fresh bytes of the OS CSPRNG for each encoded update, the exact discrete
Gaussian's largest uniform integers from ``secrets.randbelow`` (secagg.encoding,
secagg.dp; docs/dp.md says why per-use seeding is acceptable for noise).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from secagg.encoding import CLIP_WARN_FRACTION, EncodedUpdate, UpdateCodec
from secagg.exceptions import ClippingWarning
from secagg.protocol.config import Config
from secagg.protocol.vocabulary import ROUNDS

from .aggregators import masking_round, plain_round
from .audit import Audit
from .boundary import UPLOAD_ROUND, AggregatorFactory, RoundOutcome
from .config import FLConfig
from .data import ClientData, Dataset, load_digits, make_clients, make_synthetic, train_test_split
from .models import Model, Params, make_model
from .plan import SessionPlan, build_plan
from .privacy import DPSetup, PrivacyLedger
from .server import Server
from .training import (
    LocalConfig,
    Strategy,
    evaluate,
    local_train,
    make_strategy,
    personalised_accuracy,
)

__all__ = [
    "FLConfig",
    "FLClient",
    "RoundRecord",
    "RunResult",
    "dropout_schedule",
    "replay_schedule",
    "run_federated",
]

#: Rounds a semi_honest client may stop before (the mode has no R3).
SEMI_HONEST_ROUNDS = tuple(r for r in ROUNDS if r != "R3")


def dropout_schedule(
    session_ids: list[int], rate: float, at: str, mode: str, rng: np.random.Generator
) -> dict[int, str]:
    """Which session client stops before which protocol round, drawn from ``rng``."""
    choices = ROUNDS if mode == "active" else SEMI_HONEST_ROUNDS
    out: dict[int, str] = {}
    for sid in session_ids:
        if rng.random() < rate:
            out[sid] = choices[int(rng.integers(len(choices)))] if at == "random" else at
    return out


def replay_schedule(session_ids: list[int], survivors: frozenset[int] | None) -> dict[int, str]:
    """The dropout schedule that reproduces a survivor set.

    Every client outside ``survivors`` stops before the upload round (R2);
    ``None`` (a round that released nothing) stops every client before R0.
    """
    if survivors is None:
        return {sid: ROUNDS[0] for sid in session_ids}
    return {sid: UPLOAD_ROUND for sid in session_ids if sid not in survivors}


class FLClient:
    """One client: its data, local training and the encoding of its update.

    The update is produced and encoded here and handed to the aggregator as
    an :class:`EncodedUpdate`; no other object ever sees it in the clear.
    """

    def __init__(self, data: ClientData, model: Model, local: LocalConfig) -> None:
        self.data, self.model, self.local = data, model, local

    @property
    def weight(self) -> float:
        """FedAvg weight n_k: the number of local training samples."""
        return float(len(self.data.train))

    def compute(
        self, global_params: Params, strategy: Strategy, rng: np.random.Generator
    ) -> tuple[Params, int, float]:
        """Train locally; return (strategy vector, local steps, training loss)."""
        new, steps, loss = local_train(
            self.model, global_params, self.data.train, self.local, rng, prox_mu=strategy.mu
        )
        delta = [a - b for a, b in zip(new, global_params, strict=True)]
        return strategy.client_vector(delta, steps), steps, loss

    def encode(
        self,
        vector: Params,
        weight: float,
        codec: UpdateCodec,
        noise: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    ) -> EncodedUpdate:
        """Encode for one session (fresh CSPRNG rounding and noise every call)."""
        return codec.encode(vector, weight, noise=noise)


@dataclass
class RoundRecord:
    """One round's outcome, as printed in the demo table."""

    round: int
    accuracy: float
    loss: float
    survivors: int
    dropped: int
    agg_time: float
    upload_bytes: float
    clipped_fraction: float = 0.0
    aborted: str | None = None
    epsilon: float | None = None
    survivor_ids: frozenset[int] = frozenset()


@dataclass
class RunResult:
    """A whole federated run.

    Under DP, ``epsilon`` is at ``config.dp_delta`` and the run is
    (epsilon, ``dp.delta_total``)-DP.

    Attributes:
        config: The run's configuration.
        secure: Whether no round's server held an update in the clear (as
            the aggregators declared).
        records: One per round.
        final_accuracy: Test accuracy of the final model.
        final_loss: Test loss of the final model.
        personalised_accuracy: After a few local fine-tuning steps per client.
        params: The final model.
        plan: The session plan every round used.
        audit: What the server held, checked (when requested).
        epsilon: ε spent (DP runs with at least one released round).
        wall_time: Seconds for the whole run.
    """

    config: FLConfig
    secure: bool
    records: list[RoundRecord]
    final_accuracy: float
    final_loss: float
    personalised_accuracy: float
    params: Params
    plan: SessionPlan
    audit: Audit | None = None
    epsilon: float | None = None
    wall_time: float = 0.0

    @property
    def session_config(self) -> Config:
        """The Config of one session."""
        return self.plan.config

    @property
    def dp(self) -> DPSetup | None:
        """The DP set-up, None without DP."""
        return self.plan.dp

    @property
    def dp_description(self) -> str | None:
        """One line on the DP mechanism, None without DP."""
        return None if self.plan.dp is None else self.plan.dp.description

    @property
    def survivor_schedule(self) -> list[frozenset[int] | None]:
        """Per round: the survivor set, or None for an aborted round."""
        return [None if r.aborted else r.survivor_ids for r in self.records]


def _setup(cfg: FLConfig) -> tuple[Model, Params, Dataset, list[ClientData]]:
    rng = np.random.default_rng([cfg.seed, 0])
    data = load_digits() if cfg.dataset == "digits" else make_synthetic(seed=cfg.seed)
    train, test = train_test_split(data, 0.25, rng)
    clients = make_clients(train, cfg.n_clients, cfg.alpha, rng)
    model = make_model(cfg.model, data.x.shape[1], data.n_classes, cfg.hidden)
    params = model.init(np.random.default_rng([cfg.seed, 1]))
    return model, params, test, clients


def _encoded_updates(
    clients: Mapping[int, FLClient],
    session: Mapping[int, int],
    global_params: Params,
    strategy: Strategy,
    plan: SessionPlan,
    seed: list[int],
) -> dict[int, EncodedUpdate]:
    """Every session client trains and encodes; only the encoded updates leave here."""
    vectors: dict[int, tuple[Params, float]] = {}
    for sid, cid in session.items():
        vec, _steps, _loss = clients[cid].compute(
            global_params, strategy, np.random.default_rng([*seed, cid])
        )
        vectors[sid] = (vec, 1.0 if plan.unit_weights else clients[cid].weight)
    noise = plan.noise()
    # The table shows clipping per round; one summary warning per run replaces
    # a ClippingWarning per client per round.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClippingWarning)
        return {
            sid: clients[session[sid]].encode(v, w, plan.codec, noise)
            for sid, (v, w) in vectors.items()
        }


def run_federated(
    cfg: FLConfig,
    *,
    secure: bool = True,
    survivor_schedule: list[frozenset[int] | None] | None = None,
    audit: bool = False,
    progress: Callable[[int, RoundRecord], None] | None = None,
    aggregator: AggregatorFactory | None = None,
) -> RunResult:
    """Run federated training, every round aggregated by one aggregator.

    Args:
        cfg: The run's configuration.
        secure: True: secure aggregation by masking, one protocol session
            per round. False: the plain (insecure) baseline, whose server
            sees every update.
        survivor_schedule: Per round, the survivor set to replay (e.g. a
            secure run's), None meaning the round released nothing; it
            replaces the simulated dropouts (:func:`replay_schedule`).
        audit: Keep what the server held and check it (:class:`fl.audit.Audit`).
        progress: Called after each round with (round index, record).
        aggregator: The aggregator of each round (default: by ``secure``).

    Returns:
        The run's records, final accuracy and, if requested, the audit.

    Raises:
        InvalidInputError: If the plan cannot be made (planner, codec, DP).
    """
    start = time.perf_counter()
    model, params, test, clients = _setup(cfg)
    fl_clients = {c.cid: FLClient(c, model, cfg.local) for c in clients}
    max_n = max(len(c.train) for c in clients)
    strategy = make_strategy(cfg.strategy, cfg.prox_mu, cfg.local.steps(max_n))
    plan = build_plan(cfg, strategy.template(params), max_n)
    make = aggregator or partial(masking_round if secure else plain_round, record=audit)
    server = Server(params, strategy, plan.codec)
    the_audit = Audit() if audit else None
    ledger = None if plan.dp is None else PrivacyLedger(plan.dp)

    sample_rng = np.random.default_rng([cfg.seed, 2])
    drop_rng = np.random.default_rng([cfg.seed, 3])
    records: list[RoundRecord] = []
    heavy_clips: list[float] = []  # clipped fractions above the codec's warning threshold
    ids = sorted(fl_clients)
    n = cfg.session_size
    in_clear = False
    for r in range(cfg.rounds):
        sampled = sorted(int(c) for c in sample_rng.choice(ids, size=n, replace=False))
        session = {sid: cid for sid, cid in enumerate(sampled, start=1)}
        schedule = dropout_schedule(list(session), cfg.dropout, cfg.dropout_at, cfg.mode, drop_rng)
        if survivor_schedule is not None:
            replayed = survivor_schedule[r] if r < len(survivor_schedule) else None
            schedule = replay_schedule(list(session), replayed)
        encoded = _encoded_updates(
            fl_clients, session, server.broadcast(), strategy, plan, [cfg.seed, 4, r]
        )
        fractions = [e.clipped_fraction for e in encoded.values()]
        heavy_clips += [f for f in fractions if f > CLIP_WARN_FRACTION]
        agg = make(plan, session)
        outcome = (agg if the_audit is None else the_audit.tap(agg)).aggregate(encoded, schedule)
        del encoded  # consumed: from here on only what the server held exists
        in_clear |= outcome.held.updates_in_clear
        server.apply(outcome)
        eps = None
        if outcome.aborted is None and ledger is not None:
            eps = ledger.charge(len(outcome.survivors))
        rec = _record(
            r, outcome, n, float(np.mean(fractions)), eps, *evaluate(model, server.params, test)
        )
        records.append(rec)
        if progress is not None:
            progress(r, rec)

    if heavy_clips:
        _warn_clipping(plan.codec, heavy_clips, cfg.rounds)
    final_params = server.params
    acc, loss = evaluate(model, final_params, test)
    pers = personalised_accuracy(
        model,
        final_params,
        clients,
        cfg.local,
        np.random.default_rng([cfg.seed, 5]),
        cfg.personalise_steps,
    )
    return RunResult(
        cfg,
        not in_clear,
        records,
        acc,
        loss,
        pers,
        final_params,
        plan,
        the_audit,
        None if ledger is None else ledger.epsilon(),
        time.perf_counter() - start,
    )


def _record(
    r: int,
    outcome: RoundOutcome,
    session_size: int,
    clipped: float,
    eps: float | None,
    accuracy: float,
    loss: float,
) -> RoundRecord:
    survivors = outcome.survivors if outcome.aborted is None else frozenset()
    return RoundRecord(
        r + 1,
        accuracy,
        loss,
        len(survivors),
        session_size - len(survivors),
        outcome.total_time,
        outcome.upload_bytes_per_client(),
        clipped,
        outcome.aborted,
        eps,
        frozenset(survivors),
    )


def _warn_clipping(codec: UpdateCodec, heavy: list[float], rounds: int) -> None:
    warnings.warn(
        f"clipping to [-{codec.clip:g}, {codec.clip:g}] changed more than "
        f"{100 * CLIP_WARN_FRACTION:g} % of the coordinates in {len(heavy)} encoded "
        f"updates over {rounds} rounds (at most {100 * max(heavy):.2f} %); the "
        "clipped column shows the mean per round",
        ClippingWarning,
        stacklevel=3,
    )

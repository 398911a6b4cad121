"""The federated loop: sample, broadcast, train locally, aggregate securely, update.

Roles are kept apart in code:

* :class:`FLClient` (client side) trains on its own data and encodes its
  update; it is the only holder of that update.
* :class:`fl.secure.SecureAggregator` runs the protocol between the clients
  and the aggregation server; it returns what the protocol's server holds.
* :class:`fl.server.Server` (server side) decodes the sum and steps the model.

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

import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np

from secagg.dp import DistributedDP, LocalDP, PrivacyAccountant
from secagg.encoding import CLIP_WARN_FRACTION, EncodedUpdate, Layout, UpdateCodec
from secagg.exceptions import ClippingWarning, InvalidInputError
from secagg.protocol.thresholds import count_of

from .data import ClientData, Dataset, load_digits, make_clients, make_synthetic, train_test_split
from .models import Model, Params, make_model
from .privacy import DPSetup, dp_setup
from .secure import DROPOUT_ROUNDS, PlainAggregator, SecureAggregator, ServerView, build_config
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
    "Audit",
    "dropout_schedule",
    "run_federated",
]


@dataclass(frozen=True)
class FLConfig:
    """Everything a federated run depends on (validated on construction).

    Attributes:
        n_clients: Clients in the federation.
        rounds: Federated rounds.
        sample_fraction: Fraction of clients sampled per round (session size).
        dropout: Probability that a sampled client drops in a round.
        dropout_at: "random" (a uniform protocol round R0..R4; R3 only in
            active mode) or one round name such as "R2" (just after R1).
        alpha: Dirichlet label-skew concentration.
        dataset: "digits" or "synthetic".
        model: "softmax" or "mlp".
        hidden: MLP hidden width.
        strategy: "fedavg", "fedprox" or "fednova".
        prox_mu: FedProx μ.
        local: Local training hyper-parameters.
        clip: Per-coordinate clip of a client update (real units).
        scale: Quantisation steps per real unit.
        mode: Protocol mode ("semi_honest" or "active").
        k, t: Explicit graph degree / threshold (None: from the planner).
        planned_dropout: Dropout fraction the planner sizes thresholds for.
        corrupt: Corrupt fraction the planner assumes.
        dp: "none", "local" or "distributed".
        dp_kind: Distributed noise: "skellam" or "gaussian".
        dp_epsilon: Target ε over all rounds (distributed) or per round (local).
        dp_noise_multiplier: Distributed noise multiplier z (if no ε target).
        dp_clip: L2 clip of a client update under DP (real units).
        dp_delta: δ at which ε is reported (the run's guarantee is at
            ``RunResult.dp.delta_total``, which adds any graph failure).
        dp_colluders: Clients assumed to reveal their noise (None: the
            session's corrupt count C = floor(corrupt · session size); never fewer).
        personalise_steps: Local fine-tuning steps for personalised accuracy.
        seed: Seed of the public simulation randomness.
    """

    n_clients: int = 20
    rounds: int = 30
    sample_fraction: float = 1.0
    dropout: float = 0.1
    dropout_at: str = "random"
    alpha: float = 0.5
    dataset: str = "digits"
    model: str = "softmax"
    hidden: int = 32
    strategy: str = "fedavg"
    prox_mu: float = 0.01
    local: LocalConfig = field(default_factory=LocalConfig)
    clip: float = 1.0
    scale: float = 2.0**16
    mode: str = "semi_honest"
    k: int | None = None
    t: int | None = None
    planned_dropout: float | None = None
    corrupt: float = 0.0
    dp: str = "none"
    dp_kind: str = "skellam"
    dp_epsilon: float | None = None
    dp_noise_multiplier: float | None = None
    dp_clip: float = 0.5
    dp_delta: float = 1e-5
    dp_colluders: int | None = None
    personalise_steps: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_clients < 3:
            raise InvalidInputError(f"a federation needs at least 3 clients, got {self.n_clients}")
        if self.rounds < 1:
            raise InvalidInputError(f"rounds must be >= 1, got {self.rounds}")
        if not 0 < self.sample_fraction <= 1:
            raise InvalidInputError(
                f"sample_fraction must lie in (0, 1], got {self.sample_fraction}"
            )
        if self.session_size < 3:
            raise InvalidInputError(
                f"sampling {self.sample_fraction} of {self.n_clients} clients gives "
                f"{self.session_size} per session; at least 3 are needed"
            )
        if not 0 <= self.dropout < 1:
            raise InvalidInputError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.dropout_at != "random" and self.dropout_at not in DROPOUT_ROUNDS:
            raise InvalidInputError(
                f"dropout_at must be 'random' or one of {DROPOUT_ROUNDS}, got {self.dropout_at!r}"
            )
        if self.dataset not in ("digits", "synthetic"):
            raise InvalidInputError(
                f"dataset must be 'digits' or 'synthetic', got {self.dataset!r}"
            )
        if self.mode not in ("semi_honest", "active"):
            raise InvalidInputError(f"mode must be 'semi_honest' or 'active', got {self.mode!r}")
        if self.dp not in ("none", "local", "distributed"):
            raise InvalidInputError(f"dp must be 'none', 'local' or 'distributed', got {self.dp!r}")
        if self.dp != "none":
            if self.strategy == "fednova":
                raise InvalidInputError(
                    "DP is supported with fedavg and fedprox only: FedNova's step count would "
                    "share the L2 clipping budget and bias the update"
                )
            if self.dp == "local" and self.dp_epsilon is None:
                raise InvalidInputError("local DP needs dp_epsilon (ε per round)")
            if self.dp == "distributed" and (self.dp_epsilon is None) == (
                self.dp_noise_multiplier is None
            ):
                raise InvalidInputError(
                    "distributed DP needs exactly one of dp_epsilon (target over all rounds) "
                    "and dp_noise_multiplier"
                )
            corrupt = count_of(self.corrupt, self.session_size)
            if self.dp_colluders is not None and self.dp_colluders < corrupt:
                raise InvalidInputError(
                    f"dp_colluders must be at least the session's corrupt clients C = "
                    f"floor({self.corrupt} x {self.session_size}) = {corrupt} (PROTOCOL.md "
                    f"§11), got {self.dp_colluders}"
                )
        make_strategy(self.strategy, self.prox_mu)  # validates the name and mu

    @property
    def session_size(self) -> int:
        """Clients per aggregation session."""
        return max(1, int(round(self.sample_fraction * self.n_clients)))

    @property
    def planner_dropout(self) -> float | Fraction:
        """Dropout fraction handed to the planner.

        Default: D / n for the least D that the simulated dropouts exceed
        with probability at most ``PLANNED_DROPOUT_TAIL`` (a binomial tail
        over the session's clients). A round missing more than D clients
        releases nothing (n_min = n - D), so this keeps aborted rounds rare.
        """
        if self.planned_dropout is not None:
            return self.planned_dropout
        n = self.session_size
        dropouts = binomial_quantile(n, self.dropout, PLANNED_DROPOUT_TAIL)
        # A tiny cohort may need more than any graph keeps live (t = 2 needs
        # two live holders, so D <= n - 3) or than the planner accepts with
        # the corrupt rate: plan for that much and let the rarer overflow abort.
        ceiling = min(n - 3, math.floor((Fraction(9, 10) - Fraction(repr(self.corrupt))) * n))
        return Fraction(max(0, min(dropouts, ceiling)), n)


#: The demo's planner covers its simulated dropouts except with this probability.
PLANNED_DROPOUT_TAIL = 0.01


def binomial_quantile(n: int, p: float, tail: float) -> int:
    """Least D with Pr[Binomial(n, p) > D] <= tail."""
    cdf = 0.0
    for d in range(n + 1):
        cdf += math.comb(n, d) * p**d * (1 - p) ** (n - d)
        if 1.0 - cdf <= tail:
            return d
    return n


def dropout_schedule(
    session_ids: list[int], rate: float, at: str, mode: str, rng: np.random.Generator
) -> dict[int, str]:
    """Which session client stops before which protocol round, drawn from ``rng``."""
    choices = DROPOUT_ROUNDS if mode == "active" else ("R0", "R1", "R2", "R4")
    out: dict[int, str] = {}
    for sid in session_ids:
        if rng.random() < rate:
            out[sid] = choices[int(rng.integers(len(choices)))] if at == "random" else at
    return out


def survivors_of(session_ids: list[int], schedule: Mapping[int, str]) -> frozenset[int]:
    """Clients still alive after R2 under a schedule (the expected U3)."""
    gone = {"R0", "R1", "R2"}
    return frozenset(s for s in session_ids if schedule.get(s) not in gone)


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
class Audit:
    """What the server held, summarised (secure runs with a full transcript).

    ``top_counts`` counts the top 4 bits of every masked word the server
    received; ``plain_top_counts`` the same for the unmasked encoded words
    (what it would have seen without masking), for contrast.
    """

    top_counts: np.ndarray = field(default_factory=lambda: np.zeros(16, dtype=np.int64))
    plain_top_counts: np.ndarray = field(default_factory=lambda: np.zeros(16, dtype=np.int64))
    max_abs_corr: float = 0.0
    vectors: int = 0
    self_mask: dict[int, int] = field(default_factory=dict)  # round -> count
    pairwise: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    # Rounds in which some client had both b_u and s_u^SK rebuilt (must stay empty),
    # and self-mask seeds rebuilt for a client outside U3 (must stay empty too).
    both_secrets: list[tuple[int, int]] = field(default_factory=list)
    self_mask_outside_u3: list[tuple[int, int]] = field(default_factory=list)

    def chi_square(self, counts: np.ndarray | None = None) -> tuple[float, float]:
        """Chi-square statistic (15 dof) and p-value of uniformity of the top bits."""
        from scipy.stats import chi2

        c = self.top_counts if counts is None else counts
        total = c.sum()
        if total == 0:
            return float("nan"), float("nan")
        exp = total / c.size
        stat = float(((c - exp) ** 2 / exp).sum())
        return stat, float(chi2.sf(stat, c.size - 1))

    def add(self, view: ServerView, inputs: Mapping[int, np.ndarray], bits: int) -> None:
        """Fold one session's masked inputs and reconstruction facts in."""
        shift = np.uint64(max(bits - 4, 0))
        for sid, y in (view.masked_inputs or {}).items():
            y64 = np.asarray(y).astype(np.uint64)
            self.top_counts += np.bincount((y64 >> shift).astype(np.int64), minlength=16)[:16]
            if sid in inputs:
                x64 = np.asarray(inputs[sid]).astype(np.uint64)
                self.plain_top_counts += np.bincount((x64 >> shift).astype(np.int64), minlength=16)[
                    :16
                ]
                xf, yf = x64.astype(np.float64), y64.astype(np.float64)
                if xf.std() > 0 and yf.std() > 0:
                    corr = abs(float(np.corrcoef(xf, yf)[0, 1]))
                    self.max_abs_corr = max(self.max_abs_corr, corr)
            self.vectors += 1


@dataclass
class RunResult:
    """A whole federated run.

    Under DP, ``epsilon`` is at ``config.dp_delta`` and the run is
    (epsilon, ``dp.delta_total``)-DP.
    """

    config: FLConfig
    secure: bool
    records: list[RoundRecord]
    final_accuracy: float
    final_loss: float
    personalised_accuracy: float
    params: Params
    audit: Audit | None = None
    epsilon: float | None = None
    dp_description: str | None = None
    session_config: Any = None
    wall_time: float = 0.0
    dp: DPSetup | None = None

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


def run_federated(
    cfg: FLConfig,
    *,
    secure: bool = True,
    survivor_schedule: list[frozenset[int] | None] | None = None,
    audit: bool = False,
    progress: Callable[[int, RoundRecord], None] | None = None,
    run_round: Callable[..., Any] | None = None,
) -> RunResult:
    """Run federated training, securely aggregated or plain.

    Args:
        cfg: The run's configuration.
        secure: True: every round is one secure aggregation session. False:
            the plain (insecure) baseline where the server averages the
            survivors' float updates directly.
        survivor_schedule: Plain runs only: per round, the survivor set to
            use (e.g. the secure run's), None meaning the round is skipped.
            Default: survivors implied by the dropout schedule.
        audit: Secure runs: keep full transcripts and summarise what the
            server held (uniformity of masked words, correlation with the
            true encoded updates, reconstructed secrets).
        progress: Called after each round with (round index, record).
        run_round: Alternative protocol runner (tests).

    Returns:
        The run's records, final accuracy and, if requested, the audit.
    """
    start = time.perf_counter()
    model, params, test, clients = _setup(cfg)
    fl_clients = {c.cid: FLClient(c, model, cfg.local) for c in clients}
    max_n = max(len(c.train) for c in clients)
    strategy = make_strategy(cfg.strategy, cfg.prox_mu, cfg.local.steps(max_n))
    m_session = cfg.session_size

    layout = Layout.of(strategy.template(params))
    # Active mode: each client holds a long-term Ed25519 signing key; a session's
    # registry maps its session ids to the sampled clients' verification keys.
    registry: dict[int, tuple[bytes, bytes]] = {}
    first_digest = bytes(32)
    if secure and cfg.mode == "active":
        from secagg import crypto
        from secagg.protocol.registry import registry_digest

        registry = {cid: crypto.ed25519_keypair() for cid in ids_all(fl_clients)}
        first = {
            sid: registry[cid][1] for sid, cid in enumerate(ids_all(fl_clients)[:m_session], 1)
        }
        first_digest = registry_digest(first, m_session)
    dp_obj: DistributedDP | LocalDP | None = None
    accountant = PrivacyAccountant()
    codec: UpdateCodec | None = None
    session_cfg = None
    aggregator: SecureAggregator | None = None
    colluders = 0
    dp_desc = None
    dps: DPSetup | None = None
    if secure:
        if cfg.dp == "none":
            codec = UpdateCodec(layout, cfg.clip, cfg.scale, m_session, max_weight=max_n)
            session_cfg = build_config(
                m_session,
                codec.bits,
                codec.length,
                mode=cfg.mode,
                planned_dropout=cfg.planner_dropout,
                k=cfg.k,
                t=cfg.t,
                corrupt=cfg.corrupt,
                registry_digest=first_digest,
            )
        else:
            # Probe the thresholds first (b and m do not affect them), then size the DP.
            probe = build_config(
                m_session,
                64,
                layout.size + 1,
                mode=cfg.mode,
                planned_dropout=cfg.planner_dropout,
                k=cfg.k,
                t=cfg.t,
                corrupt=cfg.corrupt,
                registry_digest=first_digest,
            )
            dp_scale = 2.0**12 / cfg.dp_clip
            base = UpdateCodec(layout, cfg.dp_clip, dp_scale, m_session, l2_clip=cfg.dp_clip)
            dps = dp_setup(cfg, probe, float(base.rounded_l2_bound or 0.0), layout.size)
            dp_obj, colluders, dp_desc = dps.mechanism, dps.colluders, dps.description
            codec = replace(base, noise_bound=dp_obj.noise_bound(m_session))
            session_cfg = build_config(
                m_session,
                codec.bits,
                codec.length,
                mode=cfg.mode,
                planned_dropout=cfg.planner_dropout,
                k=cfg.k,
                t=cfg.t,
                n_min=dps.n_min,
                corrupt=cfg.corrupt,
                registry_digest=first_digest,
            )
        aggregator = SecureAggregator(
            session_cfg, transcript="full" if audit else None, run_round=run_round
        )
    server = Server(params, strategy, codec)
    the_audit = Audit() if (secure and audit) else None

    sample_rng = np.random.default_rng([cfg.seed, 2])
    drop_rng = np.random.default_rng([cfg.seed, 3])
    records: list[RoundRecord] = []
    heavy_clips: list[float] = []  # clipped fractions above the codec's warning threshold
    ids = sorted(fl_clients)
    for r in range(cfg.rounds):
        sampled = sorted(int(c) for c in sample_rng.choice(ids, size=m_session, replace=False))
        session = {sid: cid for sid, cid in enumerate(sampled, start=1)}
        schedule = dropout_schedule(list(session), cfg.dropout, cfg.dropout_at, cfg.mode, drop_rng)
        global_params = server.broadcast()
        vectors: dict[int, tuple[Params, float]] = {}
        for sid, cid in session.items():
            train_rng = np.random.default_rng([cfg.seed, 4, r, cid])
            vec, _steps, _loss = fl_clients[cid].compute(global_params, strategy, train_rng)
            weight = 1.0 if cfg.dp != "none" else fl_clients[cid].weight
            vectors[sid] = (vec, weight)

        if secure:
            assert codec is not None and aggregator is not None
            if registry:
                from secagg.protocol.registry import registry_digest

                assert session_cfg is not None
                aggregator.signing_keys = {sid: registry[cid][0] for sid, cid in session.items()}
                aggregator.config = replace(
                    session_cfg,
                    registry_digest=registry_digest(
                        {sid: registry[cid][1] for sid, cid in session.items()}, m_session
                    ),
                )
            noise = dp_obj.noise_fn() if dp_obj is not None else None
            # The table shows clipping per round; one summary warning per run
            # (below) replaces a ClippingWarning per client per round.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ClippingWarning)
                encoded = {
                    sid: fl_clients[session[sid]].encode(v, w, codec, noise)
                    for sid, (v, w) in vectors.items()
                }
            fractions = [e.clipped_fraction for e in encoded.values()]
            heavy_clips += [f for f in fractions if f > CLIP_WARN_FRACTION]
            clipped = float(np.mean(fractions))
            del vectors  # from here on only the encoded updates exist, inside the aggregator
            audit_inputs: dict[int, np.ndarray] = {}
            view = aggregator.aggregate(
                encoded, schedule, observer=audit_inputs.update if the_audit is not None else None
            )
            server.apply_secure(view)
            survivors = view.survivors if view.aborted is None else frozenset()
            eps = None
            if view.aborted is None and dp_obj is not None:
                if isinstance(dp_obj, DistributedDP):
                    accountant.charge(dp_obj.round_rdp(len(view.survivors) - colluders))
                else:
                    accountant.charge(dp_obj.round_rdp())
                eps = _epsilon(dp_obj, accountant, cfg.dp_delta)
            if the_audit is not None:
                the_audit.add(view, audit_inputs, codec.bits)
                rec = view.reconstructed
                selfs = {int(u) for u in rec.get("self_mask", ())}
                pairs = {int(u) for u in rec.get("pairwise", ())}
                the_audit.self_mask[r] = len(selfs)
                the_audit.both_secrets += [(r, u) for u in sorted(selfs & pairs)]
                the_audit.self_mask_outside_u3 += [
                    (r, u) for u in sorted(selfs - set(view.survivors))
                ]
                the_audit.pairwise[r] = [
                    (int(u), str(view.dropped.get(u, "?"))) for u in rec.get("pairwise", ())
                ]
            agg_time, upload = view.total_time, view.upload_bytes_per_client()
            aborted = view.aborted
            n_dropped = m_session - len(survivors)
        else:
            if survivor_schedule is not None:
                planned = survivor_schedule[r] if r < len(survivor_schedule) else None
            else:
                planned = survivors_of(list(session), schedule)
            t0 = time.perf_counter()
            if planned:
                mean, total = PlainAggregator.weighted_mean(vectors, planned)
                server.apply_mean(mean, total)
            agg_time = time.perf_counter() - t0
            survivors = planned or frozenset()
            upload = float(np.mean([8 * layout.size + 8 for _ in vectors]))
            aborted = None if planned else "skipped (no survivors in the schedule)"
            n_dropped = m_session - len(survivors)
            clipped, eps = 0.0, None
        acc, loss = evaluate(model, server.params, test)
        rec_ = RoundRecord(
            r + 1,
            acc,
            loss,
            len(survivors),
            n_dropped,
            agg_time,
            upload,
            clipped,
            aborted,
            eps,
            frozenset(survivors),
        )
        records.append(rec_)
        if progress is not None:
            progress(r, rec_)

    if heavy_clips:
        warnings.warn(
            f"clipping to [-{cfg.clip:g}, {cfg.clip:g}] changed more than "
            f"{100 * CLIP_WARN_FRACTION:g} % of the coordinates in {len(heavy_clips)} encoded "
            f"updates over {cfg.rounds} rounds (at most {100 * max(heavy_clips):.2f} %); the "
            "clipped column shows the mean per round",
            ClippingWarning,
            stacklevel=2,
        )
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
        secure,
        records,
        acc,
        loss,
        pers,
        final_params,
        the_audit,
        _epsilon(dp_obj, accountant, cfg.dp_delta) if accountant.rounds else None,
        dp_desc,
        session_cfg,
        time.perf_counter() - start,
        dps,
    )


def _epsilon(mech: DistributedDP | LocalDP | None, acc: PrivacyAccountant, delta: float) -> float:
    """ε so far; for local DP also capped by basic composition (rounds · ε per round)."""
    eps = acc.epsilon(delta)
    if isinstance(mech, LocalDP):
        eps = min(eps, acc.rounds * mech.epsilon_per_round)
    return eps


def ids_all(clients: Mapping[int, FLClient]) -> list[int]:
    """Client ids in increasing order."""
    return sorted(clients)

"""The configuration of a federated run, validated once on construction.

:class:`FLConfig` gathers every choice a run depends on: the federation
(clients, rounds, sampling, simulated dropouts), the data and model, local
training and the strategy, the codec's clip and scale, the protocol's mode
and thresholds, and differential privacy. :attr:`FLConfig.planner_dropout`
turns the simulated dropout rate into the dropout fraction the planner sizes
the thresholds for, never more than the planner can serve
(:func:`dropout_ceiling`); a corrupt rate the planner has no graph for even
without dropouts is refused on construction (:func:`check_plannable`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from secagg.exceptions import InvalidInputError
from secagg.protocol.thresholds import MAX_RATE_SUM, count_of, threshold
from secagg.protocol.vocabulary import ROUNDS

from .training import LocalConfig, make_strategy

__all__ = [
    "FLConfig",
    "PLANNED_DROPOUT_TAIL",
    "binomial_quantile",
    "check_plannable",
    "dropout_ceiling",
    "live_dropouts",
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
        if self.dropout_at != "random" and self.dropout_at not in ROUNDS:
            raise InvalidInputError(
                f"dropout_at must be 'random' or one of {ROUNDS}, got {self.dropout_at!r}"
            )
        if self.dataset not in ("digits", "synthetic"):
            raise InvalidInputError(
                f"dataset must be 'digits' or 'synthetic', got {self.dataset!r}"
            )
        if self.mode not in ("semi_honest", "active"):
            raise InvalidInputError(f"mode must be 'semi_honest' or 'active', got {self.mode!r}")
        if not 0 <= self.corrupt < 1:
            raise InvalidInputError(f"corrupt must lie in [0, 1), got {self.corrupt}")
        if self.k is None:
            check_plannable(self.session_size, self.dropout, self.corrupt, self.mode)
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
        over the session's clients), capped at :func:`dropout_ceiling`. A
        round missing more than D clients releases nothing (n_min = n - D),
        so this keeps aborted rounds rare where the cohort allows.
        """
        if self.planned_dropout is not None:
            return self.planned_dropout
        n = self.session_size
        dropouts = binomial_quantile(n, self.dropout, PLANNED_DROPOUT_TAIL)
        # A small cohort may need more than any graph keeps live or than the
        # planner accepts beside the corrupt rate: plan for that much and let
        # the rarer overflow abort.
        ceiling = dropout_ceiling(n, self.corrupt, self.mode)
        return Fraction(max(0, min(dropouts, ceiling)), n)


#: The demo's planner covers its simulated dropouts except with this probability.
PLANNED_DROPOUT_TAIL = 0.01


def live_dropouts(n: int, corrupt: int, mode: str) -> int:
    """Most dropouts D for which the complete graph of n clients stays live, -1 if none.

    Live means the threshold the planner picks for the complete graph
    (:func:`secagg.protocol.thresholds.threshold`) needs no more than the
    n - 1 - D holders left to each client. The planner falls back to the
    complete graph when no sparse one qualifies, so it finds a graph for
    every D up to this one (within the rate sum it accepts).

    Returns:
        The largest such D in 0..n - 2, or -1 when even D = 0 is not live.

    Args:
        n: Clients in the session.
        corrupt: C, the session's colluding clients.
        mode: "semi_honest" or "active".
    """
    for dropouts in range(n - 2, -1, -1):
        if threshold(n, n - 1, corrupt, mode, dropouts) <= n - 1 - dropouts:
            return dropouts
    return -1


def dropout_ceiling(n: int, corrupt: float, mode: str) -> int:
    """Most dropouts D the planner accepts for n clients at a corrupt rate, -1 for none.

    The least of :func:`live_dropouts` and the room the planner's cap on
    dropout + corrupt rates leaves.
    """
    rate_room = math.floor((MAX_RATE_SUM - Fraction(repr(corrupt))) * n)
    return max(-1, min(rate_room, live_dropouts(n, count_of(corrupt, n), mode)))


def check_plannable(n: int, dropout: float, corrupt: float, mode: str) -> None:
    """Refuse, in one sentence, a session the planner has no graph for even without dropouts.

    Args:
        n: Clients per session.
        dropout: The simulated dropout rate (named in the message).
        corrupt: The corrupt rate.
        mode: "semi_honest" or "active".

    Raises:
        InvalidInputError: Naming n, the rates and what to change.
    """
    if dropout_ceiling(n, corrupt, mode) >= 0:
        return
    colluders = count_of(corrupt, n)
    if Fraction(repr(corrupt)) > MAX_RATE_SUM:
        raise InvalidInputError(
            f"the planner accepts dropout + corrupt rates up to {float(MAX_RATE_SUM)}, "
            f"so corrupt rate {corrupt} leaves no room for the n = {n} clients' dropouts "
            f"(dropout rate {dropout}); lower the corrupt rate to at most "
            f"{float(MAX_RATE_SUM)}"
        )
    t = threshold(n, n - 1, colluders, mode, 0)
    most = max((c for c in range(n) if live_dropouts(n, c, mode) >= 0), default=0)
    raise InvalidInputError(
        f"the planner has no graph for {mode} sessions of n = {n} clients at "
        f"dropout rate {dropout} and corrupt rate {corrupt} (C = {colluders}): even "
        f"without dropouts the complete graph's threshold t = {t} exceeds the "
        f"n - 1 = {n - 1} neighbours holding each client's shares; lower the corrupt "
        f"rate so that C = floor(rate x n) <= {most}, or use more clients per session"
    )


def binomial_quantile(n: int, p: float, tail: float) -> int:
    """Least D with Pr[Binomial(n, p) > D] <= tail."""
    cdf = 0.0
    for d in range(n + 1):
        cdf += math.comb(n, d) * p**d * (1 - p) ** (n - d)
        if 1.0 - cdf <= tail:
            return d
    return n

"""The differential-privacy set-up of a federated run (PROTOCOL.md §11).

Turns a run's configuration and its session thresholds into a noise
mechanism and the numbers the guarantee rests on:

* ``n_min = max(t, n - D)``: the fewest survivors whose sum the server may
  release (D the dropout count the planner sized the thresholds for);
* ``C = floor(γ n)``: the corrupt clients of the whole cohort, any of whom
  may sit among the survivors of a sum and reveal their noise. The planner's
  per-neighbourhood bound c is smaller on a sparse graph and says nothing
  about a sum over all survivors;
* the calibration floor: ``n_min - C`` honest noise shares in semi_honest
  mode; ``t - c`` in active mode (complete graph, so c = C), where a
  malicious server may pick U3 with only that many honest clients;
* ``δ_total``: ε is reported at the δ asked for. On a sparse graph each
  session's graph fails §11's conditions (the server may learn more than the
  sum) with probability at most 2^-40, and every round is a session with a
  fresh graph, so a run of R rounds is (ε, δ + R·2^-40)-DP. On the complete
  graph nothing can fail and δ_total = δ. Local DP does not rest on the
  graph or on the other clients, so there too δ_total = δ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from secagg.dp import DistributedDP, LocalDP, PrivacyAccountant
from secagg.protocol.config import Config
from secagg.protocol.thresholds import count_of

from .config import FLConfig

__all__ = ["GRAPH_FAILURE", "DPSetup", "PrivacyLedger", "dp_setup", "graph_failure"]

#: §11: a planner-chosen sparse graph fails with probability at most 2^-40
#: (2^-41 for too many corrupt holders, 2^-41 for a cut).
GRAPH_FAILURE = 2.0**-40


def graph_failure(n: int, k: int, c: int, corrupt_clients: int, n_min: int) -> float:
    """Upper bound on the chance that one session's graph fails §11's conditions.

    0 on the complete graph. On a sparse graph, 2^-40 (the planner's
    guarantee) unless the exact bounds the planner checks are larger, which
    only happens for a hand-picked k: ``n · Pr[X > c]``, X ~
    Hypergeometric(n - 1, C, k) (more than c corrupt neighbours somewhere),
    plus ``C(n, 2) C(n - k, r - k) / C(n, r)`` with ``r = C + n - n_min``
    (the removed clients cut the ring).

    Args:
        n: Clients in the session.
        k: Neighbours per client.
        c: Corrupt holders the thresholds tolerate.
        corrupt_clients: C, corrupt clients in the session.
        n_min: Fewest survivors of a released sum.

    Returns:
        The per-session failure bound, in [0, 1].
    """
    if k >= n - 1:
        return 0.0
    big_c = corrupt_clients
    excess = sum(math.comb(big_c, j) * math.comb(n - 1 - big_c, k - j) for j in range(c + 1, k + 1))
    p = Fraction(n * excess, math.comb(n - 1, k))
    r = big_c + n - n_min
    if r >= k:
        p += Fraction(math.comb(n, 2) * math.comb(n - k, r - k), math.comb(n, r))
    return max(GRAPH_FAILURE, min(1.0, float(p)))


@dataclass(frozen=True)
class DPSetup:
    """A run's DP mechanism and the numbers its (ε, δ_total) statement rests on.

    Attributes:
        mechanism: The noise each client adds.
        n_min: Fewest survivors a released sum may have.
        colluders: C, cohort clients assumed to reveal their noise.
        floor: n_min (semi_honest) or t (active); the noise is calibrated to
            ``floor - colluders`` honest shares.
        delta: δ at which ε is reported (the one asked for).
        graph_failure: Per-session graph failure bound (0 on the complete graph).
        delta_total: δ of the run's guarantee: ``delta + rounds · graph_failure``
            for distributed DP, ``delta`` for local DP.
        description: One line for the demo.
    """

    mechanism: DistributedDP | LocalDP
    n_min: int
    colluders: int
    floor: int
    delta: float
    graph_failure: float
    delta_total: float
    description: str


def dp_setup(cfg: FLConfig, probe: Config, l2_sensitivity: float, dim: int) -> DPSetup:
    """The DP mechanism of a run, calibrated as PROTOCOL.md §11 says.

    Args:
        cfg: The run's configuration (``dp`` must not be "none").
        probe: The session Config the planner (or an explicit k, t) gives;
            its n, k, t and c are used.
        l2_sensitivity: Δ2 of one client's rounded update (integer units).
        dim: Number of data coordinates.

    Returns:
        The set-up.

    Raises:
        InvalidInputError: If no noise reaches the target, or fewer than one
            honest share would be left.
    """
    n = int(probe.n)
    colluders = count_of(cfg.corrupt, n) if cfg.dp_colluders is None else cfg.dp_colluders
    n_min = max(int(probe.t), n - math.floor(cfg.planner_dropout * n))
    floor = n_min if cfg.mode == "semi_honest" else int(probe.t)
    per_session = graph_failure(n, int(probe.k), int(probe.c), colluders, n_min)
    clip = f"L2 clip {cfg.dp_clip}"
    mech: DistributedDP | LocalDP
    if cfg.dp == "local":
        mech = LocalDP(float(cfg.dp_epsilon or 0), l2_sensitivity, dim)
        desc = (
            f"local discrete Laplace, scale 2 Delta1/epsilon = {mech.scale:.4g}, epsilon "
            f"{mech.epsilon_per_round:.4g} per round per client, neighbours any two updates, "
            f"{clip}; n_min = {n_min}, C = {colluders} and the graph do not enter (each "
            f"message is private on its own): delta_total = delta = {cfg.dp_delta:g}"
        )
        return DPSetup(mech, n_min, colluders, floor, cfg.dp_delta, per_session, cfg.dp_delta, desc)
    kind: Literal["skellam", "gaussian"] = "gaussian" if cfg.dp_kind == "gaussian" else "skellam"
    if cfg.dp_epsilon is not None:
        mech = DistributedDP.calibrate(
            cfg.dp_epsilon,
            cfg.dp_delta,
            cfg.rounds,
            kind=kind,
            l2_sensitivity=l2_sensitivity,
            dim=dim,
            n_min=floor,
            colluders=colluders,
        )
    else:
        z = float(cfg.dp_noise_multiplier or 0)
        mech = DistributedDP(kind, z, l2_sensitivity, dim, floor, colluders)
    total = cfg.dp_delta + cfg.rounds * per_session
    graph = (
        f"= {total:g} (complete graph: no graph failure)"
        if per_session == 0
        else f"+ {cfg.rounds} x {_power_of_two(per_session)} (graph failure, one per round) "
        f"= {total:.10g}"
    )
    desc = (
        f"distributed {kind}, noise multiplier {mech.noise_multiplier:.3f}, {clip}, "
        f"neighbours one update replaced by zero; noise for "
        f"{'n_min' if cfg.mode == 'semi_honest' else 't'} - C = {floor} - {colluders} honest "
        f"shares (n_min = {n_min}, C = {colluders} colluders of the {n} in the cohort, "
        f"per-neighbourhood c = {probe.c}); delta_total = delta {graph}; "
        f"no sampling amplification"
    )
    return DPSetup(mech, n_min, colluders, floor, cfg.dp_delta, per_session, total, desc)


@dataclass
class PrivacyLedger:
    """What a run has spent: one charge per released sum, ε at the δ asked for.

    Attributes:
        setup: The run's DP set-up.
        accountant: The RDP accountant the charges go to.
    """

    setup: DPSetup
    accountant: PrivacyAccountant = field(default_factory=PrivacyAccountant)

    def charge(self, survivors: int) -> float | None:
        """Charge one released sum over ``survivors`` clients; return ε so far.

        Distributed noise is charged with the honest shares the sum holds,
        ``survivors - C`` (PROTOCOL.md §11); local noise per message, whatever
        the sum.
        """
        mech = self.setup.mechanism
        if isinstance(mech, DistributedDP):
            self.accountant.charge(mech.round_rdp(survivors - self.setup.colluders))
        else:
            self.accountant.charge(mech.round_rdp())
        return self.epsilon()

    def epsilon(self) -> float | None:
        """ε so far (None before any charge); local DP is also capped by basic composition."""
        if not self.accountant.rounds:
            return None
        eps = self.accountant.epsilon(self.setup.delta)
        mech = self.setup.mechanism
        if isinstance(mech, LocalDP):
            eps = min(eps, self.accountant.rounds * mech.epsilon_per_round)
        return eps


def _power_of_two(p: float) -> str:
    exponent = math.log2(p)
    return f"2^{exponent:.0f}" if exponent == round(exponent) else f"{p:.3g}"

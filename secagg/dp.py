"""Differential privacy in the integer domain, and its accounting.

Two ways to privatise a federated sum, both operating on already-quantised
integer updates (see :mod:`secagg.encoding`), never on floats:

* **Local DP** (the classic baseline): each client adds discrete Laplace noise
  to its own quantised update, so even its individual message is
  differentially private. Expensive in accuracy: every client carries the full
  noise.
* **Distributed DP**: each client adds a *share* of the noise (Skellam — a
  difference of two Poissons — or discrete Gaussian) so that only the secure
  sum carries the full amount. The server only ever sees the sum (secure
  aggregation), so the sum is what must be private.

Neighbouring inputs (what ε is about):

* Distributed DP: one client's update replaced by zero. The server sees who
  survived, so a client cannot be absent from one input and present in the
  other; replacing an update by any other update doubles both sensitivities
  (``replace_one=True`` in :meth:`DistributedDP.round_rdp` gives that ε).
* Local DP: any two updates (a client's message must hide its input itself),
  so the discrete Laplace scale is ``2 Δ1 / ε``.

Calibration follows PROTOCOL.md §11: the server can never release a sum over
fewer than ``n_min`` survivors, and up to ``colluders`` of them (the corrupt
clients of the whole cohort, C = floor(γ n), not the per-neighbourhood bound
c) may reveal their noise to it, so each client adds the per-client variance
that makes ``n_min - colluders`` honest shares reach the target. The
accountant then charges each round with the noise that actually entered the
released sum (``|U3| - colluders`` honest survivors), so noise lost with
dropped clients is accounted for, never assumed.

Accounting is Rényi DP, converted to (ε, δ) with dp-accounting
(:mod:`secagg.rdp`, which cites the bound behind each mechanism); the noise
is sampled on the integers from OS-seeded sources (:mod:`secagg.noise`).
This module holds the two mechanisms and re-exports both, so every name
imports from ``secagg.dp``.

No amplification by client sampling is claimed: every round is charged in full.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .exceptions import InvalidInputError
from .noise import (
    DiscreteGaussianSampler,
    RandBelow,
    discrete_laplace_variance,
    sample_discrete_gaussian,
    sample_discrete_laplace,
    sample_skellam,
    tail_bound,
)
from .quantization import _check_positive
from .rdp import (
    DEFAULT_ORDERS,
    PrivacyAccountant,
    distributed_discrete_gaussian_rdp,
    epsilon_from_rdp,
    l1_bound_from_l2,
    pure_dp_rdp,
    skellam_rdp,
)

__all__ = [
    "DEFAULT_ORDERS",
    "sample_discrete_laplace",
    "sample_skellam",
    "sample_discrete_gaussian",
    "DiscreteGaussianSampler",
    "skellam_rdp",
    "distributed_discrete_gaussian_rdp",
    "pure_dp_rdp",
    "epsilon_from_rdp",
    "PrivacyAccountant",
    "DistributedDP",
    "LocalDP",
    "tail_bound",
    "l1_bound_from_l2",
    "discrete_laplace_variance",
    "RandBelow",
]


def _randbelow(rng: np.random.Generator) -> RandBelow:
    """Uniform integers from ``rng`` below 2^63 (its int64 range), from ``secrets`` above."""

    def randbelow(k: int) -> int:
        return int(rng.integers(0, k)) if k < 2**63 else secrets.randbelow(k)

    return randbelow


def _least_multiplier(epsilon_at: Callable[[float], float], target: float) -> float | None:
    """The smallest z (to 0.1 %) with ``epsilon_at(z) <= target``; None if above 10^4.

    ``epsilon_at`` must not increase with z (more noise never costs privacy).
    """
    lo, hi = 1e-3, 1.0
    while epsilon_at(hi) > target:
        hi *= 2
        if hi > 1e4:
            return None
    while hi / lo > 1.001:
        mid = math.sqrt(lo * hi)
        if epsilon_at(mid) > target:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class DistributedDP:
    """Distributed DP for a secure sum: each client adds its share of the noise.

    The target is a noise multiplier ``z`` relative to the L2 sensitivity of
    the rounded update: the released sum must carry per-coordinate noise of
    standard deviation ``z * l2_sensitivity`` from honest clients. Each client
    adds variance ``(z * l2_sensitivity)^2 / honest_min`` where ``honest_min =
    n_min - colluders``, the fewest honest noise shares a released sum can hold.
    Neighbouring inputs differ by one client's update replaced by zero.

    Attributes:
        kind: "skellam" or "gaussian" (exact discrete Gaussian, slower).
        noise_multiplier: z > 0.
        l2_sensitivity: Δ2 of one client's rounded update (integer units).
        dim: Number of data coordinates d.
        n_min: Fewest survivors whose sum may be released.
        colluders: Clients assumed to reveal their noise to the server (the
            cohort's corrupt clients C, PROTOCOL.md §11).
    """

    kind: Literal["skellam", "gaussian"]
    noise_multiplier: float
    l2_sensitivity: float
    dim: int
    n_min: int
    colluders: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("skellam", "gaussian"):
            raise InvalidInputError(
                f"distributed DP noise must be 'skellam' or 'gaussian', got {self.kind!r}"
            )
        _check_positive("noise multiplier", self.noise_multiplier)
        _check_positive("L2 sensitivity", self.l2_sensitivity)
        if self.dim < 1:
            raise InvalidInputError(f"dimension must be >= 1, got {self.dim}")
        if self.colluders < 0 or self.n_min - self.colluders < 1:
            raise InvalidInputError(
                f"n_min - colluders must be >= 1 honest noise share, got n_min = {self.n_min}, "
                f"colluders = {self.colluders}"
            )

    @property
    def honest_min(self) -> int:
        """Fewest honest clients whose noise a released sum contains."""
        return self.n_min - self.colluders

    @property
    def per_client_variance(self) -> float:
        """Noise variance each client adds per coordinate (integer units)."""
        return (self.noise_multiplier * self.l2_sensitivity) ** 2 / self.honest_min

    @property
    def l1_sensitivity(self) -> float:
        """Δ1 bound of one client's rounded update."""
        return l1_bound_from_l2(self.l2_sensitivity, self.dim)

    def noise_bound(self, n_clients: int) -> int:
        """Per-client, per-coordinate magnitude the noise never exceeds (w.p. 1 - 2^-40)."""
        kind = "skellam" if self.kind == "skellam" else "gaussian"
        return tail_bound(kind, self.per_client_variance, self.dim * max(n_clients, 1))

    def sample(self, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """One client's noise share (int64 vector)."""
        v = self.per_client_variance
        if self.kind == "skellam":
            return sample_skellam(v / 2, size, rng)
        # Uniform integers from the given generator (CSPRNG-seeded by the encoder
        # unless a test injects a seeded one), else from secrets; the law stays exact.
        return sample_discrete_gaussian(v, size, None if rng is None else _randbelow(rng))

    def noise_fn(self) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
        """Adapter for :meth:`secagg.encoding.UpdateCodec.encode` (``noise=``)."""
        return lambda data, gen: self.sample(data.size, gen)

    def round_rdp(
        self,
        honest_in_sum: int,
        orders: Sequence[float] = DEFAULT_ORDERS,
        *,
        replace_one: bool = False,
    ) -> np.ndarray:
        """RDP of one released sum that holds ``honest_in_sum`` honest noise shares.

        Args:
            honest_in_sum: Honest noise shares in the sum.
            orders: RDP orders.
            replace_one: False (proven for the protocol): neighbours differ by
                one update replaced by zero. True: by one update replaced by
                any other, which doubles Δ1 and Δ2.

        Raises:
            InvalidInputError: If fewer than ``honest_min`` shares are in the sum
                (the server must never release such a sum).
        """
        if honest_in_sum < self.honest_min:
            raise InvalidInputError(
                f"a released sum holds only {honest_in_sum} honest noise shares, fewer than "
                f"the {self.honest_min} the noise was calibrated for"
            )
        v = self.per_client_variance
        l1, l2 = self.l1_sensitivity, self.l2_sensitivity
        if replace_one:
            l1, l2 = 2 * l1, 2 * l2
        if self.kind == "skellam":
            return skellam_rdp(orders, honest_in_sum * v, l1, l2)
        return distributed_discrete_gaussian_rdp(orders, v, honest_in_sum, self.dim, l1, l2)

    def epsilon(
        self,
        rounds: int,
        delta: float,
        honest_in_sum: int | None = None,
        *,
        replace_one: bool = False,
    ) -> float:
        """ε after ``rounds`` releases each holding ``honest_in_sum`` (default the minimum)."""
        h = self.honest_min if honest_in_sum is None else honest_in_sum
        rdp = self.round_rdp(h, replace_one=replace_one)
        return epsilon_from_rdp(DEFAULT_ORDERS, rounds * rdp, delta)

    @classmethod
    def calibrate(
        cls,
        target_epsilon: float,
        delta: float,
        rounds: int,
        *,
        kind: Literal["skellam", "gaussian"],
        l2_sensitivity: float,
        dim: int,
        n_min: int,
        colluders: int = 0,
    ) -> DistributedDP:
        """The smallest noise multiplier (to 0.1 %) whose ε over ``rounds`` is <= target.

        Raises:
            InvalidInputError: If no multiplier up to 10^4 reaches the target.
        """
        _check_positive("target epsilon", target_epsilon)

        def make(z: float) -> DistributedDP:
            return cls(kind, z, l2_sensitivity, dim, n_min, colluders)

        z = _least_multiplier(lambda z: make(z).epsilon(rounds, delta), target_epsilon)
        if z is None:
            raise InvalidInputError(
                f"no noise multiplier up to 1e4 reaches epsilon {target_epsilon} at delta "
                f"{delta} over {rounds} rounds"
            )
        return make(z)


@dataclass(frozen=True)
class LocalDP:
    """Local DP baseline: every client adds discrete Laplace noise to its own update.

    Each client's message is ε-DP per round, before any aggregation, for any
    two inputs: rounded updates x, x' with L1 norms at most Δ1 differ by up
    to 2 Δ1 in L1 (x against -x), so the scale is ``2 Δ1 / ε``. (Calibrating
    to Δ1 would only hide an update against a zero one.)

    Attributes:
        epsilon_per_round: ε of each client's message per round.
        l2_sensitivity: Δ2 bound of one client's rounded update (integer units).
        dim: Number of coordinates d.
    """

    epsilon_per_round: float
    l2_sensitivity: float
    dim: int

    def __post_init__(self) -> None:
        _check_positive("epsilon per round", self.epsilon_per_round)
        _check_positive("L2 sensitivity", self.l2_sensitivity)
        if self.dim < 1:
            raise InvalidInputError(f"dimension must be >= 1, got {self.dim}")

    @property
    def l1_sensitivity(self) -> float:
        """Δ1 bound of one client's rounded update."""
        return l1_bound_from_l2(self.l2_sensitivity, self.dim)

    @property
    def scale(self) -> float:
        """Discrete Laplace scale t = 2 Δ1 / ε (any two inputs are neighbours)."""
        return 2 * self.l1_sensitivity / self.epsilon_per_round

    def noise_bound(self, n_clients: int) -> int:
        """Per-coordinate magnitude the noise never exceeds (w.p. 1 - 2^-40)."""
        return tail_bound("laplace", self.scale, self.dim * max(n_clients, 1))

    def sample(self, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """One client's noise (int64 vector)."""
        return sample_discrete_laplace(self.scale, size, rng)

    def noise_fn(self) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
        """Adapter for :meth:`secagg.encoding.UpdateCodec.encode` (``noise=``)."""
        return lambda data, gen: self.sample(data.size, gen)

    def round_rdp(self, orders: Sequence[float] = DEFAULT_ORDERS) -> np.ndarray:
        """RDP of one client's message in one round."""
        return pure_dp_rdp(orders, self.epsilon_per_round)

    def epsilon(self, rounds: int, delta: float) -> float:
        """ε of one client's messages over ``rounds`` rounds (RDP composition)."""
        return min(
            rounds * self.epsilon_per_round,
            epsilon_from_rdp(DEFAULT_ORDERS, rounds * self.round_rdp(), delta),
        )

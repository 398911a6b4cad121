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

Accounting is Rényi DP (RDP), converted to (ε, δ) with dp-accounting's
``compute_epsilon``:

* Skellam: Agarwal, Kairouz, Liu (2021), "The Skellam Mechanism for
  Differentially Private Federated Learning", Theorem 3.5.
* Sum of discrete Gaussians: Kairouz, Liu, Steinke (2021), "The Distributed
  Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation",
  Proposition 14 (the RDP bound behind their Theorem 1).
* Discrete Laplace (local): ε-DP per release; ε-DP implies (α, min(ε, α ε²/2))-RDP
  (Bun and Steinke 2016, Prop. 3.3).

No amplification by client sampling is claimed: every round is charged in full.

Randomness: a numpy ``Generator`` (PCG64) seeded per use with 32 bytes of
``os.urandom`` draws the Skellam and discrete Laplace noise and, when one is
passed (the encoder passes its own, one per encoded update), the discrete
Gaussian's uniform integers below 2^63; ``secrets.randbelow`` draws the larger
ones, and all of them when no generator is passed. docs/dp.md says why
per-use seeding is acceptable for noise (never for keys, masks or shares).
Tests inject their own sources.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from .encoding import _check_positive, csprng_generator
from .exceptions import InvalidInputError

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
]

#: RDP orders used throughout (integers: the Skellam bound is stated for them).
DEFAULT_ORDERS: tuple[float, ...] = tuple(float(a) for a in range(2, 257))


# One check with one message for every positive parameter of the package.
_positive = _check_positive


# --------------------------------------------------------------------------- samplers


def sample_discrete_laplace(
    scale: float, size: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Discrete Laplace noise: P(x) ∝ exp(-|x| / scale) on the integers.

    Sampled as the difference of two i.i.d. geometric variables (number of
    failures before a success with probability 1 - exp(-1/scale)), which has
    exactly this law. Variance ``2 p / (1 - p)^2`` with ``p = exp(-1/scale)``.

    Args:
        scale: Positive scale t.
        size: Number of samples.
        rng: Generator (tests only); default CSPRNG-seeded.

    Returns:
        int64 vector of length ``size``.
    """
    scale = _positive("discrete Laplace scale", scale)
    gen = rng if rng is not None else csprng_generator()
    q = -math.expm1(-1.0 / scale)  # success probability 1 - e^{-1/t}
    g1 = gen.geometric(q, size).astype(np.int64) - 1
    g2 = gen.geometric(q, size).astype(np.int64) - 1
    return g1 - g2


def discrete_laplace_variance(scale: float) -> float:
    """Variance of the discrete Laplace law with the given scale."""
    p = math.exp(-1.0 / _positive("discrete Laplace scale", scale))
    return 2 * p / (1 - p) ** 2


def sample_skellam(mu: float, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Symmetric Skellam noise: Poisson(mu) - Poisson(mu), variance 2·mu.

    A sum of independent Skellam(mu_i) is Skellam(sum mu_i), which is what
    makes it suitable for distributed noise.

    Args:
        mu: Positive Poisson mean of each half.
        size: Number of samples.
        rng: Generator (tests only); default CSPRNG-seeded.

    Returns:
        int64 vector of length ``size``.
    """
    mu = _positive("Skellam mu", mu)
    gen = rng if rng is not None else csprng_generator()
    return gen.poisson(mu, size).astype(np.int64) - gen.poisson(mu, size).astype(np.int64)


RandBelow = Callable[[int], int]


class DiscreteGaussianSampler:
    """Exact discrete Gaussian sampler of Canonne, Kamath and Steinke (2020).

    Samples P(x) ∝ exp(-x²/(2σ²)) on the integers with rational arithmetic
    only (``fractions.Fraction``) and uniform integers from ``randbelow``: no
    floating point touches the randomness, so the output law is exact.
    σ² is taken as the exact rational value of the given float.

    Args:
        randbelow: ``f(n) -> uniform int in [0, n)``; default ``secrets.randbelow``
            (OS CSPRNG). Inject another only in tests.
    """

    def __init__(self, randbelow: RandBelow | None = None) -> None:
        self._randbelow = randbelow if randbelow is not None else secrets.randbelow

    def _bernoulli(self, p: Fraction) -> bool:
        return self._randbelow(p.denominator) < p.numerator

    def bernoulli_exp(self, gamma: Fraction) -> bool:
        """Bernoulli(exp(-gamma)) for rational gamma >= 0 (CKS Algorithm 1)."""
        if gamma < 0:
            raise InvalidInputError(f"gamma must be non-negative, got {gamma}")
        while gamma > 1:
            if not self._bernoulli_exp_small(Fraction(1)):
                return False
            gamma -= 1
        return self._bernoulli_exp_small(gamma)

    def _bernoulli_exp_small(self, gamma: Fraction) -> bool:
        # For 0 <= gamma <= 1: the index of the first failure of Bernoulli(gamma/k)
        # draws is odd with probability exp(-gamma).
        k = 1
        while self._bernoulli(gamma / k):
            k += 1
        return k % 2 == 1

    def discrete_laplace(self, t: int) -> int:
        """Discrete Laplace with integer scale t >= 1 (CKS Algorithm 2)."""
        while True:
            u = self._randbelow(t)
            if not self.bernoulli_exp(Fraction(u, t)):
                continue
            v = 0
            while self.bernoulli_exp(Fraction(1)):
                v += 1
            x = u + t * v
            negative = self._randbelow(2) == 1
            if negative and x == 0:
                continue
            return -x if negative else x

    def sample(self, sigma2: float | Fraction) -> int:
        """One discrete Gaussian sample with variance parameter σ² (CKS Algorithm 3)."""
        s2 = Fraction(sigma2)
        if s2 <= 0:
            raise InvalidInputError(f"sigma^2 must be positive, got {sigma2}")
        t = math.isqrt(s2.numerator // s2.denominator) + 1  # floor(sigma) + 1
        while True:
            y = self.discrete_laplace(t)
            gamma = (abs(y) - s2 / t) ** 2 / (2 * s2)
            if self.bernoulli_exp(gamma):
                return y


def sample_discrete_gaussian(
    sigma2: float, size: int, randbelow: RandBelow | None = None
) -> np.ndarray:
    """``size`` exact discrete Gaussian samples with parameter σ² (int64 vector).

    Args:
        sigma2: Positive variance parameter σ² (the actual variance is at most σ²).
        size: Number of samples.
        randbelow: Uniform integer source (tests only); default ``secrets.randbelow``.
    """
    _positive("discrete Gaussian sigma^2", sigma2)
    sampler = DiscreteGaussianSampler(randbelow)
    return np.fromiter((sampler.sample(sigma2) for _ in range(size)), dtype=np.int64, count=size)


def tail_bound(kind: str, variance: float, count: int, failure: float = 2.0**-40) -> int:
    """Magnitude that ``count`` independent noise samples all stay within, except
    with probability ``failure`` (used to size the ring so sums never wrap).

    * skellam: Bernstein's inequality (a Poisson is a limit of sums of
      centred variables bounded by 1): P(|X| ≥ s) ≤ 2 exp(-s²/(2(v + s/3))).
    * gaussian: sub-Gaussian with parameter σ² = v (discrete Gaussian,
      Canonne–Kamath–Steinke Prop. 23): P(|X| ≥ s) ≤ 2 exp(-s²/(2v)).
    * laplace: P(|X| ≥ s) ≤ 2 exp(-s/t) with t the scale (passed as ``variance``
      = t for this kind).
    """
    big_l = math.log(2 * max(count, 1) / failure)
    if kind == "skellam":
        s = big_l / 3 + math.sqrt(big_l * big_l / 9 + 2 * big_l * variance)
    elif kind == "gaussian":
        s = math.sqrt(2 * variance * big_l)
    elif kind == "laplace":
        s = variance * big_l
    else:
        raise InvalidInputError(f"unknown noise kind {kind!r}")
    return int(math.ceil(s)) + 1


# --------------------------------------------------------------------------- accounting


def l1_bound_from_l2(l2: float, d: int) -> float:
    """L1 bound of an integer vector of L2 norm <= l2 in d dimensions.

    ``||x||_1 <= sqrt(d) ||x||_2`` always, and for integer vectors every
    non-zero |x_i| >= 1, so ``||x||_1 <= ||x||_2^2`` too.
    """
    return min(math.sqrt(d) * l2, l2 * l2)


def skellam_rdp(orders: Sequence[float], variance: float, l1: float, l2: float) -> np.ndarray:
    """RDP of adding symmetric Skellam noise of the given variance per coordinate.

    Agarwal, Kairouz and Liu (2021), Theorem 3.5, with μ the variance of the
    released noise (each Poisson half has mean μ/2): for integer α > 1 and a
    query of L1 and L2 sensitivities Δ1, Δ2,

        ε(α) = α Δ2² / (2 μ) + min( ((2α - 1) Δ2² + 6 Δ1) / (4 μ²), 3 Δ1 / (2 μ) ).

    The first term is the Gaussian mechanism's RDP at the same variance.

    Args:
        orders: Integer orders α > 1.
        variance: μ, the per-coordinate variance of the noise in the released
            sum (the sum over honest clients' shares).
        l1: L1 sensitivity Δ1 (integer units).
        l2: L2 sensitivity Δ2 (integer units).

    Returns:
        RDP ε(α) per order.
    """
    mu = _positive("Skellam variance", variance)
    out = []
    for a in orders:
        if a <= 1 or float(a) != int(a):
            raise InvalidInputError(f"the Skellam RDP bound needs integer orders > 1, got {a}")
        first = a * l2 * l2 / (2 * mu)
        second = min(((2 * a - 1) * l2 * l2 + 6 * l1) / (4 * mu * mu), 3 * l1 / (2 * mu))
        out.append(first + second)
    return np.array(out)


def distributed_discrete_gaussian_rdp(
    orders: Sequence[float], sigma2: float, n: int, d: int, l1: float, l2: float
) -> np.ndarray:
    """RDP of a sum of n independent discrete Gaussians N_Z(0, σ²) per coordinate.

    Kairouz, Liu and Steinke (2021), Proposition 14 (the RDP form behind their
    Theorem 1). With ``a = Δ2 / (sqrt(n) σ)``, ``b = Δ1 / (sqrt(n) σ)`` and

        τ = 10 Σ_{k=1}^{n-1} exp(-2 π² σ² k / (k + 1))

    (τ measures how far the sum of n discrete Gaussians is from one discrete
    Gaussian of variance nσ²; it is 0 for n = 1), at order α:

        ε(α) = min( α a²/2 + τ d,
                    α (a² + 2 b τ + τ² d) / 2,
                    α (a + τ sqrt(d))² / 2 ).

    Args:
        orders: Orders α > 1.
        sigma2: Per-client σ² (integer units).
        n: Number of honest clients whose noise is in the sum.
        d: Dimension.
        l1, l2: Sensitivities Δ1, Δ2 (integer units).
    """
    s2 = _positive("sigma^2", sigma2)
    if n < 1:
        raise InvalidInputError(f"at least one noise contributor is needed, got n = {n}")
    tau = 10 * sum(math.exp(-2 * math.pi**2 * s2 * k / (k + 1)) for k in range(1, n))
    a = l2 / math.sqrt(n * s2)
    b = l1 / math.sqrt(n * s2)
    out = []
    for alpha in orders:
        if alpha <= 1:
            raise InvalidInputError(f"RDP orders must exceed 1, got {alpha}")
        out.append(
            min(
                alpha * a * a / 2 + tau * d,
                alpha * (a * a + 2 * b * tau + tau * tau * d) / 2,
                alpha * (a + math.sqrt(d) * tau) ** 2 / 2,
            )
        )
    return np.array(out)


def pure_dp_rdp(orders: Sequence[float], epsilon: float) -> np.ndarray:
    """RDP of an ε-DP mechanism: min(ε, α ε²/2) (Bun and Steinke 2016, Prop. 3.3)."""
    e = _positive("epsilon", epsilon)
    return np.array([min(e, a * e * e / 2) for a in orders])


def epsilon_from_rdp(
    orders: Sequence[float], rdp: Sequence[float] | np.ndarray, delta: float
) -> float:
    """Convert an RDP curve to ε at ``delta`` (dp-accounting's conversion).

    Raises:
        InvalidInputError: If delta is not in (0, 1).
    """
    if not 0 < delta < 1:
        raise InvalidInputError(f"delta must lie in (0, 1), got {delta}")
    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    eps, _ = compute_epsilon(list(orders), list(rdp), delta)
    return float(eps)


@dataclass
class PrivacyAccountant:
    """Composes per-round RDP curves and reports ε at a given δ.

    Attributes:
        orders: RDP orders.
        rdp: Accumulated RDP per order.
        rounds: Number of rounds charged.
    """

    orders: tuple[float, ...] = DEFAULT_ORDERS
    rdp: np.ndarray = field(default_factory=lambda: np.zeros(len(DEFAULT_ORDERS)))
    rounds: int = 0

    def charge(self, rdp: np.ndarray) -> None:
        """Add one release's RDP curve (same orders)."""
        rdp = np.asarray(rdp, dtype=np.float64)
        if rdp.shape != (len(self.orders),):
            raise InvalidInputError(
                f"an RDP curve of {len(self.orders)} orders is needed, got shape {rdp.shape}"
            )
        self.rdp = self.rdp + rdp
        self.rounds += 1

    def epsilon(self, delta: float) -> float:
        """ε at ``delta`` for everything charged so far."""
        return epsilon_from_rdp(self.orders, self.rdp, delta)


# --------------------------------------------------------------------------- mechanisms


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
        _positive("noise multiplier", self.noise_multiplier)
        _positive("L2 sensitivity", self.l2_sensitivity)
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
        if rng is not None:
            # Uniform integers from the given generator (CSPRNG-seeded by the
            # encoder unless a test injects a seeded one); the law stays exact.

            def randbelow(k: int) -> int:
                return int(rng.integers(0, k)) if k < 2**63 else secrets.randbelow(k)

            return sample_discrete_gaussian(v, size, randbelow)
        return sample_discrete_gaussian(v, size)

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
        _positive("target epsilon", target_epsilon)

        def make(z: float) -> DistributedDP:
            return cls(kind, z, l2_sensitivity, dim, n_min, colluders)

        lo, hi = 1e-3, 1.0
        while make(hi).epsilon(rounds, delta) > target_epsilon:
            hi *= 2
            if hi > 1e4:
                raise InvalidInputError(
                    f"no noise multiplier up to 1e4 reaches epsilon {target_epsilon} at delta "
                    f"{delta} over {rounds} rounds"
                )
        while hi / lo > 1.001:
            mid = math.sqrt(lo * hi)
            if make(mid).epsilon(rounds, delta) > target_epsilon:
                lo = mid
            else:
                hi = mid
        return make(hi)


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
        _positive("epsilon per round", self.epsilon_per_round)
        _positive("L2 sensitivity", self.l2_sensitivity)
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

"""Integer-valued noise for differential privacy, and how far it can reach.

The samplers of :mod:`secagg.dp` (re-exported there): discrete Laplace
(local DP), symmetric Skellam and the exact discrete Gaussian of Canonne,
Kamath and Steinke (2020) (distributed DP), all on the integers, never
floating-point noise; and :func:`tail_bound`, the magnitude a batch of
samples stays within, which sizes the ring so that noisy sums never wrap.

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
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from .exceptions import InvalidInputError
from .quantization import _check_positive, csprng_generator

__all__ = [
    "RandBelow",
    "sample_discrete_laplace",
    "discrete_laplace_variance",
    "sample_skellam",
    "sample_discrete_gaussian",
    "DiscreteGaussianSampler",
    "tail_bound",
]

#: A uniform integer source: ``f(n)`` returns an int in ``[0, n)``.
RandBelow = Callable[[int], int]


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
    scale = _check_positive("discrete Laplace scale", scale)
    gen = rng if rng is not None else csprng_generator()
    q = -math.expm1(-1.0 / scale)  # success probability 1 - e^{-1/t}
    g1 = gen.geometric(q, size).astype(np.int64) - 1
    g2 = gen.geometric(q, size).astype(np.int64) - 1
    return g1 - g2


def discrete_laplace_variance(scale: float) -> float:
    """Variance of the discrete Laplace law with the given scale."""
    p = math.exp(-1.0 / _check_positive("discrete Laplace scale", scale))
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
    mu = _check_positive("Skellam mu", mu)
    gen = rng if rng is not None else csprng_generator()
    return gen.poisson(mu, size).astype(np.int64) - gen.poisson(mu, size).astype(np.int64)


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
    _check_positive("discrete Gaussian sigma^2", sigma2)
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

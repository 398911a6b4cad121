"""Rényi DP (RDP) accounting for the mechanisms of :mod:`secagg.dp`.

Per-release RDP curves, composed by adding them order by order
(:class:`PrivacyAccountant`) and converted to (ε, δ) with dp-accounting's
``compute_epsilon``:

* Skellam: Agarwal, Kairouz, Liu (2021), "The Skellam Mechanism for
  Differentially Private Federated Learning", Theorem 3.5.
* Sum of discrete Gaussians: Kairouz, Liu, Steinke (2021), "The Distributed
  Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation",
  Proposition 14 (the RDP bound behind their Theorem 1).
* Discrete Laplace (local): ε-DP per release; ε-DP implies (α, min(ε, α ε²/2))-RDP
  (Bun and Steinke 2016, Prop. 3.3).

Every name is re-exported by :mod:`secagg.dp`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .exceptions import InvalidInputError
from .quantization import _check_positive

__all__ = [
    "DEFAULT_ORDERS",
    "l1_bound_from_l2",
    "skellam_rdp",
    "distributed_discrete_gaussian_rdp",
    "pure_dp_rdp",
    "epsilon_from_rdp",
    "PrivacyAccountant",
]

#: RDP orders used throughout (integers: the Skellam bound is stated for them).
DEFAULT_ORDERS: tuple[float, ...] = tuple(float(a) for a in range(2, 257))


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
    mu = _check_positive("Skellam variance", variance)
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
    s2 = _check_positive("sigma^2", sigma2)
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
    e = _check_positive("epsilon", epsilon)
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
    # Imported here: dp-accounting is an optional extra (secagg[dp]) and takes
    # most of a second to import.
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

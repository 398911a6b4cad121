"""The threshold rules of PROTOCOL.md §6, in one place.

Two kinds of rule live here: what a config must satisfy to exist
(:func:`threshold_violation`, which :class:`~secagg.protocol.config.Config`
and every client policy check), and what the planner chooses
(:func:`threshold`, and the hypergeometric tail bound
:func:`corrupt_holders_bound` a policy also uses to judge a sparse graph's
c). Config and planner both import this module; it imports neither.

Every probability is computed exactly with Python integers. The
hypergeometric tails are tracked incrementally as the neighbourhood size k
grows (one draw at a time), so a search over k = 1..n - 2 costs O(n)
big-integer multiply/divide steps by small integers instead of O(n^2)
binomials.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..exceptions import InvalidInputError
from .vocabulary import MAX_N, Mode

__all__ = [
    "CORRUPT_BITS",
    "CONNECT_BITS",
    "DROPOUT_BITS",
    "MAX_RATE_SUM",
    "TailTracker",
    "count_of",
    "corrupt_holders_bound",
    "threshold",
    "threshold_violation",
    "check_int",
    "is_int",
    "limit",
]

# Pr[more than c corrupt holders in some client's neighbourhood] <= 2^-41 / n
# per client (2^-41 over all n by the union bound); with the connectivity
# bound, also 2^-41, the total failure chance is <= 2^-40 (PROTOCOL §11).
CORRUPT_BITS = 41
CONNECT_BITS = 41
# Liveness is an availability property, so a weaker 2^-20 / n suffices.
DROPOUT_BITS = 20
MAX_RATE_SUM = Fraction(9, 10)


def count_of(rate: float | Fraction, n: int) -> int:
    """floor(rate * n), reading ``rate`` as the decimal number it prints as.

    0.29 * 100 is 28.999999999999996 in binary floating point; a user who
    writes 0.29 means 29 of 100 clients, so the rate is converted through its
    shortest decimal representation and the product is exact.
    """
    exact = Fraction(repr(float(rate))) if isinstance(rate, float) else Fraction(rate)
    return math.floor(exact * n)


class TailTracker:
    """Least c with Pr[X_k > c] <= 1/limit_den for X_k ~ Hypergeom(N, K, k), k = 0, 1, ...

    State for the current k: ``count`` = C(K, c) C(N - K, k - c) (ways to draw
    exactly c marked), ``tail`` = the number of k-subsets with more than c
    marked, ``total`` = C(N, k). Adding one draw uses
    Pr_{k+1}[X > c] = Pr_k[X > c] + Pr_k[X = c] (K - c)/(N - k); raising c
    uses the pmf ratio. Every division below is exact.
    """

    def __init__(self, population: int, marked: int, limit_den: int) -> None:
        self.N = population
        self.K = marked
        self.limit_den = limit_den
        self.k = 0
        self.c = 0
        self.count = 1
        self.tail = 0
        self.total = 1

    def _count_at(self, c: int) -> int:
        return math.comb(self.K, c) * math.comb(self.N - self.K, self.k - c)

    def advance(self) -> None:
        """Add one draw (k -> k + 1) and raise c to the new least value."""
        N, K, k, c = self.N, self.K, self.k, self.c
        self.tail = (self.tail * (N - k) + self.count * (K - c)) // (k + 1)
        self.count = self.count * max(N - K - (k - c), 0) // (k + 1 - c)
        self.total = self.total * (N - k) // (k + 1)
        self.k = k + 1
        while self.tail * self.limit_den > self.total:
            nxt = self.c + 1
            if self.count == 0:
                # The ratio below is undefined from a zero term; recompute directly.
                self.count = self._count_at(nxt)
            else:
                K, k, cc = self.K, self.k, self.c
                self.count = self.count * (K - cc) * (k - cc) // (nxt * (self.N - K - k + nxt))
            self.tail -= self.count
            self.c = nxt

    def probability(self) -> Fraction:
        """Pr[X_k > c] for the current k and c."""
        return Fraction(self.tail, self.total)


def limit(bits: int, n: int) -> int:
    """The denominator of the per-client bound 2^-bits / n."""
    return n << bits


def corrupt_holders_bound(n: int, k: int, corrupt: int) -> int:
    """Least c with Pr[X > c] <= 2^-41/n, X ~ Hypergeometric(n - 1, corrupt, k).

    On the complete graph (k = n - 1) this is ``corrupt`` itself.

    Raises:
        InvalidInputError: Arguments out of range.
    """
    n = check_int("n", n, 3, MAX_N)
    k = check_int("k", k, 1, n - 1)
    corrupt = check_int("corrupt", corrupt, 0, n)
    if k == n - 1:
        return min(corrupt, n - 1)
    tracker = TailTracker(n - 1, min(corrupt, n - 1), limit(CORRUPT_BITS, n))
    for _ in range(k):
        tracker.advance()
    return tracker.c


def is_int(value: object) -> bool:
    """True for a Python or numpy integer that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: object, lo: int, hi: int) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or not lo <= value <= hi:  # type: ignore[operator]
        raise InvalidInputError(f"{name} must be an integer in {lo}..{hi}, got {value!r}.")
    return int(value)  # type: ignore[call-overload]


def threshold(n: int, k: int, c: int, mode: Mode | str, dropouts: int = 0) -> int:
    """The threshold PROTOCOL.md §6 has the planner choose.

    Args:
        n: Number of clients.
        k: Neighbours per client (h = k + 1 holders; n - 1 is the complete graph).
        c: Corrupt holders tolerated among them.
        mode: ``semi_honest`` or ``active``.
        dropouts: Dropouts D planned for (decides whether a majority is live
            on the complete graph).

    Returns:
        semi_honest on a sparse graph: max(2, c + 1), since t > c is the
        privacy condition there. semi_honest on the complete graph:
        max(c + 1, floor(n/2) + 1) when that is live (t <= n - 1 - D), as a
        majority costs no degree there, else max(2, c + 1). active:
        floor((h + c)/2) + 1.
    """
    if Mode.parse(mode) is Mode.ACTIVE:
        return (k + 1 + c) // 2 + 1
    if k < n - 1:
        return max(2, c + 1)
    majority = max(c + 1, n // 2 + 1)
    if majority <= n - 1 - dropouts:
        return majority
    return max(2, c + 1)


def threshold_violation(n: int, t: int, k: int, c: int, n_min: int, mode: Mode) -> str | None:
    """Return a sentence naming the first §6 threshold rule broken, or None.

    Only the graph and threshold rules (those a client policy re-checks); the
    field ranges of :class:`Config` are checked there.
    """
    h = k + 1
    if n < 3:
        return f"n must be at least 3 (a graph needs k >= 2 neighbours), got n = {n}."
    if k < 2 or k > n - 1:
        return f"k must lie in 2..n-1 = 2..{n - 1}, got k = {k} (n = {n})."
    if k < n - 1 and k % 2 == 1:
        return (
            f"a sparse (Harary) graph needs an even k, got k = {k} with n = {n} "
            f"(only the complete graph k = n - 1 = {n - 1} may be odd)."
        )
    if c < 0:
        return f"c (corrupt holders tolerated) must be >= 0, got c = {c}."
    if t < 2:
        return f"t must be at least 2 (t = 1 hands every holder the secret), got t = {t}."
    if t > h:
        return f"t must not exceed the h = k + 1 = {h} holders of a secret, got t = {t}."
    if mode is Mode.SEMI_HONEST:
        if t <= c:
            return (
                f"semi_honest needs t > c so that the c colluding holders a neighbourhood "
                f"may contain cannot rebuild a secret, got t = {t}, c = {c}."
            )
    else:
        if k < n - 1:
            return (
                f"active mode runs on the complete graph only in v1 (k = n - 1 = {n - 1}), "
                f"got k = {k}."
            )
        if 2 * t <= h + c:
            return (
                f"active mode needs 2t > h + c (t >= floor((h + c)/2) + 1 = "
                f"{(h + c) // 2 + 1}), got t = {t}, h = {h}, c = {c}."
            )
    if n_min < t:
        return f"n_min must be at least t, got n_min = {n_min}, t = {t}."
    if n_min > n:
        return f"n_min must not exceed n, got n_min = {n_min}, n = {n}."
    return None

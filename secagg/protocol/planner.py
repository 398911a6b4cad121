"""Parameter planner: (n, dropout rate, corrupt rate) -> (k, t, c, n_min) (PROTOCOL.md §6).

Every probability is computed exactly with Python integers. The hypergeometric
tails are tracked incrementally as the neighbourhood size k grows (one draw at
a time), so the whole search over k = 1..n - 2 costs O(n) big-integer
multiply/divide steps by small integers instead of O(n^2) binomials: about a
second for n = 10 000 in the worst (refused) case, milliseconds when a small
k fits. See docs/parameters.md for the rules and measured times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..exceptions import InvalidInputError
from .config import MAX_N, Config, Mode

__all__ = [
    "Plan",
    "plan",
    "threshold",
    "count_of",
    "corrupt_holders_bound",
    "CORRUPT_BITS",
    "DROPOUT_BITS",
]

# Pr[more than c corrupt holders in some client's neighbourhood] <= 2^-41 / n
# per client (2^-41 over all n by the union bound); with the connectivity
# bound, also 2^-41, the total failure chance is <= 2^-40 (PROTOCOL §11).
CORRUPT_BITS = 41
CONNECT_BITS = 41
# Liveness is an availability property, so a weaker 2^-20 / n suffices.
DROPOUT_BITS = 20
MAX_RATE_SUM = Fraction(9, 10)

#: A rate: a float read as the decimal it prints as, or an exact Fraction.
RateLike = float | Fraction


def count_of(rate: float | Fraction, n: int) -> int:
    """floor(rate * n), reading ``rate`` as the decimal number it prints as.

    0.29 * 100 is 28.999999999999996 in binary floating point; a user who
    writes 0.29 means 29 of 100 clients, so the rate is converted through its
    shortest decimal representation and the product is exact.
    """
    exact = Fraction(repr(float(rate))) if isinstance(rate, float) else Fraction(rate)
    return math.floor(exact * n)


class _TailTracker:
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


def _limit(bits: int, n: int) -> int:
    return n << bits


def corrupt_holders_bound(n: int, k: int, corrupt: int) -> int:
    """Least c with Pr[X > c] <= 2^-41/n, X ~ Hypergeometric(n - 1, corrupt, k).

    On the complete graph (k = n - 1) this is ``corrupt`` itself.

    Raises:
        InvalidInputError: Arguments out of range.
    """
    n = _check_int("n", n, 3, MAX_N)
    k = _check_int("k", k, 1, n - 1)
    corrupt = _check_int("corrupt", corrupt, 0, n)
    if k == n - 1:
        return min(corrupt, n - 1)
    tracker = _TailTracker(n - 1, min(corrupt, n - 1), _limit(CORRUPT_BITS, n))
    for _ in range(k):
        tracker.advance()
    return tracker.c


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or not lo <= value <= hi:  # type: ignore[operator]
        raise InvalidInputError(f"{name} must be an integer in {lo}..{hi}, got {value!r}.")
    return int(value)  # type: ignore[call-overload]


def _check_rate(name: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise InvalidInputError(f"{name} must be a number in [0, 1), got {value!r}.")
    if isinstance(value, Fraction):
        exact = value
    elif not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number in [0, 1), got {value!r}.")
    else:
        exact = Fraction(repr(float(value)))
    if not 0 <= exact < 1:
        raise InvalidInputError(f"{name} must be a number in [0, 1), got {value!r}.")
    return exact


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


@dataclass(frozen=True)
class Plan:
    """The planner's answer: graph degree, thresholds and what they achieve.

    Attributes:
        n: Number of clients.
        k: Neighbours per client (n - 1 when ``complete``).
        t: Shamir threshold.
        c: Corrupt holders tolerated per holder set.
        d: Dropped holders tolerated per holder set (liveness: t <= k - d).
        n_min: Fewest survivors for which a sum is released, max(t, n - D):
            a round missing more than the planned D clients releases nothing.
        mode: Protocol mode.
        complete: True for the complete graph.
        p_corrupt_exceeds: Exact Pr[more than c of a client's k neighbours are
            corrupt] (0 on the complete graph).
        p_dropout_exceeds: Exact Pr[more than d of a client's neighbours drop].
        p_disconnect: The connectivity bound C(n,2) C(n-k, r-k) / C(n, r) with
            r = C + (n - n_min) (0 on the complete graph).
        dropouts: D = floor(dropout * n), the dropout count planned for.
        corrupt_clients: C = floor(corrupt * n), the corrupt count planned for.
    """

    n: int
    k: int
    t: int
    c: int
    d: int
    n_min: int
    mode: Mode
    complete: bool
    p_corrupt_exceeds: float
    p_dropout_exceeds: float
    p_disconnect: float
    dropouts: int
    corrupt_clients: int

    def config(
        self,
        b: int,
        m: int,
        n_min: int | None = None,
        registry_digest: bytes = bytes(32),
    ) -> Config:
        """A validated Config with this plan's (n, k, t, c, n_min, mode).

        Args:
            b: Bits per ring element.
            m: Vector length.
            n_min: Fewest survivors for a released sum (None: the plan's
                n_min). It may be raised, never lowered: the privacy and
                connectivity bounds assume at most n - n_min missing clients.
            registry_digest: Registry digest (required non-zero in active mode).

        Raises:
            InvalidInputError: ``n_min`` below the plan's, or the resulting
                config breaks a §6 rule.
        """
        if n_min is None:
            n_min = self.n_min
        elif _check_int("n_min", n_min, 0, self.n) < self.n_min:
            raise InvalidInputError(
                f"this plan releases sums over at least n_min = {self.n_min} survivors "
                f"(max(t, n - D) with D = {self.dropouts}); a config from it may raise "
                f"n_min, never lower it, got n_min = {n_min}."
            )
        return Config(
            n=self.n,
            t=self.t,
            k=self.k,
            b=b,
            m=m,
            c=self.c,
            n_min=n_min,
            mode=self.mode,
            registry_digest=registry_digest,
        )


def plan(n: int, dropout: RateLike, corrupt: RateLike, mode: Mode | str = Mode.SEMI_HONEST) -> Plan:
    """Choose (k, t, c, n_min) for n clients, a dropout rate and a corrupt rate (PROTOCOL §6).

    D = floor(dropout * n) and C = floor(corrupt * n) clients, chosen at
    random independently of the graph, drop out or are corrupt. In
    semi_honest mode the least even k in 2..n - 2 meeting the corruption,
    liveness and connectivity bounds wins; otherwise (and always in active
    mode) the complete graph if it is live.

    Args:
        n: Number of clients (>= 3).
        dropout: Largest fraction of clients that may drop out, in [0, 1):
            a round with more missing clients releases nothing (n_min).
        corrupt: Fraction of clients assumed to collude with the server, in
            [0, 1); required. 0 means no client colludes: then any two
            colluding neighbours could unmask a client.
        mode: ``"semi_honest"`` or ``"active"``.

    Rates may be floats (read as the decimal number they print as) or exact
    ``fractions.Fraction`` values.

    Returns:
        The Plan, with the exact failure probabilities it achieves.

    Raises:
        InvalidInputError: Arguments out of range, dropout + corrupt > 0.9, or
            no graph (not even the complete one) is live for these rates.
    """
    n = _check_int("n", n, 3, MAX_N)
    delta = _check_rate("dropout", dropout)
    gamma = _check_rate("corrupt", corrupt)
    mode = Mode.parse(mode)
    if delta + gamma > MAX_RATE_SUM:
        raise InvalidInputError(
            f"dropout + corrupt = {dropout} + {corrupt} exceeds 0.9: no threshold leaves "
            "enough honest live holders."
        )
    D = math.floor(delta * n)
    C = math.floor(gamma * n)

    if mode is Mode.SEMI_HONEST:
        found = _search_sparse(n, D, C)
        if found is not None:
            return found

    k = n - 1
    t = threshold(n, k, C, mode, D)
    if t <= k - D and t <= k + 1:
        return Plan(
            n=n,
            k=k,
            t=t,
            c=C,
            d=D,
            n_min=max(t, n - D),
            mode=mode,
            complete=True,
            p_corrupt_exceeds=0.0,
            p_dropout_exceeds=0.0,
            p_disconnect=0.0,
            dropouts=D,
            corrupt_clients=C,
        )
    raise InvalidInputError(
        f"no graph is live for n = {n}, dropout = {dropout} (D = {D}), corrupt = {corrupt} "
        f"(C = {C}) in {mode.value} mode: even the complete graph needs t = {t} > "
        f"k - d = {k} - {D} = {k - D} live holders."
    )


def _search_sparse(n: int, D: int, C: int) -> Plan | None:
    corrupt = _TailTracker(n - 1, C, _limit(CORRUPT_BITS, n))
    dropped = _TailTracker(n - 1, D, _limit(DROPOUT_BITS, n))
    # Clients missing from a released sum: at most n - n_min = D (n_min = n - D
    # whenever t <= n - D, which the search checks per k below).
    r = C + D
    pairs = math.comb(n, 2)
    cuts_total = math.comb(n, r)
    # cuts = C(n - k, r - k), kept up to date as k grows.
    cuts = math.comb(n, r)
    for k in range(1, n - 1):
        corrupt.advance()
        dropped.advance()
        cuts = cuts * max(r - (k - 1), 0) // (n - (k - 1))
        if k % 2:
            continue
        c, d = corrupt.c, dropped.c
        t = threshold(n, k, c, Mode.SEMI_HONEST)
        if t > k - d:
            continue
        n_min = max(t, n - D)
        num, den = pairs * cuts, cuts_total
        if n_min > n - D:  # fewer than D may be missing: the bound uses r = C + n - t
            rr = C + n - n_min
            num, den = pairs * (math.comb(n - k, rr - k) if rr >= k else 0), math.comb(n, rr)
        if num << CONNECT_BITS > den:
            continue
        return Plan(
            n=n,
            k=k,
            t=t,
            c=c,
            d=d,
            n_min=n_min,
            mode=Mode.SEMI_HONEST,
            complete=False,
            p_corrupt_exceeds=float(corrupt.probability()),
            p_dropout_exceeds=float(dropped.probability()),
            p_disconnect=float(Fraction(num, den)),
            dropouts=D,
            corrupt_clients=C,
        )
    return None

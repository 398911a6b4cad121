"""Parameter planner: (n, dropout rate, corrupt rate) -> (k, t, c, n_min) (PROTOCOL.md §6).

:func:`plan` searches the least even k whose corruption, liveness and
connectivity bounds hold (the rules and the exact tail arithmetic live in
:mod:`secagg.protocol.thresholds`); :func:`session_config` is the one place
fl/ and bench/ turn parameters into a :class:`Config`, from the planner or
from an explicit (k, t). See docs/parameters.md for the rules and measured
times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ..exceptions import InvalidInputError
from .config import Config
from .thresholds import (
    CONNECT_BITS,
    CORRUPT_BITS,
    DROPOUT_BITS,
    MAX_RATE_SUM,
    TailTracker,
    check_int,
    count_of,
    limit,
    threshold,
)
from .vocabulary import MAX_N, Mode

__all__ = ["Plan", "plan", "session_config", "RateLike"]

#: A rate: a float read as the decimal it prints as, or an exact Fraction.
RateLike = float | Fraction


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
        elif check_int("n_min", n_min, 0, self.n) < self.n_min:
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
    n = check_int("n", n, 3, MAX_N)
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
    corrupt = TailTracker(n - 1, C, limit(CORRUPT_BITS, n))
    dropped = TailTracker(n - 1, D, limit(DROPOUT_BITS, n))
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


def session_config(
    n: int,
    b: int,
    m: int,
    *,
    dropout: RateLike,
    corrupt: RateLike,
    mode: Mode | str = Mode.SEMI_HONEST,
    k: int | None = None,
    t: int | None = None,
    n_min: int | None = None,
    registry_digest: bytes = bytes(32),
) -> Config:
    """The session Config from the planner, or from an explicit k (and t).

    The one place fl/, bench/ and the teaching commands build a config from
    rates: without ``k`` the planner chooses (k, t, c, n_min) and an explicit
    ``t`` or ``n_min`` may replace its choice (n_min never below the plan's);
    with ``k``, ``c`` is floor(corrupt * n), ``t`` defaults to the planner's
    rule for that graph (:func:`~secagg.protocol.thresholds.threshold`) and
    ``n_min`` to max(t, n - D) with D = floor(dropout * n). The Config then
    validates the result.

    Args:
        n: Number of clients.
        b: Bits per ring element.
        m: Vector length.
        dropout: Largest dropout rate tolerated (D = floor(dropout * n)).
        corrupt: Fraction of clients assumed to collude with the server.
        mode: Protocol mode.
        k: Neighbours per client (None: the planner's).
        t: Threshold (None: the rule's).
        n_min: Fewest survivors of a released sum (None: max(t, n - D)).
        registry_digest: The registry digest (active mode).

    Raises:
        InvalidInputError: The planner or the Config refuses the parameters.
    """
    mode = Mode.parse(mode)
    if k is None:
        p = plan(n, dropout, corrupt, mode)
        if t is None:
            return p.config(b, m, n_min=n_min, registry_digest=registry_digest)
        return Config(
            n=n,
            t=t,
            k=p.k,
            b=b,
            m=m,
            c=p.c,
            n_min=max(t, p.n_min) if n_min is None else n_min,
            mode=mode,
            registry_digest=registry_digest,
        )
    n = check_int("n", n, 3, MAX_N)
    c = count_of(_check_rate("corrupt", corrupt), n)
    dropouts = count_of(_check_rate("dropout", dropout), n)
    if t is None:
        t = threshold(n, k, c, mode, dropouts)
    return Config(
        n=n,
        t=t,
        k=k,
        b=b,
        m=m,
        c=c,
        n_min=max(t, n - dropouts) if n_min is None else n_min,
        mode=mode,
        registry_digest=registry_digest,
    )

"""The numbers behind the robust-recovery lesson: wrong shares, decoded or refused.

A number is shared in the real field GF(2^61 - 1) at threshold t among n
holders, with a published commitment to it (as each client commits to its
self-mask seed b_u in R1). Case 1: one holder sends a wrong share; plain
Lagrange from t holders may then give a wrong number, which the commitment
check refuses, and the Reed-Solomon decoder of the library
(:func:`secagg.shamir.decode`, from all n shares) finds the liar, names it
and recovers the secret. Case 2: more holders lie than the decoder can
correct (floor((n - t)/2)); colluding liars can even make it return another
polynomial, and the commitment check refuses that answer instead of
accepting it (PROTOCOL.md §9).

The polynomial's coefficients are drawn small (1..9) on purpose, so that
every share is an ordinary whole number that can be plotted: with values
this small the field never wraps. Real splits draw them from the whole
field. Teaching code: its secret is a throw-away number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .. import shamir
from ..exceptions import DecodingError, SecAggError
from . import field
from .common import Rng, below

__all__ = ["MAX_HOLDERS", "Case", "beyond_bound", "check", "commitment", "honest", "one_liar"]

P = shamir.P
MAX_HOLDERS = 12


def commitment(secret: int) -> str:
    """The published commitment to a 1-byte secret (SHA-256, hex)."""
    return hashlib.sha256(b"secagg-teach/commit/" + bytes([secret])).hexdigest()


@dataclass(frozen=True)
class Case:
    """One decoding experiment.

    Attributes:
        t: the threshold.
        coeffs: the honest polynomial f, the secret first.
        sent: holder id -> the share it sent (a field element).
        liars: the holders whose share is not f(x).
        other: the polynomial the liars agreed on (case 2), or None.
        decoded: what :func:`secagg.shamir.decode` returned, None if it failed.
        named: the holders the decoder reported as wrong.
        error: the decoder's refusal, if it failed.
    """

    t: int
    coeffs: tuple[int, ...]
    sent: dict[int, int]
    liars: tuple[int, ...]
    other: tuple[int, ...] | None
    decoded: int | None
    named: tuple[int, ...]
    error: str | None

    @property
    def secret(self) -> int:
        """f(0)."""
        return self.coeffs[0]

    @property
    def n(self) -> int:
        """Number of holders."""
        return len(self.sent)

    @property
    def bound(self) -> int:
        """How many wrong shares the decoder corrects: floor((n - t) / 2)."""
        return (self.n - self.t) // 2

    @property
    def accepted(self) -> bool:
        """The decoded secret matches the published commitment."""
        return self.decoded is not None and commitment(self.decoded) == commitment(self.secret)


def _decode(
    t: int,
    coeffs: tuple[int, ...],
    sent: dict[int, int],
    liars: tuple[int, ...],
    other: tuple[int, ...] | None,
) -> Case:
    xs = sorted(sent)
    shares = [sent[x].to_bytes(8, "little") for x in xs]
    try:
        secret, named = shamir.decode(xs, shares, t, 1)
        return Case(t, coeffs, sent, liars, other, secret[0], named, None)
    except DecodingError as exc:
        return Case(t, coeffs, sent, liars, other, None, (), str(exc))


def check(secret: int, t: int, n: int) -> None:
    """Refuse a secret that is not one byte, or t, n where the decoder corrects nothing.

    Raises:
        SecAggError: the rule broken, with the values.
    """
    if not 0 <= secret <= 255:
        raise SecAggError(f"the secret must be a number 0..255 (one byte), got {secret}.")
    if t < 2 or n > MAX_HOLDERS or n < t + 2:
        raise SecAggError(
            f"need 2 <= t and t + 2 <= n <= {MAX_HOLDERS} so that the decoder can correct "
            f"at least one wrong share (floor((n - t)/2) >= 1), got t = {t}, n = {n}."
        )


def honest(secret: int, t: int, rng: Rng) -> tuple[int, ...]:
    """A polynomial with the secret and t - 1 small random coefficients (1..9)."""
    return (secret, *(1 + below(rng, 9) for _ in range(t - 1)))


def one_liar(coeffs: tuple[int, ...], n: int, liar: int, rng: Rng) -> Case:
    """Case 1: ``liar`` moves its share by a random 10-30 %; decode all n.

    Raises:
        SecAggError: ``liar`` is not a holder id.
    """
    if not 1 <= liar <= n:
        raise SecAggError(f"--liar {liar} is not a holder id 1..{n}.")
    sent = {x: field.evaluate(coeffs, x, P) for x in range(1, n + 1)}
    # Off by 10-30 % of the true value (at least 5), so the lie shows in a plot.
    size = sent[liar] // 10 + 5 + below(rng, sent[liar] // 5 + 1)
    sent[liar] = (sent[liar] + size * (1 if below(rng, 2) else -1)) % P
    return _decode(len(coeffs), coeffs, sent, (liar,), None)


def beyond_bound(coeffs: tuple[int, ...], n: int, first_liar: int) -> Case:
    """Case 2: more liars than the decoder corrects, colluding on another polynomial g.

    g = f + c·Π_{a∈A}(x - a) agrees with f on t - 1 honest holders A, and the
    liars send g's values: g then fits more than n - floor((n - t)/2) shares
    and the decoder, following its rules, returns g and blames honest holders.
    When no such g keeps g(0) a one-byte secret, the liars shift their shares
    by fixed offsets instead, and the decoder fails or the check refuses.
    """
    t = len(coeffs)
    bound = (n - t) // 2
    count = max(bound + 1, n - bound - (t - 1))
    others = [x for x in range(n, 0, -1) if x != first_liar]
    liars = tuple(sorted([first_liar, *others[: count - 1]]))
    agree = [x for x in range(1, n + 1) if x not in liars][: t - 1]
    sent = {x: field.evaluate(coeffs, x, P) for x in range(1, n + 1)}
    prod = [1]  # coefficients of Π (x - a)
    for a in agree:
        prod = [
            (prod[i - 1] if i else 0) - a * (prod[i] if i < len(prod) else 0)
            for i in range(len(prod) + 1)
        ]
    # The largest shift that keeps g(0) a one-byte secret and g >= 0 (visible in a plot).
    for c in (12, -12, 8, -8, 4, -4, 2, -2, 1, -1):
        other = tuple(f + c * q for f, q in zip(coeffs, prod, strict=True))
        values = [sum(v * x**i for i, v in enumerate(other)) for x in range(n + 1)]
        if 0 <= other[0] <= 255 and min(values) >= 0:
            for x in liars:
                sent[x] = field.evaluate([v % P for v in other], x, P)
            return _decode(t, coeffs, sent, liars, other)
    for i, x in enumerate(liars):
        sent[x] = (sent[x] + 7 * (i + 1)) % P
    return _decode(t, coeffs, sent, liars, None)

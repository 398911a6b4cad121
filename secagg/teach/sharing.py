"""The numbers behind the Shamir lesson, in a small field and in the real one.

:func:`split_small` shares a number in GF(p) for a small prime (97 by
default) and keeps every coefficient, so :func:`recover_small` can show each
Lagrange step and :func:`candidates` can show that t - 1 shares fit every
secret. :func:`split_text` shares a text with the library itself
(:mod:`secagg.shamir`, GF(2^61 - 1), the compiled core) and shows what its
share values are: one value per 7-byte chunk of the text.

Teaching code: every value here is a throw-away secret that the lessons
print on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import shamir
from ..exceptions import InvalidInputError
from . import field
from .common import Rng, below, byte_source

__all__ = [
    "Recovery",
    "SmallSharing",
    "TextSharing",
    "candidates",
    "chunk_value",
    "fitting_share",
    "guesses",
    "recover_small",
    "recover_text",
    "share_values",
    "split_small",
    "split_text",
]

MAX_HOLDERS = 20  # keeps printouts and pictures readable
N_GUESSES = 5  # candidate secrets written out (and drawn) for t - 1 shares


def _check_tn(t: int, n: int, limit: int) -> None:
    if t < 2:
        raise InvalidInputError(
            f"the threshold must be at least 2 (t = 1 hands every holder the secret), got t = {t}."
        )
    if not t <= n <= limit:
        raise InvalidInputError(f"need t <= n <= {limit} holders, got t = {t}, n = {n}.")


@dataclass(frozen=True)
class SmallSharing:
    """A number shared in GF(p): ``f(x) = coeffs[0] + coeffs[1]·x + ...``, holder x gets f(x).

    Attributes:
        p: the prime.
        coeffs: f's coefficients, the secret first (t of them).
        n: number of holders, ids 1..n.
    """

    p: int
    coeffs: tuple[int, ...]
    n: int

    @property
    def t(self) -> int:
        """The threshold: shares needed (f has degree t - 1)."""
        return len(self.coeffs)

    @property
    def secret(self) -> int:
        """f(0), the shared number."""
        return self.coeffs[0]

    @property
    def shares(self) -> dict[int, int]:
        """Holder id -> its share f(id)."""
        return {x: field.evaluate(self.coeffs, x, self.p) for x in range(1, self.n + 1)}


def split_small(
    secret: int,
    t: int,
    n: int,
    p: int = field.SMALL_PRIME,
    rng: Rng | None = None,
    seed: int | None = None,
) -> SmallSharing:
    """Share ``secret`` in GF(p) at threshold ``t`` among holders 1..n.

    Args:
        secret: the number to share, 0..p-1.
        t: the threshold (2..n).
        n: the number of holders (t..min(20, p - 1)).
        p: a prime (97 by default).
        rng: where the t - 1 random coefficients come from (default: the OS
            CSPRNG, or ``seed``).
        seed: derive the coefficients from this number instead (teaching only).

    Returns:
        The sharing, coefficients included.

    Raises:
        InvalidInputError: p not a prime, secret out of range, or bad t, n.
    """
    p = field.check_prime(p)
    _check_tn(t, n, min(MAX_HOLDERS, p - 1))
    if not 0 <= secret < p:
        raise InvalidInputError(
            f"the secret must be a number in 0..p-1 = 0..{p - 1}, got {secret}."
        )
    draw = rng or byte_source(seed, "shamir-small")
    return SmallSharing(p, (secret, *(below(draw, p) for _ in range(t - 1))), n)


@dataclass(frozen=True)
class Recovery:
    """Lagrange interpolation at 0 from chosen holders.

    Attributes:
        holders: the holder ids used.
        shares: their shares, in the same order.
        lambdas: the Lagrange coefficient of each holder at 0.
        secret: sum of lambda_j * share_j mod p.
    """

    holders: tuple[int, ...]
    shares: tuple[int, ...]
    lambdas: tuple[int, ...]
    secret: int


def recover_small(sharing: SmallSharing, holders: Sequence[int]) -> Recovery:
    """Rebuild the secret from exactly t chosen holders.

    Raises:
        InvalidInputError: not exactly t distinct holder ids of 1..n.
    """
    hs = tuple(holders)
    if len(hs) != sharing.t or len(set(hs)) != len(hs):
        raise InvalidInputError(
            f"recovery takes exactly t = {sharing.t} distinct holders, got {list(hs)}."
        )
    bad = [x for x in hs if not 1 <= x <= sharing.n]
    if bad:
        raise InvalidInputError(f"holders {bad} are not ids 1..{sharing.n}.")
    p = sharing.p
    ys = tuple(sharing.shares[x] for x in hs)
    lambdas = tuple(field.lagrange_at(hs, 0, p))
    secret = sum(lam * y for lam, y in zip(lambdas, ys, strict=True)) % p
    return Recovery(hs, ys, lambdas, secret)


def candidates(
    sharing: SmallSharing, known: Sequence[int], guesses: Sequence[int]
) -> list[tuple[int, tuple[int, ...]]]:
    """For each guessed secret, the one polynomial of degree t - 1 through it and t - 1 shares.

    Args:
        sharing: the sharing the shares come from.
        known: t - 1 distinct holder ids whose shares are known.
        guesses: candidate secrets (taken mod p).

    Returns:
        ``(guess, coefficients)`` per guess; each polynomial takes the value
        ``guess`` at 0 and the known shares at the known holders.

    Raises:
        InvalidInputError: ``known`` is not t - 1 distinct holder ids.
    """
    ks = tuple(known)
    if len(ks) != sharing.t - 1 or len(set(ks)) != len(ks):
        raise InvalidInputError(
            f"the lesson on t - 1 shares needs exactly t - 1 = {sharing.t - 1} distinct "
            f"holders, got {list(ks)}."
        )
    bad = [x for x in ks if not 1 <= x <= sharing.n]
    if bad:
        raise InvalidInputError(f"holders {bad} are not ids 1..{sharing.n}.")
    p = sharing.p
    points = [(x, sharing.shares[x]) for x in ks]
    return [(g % p, tuple(field.interpolate([(0, g % p), *points], p))) for g in guesses]


@dataclass(frozen=True)
class TextSharing:
    """A text shared by :func:`secagg.shamir.split` (GF(2^61 - 1)).

    Attributes:
        text: the secret bytes.
        t: the threshold.
        shares: holder x's share is ``shares[x - 1]`` (8 bytes per chunk).
    """

    text: bytes
    t: int
    shares: tuple[bytes, ...]

    @property
    def n(self) -> int:
        """Number of holders."""
        return len(self.shares)

    @property
    def chunks(self) -> list[bytes]:
        """The 7-byte pieces of the text; each is the constant term of one polynomial."""
        return [self.text[i : i + 7] for i in range(0, len(self.text), 7)]

    def values(self, x: int) -> list[int]:
        """Holder x's share as numbers: f_c(x) for each chunk c."""
        return share_values(self.shares[x - 1])


def share_values(share: bytes) -> list[int]:
    """The field elements of a share (8 bytes little-endian each)."""
    return [int.from_bytes(share[i : i + 8], "little") for i in range(0, len(share), 8)]


def chunk_value(chunk: bytes) -> int:
    """A chunk of text as the number the field sees (little-endian)."""
    return int.from_bytes(chunk, "little")


def split_text(text: bytes, t: int, n: int) -> TextSharing:
    """Share ``text`` with the library (fresh randomness from the OS CSPRNG).

    Raises:
        InvalidInputError: empty text or bad t, n.
    """
    if not text:
        raise InvalidInputError("the secret text must not be empty.")
    _check_tn(t, n, MAX_HOLDERS)
    return TextSharing(text, t, tuple(shamir.split([text], t, list(range(1, n + 1)))[0]))


def recover_text(sharing: TextSharing, holders: Sequence[int]) -> tuple[bytes, list[int]]:
    """The text rebuilt by the library from the chosen holders, and their Lagrange coefficients.

    Raises:
        InvalidInputError: not exactly t distinct holder ids.
    """
    hs = list(holders)
    if len(hs) != sharing.t or len(set(hs)) != len(hs):
        raise InvalidInputError(
            f"recovery takes exactly t = {sharing.t} distinct holders, got {hs}."
        )
    got = shamir.reconstruct(hs, [sharing.shares[x - 1] for x in hs], sharing.t, len(sharing.text))
    return got, shamir.lagrange_at_zero(hs)


def fitting_share(sharing: TextSharing, known: Sequence[int], extra: int, decoy: bytes) -> bytes:
    """The share for holder ``extra`` that makes t - 1 known shares 'reconstruct' ``decoy``.

    Solves ``decoy_chunk = sum(l_j * y_j) + l_extra * z`` for z, chunk by chunk.

    Raises:
        InvalidInputError: ``decoy`` has another length than the secret (the
            shares fix the length: Shamir hides the value, not the size), or
            the holders are not t - 1 known ones plus one other.
    """
    if len(decoy) != len(sharing.text):
        raise InvalidInputError(
            f"the decoy is {len(decoy)} bytes but the secret is {len(sharing.text)}: "
            "reconstruction is told the length, so a decoy must have the same length."
        )
    hs = [*known, extra]
    if len(hs) != sharing.t or len(set(hs)) != len(hs):
        raise InvalidInputError(
            f"need t - 1 = {sharing.t - 1} known holders and one other, got {list(known)} "
            f"and {extra}."
        )
    p = shamir.P
    lam = shamir.lagrange_at_zero(hs)
    known_values = [sharing.values(x) for x in known]
    inv_last = field.inverse(lam[-1], p)
    targets = [chunk_value(c) for c in (decoy[i : i + 7] for i in range(0, len(decoy), 7))]
    out = []
    for c, target in enumerate(targets):
        partial = sum(lam[j] * known_values[j][c] for j in range(len(known)))
        out.append((target - partial) * inv_last % p)
    return b"".join(v.to_bytes(8, "little") for v in out)


def guesses(sharing: SmallSharing, count: int = N_GUESSES) -> list[int]:
    """Candidate secrets to show: spread over 0..p-1, the true one among them."""
    p = sharing.p
    spread = [round(i * (p - 1) / (count - 1)) for i in range(count)] if count > 1 else [0]
    if sharing.secret not in spread:
        spread[len(spread) // 2] = sharing.secret
    return sorted(set(spread))

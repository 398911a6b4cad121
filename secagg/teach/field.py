"""Arithmetic in a prime field GF(p), written out so that a student can follow it.

Pure Python and any prime p: the teaching commands use p = 97, small enough
to redo every step by hand, and the same functions work for the real field
p = 2^61 - 1 (the tests check them against the compiled core there). Nothing
here is constant-time: it only ever handles throw-away teaching values.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import InvalidInputError

__all__ = [
    "SMALL_PRIME",
    "check_prime",
    "evaluate",
    "interpolate",
    "inverse",
    "is_prime",
    "lagrange_at",
    "poly_text",
    "signed",
]

SMALL_PRIME = 97
"""The default small prime: two-digit numbers, and 97 candidate secrets."""

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def is_prime(p: int) -> bool:
    """True when ``p`` is a prime (deterministic Miller-Rabin, exact below 3.3 * 10^24)."""
    if p < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    if p in small:
        return True
    if any(p % q == 0 for q in small):
        return False
    d, r = p - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in small:
        x = pow(a, d, p)
        if x in (1, p - 1):
            continue
        for _ in range(r - 1):
            x = x * x % p
            if x == p - 1:
                break
        else:
            return False
    return True


def check_prime(p: object, lowest: int = 3) -> int:
    """``p`` as an int if it is a prime of at least ``lowest``.

    Raises:
        InvalidInputError: ``p`` is not an integer, too small, or not prime.
    """
    if isinstance(p, bool) or not isinstance(p, int):
        raise InvalidInputError(f"the field size p must be an integer, got {p!r}.")
    if p < lowest or not is_prime(p):
        raise InvalidInputError(
            f"the field size p must be a prime of at least {lowest} (so that every "
            f"nonzero number has an inverse), got p = {p}."
        )
    return p


def inverse(a: int, p: int) -> int:
    """The ``b`` in 1..p-1 with ``a * b = 1 (mod p)``, by Fermat: ``a^(p-2)``.

    Raises:
        InvalidInputError: ``a`` is a multiple of ``p`` (0 has no inverse).
    """
    if a % p == 0:
        raise InvalidInputError(f"{a} is 0 mod {p}, and 0 has no inverse.")
    return pow(a, p - 2, p)


def evaluate(coeffs: Sequence[int], x: int, p: int) -> int:
    """``coeffs[0] + coeffs[1] * x + ... mod p`` (Horner's rule)."""
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % p
    return acc


def lagrange_at(xs: Sequence[int], at: int, p: int) -> list[int]:
    """Lagrange coefficients at ``at``: ``f(at) = sum(l_j * f(xs[j]))`` for degree < len(xs).

    ``l_j`` is the product over m != j of ``(at - x_m) / (x_j - x_m)`` mod p.

    Raises:
        InvalidInputError: no point, or two points equal mod p.
    """
    if not xs:
        raise InvalidInputError("Lagrange interpolation needs at least one point, got none.")
    if len({x % p for x in xs}) != len(xs):
        raise InvalidInputError(f"the points {list(xs)} must be distinct mod {p}.")
    out = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = num * (at - xm) % p
                den = den * (xj - xm) % p
        out.append(num * inverse(den, p) % p)
    return out


def interpolate(points: Sequence[tuple[int, int]], p: int) -> list[int]:
    """The coefficients (constant first) of the one polynomial of degree < len(points)
    through ``points`` mod p.

    Raises:
        InvalidInputError: no point, or two points with the same x mod p.
    """
    xs = [x for x, _ in points]
    lagrange_at(xs, 0, p)  # the same checks on the points
    coeffs = [0] * len(points)
    for j, (xj, yj) in enumerate(points):
        # basis_j(x) = prod_{m != j} (x - x_m) / (x_j - x_m), built one factor at a time.
        basis = [1]
        den = 1
        for m, xm in enumerate(xs):
            if m == j:
                continue
            basis = [
                ((basis[i - 1] if i else 0) - xm * (basis[i] if i < len(basis) else 0)) % p
                for i in range(len(basis) + 1)
            ]
            den = den * (xj - xm) % p
        scale = yj * inverse(den, p) % p
        coeffs = [(c + scale * b) % p for c, b in zip(coeffs, basis, strict=True)]
    return coeffs


def signed(value: int, p: int) -> int:
    """The representative of ``value`` mod p in -(p-1)/2..(p-1)/2 (for plots of small values)."""
    v = value % p
    return v - p if v > p // 2 else v


def poly_text(coeffs: Sequence[int], var: str = "x") -> str:
    """``[42, 17, 5]`` as ``"42 + 17·x + 5·x²"`` (terms with coefficient 0 left out)."""
    terms = []
    for i, c in enumerate(coeffs):
        if c == 0 and i > 0:
            continue
        if i == 0:
            terms.append(f"{c}")
        elif i == 1:
            terms.append(f"{c}·{var}")
        else:
            terms.append(f"{c}·{var}{str(i).translate(_SUPERSCRIPT)}")
    return " + ".join(terms)

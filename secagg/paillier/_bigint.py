"""Big-integer helpers for the Paillier path, on gmpy2.

Three things phe's API does not offer in the shape the packed path needs:

- integers drawn from the OS CSPRNG (or, in deterministic tests only, an
  injected byte source) and converted to ``mpz``;
- :class:`FixedBase`, a precomputed table for raising one fixed base to many
  different exponents (the encryption randomness ``h_N^alpha``): each
  exponentiation then costs one multiplication per ``window``-bit digit and no
  squarings;
- :func:`multi_pow`, the product of many bases each raised to its own short
  exponent (Pippenger's bucket method), which is what verifying a batched
  proof costs.

Exponents are non-negative ``int`` or ``mpz``; results are ``mpz``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ..exceptions import InvalidInputError

try:
    import gmpy2
    from gmpy2 import mpz
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "secagg.paillier needs gmpy2 and phe; install them with: pip install 'secagg[paillier]'"
    ) from exc

__all__ = [
    "RandomBytes",
    "mpz",
    "gmpy2",
    "draw",
    "random_bits",
    "random_below",
    "random_unit",
    "to_bytes",
    "FixedBase",
    "multi_pow",
]

#: A source of random bytes: ``rng(k)`` returns k bytes. None means os.urandom.
RandomBytes = Callable[[int], bytes]


def draw(rng: RandomBytes | None, size: int) -> bytes:
    """``size`` bytes from ``rng`` (default: the OS CSPRNG), length-checked."""
    if rng is None:
        return os.urandom(size)
    out = rng(size)
    if not isinstance(out, (bytes, bytearray)) or len(out) != size:
        got = len(out) if isinstance(out, (bytes, bytearray)) else type(out).__name__
        raise InvalidInputError(f"the injected rng must return {size} bytes, got {got}.")
    return bytes(out)


def random_bits(bits: int, rng: RandomBytes | None = None) -> mpz:
    """A uniform integer in [0, 2^bits)."""
    if bits <= 0:
        return mpz(0)
    nbytes = (bits + 7) // 8
    value = int.from_bytes(draw(rng, nbytes), "big") >> (8 * nbytes - bits)
    return mpz(value)


def random_below(bound: int | mpz, rng: RandomBytes | None = None) -> mpz:
    """A uniform integer in [0, bound), by rejection (no modular bias)."""
    if bound <= 0:
        raise InvalidInputError(f"the bound of a random draw must be positive, got {bound}.")
    bits = int(bound - 1).bit_length()
    while True:
        value = random_bits(bits, rng)
        if value < bound:
            return value


def random_unit(modulus: int | mpz, rng: RandomBytes | None = None) -> mpz:
    """A uniform element of Z*_modulus (non-zero and coprime to the modulus)."""
    while True:
        value = random_below(modulus, rng)
        if value and gmpy2.gcd(value, modulus) == 1:
            return value


def to_bytes(value: int | mpz, size: int, what: str) -> bytes:
    """``value`` as ``size`` big-endian bytes; InvalidInputError if it does not fit."""
    v = int(value)
    if v < 0 or v.bit_length() > 8 * size:
        raise InvalidInputError(f"{what} does not fit in {size} bytes.")
    return v.to_bytes(size, "big")


class FixedBase:
    """``base^e mod modulus`` for many exponents ``e < 2^max_bits``.

    The table holds ``base^(d * 2^(window*i))`` for every digit position i and
    digit d in 1..2^window - 1, so an exponentiation is one modular
    multiplication per non-zero digit: about ``max_bits / window`` of them
    instead of ``max_bits`` squarings plus the multiplications of a windowed
    square-and-multiply. Building it costs about as many multiplications as
    the table has entries.

    Attributes:
        modulus: The modulus.
        max_bits: Largest exponent length the table covers.
        window: Bits per digit.
    """

    __slots__ = ("modulus", "max_bits", "window", "_rows")

    def __init__(self, base: int | mpz, modulus: int | mpz, max_bits: int, window: int = 6) -> None:
        """Precompute the table.

        Args:
            base: The fixed base.
            modulus: The modulus (odd, > 1).
            max_bits: Longest exponent that :meth:`pow` will accept.
            window: Digit size in bits (memory grows as 2^window / window).

        Raises:
            InvalidInputError: A non-positive ``max_bits`` or a window outside 1..10.
        """
        if max_bits <= 0 or not 1 <= window <= 10:
            raise InvalidInputError(
                f"a fixed-base table needs max_bits > 0 and a window in 1..10, got "
                f"max_bits = {max_bits}, window = {window}."
            )
        self.modulus = mpz(modulus)
        self.max_bits = int(max_bits)
        self.window = int(window)
        digits = -(-self.max_bits // self.window)
        size = 1 << self.window
        rows: list[list[mpz]] = []
        step = mpz(base) % self.modulus
        for _ in range(digits):
            row = [mpz(1), step]
            for _ in range(2, size):
                row.append(row[-1] * step % self.modulus)
            rows.append(row)
            step = row[-1] * step % self.modulus
        self._rows = rows

    def pow(self, exponent: int | mpz) -> mpz:
        """``base^exponent mod modulus``.

        Raises:
            InvalidInputError: A negative exponent or one longer than ``max_bits``.
        """
        e = mpz(exponent)
        if e < 0 or e.bit_length() > self.max_bits:
            raise InvalidInputError(
                f"a fixed-base exponent must lie in [0, 2^{self.max_bits}), got one of "
                f"{int(e).bit_length()} bits."
            )
        mask = (1 << self.window) - 1
        acc = mpz(1)
        modulus = self.modulus
        for row in self._rows:
            if not e:
                break
            digit = int(e & mask)
            if digit:
                acc = acc * row[digit] % modulus
            e >>= self.window
        return acc


def _bucket_window(count: int) -> int:
    # Pippenger's cost per window is count + 2^(c+1) multiplications for c
    # exponent bits; c near log2(count) - 2 balances the two terms.
    c = max(1, count.bit_length() - 3)
    return min(c, 12)


def multi_pow(
    bases: Sequence[int | mpz], exponents: Sequence[int | mpz], modulus: int | mpz
) -> mpz:
    """``prod bases[i]^exponents[i] mod modulus`` by Pippenger's bucket method.

    Costs about ``ceil(L/c) * (len(bases) + 2^(c+1)) + L`` multiplications for
    exponents of L bits, against ``len(bases) * L`` squarings one by one.

    Raises:
        InvalidInputError: Lists of different lengths or a negative exponent.
    """
    if len(bases) != len(exponents):
        raise InvalidInputError(
            f"multi_pow needs one exponent per base, got {len(bases)} bases and "
            f"{len(exponents)} exponents."
        )
    mod = mpz(modulus)
    exps = [mpz(e) for e in exponents]
    if any(e < 0 for e in exps):
        raise InvalidInputError("multi_pow exponents must be non-negative.")
    bits = max((int(e).bit_length() for e in exps), default=0)
    if bits == 0:
        return mpz(1) % mod
    c = _bucket_window(len(bases))
    mask = (1 << c) - 1
    result = mpz(1)
    for position in reversed(range(-(-bits // c))):
        if result != 1:
            for _ in range(c):
                result = result * result % mod
        buckets: list[mpz | None] = [None] * (1 << c)
        shift = position * c
        for base, e in zip(bases, exps, strict=True):
            digit = int((e >> shift) & mask)
            if digit:
                held = buckets[digit]
                buckets[digit] = mpz(base) % mod if held is None else held * base % mod
        # sum over d of bucket[d]^d, as a running product of suffix products.
        running: mpz | None = None
        total: mpz | None = None
        for digit in range(mask, 0, -1):
            held = buckets[digit]
            if held is not None:
                running = held if running is None else running * held % mod
            if running is not None:
                total = running if total is None else total * running % mod
        if total is not None:
            result = result * total % mod
    return result

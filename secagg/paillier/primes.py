"""Safe primes p = 2p' + 1 for Paillier moduli: a sieve and Miller-Rabin on gmpy2.

Generation draws a random odd p' with the top bits set (so that two such
primes multiply to a modulus of exactly twice their length), then sieves a
window of candidates p' + 6j at once with numpy: a candidate survives when
neither p' nor 2p' + 1 has a prime factor below 2^16. Survivors get a base-2
Fermat test on p and p' (cheap, rejects almost every composite) and then
:data:`MR_ROUNDS` rounds of Miller-Rabin with random bases on both p' and p.

Why p' = 5 mod 6: p' must be odd, and p' = 1 mod 3 makes 2p' + 1 divisible
by 3, so the only residue left mod 6 is 5.
"""

from __future__ import annotations

import functools

import numpy as np

from ..exceptions import InvalidInputError
from ._bigint import RandomBytes, gmpy2, mpz, random_below, random_bits

__all__ = [
    "MR_ROUNDS",
    "miller_rabin",
    "is_probable_prime",
    "is_safe_prime",
    "generate_safe_prime",
]

#: Miller-Rabin rounds with random bases: a composite passes all of them with
#: probability at most 4^-40 = 2^-80, whatever the candidate.
MR_ROUNDS = 40
_SIEVE_LIMIT = 1 << 16
_WINDOW = 1 << 14


@functools.cache
def _small_primes() -> tuple[int, ...]:
    flags = np.ones(_SIEVE_LIMIT, dtype=bool)
    flags[:2] = False
    for i in range(2, int(_SIEVE_LIMIT**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = False
    return tuple(int(p) for p in np.flatnonzero(flags))


def miller_rabin(n: int | mpz, rounds: int = MR_ROUNDS, rng: RandomBytes | None = None) -> bool:
    """Miller-Rabin with ``rounds`` bases drawn uniformly from [2, n - 2].

    Args:
        n: An odd integer > 3.
        rounds: Number of random bases.
        rng: Source of the bases (default: the OS CSPRNG).

    Returns:
        False if some base witnesses that n is composite, else True.
    """
    n = mpz(n)
    d, s = n - 1, 0
    while not d & 1:
        d >>= 1
        s += 1
    for _ in range(rounds):
        a = random_below(n - 3, rng) + 2
        x = gmpy2.powmod(a, d, n)
        if x == 1 or x == n - 1:
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def is_probable_prime(n: int | mpz, rng: RandomBytes | None = None) -> bool:
    """Trial division by the primes below 2^16, then :func:`miller_rabin`."""
    n = mpz(n)
    if n < 2:
        return False
    for p in _small_primes():
        if n == p:
            return True
        if n % p == 0:
            return False
    return miller_rabin(n, MR_ROUNDS, rng)


def is_safe_prime(p: int | mpz, rng: RandomBytes | None = None) -> bool:
    """Whether p and p' = (p - 1) / 2 are both (probable) primes."""
    p = mpz(p)
    if p < 7 or not p & 1:
        return False
    return is_probable_prime((p - 1) // 2, rng) and is_probable_prime(p, rng)


def _sieve(start: mpz) -> np.ndarray:
    """Offsets j in [0, _WINDOW) with no small factor in q = start + 6j nor 2q + 1."""
    alive = np.ones(_WINDOW, dtype=bool)
    for p in _small_primes()[2:]:  # 2 and 3 are excluded by q = 5 mod 6
        inv6 = pow(6, -1, p)
        r = int(start % p)
        # q = 0 mod p, and 2q + 1 = 0 mod p (q = (p - 1) / 2 mod p).
        alive[((-r) * inv6) % p :: p] = False
        alive[(((p - 1) // 2 - r) * inv6) % p :: p] = False
    return np.flatnonzero(alive)


def generate_safe_prime(bits: int, rng: RandomBytes | None = None) -> mpz:
    """A random safe prime p = 2p' + 1 of exactly ``bits`` bits, top two bits set.

    Args:
        bits: Length of p; at least 64.
        rng: Source of randomness (default: the OS CSPRNG); inject only in tests.

    Returns:
        p, with p and p' each passing :data:`MR_ROUNDS` Miller-Rabin rounds.

    Raises:
        InvalidInputError: ``bits`` below 64.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 64:
        raise InvalidInputError(f"a safe prime needs at least 64 bits, got {bits!r}.")
    top = mpz(3) << (bits - 3)  # p' >= 3 * 2^(bits-3), so p = 2p' + 1 has its top two bits set
    limit = mpz(1) << (bits - 1)
    while True:
        start = random_bits(bits - 1, rng) | top
        start -= (start - 5) % 6
        if start < top:
            start += 6
        for j in _sieve(start):
            q = start + 6 * int(j)
            if q >= limit:
                break
            p = 2 * q + 1
            if gmpy2.powmod(2, p - 1, p) != 1 or gmpy2.powmod(2, q - 1, q) != 1:
                continue
            if miller_rabin(q, MR_ROUNDS, rng) and miller_rabin(p, MR_ROUNDS, rng):
                return p

"""Paillier keys on safe primes: generation, the public key's encoding and fingerprint.

The modulus is N = pq with safe primes p = 2p' + 1, q = 2q' + 1 of equal
length, and g = N + 1 (so g^m = 1 + mN mod N^2, as in phe). The public key
also carries one fixed base h_N = h^N mod N^2 with h = -x^2 mod N for a
random x, checked to generate J_N, the group of units of Jacobi symbol 1
(cyclic of order 2p'q' for safe primes). Encryption randomness is
r^N = h_N^alpha with alpha uniform in [0, 2^(|N| + 128)): alpha mod 2p'q' is
then within statistical distance 2^-128 of uniform, so r is uniform in J_N
up to that distance, and security follows from the decisional composite
residuosity assumption (docs/paillier.md, "Encryption"). A table for the
fixed base makes each encryption about six times cheaper than a fresh r^N.

Size policy: N has at least :data:`MIN_MODULUS_BITS` bits unless
``insecure_testing=True`` is passed, which allows down to
:data:`MIN_TESTING_BITS` (tests only; the challenge length of the proofs
also needs the primes well above 2^128).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import InvalidInputError, MalformedMessageError
from . import wire
from ._bigint import FixedBase, RandomBytes, gmpy2, mpz, random_unit, to_bytes

try:
    import phe
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "secagg.paillier needs phe and gmpy2; install them with: pip install 'secagg[paillier]'"
    ) from exc
from .primes import generate_safe_prime, is_safe_prime

__all__ = [
    "MIN_MODULUS_BITS",
    "MIN_TESTING_BITS",
    "STATISTICAL_BITS",
    "CHALLENGE_BITS",
    "COUNT_BITS",
    "FINGERPRINT_LABEL",
    "check_modulus_bits",
    "check_primes",
    "PublicKey",
    "PrivateKey",
    "generate_keypair",
    "fixed_base_for",
    "randomness_base",
]

MIN_MODULUS_BITS = 2048
MIN_TESTING_BITS = 512
#: Statistical hiding margin (encryption randomness, proof masks).
STATISTICAL_BITS = 128
#: Length of every proof challenge; must stay below the bit length of p' and q'.
CHALLENGE_BITS = 128
#: Ciphertexts per bundle are counted in 32 bits, which bounds the proof's sums.
COUNT_BITS = 32
FINGERPRINT_LABEL = b"secagg/paillier/v1/pk"


def check_modulus_bits(bits: int, insecure_testing: bool) -> None:
    """Refuse a modulus below the size policy.

    Raises:
        InvalidInputError: ``bits`` < 2048 without ``insecure_testing``, or
            < 512 at all.
    """
    floor = MIN_TESTING_BITS if insecure_testing else MIN_MODULUS_BITS
    if bits < floor:
        hint = (
            " (keys below 2048 bits are for tests only: pass insecure_testing=True)"
            if not insecure_testing and bits >= MIN_TESTING_BITS
            else ""
        )
        raise InvalidInputError(
            f"a Paillier modulus needs at least {floor} bits, got {bits}{hint}."
        )


@dataclass(frozen=True)
class PublicKey:
    """A Paillier public key: the modulus N and the fixed randomness base h_N.

    Attributes:
        n: The modulus N (odd, of at least 2048 bits by default).
        h_n: h^N mod N^2 for a generator h of J_N.
        insecure_testing: Whether a modulus below 2048 bits was allowed (tests).
        n_square: N^2.
        bits: Bit length of N.
        nbytes: Byte length L of N in encodings.
        fingerprint: SHA-256("secagg/paillier/v1/pk" || encoding), what clients sign.
    """

    n: mpz
    h_n: mpz
    insecure_testing: bool = field(default=False, compare=False)
    n_square: mpz = field(init=False, repr=False, compare=False)
    bits: int = field(init=False, repr=False, compare=False)
    nbytes: int = field(init=False, repr=False, compare=False)
    fingerprint: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n, h_n = mpz(self.n), mpz(self.h_n)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "h_n", h_n)
        bits = int(n.bit_length())
        check_modulus_bits(bits, self.insecure_testing)
        if not n & 1:
            raise InvalidInputError("a Paillier modulus must be odd.")
        n_square = n * n
        if not 0 < h_n < n_square or gmpy2.gcd(h_n, n) != 1:
            raise InvalidInputError("the randomness base h_N must be a unit modulo N^2.")
        object.__setattr__(self, "n_square", n_square)
        object.__setattr__(self, "bits", bits)
        object.__setattr__(self, "nbytes", (bits + 7) // 8)
        digest = hashlib.sha256(FINGERPRINT_LABEL + self.to_bytes()).digest()
        object.__setattr__(self, "fingerprint", digest)

    @property
    def encryption_key(self) -> PublicKey:
        """The key clients encrypt under (this key itself)."""
        return self

    @property
    def randomness_bits(self) -> int:
        """Length of the encryption exponent alpha: |N| + 128."""
        return self.bits + STATISTICAL_BITS

    @property
    def proof_mask_bits(self) -> int:
        """Length of the proof's mask y, which hides sum_i e_i alpha_i with 128 bits to spare."""
        return self.randomness_bits + CHALLENGE_BITS + COUNT_BITS + STATISTICAL_BITS

    def to_bytes(self) -> bytes:
        """``SAPL`` 1 1 || u16 L || N (L bytes) || h_N (2L bytes)."""
        size = self.nbytes
        return (
            wire.header(wire.TYPE_PUBLIC_KEY)
            + size.to_bytes(2, "big")
            + to_bytes(self.n, size, "N")
            + to_bytes(self.h_n, 2 * size, "h_N")
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, insecure_testing: bool = False) -> PublicKey:
        """Decode :meth:`to_bytes`.

        Args:
            data: The encoding.
            insecure_testing: Allow a modulus below 2048 bits (tests only).

        Raises:
            MalformedMessageError: Wrong length or header, N not using all L
                bytes, or a value out of range.
            InvalidInputError: A modulus below the size policy.
        """
        reader = wire.Reader(data, wire.TYPE_PUBLIC_KEY)
        size = reader.modulus_bytes()
        n = reader.integer(size, "N")
        h_n = reader.integer(2 * size, "h_N")
        reader.done()
        if n.bit_length() <= 8 * (size - 1):
            raise MalformedMessageError(f"the modulus does not fill its {size} declared bytes.")
        check_modulus_bits(int(n.bit_length()), insecure_testing)
        try:
            return cls(n, h_n, insecure_testing=insecure_testing)
        except InvalidInputError as exc:
            raise MalformedMessageError(f"invalid public key: {exc}") from exc

    def to_phe(self) -> Any:
        """The same key as a ``phe.PaillierPublicKey`` (g = N + 1)."""
        return phe.PaillierPublicKey(int(self.n))


def fixed_base_for(public_key: PublicKey, window: int = 6) -> FixedBase:
    """A :class:`~secagg.paillier._bigint.FixedBase` table of h_N for this key.

    It covers exponents up to the proof's response length, so one table serves
    encryption, the proof's commitment and its verification.
    """
    return FixedBase(public_key.h_n, public_key.n_square, public_key.proof_mask_bits + 1, window)


def randomness_base(p: mpz, q: mpz, rng: RandomBytes | None = None) -> mpz:
    """h_N = h^N mod N^2 for h = -x^2 mod N of order 2p'q' (a generator of J_N).

    Only the holder of the factorisation can check the order, so only the key
    holder or the dealer calls this.
    """
    n = p * q
    pp, qq = (p - 1) // 2, (q - 1) // 2
    while True:
        x = random_unit(n, rng)
        h = (-x * x) % n
        # The order divides 2p'q' and is even (h^(p'q') = -1); check p' and q' divide it.
        if gmpy2.powmod(h, 2 * pp, n) != 1 and gmpy2.powmod(h, 2 * qq, n) != 1:
            return gmpy2.powmod(h, n, n * n)


def check_primes(p: int | mpz, q: int | mpz, rng: RandomBytes | None = None) -> tuple[mpz, mpz]:
    """Validate a pair of safe primes for a modulus; return them as mpz.

    Raises:
        InvalidInputError: Equal primes, different lengths or a non-safe prime.
    """
    p, q = mpz(p), mpz(q)
    if p == q:
        raise InvalidInputError("p and q must be different primes.")
    if p.bit_length() != q.bit_length():
        raise InvalidInputError(
            f"p and q must have the same length, got {p.bit_length()} and {q.bit_length()} bits."
        )
    for name, value in (("p", p), ("q", q)):
        if not is_safe_prime(value, rng):
            raise InvalidInputError(f"{name} is not a safe prime (both it and ({name}-1)/2 prime).")
    return p, q


class PrivateKey:
    """A Paillier private key (the factorisation of N) with its public key.

    Decryption goes through phe's ``PaillierPrivateKey.raw_decrypt`` (CRT
    with gmpy2's powmod). The object refuses to be pickled and its repr
    shows no secret.

    Attributes:
        public_key: The matching :class:`PublicKey`.
    """

    __slots__ = ("public_key", "_phe")

    def __init__(self, public_key: PublicKey, p: mpz, q: mpz) -> None:
        """Use :meth:`from_primes` or :func:`generate_keypair`."""
        self.public_key = public_key
        self._phe = phe.PaillierPrivateKey(public_key.to_phe(), int(p), int(q))

    @classmethod
    def from_primes(
        cls,
        p: int | mpz,
        q: int | mpz,
        *,
        rng: RandomBytes | None = None,
        insecure_testing: bool = False,
    ) -> PrivateKey:
        """The key of N = pq, with a fresh randomness base h_N.

        Args:
            p: A safe prime.
            q: Another safe prime of the same length.
            rng: Source of randomness (default: the OS CSPRNG); tests only.
            insecure_testing: Allow N below 2048 bits (tests only).

        Raises:
            InvalidInputError: The primes fail :func:`check_primes` or N is
                below the size policy.
        """
        p, q = check_primes(p, q, rng)
        n = p * q
        check_modulus_bits(int(n.bit_length()), insecure_testing)
        h_n = randomness_base(p, q, rng)
        return cls(PublicKey(n, h_n, insecure_testing=insecure_testing), p, q)

    def __repr__(self) -> str:
        return f"PrivateKey(bits={self.public_key.bits})"

    def __getstate__(self) -> object:
        raise TypeError("a Paillier PrivateKey holds the factorisation of N and cannot be pickled.")

    def to_phe(self) -> Any:
        """The same key as phe's ``PaillierPrivateKey`` (for the one-per-value baseline)."""
        return self._phe

    def decrypt(self, ciphertext: int | mpz) -> mpz:
        """The plaintext in [0, N) of a ciphertext in Z*_{N^2}.

        Raises:
            InvalidInputError: The ciphertext is not a unit modulo N^2.
        """
        c = mpz(ciphertext)
        pk = self.public_key
        if not 0 < c < pk.n_square or gmpy2.gcd(c, pk.n) != 1:
            raise InvalidInputError("a ciphertext must be a unit modulo N^2.")
        return mpz(self._phe.raw_decrypt(int(c)))


def generate_keypair(
    bits: int = MIN_MODULUS_BITS,
    *,
    rng: RandomBytes | None = None,
    insecure_testing: bool = False,
) -> PrivateKey:
    """A fresh key pair with N of exactly ``bits`` bits on two safe primes.

    Args:
        bits: Length of N, even; 2048 or more unless ``insecure_testing``.
        rng: Source of randomness (default: the OS CSPRNG); tests only.
        insecure_testing: Allow N below 2048 bits (tests only).

    Raises:
        InvalidInputError: An odd or too small ``bits``.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or bits % 2:
        raise InvalidInputError(f"the modulus length must be an even integer, got {bits!r}.")
    check_modulus_bits(bits, insecure_testing)
    p = generate_safe_prime(bits // 2, rng)
    while True:
        q = generate_safe_prime(bits // 2, rng)
        if q != p:
            break
    return PrivateKey.from_primes(p, q, rng=rng, insecure_testing=insecure_testing)

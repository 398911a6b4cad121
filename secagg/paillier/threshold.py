"""Threshold Paillier (Damgard-Jurik with s = 1, Shoup-style) with a trusted dealer.

Dealing (:func:`deal`): safe primes p = 2p' + 1, q = 2q' + 1 of equal length,
N = pq, m = p'q'. The secret d satisfies d = 0 mod m and d = 1 mod N; it is
shared with a random polynomial f of degree t - 1 over Z_{N m}, f(0) = d, and
holder i gets s_i = f(i). With Delta = w!, a random square v generating the
squares of Z*_{N^2} (order N m) and v_i = v^(Delta s_i), the public key is
(N, h_N, t, w, v, v_1..v_w). The dealer keeps no reference to p, q or m once
it returns (in Python that is all "erase" can mean: the integers are not
overwritten, as docs/security.md says of every secret).

Decryption share of holder i for c: c_i = c^(2 Delta s_i). For a set S of t
holders, lambda_i = Delta * prod_{j in S, j != i} j / (j - i) is an integer and

    prod c_i^(2 lambda_i) = c^(4 Delta^2 d) = 1 + 4 Delta^2 M N  (mod N^2)

so M = L(.) * (4 Delta^2)^-1 mod N. A share comes with a proof that it is
correct (:mod:`secagg.paillier.proofs`); the combiner verifies every proof,
names and drops a bad share, and needs t good ones.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..exceptions import InvalidInputError, MalformedMessageError
from . import wire
from ._bigint import RandomBytes, gmpy2, mpz, random_below, random_unit, to_bytes
from .keys import (
    FINGERPRINT_LABEL,
    MIN_MODULUS_BITS,
    PublicKey,
    check_modulus_bits,
    check_primes,
    randomness_base,
)
from .messages import DecryptionShare
from .primes import generate_safe_prime
from .proofs import share_context, verify_share

__all__ = [
    "MAX_HOLDERS",
    "ThresholdPublicKey",
    "KeyShare",
    "deal",
    "deal_from_primes",
    "lagrange_at_zero",
    "share_problem",
    "combine_plaintexts",
]

MAX_HOLDERS = 64


@dataclass(frozen=True)
class ThresholdPublicKey:
    """The committee's public key.

    Attributes:
        key: The Paillier key clients encrypt under (N, h_N).
        threshold: t, shares needed to decrypt.
        holders: w, committee size.
        v: The verification base, a generator of the squares mod N^2.
        verification_keys: v_1..v_w, v_i = v^(Delta s_i) mod N^2.
        delta: w!.
        secret_bits: A public bound on the bit length of Delta * s_i.
        fingerprint: SHA-256 of the label and this key's encoding.
    """

    key: PublicKey
    threshold: int
    holders: int
    v: mpz
    verification_keys: tuple[mpz, ...]
    delta: int = field(init=False, repr=False)
    secret_bits: int = field(init=False, repr=False)
    fingerprint: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_committee(self.holders, self.threshold)
        if len(self.verification_keys) != self.holders:
            raise InvalidInputError(
                f"{self.holders} holders need {self.holders} verification keys, got "
                f"{len(self.verification_keys)}."
            )
        pk = self.key
        for value in (self.v, *self.verification_keys):
            if not 0 < value < pk.n_square or gmpy2.gcd(value, pk.n) != 1:
                raise InvalidInputError("v and every v_i must be units modulo N^2.")
        delta = math.factorial(self.holders)
        object.__setattr__(self, "delta", delta)
        # s_i < N m < N^2 / 4, so Delta s_i < Delta N^2.
        object.__setattr__(self, "secret_bits", int((delta * pk.n_square).bit_length()))
        digest = hashlib.sha256(FINGERPRINT_LABEL + self.to_bytes()).digest()
        object.__setattr__(self, "fingerprint", digest)

    @property
    def encryption_key(self) -> PublicKey:
        """The key clients encrypt under."""
        return self.key

    def to_bytes(self) -> bytes:
        """header || u16 L || N || h_N || u8 t || u8 w || v || v_1..v_w (2L bytes each)."""
        size = self.key.nbytes
        return (
            wire.header(wire.TYPE_THRESHOLD_KEY)
            + size.to_bytes(2, "big")
            + to_bytes(self.key.n, size, "N")
            + to_bytes(self.key.h_n, 2 * size, "h_N")
            + bytes([self.threshold, self.holders])
            + b"".join(to_bytes(x, 2 * size, "v") for x in (self.v, *self.verification_keys))
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, insecure_testing: bool = False) -> ThresholdPublicKey:
        """Decode :meth:`to_bytes`.

        Raises:
            MalformedMessageError: A structural error or an invalid value.
            InvalidInputError: A modulus below the size policy.
        """
        r = wire.Reader(data, wire.TYPE_THRESHOLD_KEY)
        size = r.modulus_bytes()
        n = r.integer(size, "N")
        h_n = r.integer(2 * size, "h_N")
        t, w = r.u8("threshold"), r.u8("holders")
        v = r.integer(2 * size, "v")
        vks = tuple(r.integer(2 * size, "verification key") for _ in range(w))
        r.done()
        if n.bit_length() <= 8 * (size - 1):
            raise MalformedMessageError(f"the modulus does not fill its {size} declared bytes.")
        check_modulus_bits(int(n.bit_length()), insecure_testing)
        try:
            key = PublicKey(n, h_n, insecure_testing=insecure_testing)
            return cls(key, t, w, v, vks)
        except InvalidInputError as exc:
            raise MalformedMessageError(f"invalid threshold public key: {exc}") from exc


class KeyShare:
    """One holder's secret share s_i, with the committee's public key.

    Its repr shows no secret and it refuses to be pickled.

    Attributes:
        index: i in 1..w.
        public_key: The :class:`ThresholdPublicKey`.
    """

    __slots__ = ("index", "public_key", "_secret")

    def __init__(self, index: int, secret: mpz, public_key: ThresholdPublicKey) -> None:
        """Use :func:`deal`."""
        self.index = index
        self.public_key = public_key
        self._secret = mpz(secret)

    def __repr__(self) -> str:
        return f"KeyShare(index={self.index}, holders={self.public_key.holders})"

    def __getstate__(self) -> object:
        raise TypeError("a KeyShare holds a secret share and cannot be pickled.")

    @property
    def proof_exponent(self) -> mpz:
        """Delta * s_i, the discrete log of v_i to the base v."""
        return self.public_key.delta * self._secret

    def decrypt_share(self, ciphertext: mpz) -> mpz:
        """c^(2 Delta s_i) mod N^2."""
        n_square = self.public_key.key.n_square
        return gmpy2.powmod(ciphertext, 2 * self.proof_exponent, n_square)


def _check_committee(holders: object, threshold: object) -> None:
    if isinstance(holders, bool) or not isinstance(holders, int) or not 1 <= holders <= MAX_HOLDERS:
        raise InvalidInputError(f"a committee has 1..{MAX_HOLDERS} holders, got {holders!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not threshold <= holders:
        raise InvalidInputError(
            f"the threshold t must be an integer of at most w = {holders}, got {threshold!r}."
        )
    if 2 * threshold <= holders:
        raise InvalidInputError(
            f"t = {threshold} of w = {holders} lets two disjoint groups of t holders each "
            f"decrypt a different aggregate in one session; t must exceed w / 2."
        )


def deal_from_primes(
    p: int | mpz,
    q: int | mpz,
    *,
    holders: int,
    threshold: int,
    rng: RandomBytes | None = None,
    insecure_testing: bool = False,
) -> tuple[ThresholdPublicKey, list[KeyShare]]:
    """Deal a t-of-w committee key on given safe primes (tests, or a dealer's own primes).

    Args:
        p: A safe prime.
        q: Another safe prime of the same length.
        holders: w.
        threshold: t, with w / 2 < t <= w.
        rng: Source of randomness (default: the OS CSPRNG); tests only.
        insecure_testing: Allow N below 2048 bits (tests only).

    Returns:
        The public key and the w shares, share i - 1 for holder i.

    Raises:
        InvalidInputError: Bad primes, size or committee parameters.
    """
    _check_committee(holders, threshold)
    p, q = check_primes(p, q, rng)
    n = p * q
    check_modulus_bits(int(n.bit_length()), insecure_testing)
    n_square = n * n
    m = ((p - 1) // 2) * ((q - 1) // 2)
    modulus = n * m
    d = m * gmpy2.invert(m, n)  # d = 0 mod m, d = 1 mod N
    coefficients = [d] + [random_below(modulus, rng) for _ in range(threshold - 1)]
    values = []
    for i in range(1, holders + 1):
        value = mpz(0)
        for a in reversed(coefficients):
            value = (value * i + a) % modulus
        values.append(value)
    # v: a square that generates the squares of Z*_{N^2}, cyclic of order N m.
    order = n * m
    factors = (p, q, (p - 1) // 2, (q - 1) // 2)
    while True:
        r = random_unit(n_square, rng)
        v = r * r % n_square
        if all(gmpy2.powmod(v, order // f, n_square) != 1 for f in factors):
            break
    h_n = randomness_base(p, q, rng)
    delta = math.factorial(holders)
    vks = tuple(gmpy2.powmod(v, delta * s, n_square) for s in values)
    public = ThresholdPublicKey(
        PublicKey(n, h_n, insecure_testing=insecure_testing), threshold, holders, v, vks
    )
    shares = [KeyShare(i, s, public) for i, s in enumerate(values, start=1)]
    del p, q, m, modulus, d, coefficients, values, r, factors, order
    return public, shares


def deal(
    bits: int = MIN_MODULUS_BITS,
    *,
    holders: int,
    threshold: int,
    rng: RandomBytes | None = None,
    insecure_testing: bool = False,
) -> tuple[ThresholdPublicKey, list[KeyShare]]:
    """Generate safe primes and deal a t-of-w committee key (trusted dealer).

    Args:
        bits: Length of N (even; 2048 or more unless ``insecure_testing``).
        holders: w.
        threshold: t, with w / 2 < t <= w.
        rng: Source of randomness (default: the OS CSPRNG); tests only.
        insecure_testing: Allow N below 2048 bits (tests only).

    Raises:
        InvalidInputError: Bad size or committee parameters.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or bits % 2:
        raise InvalidInputError(f"the modulus length must be an even integer, got {bits!r}.")
    check_modulus_bits(bits, insecure_testing)
    _check_committee(holders, threshold)
    p = generate_safe_prime(bits // 2, rng)
    q = p
    while q == p:
        q = generate_safe_prime(bits // 2, rng)
    return deal_from_primes(
        p, q, holders=holders, threshold=threshold, rng=rng, insecure_testing=insecure_testing
    )


def lagrange_at_zero(subset: Sequence[int], i: int, delta: int) -> int:
    """lambda_i = Delta * prod_{j in subset, j != i} j / (j - i), an integer.

    Raises:
        InvalidInputError: ``i`` not in ``subset``, or a repeated index.
    """
    if i not in subset or len(set(subset)) != len(subset):
        raise InvalidInputError(f"holder {i} must appear once in the subset {list(subset)}.")
    num, den = delta, 1
    for j in subset:
        if j != i:
            num *= j
            den *= j - i
    if num % den:
        raise InvalidInputError("Delta does not clear the Lagrange denominator (w too small).")
    return num // den


def share_problem(
    public_key: ThresholdPublicKey, ciphertexts: Sequence[mpz], share: DecryptionShare
) -> str | None:
    """Why a decryption share is unusable for these ciphertexts, or None.

    The session id and holder index are bound through the proof's context.
    """
    if not 1 <= share.holder <= public_key.holders:
        return f"holder index {share.holder} is outside 1..{public_key.holders}"
    if share.key_fingerprint != public_key.fingerprint:
        return "it was made for another committee key"
    if share.nbytes != public_key.key.nbytes:
        return f"its modulus length is {share.nbytes} bytes, not {public_key.key.nbytes}"
    pk = public_key.key
    return verify_share(
        n=pk.n,
        n_square=pk.n_square,
        nbytes=pk.nbytes,
        context=share_context(public_key.fingerprint, share.session_id, share.holder),
        v=public_key.v,
        verification_key=public_key.verification_keys[share.holder - 1],
        ciphertexts=ciphertexts,
        shares=share.shares,
        proof=share.proof,
        secret_bits=public_key.secret_bits,
    )


def combine_plaintexts(
    public_key: ThresholdPublicKey, shares: Mapping[int, Sequence[mpz]]
) -> list[mpz]:
    """Plaintexts from exactly t holders' shares (holder -> one share per ciphertext).

    Checks no proof: the caller passes only verified shares.

    Raises:
        InvalidInputError: Not exactly t holders, or share lists of different lengths.
    """
    subset = sorted(shares)
    if len(subset) != public_key.threshold:
        raise InvalidInputError(
            f"combining needs exactly t = {public_key.threshold} holders, got {len(subset)}."
        )
    lengths = {len(shares[i]) for i in subset}
    if len(lengths) != 1:
        raise InvalidInputError("every holder must give one share per ciphertext.")
    pk = public_key.key
    delta = public_key.delta
    lambdas = {i: 2 * lagrange_at_zero(subset, i, delta) for i in subset}
    inverse = gmpy2.invert(4 * delta * delta, pk.n)
    out = []
    for j in range(lengths.pop()):
        acc = mpz(1)
        for i in subset:
            acc = acc * gmpy2.powmod(shares[i][j], lambdas[i], pk.n_square) % pk.n_square
        out.append((acc - 1) // pk.n * inverse % pk.n)
    return out

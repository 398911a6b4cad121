"""Encryption under a :class:`~secagg.paillier.keys.PublicKey` with a fixed-base table.

c = (1 + m*N) * h_N^alpha mod N^2, alpha uniform in [0, 2^(|N| + 128)) from
the OS CSPRNG. This is phe's ``raw_encrypt`` with r^N replaced by h_N^alpha
(docs/paillier.md, "Encryption", for why that is as secure); the table turns
each r^N from a 2048-bit exponentiation into about 400 multiplications.
The caller keeps alpha for the proof of plaintext knowledge and then drops it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import InvalidInputError
from ._bigint import FixedBase, RandomBytes, mpz, random_bits
from .keys import PublicKey, fixed_base_for

__all__ = ["Encryptor"]


class Encryptor:
    """Encrypts many plaintexts under one public key, sharing one table.

    Building the table costs about 2^window * |N| / window multiplications
    (about 0.1 s and 14 MB for a 2048-bit key at window 6); build it once
    per key and process, then reuse it for every client of that process.

    Attributes:
        public_key: The key.
        table: The fixed-base table of h_N.
    """

    __slots__ = ("public_key", "table")

    def __init__(self, public_key: PublicKey, window: int = 6) -> None:
        """Precompute the table of h_N for ``public_key``."""
        if not isinstance(public_key, PublicKey):
            raise InvalidInputError(
                f"an Encryptor needs a PublicKey, got {type(public_key).__name__}."
            )
        self.public_key = public_key
        self.table: FixedBase = fixed_base_for(public_key, window)

    def encrypt(self, plaintext: int | mpz, alpha: int | mpz) -> mpz:
        """(1 + m N) h_N^alpha mod N^2 for a given alpha (deterministic).

        Raises:
            InvalidInputError: m outside [0, N) or alpha outside the table's range.
        """
        pk = self.public_key
        m = mpz(plaintext)
        if not 0 <= m < pk.n:
            raise InvalidInputError("a Paillier plaintext must lie in [0, N).")
        return (1 + m * pk.n) * self.table.pow(alpha) % pk.n_square

    def encrypt_many(
        self, plaintexts: Sequence[int | mpz], rng: RandomBytes | None = None
    ) -> tuple[list[mpz], list[mpz]]:
        """Encrypt each plaintext with a fresh alpha.

        Args:
            plaintexts: Integers in [0, N).
            rng: Source of the alphas (default: the OS CSPRNG); tests only.

        Returns:
            (ciphertexts, alphas), in the order of ``plaintexts``.
        """
        bits = self.public_key.randomness_bits
        alphas = [random_bits(bits, rng) for _ in plaintexts]
        return [self.encrypt(m, a) for m, a in zip(plaintexts, alphas, strict=True)], alphas

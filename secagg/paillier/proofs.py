"""Non-interactive proofs of the Paillier path (Fiat-Shamir over SHA-256).

**Plaintext knowledge, batched per client.** A client with ciphertexts
c_i = (1 + m_i N) h_N^(alpha_i) proves it knows every (m_i, alpha_i):

    commitment  a = (1 + x N) h_N^y          x uniform in Z_N, y in [0, 2^Y)
    challenges  e_i = H(tag, sid, client id, N, H(pk), k, c_1..c_k, a, i)  (128 bits)
    responses   z1 = x + sum e_i m_i mod N,  z2 = y + sum e_i alpha_i
    check       (1 + z1 N) h_N^z2 = a * prod c_i^(e_i)  (mod N^2)

Y = |N| + 128 + 128 + 32 + 128 bits hides sum e_i alpha_i statistically.
Soundness, knowledge error and the batching argument are in docs/paillier.md.

**Correct decryption share, batched per holder.** Holder i with secret
exponent Delta s_i (v_i = v^(Delta s_i)) and shares d_j = c_j^(2 Delta s_i)
draws weights rho_j from a hash of everything, forms U = prod c_j^(rho_j)
and V = prod d_j^(rho_j), and proves log_{U^4}(V^2) = log_v(v_i) with the
Chaum-Pedersen protocol over the integers: a1 = (U^4)^r, a2 = v^r,
e = H(..., U^4, V^2, a1, a2), z = r + e Delta s_i.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ..exceptions import InvalidInputError
from ._bigint import FixedBase, RandomBytes, gmpy2, mpz, multi_pow, random_below, random_bits
from .keys import CHALLENGE_BITS, STATISTICAL_BITS, PublicKey

__all__ = [
    "PlaintextProof",
    "ShareProof",
    "plaintext_challenges",
    "prove_plaintexts",
    "verify_plaintexts",
    "share_context",
    "share_response_bits",
    "prove_share",
    "verify_share",
]

TAG_PLAINTEXT = b"secagg/paillier/v1/popk"
TAG_PLAINTEXT_CHALLENGE = b"secagg/paillier/v1/popk/challenge"
TAG_SHARE = b"secagg/paillier/v1/share"
TAG_SHARE_WEIGHT = b"secagg/paillier/v1/share/weight"
TAG_SHARE_CHALLENGE = b"secagg/paillier/v1/share/challenge"
_CHALLENGE_BYTES = CHALLENGE_BITS // 8


@dataclass(frozen=True)
class PlaintextProof:
    """A batched proof of plaintext knowledge for one client's ciphertexts.

    Attributes:
        commitment: a, a unit modulo N^2.
        z_message: z1 in [0, N).
        z_random: z2 in [0, 2^(Y+1)).
    """

    commitment: mpz
    z_message: mpz
    z_random: mpz


@dataclass(frozen=True)
class ShareProof:
    """A batched proof that a holder's decryption shares are correct.

    Attributes:
        commit_cipher: a1 = (U^4)^r mod N^2.
        commit_base: a2 = v^r mod N^2.
        response: z = r + e * Delta * s_i (an integer).
    """

    commit_cipher: mpz
    commit_base: mpz
    response: mpz


def _int(value: int | mpz, size: int) -> bytes:
    return int(value).to_bytes(size, "big")


def _session_fields(session_id: bytes, party: int) -> bytes:
    if not isinstance(session_id, bytes) or len(session_id) != 32:
        raise InvalidInputError("a session id must be 32 bytes.")
    if isinstance(party, bool) or not isinstance(party, int) or not 0 < party < 2**32:
        raise InvalidInputError(f"a client or holder id must lie in 1..2^32-1, got {party!r}.")
    return session_id + struct.pack(">I", party)


def _challenges(digest: bytes, count: int, tag: bytes) -> list[mpz]:
    return [
        mpz(
            int.from_bytes(hashlib.sha256(tag + digest + struct.pack(">I", i)).digest()[:16], "big")
        )
        for i in range(count)
    ]


def plaintext_challenges(
    public_key: PublicKey,
    session_id: bytes,
    client_id: int,
    ciphertexts: Sequence[mpz],
    commitment: int | mpz,
) -> list[mpz]:
    """The 128-bit challenges e_1..e_k of a client's batched proof."""
    size = public_key.nbytes
    h = hashlib.sha256(TAG_PLAINTEXT + _session_fields(session_id, client_id))
    h.update(struct.pack(">H", size) + _int(public_key.n, size) + public_key.fingerprint)
    h.update(struct.pack(">I", len(ciphertexts)))
    for c in ciphertexts:
        h.update(_int(c, 2 * size))
    h.update(_int(commitment, 2 * size))
    return _challenges(h.digest(), len(ciphertexts), TAG_PLAINTEXT_CHALLENGE)


def prove_plaintexts(
    public_key: PublicKey,
    table: FixedBase,
    session_id: bytes,
    client_id: int,
    ciphertexts: Sequence[mpz],
    plaintexts: Sequence[int | mpz],
    alphas: Sequence[int | mpz],
    rng: RandomBytes | None = None,
) -> PlaintextProof:
    """Prove knowledge of (m_i, alpha_i) with c_i = (1 + m_i N) h_N^(alpha_i) for all i.

    Args:
        public_key: The encryption key.
        table: Its fixed-base table (:func:`~secagg.paillier.keys.fixed_base_for`).
        session_id: The 32-byte session id.
        client_id: The prover's registered id.
        ciphertexts: c_1..c_k.
        plaintexts: m_1..m_k.
        alphas: alpha_1..alpha_k.
        rng: Source of x and y (default: the OS CSPRNG); tests only.

    Raises:
        InvalidInputError: Lists of different lengths or an empty list.
    """
    if not len(ciphertexts) == len(plaintexts) == len(alphas) or not ciphertexts:
        raise InvalidInputError(
            "a plaintext proof needs as many plaintexts and alphas as ciphertexts, at least one."
        )
    pk = public_key
    x = random_below(pk.n, rng)
    y = random_bits(pk.proof_mask_bits, rng)
    commitment = (1 + x * pk.n) * table.pow(y) % pk.n_square
    e = plaintext_challenges(pk, session_id, client_id, ciphertexts, commitment)
    z1 = (x + sum(ei * mpz(m) for ei, m in zip(e, plaintexts, strict=True))) % pk.n
    z2 = y + sum(ei * mpz(a) for ei, a in zip(e, alphas, strict=True))
    return PlaintextProof(commitment, z1, z2)


def _is_unit(value: mpz, public_key: PublicKey) -> bool:
    return bool(0 < value < public_key.n_square and gmpy2.gcd(value, public_key.n) == 1)


def verify_plaintexts(
    public_key: PublicKey,
    session_id: bytes,
    client_id: int,
    ciphertexts: Sequence[mpz],
    proof: PlaintextProof,
) -> str | None:
    """Check a batched plaintext proof.

    Returns:
        None if the proof verifies, else the reason (a sentence fragment).
    """
    pk = public_key
    if not ciphertexts:
        return "it proves no ciphertext"
    if not all(_is_unit(c, pk) for c in ciphertexts):
        return "a ciphertext is not a unit modulo N^2"
    a, z1, z2 = proof.commitment, proof.z_message, proof.z_random
    if not _is_unit(a, pk):
        return "its commitment is not a unit modulo N^2"
    if not 0 <= z1 < pk.n or not 0 <= z2 < (mpz(1) << (pk.proof_mask_bits + 1)):
        return "a response is out of range"
    e = plaintext_challenges(pk, session_id, client_id, ciphertexts, a)
    left = (1 + z1 * pk.n) * gmpy2.powmod(pk.h_n, z2, pk.n_square) % pk.n_square
    right = a * multi_pow(ciphertexts, e, pk.n_square) % pk.n_square
    return None if left == right else "its verification equation does not hold"


def share_response_bits(secret_bits: int) -> int:
    """Bits of the DLEQ mask r for a secret exponent of ``secret_bits`` bits."""
    return secret_bits + CHALLENGE_BITS + STATISTICAL_BITS


def _share_digest(
    context: bytes, nbytes: int, ciphertexts: Sequence[mpz], shares: Sequence[mpz]
) -> bytes:
    h = hashlib.sha256(TAG_SHARE + context + struct.pack(">I", len(ciphertexts)))
    for c in ciphertexts:
        h.update(_int(c, 2 * nbytes))
    for d in shares:
        h.update(_int(d, 2 * nbytes))
    return h.digest()


def _share_bases(
    context: bytes, n_square: mpz, nbytes: int, ciphertexts: Sequence[mpz], shares: Sequence[mpz]
) -> tuple[bytes, mpz, mpz]:
    digest = _share_digest(context, nbytes, ciphertexts, shares)
    weights = _challenges(digest, len(ciphertexts), TAG_SHARE_WEIGHT)
    u4 = gmpy2.powmod(multi_pow(ciphertexts, weights, n_square), 4, n_square)
    v2 = gmpy2.powmod(multi_pow(shares, weights, n_square), 2, n_square)
    return digest, u4, v2


def _share_challenge(digest: bytes, nbytes: int, *values: mpz) -> mpz:
    h = hashlib.sha256(TAG_SHARE_CHALLENGE + digest)
    for value in values:
        h.update(_int(value, 2 * nbytes))
    return mpz(int.from_bytes(h.digest()[:_CHALLENGE_BYTES], "big"))


def share_context(fingerprint: bytes, session_id: bytes, holder: int) -> bytes:
    """The bytes a share proof binds: key fingerprint, session id and holder index."""
    return fingerprint + _session_fields(session_id, holder)


def prove_share(
    *,
    n_square: mpz,
    nbytes: int,
    context: bytes,
    v: mpz,
    ciphertexts: Sequence[mpz],
    shares: Sequence[mpz],
    exponent: mpz,
    secret_bits: int,
    rng: RandomBytes | None = None,
) -> ShareProof:
    """Prove that shares[j] = ciphertexts[j]^(2 * exponent) up to order 2, for all j.

    ``exponent`` is Delta * s_i, below 2^secret_bits, with v^exponent the
    holder's verification key; ``context`` comes from :func:`share_context`.
    """
    digest, u4, v2 = _share_bases(context, n_square, nbytes, ciphertexts, shares)
    r = random_bits(share_response_bits(secret_bits), rng)
    a1 = gmpy2.powmod(u4, r, n_square)
    a2 = gmpy2.powmod(v, r, n_square)
    e = _share_challenge(digest, nbytes, u4, v2, a1, a2)
    return ShareProof(a1, a2, r + e * exponent)


def verify_share(
    *,
    n: mpz,
    n_square: mpz,
    nbytes: int,
    context: bytes,
    v: mpz,
    verification_key: mpz,
    ciphertexts: Sequence[mpz],
    shares: Sequence[mpz],
    proof: ShareProof,
    secret_bits: int,
) -> str | None:
    """Check a batched share proof; None if it verifies, else the reason."""
    if len(shares) != len(ciphertexts):
        return f"it has {len(shares)} shares for {len(ciphertexts)} ciphertexts"

    def unit(x: mpz) -> bool:
        return bool(0 < x < n_square and gmpy2.gcd(x, n) == 1)

    if not all(unit(d) for d in shares):
        return "a share is not a unit modulo N^2"
    a1, a2, z = proof.commit_cipher, proof.commit_base, proof.response
    if not unit(a1) or not unit(a2):
        return "a commitment of its proof is not a unit modulo N^2"
    if not 0 <= z < (mpz(1) << (share_response_bits(secret_bits) + 1)):
        return "the response of its proof is out of range"
    digest, u4, v2 = _share_bases(context, n_square, nbytes, ciphertexts, shares)
    e = _share_challenge(digest, nbytes, u4, v2, a1, a2)
    if gmpy2.powmod(u4, z, n_square) != a1 * gmpy2.powmod(v2, e, n_square) % n_square:
        return "its proof does not verify against the shares"
    if gmpy2.powmod(v, z, n_square) != a2 * gmpy2.powmod(verification_key, e, n_square) % n_square:
        return "its proof does not verify against its verification key"
    return None

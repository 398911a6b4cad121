"""What travels on the Paillier path, with strict ``to_bytes`` / ``from_bytes``.

Layouts (docs/paillier.md, "Wire format"); L is the byte length of N, every
value mod N^2 takes 2L bytes, integers are big-endian:

- :class:`ClientBundle`: header || sid (32) || u32 client || H(pk) (32) ||
  u16 L || u32 k || k ciphertexts || u8 has_proof || [a (2L) || z1 (L) ||
  z2 (L + 53)] || signature (64). The signature covers the tag, sid, client
  id, H(pk) and SHA-256 of the bytes from L to the end of the proof.
- :class:`DecryptionRequest`: header || sid || u16 L || u32 k || k aggregate
  ciphertexts || u32 count || count x (u32 length || client bundle).
- :class:`DecryptionShare`: header || sid || u32 holder || H(pk) || u16 L ||
  u32 k || k shares || a1 (2L) || a2 (2L) || u16 z length || z.
- :class:`SumResult`: header || sid || u8 b || u32 m || u32 count || count x
  u32 contributor || m words (4 bytes each for b <= 32, else 8).

Decoding checks structure and lengths only; whether values are units, ids
registered, proofs and signatures valid is the receiving role's decision.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from ..exceptions import MalformedMessageError
from . import wire
from ._bigint import mpz, to_bytes
from .packing import word_dtype
from .proofs import PlaintextProof, ShareProof

__all__ = [
    "ClientBundle",
    "DecryptionRequest",
    "DecryptionShare",
    "SumResult",
    "z2_bytes",
    "signed_message",
]

TAG_SIGNATURE = b"secagg/paillier/v1/sig/bundle"
SIGNATURE_SIZE = 64
_Z2_EXTRA_BITS = 128 + 128 + 32 + 128 + 1  # proof_mask_bits + 1 - |N|, see keys.py


def z2_bytes(nbytes: int) -> int:
    """Byte length of the response z2 for an L-byte modulus."""
    return (8 * nbytes + _Z2_EXTRA_BITS + 7) // 8


def _ints(values: tuple[mpz, ...], size: int, what: str) -> bytes:
    return b"".join(to_bytes(v, size, what) for v in values)


def _read_ints(reader: wire.Reader, count: int, size: int, what: str) -> tuple[mpz, ...]:
    raw = reader.take(count * size, what)
    return tuple(mpz(int.from_bytes(raw[i : i + size], "big")) for i in range(0, len(raw), size))


def signed_message(session_id: bytes, client_id: int, fingerprint: bytes, body: bytes) -> bytes:
    """The bytes a client signs: tag || sid || u32be(id) || H(pk) || SHA-256(body)."""
    return (
        TAG_SIGNATURE
        + session_id
        + struct.pack(">I", client_id)
        + fingerprint
        + hashlib.sha256(body).digest()
    )


@dataclass(frozen=True)
class ClientBundle:
    """One client's encrypted, proven and signed packed vector.

    Attributes:
        session_id: The session the ciphertexts are bound to.
        client_id: The sender's registered id.
        key_fingerprint: H(pk) of the key the client encrypted under.
        nbytes: Byte length L of N.
        ciphertexts: One per plaintext of the packing layout.
        proof: The batched proof of plaintext knowledge (None: missing).
        signature: Ed25519 signature over :meth:`signed_bytes`.
    """

    session_id: bytes
    client_id: int
    key_fingerprint: bytes
    nbytes: int
    ciphertexts: tuple[mpz, ...]
    proof: PlaintextProof | None
    signature: bytes

    def body(self) -> bytes:
        """The signed body: u16 L || u32 k || ciphertexts || proof flag and fields."""
        size = self.nbytes
        out = struct.pack(">HI", size, len(self.ciphertexts))
        out += _ints(self.ciphertexts, 2 * size, "a ciphertext")
        if self.proof is None:
            return out + b"\x00"
        p = self.proof
        return (
            out
            + b"\x01"
            + to_bytes(p.commitment, 2 * size, "the proof commitment")
            + to_bytes(p.z_message, size, "the proof response z1")
            + to_bytes(p.z_random, z2_bytes(size), "the proof response z2")
        )

    def signed_bytes(self) -> bytes:
        """What the signature covers."""
        return signed_message(self.session_id, self.client_id, self.key_fingerprint, self.body())

    def to_bytes(self) -> bytes:
        """The encoding of the module docstring."""
        return (
            wire.header(wire.TYPE_CLIENT_BUNDLE)
            + self.session_id
            + struct.pack(">I", self.client_id)
            + self.key_fingerprint
            + self.body()
            + self.signature
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ClientBundle:
        """Decode :meth:`to_bytes`.

        Raises:
            MalformedMessageError: Wrong header or length, a proof flag other
                than 0 or 1, zero ciphertexts or trailing bytes.
        """
        r = wire.Reader(data, wire.TYPE_CLIENT_BUNDLE)
        return cls._read(r)

    @classmethod
    def _read(cls, r: wire.Reader) -> ClientBundle:
        sid = r.take(32, "session id")
        client = r.u32("client id")
        fingerprint = r.take(32, "key fingerprint")
        size = r.modulus_bytes()
        count = r.count("ciphertexts", 2 * size, minimum=1)
        cts = _read_ints(r, count, 2 * size, "ciphertexts")
        flag = r.u8("proof flag")
        proof: PlaintextProof | None = None
        if flag == 1:
            a = r.integer(2 * size, "proof commitment")
            z1 = r.integer(size, "proof response z1")
            z2 = r.integer(z2_bytes(size), "proof response z2")
            proof = PlaintextProof(a, z1, z2)
        elif flag != 0:
            raise MalformedMessageError(f"a bundle's proof flag must be 0 or 1, got {flag}.")
        signature = r.take(SIGNATURE_SIZE, "signature")
        r.done()
        return cls(sid, client, fingerprint, size, cts, proof, signature)


@dataclass(frozen=True)
class DecryptionRequest:
    """What the aggregation server sends a decrypting party.

    Attributes:
        session_id: The session.
        nbytes: Byte length L of N.
        aggregate: The server's product of the bundles' ciphertexts, slot by
            slot (the decrypting party recomputes it and refuses a mismatch).
        bundles: The client bundles the aggregate is made of.
    """

    session_id: bytes
    nbytes: int
    aggregate: tuple[mpz, ...]
    bundles: tuple[ClientBundle, ...]

    def to_bytes(self) -> bytes:
        """The encoding of the module docstring."""
        parts = [
            wire.header(wire.TYPE_REQUEST),
            self.session_id,
            struct.pack(">HI", self.nbytes, len(self.aggregate)),
            _ints(self.aggregate, 2 * self.nbytes, "an aggregate ciphertext"),
            struct.pack(">I", len(self.bundles)),
        ]
        for bundle in self.bundles:
            encoded = bundle.to_bytes()
            parts.append(struct.pack(">I", len(encoded)) + encoded)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> DecryptionRequest:
        """Decode :meth:`to_bytes`.

        Raises:
            MalformedMessageError: Any structural error, in the request or a bundle.
        """
        r = wire.Reader(data, wire.TYPE_REQUEST)
        sid = r.take(32, "session id")
        size = r.modulus_bytes()
        count = r.count("aggregate ciphertexts", 2 * size, minimum=1)
        aggregate = _read_ints(r, count, 2 * size, "aggregate ciphertexts")
        n_bundles = r.count("bundles", 4)
        bundles = []
        for _ in range(n_bundles):
            length = r.u32("bundle length")
            bundles.append(ClientBundle.from_bytes(r.take(length, "bundle")))
        r.done()
        return cls(sid, size, aggregate, tuple(bundles))


@dataclass(frozen=True)
class DecryptionShare:
    """One committee member's decryption shares of an aggregate, with their proof.

    Attributes:
        session_id: The session.
        holder: The member's index (1..w).
        key_fingerprint: H(pk) of the threshold public key.
        nbytes: Byte length L of N.
        shares: c_j^(2 Delta s_i) mod N^2 for every aggregate ciphertext c_j.
        proof: The batched equality-of-discrete-logs proof.
    """

    session_id: bytes
    holder: int
    key_fingerprint: bytes
    nbytes: int
    shares: tuple[mpz, ...]
    proof: ShareProof

    def to_bytes(self) -> bytes:
        """The encoding of the module docstring."""
        size = self.nbytes
        z = int(self.proof.response)
        zlen = (z.bit_length() + 7) // 8
        return (
            wire.header(wire.TYPE_SHARE)
            + self.session_id
            + struct.pack(">I", self.holder)
            + self.key_fingerprint
            + struct.pack(">HI", size, len(self.shares))
            + _ints(self.shares, 2 * size, "a share")
            + to_bytes(self.proof.commit_cipher, 2 * size, "the commitment a1")
            + to_bytes(self.proof.commit_base, 2 * size, "the commitment a2")
            + struct.pack(">H", zlen)
            + z.to_bytes(zlen, "big")
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> DecryptionShare:
        """Decode :meth:`to_bytes`.

        Raises:
            MalformedMessageError: Any structural error.
        """
        r = wire.Reader(data, wire.TYPE_SHARE)
        sid = r.take(32, "session id")
        holder = r.u32("holder index")
        fingerprint = r.take(32, "key fingerprint")
        size = r.modulus_bytes()
        count = r.count("shares", 2 * size, minimum=1)
        shares = _read_ints(r, count, 2 * size, "shares")
        a1 = r.integer(2 * size, "commitment a1")
        a2 = r.integer(2 * size, "commitment a2")
        zlen = r.u16("response length")
        z = r.integer(zlen, "response")
        r.done()
        return cls(sid, holder, fingerprint, size, shares, ShareProof(a1, a2, z))


@dataclass(frozen=True)
class SumResult:
    """A decrypted aggregate: the ring sum of the contributors' words.

    Attributes:
        session_id: The session.
        contributors: The client ids summed, ascending.
        bits: Ring width b.
        words: m words of Z_2^b (uint32 for b <= 32, else uint64), the same
            words the masking path returns for the same inputs.
    """

    session_id: bytes
    contributors: tuple[int, ...]
    bits: int
    words: np.ndarray

    def to_bytes(self) -> bytes:
        """The encoding of the module docstring."""
        dtype = word_dtype(self.bits).newbyteorder(">")
        return (
            wire.header(wire.TYPE_SUM)
            + self.session_id
            + struct.pack(">BII", self.bits, self.words.size, len(self.contributors))
            + b"".join(struct.pack(">I", u) for u in self.contributors)
            + np.ascontiguousarray(self.words, dtype=dtype).tobytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SumResult:
        """Decode :meth:`to_bytes`.

        Raises:
            MalformedMessageError: Any structural error or b outside 1..64.
        """
        r = wire.Reader(data, wire.TYPE_SUM)
        sid = r.take(32, "session id")
        bits = r.u8("bit width")
        if not 1 <= bits <= 64:
            raise MalformedMessageError(f"a decrypted sum's bit width must be 1..64, got {bits}.")
        dtype = word_dtype(bits)
        length = r.u32("vector length")
        count = r.count("contributors", 4)
        ids = tuple(r.u32("contributor") for _ in range(count))
        raw = r.take(length * dtype.itemsize, "words")
        r.done()
        words = np.frombuffer(raw, dtype=dtype.newbyteorder(">")).astype(dtype)
        if bits < 64 and words.size and int(words.max()) >> bits:
            raise MalformedMessageError(f"a decrypted sum holds a word outside Z_2^{bits}.")
        return cls(sid, ids, bits, words)

"""Parameters, labels and derived byte strings of multi-server additive sharing.

Everything the client, the servers and the combiner must compute identically
lives here: the validated :class:`MultiServerConfig`, the HKDF labels, the
per-share PRG key, the salted per-server digests a client signs, and the
statements the servers sign. docs/multiserver.md gives the same definitions
in prose; a change here is a change of format.

Servers are numbered 0..S-1. Servers 0..S-2 receive a 32-byte seed each,
sealed to their X25519 key; server S-1 (the *correction server*) receives the
explicit correction vector x - sum of the seeds' PRG vectors mod 2^b.
"""

from __future__ import annotations

import hashlib
import struct
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import crypto, packing
from ..exceptions import InvalidInputError, MalformedMessageError, ProtocolViolationError
from ..masking import dtype_for_bits
from ..prg import KEY_SIZE as PRG_KEY_SIZE
from ..prg import MAX_EXPAND_BYTES
from ..protocol.wire import decode_bitmap, encode_bitmap

__all__ = [
    "MAX_SERVERS",
    "SEED_SIZE",
    "SALT_SIZE",
    "DIGEST_SIZE",
    "MultiServerConfig",
    "share_purpose",
    "share_key",
    "part_digest",
    "client_message",
    "set_message",
    "partial_message",
    "members_bitmap",
    "members_from_bitmap",
]

MAX_SERVERS = 255
"""Largest S: a server index travels as one byte."""

SEED_SIZE = 32
SALT_SIZE = 32
DIGEST_SIZE = 32
SESSION_ID_SIZE = 32
MAX_CLIENTS = 2**32 - 1

LABEL_CONFIG = b"secagg/v1/ms/config"
LABEL_SESSION = b"secagg/v1/ms/session"
LABEL_PRG = b"secagg/v1/ms/prg/"
LABEL_PART = b"secagg/v1/ms/part"
LABEL_SIG_CLIENT = b"secagg/v1/ms/sig/client"
LABEL_SET = b"secagg/v1/ms/set"
LABEL_SIG_PARTIAL = b"secagg/v1/ms/sig/partial"


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _key_bytes(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) != 32:
        got = (
            f"{len(value)} bytes"
            if isinstance(value, (bytes, bytearray, memoryview))
            else type(value).__name__
        )
        raise InvalidInputError(f"{what} must be 32 bytes, got {got}.")
    return bytes(value)


def check_session_id(session_id: object) -> bytes:
    """``session_id`` as 32 bytes, or InvalidInputError."""
    if not isinstance(session_id, (bytes, bytearray, memoryview)) or len(session_id) != 32:
        raise InvalidInputError("the session id must be 32 bytes.")
    return bytes(session_id)


@dataclass(frozen=True, eq=False)
class MultiServerConfig:
    """One multi-server session's parameters, validated once when built.

    Attributes:
        seed_keys: The pinned X25519 public keys of servers 0..S-2, which
            receive sealed seeds (S - 1 keys; server S-1 gets the correction
            vector and needs none).
        server_verify_keys: The Ed25519 verification keys of servers 0..S-1,
            with which statements and partial sums are checked (S keys).
        registry: Client id -> Ed25519 verification key, for ids exactly 1..n.
        n_min: Fewest clients a released sum may cover (2 <= n_min <= n).
        corrupt_clients: C, the most clients assumed to collude with servers
            (C < n_min); a released sum covers at least n_min - C honest ones.
        b: Bits per ring element (1..64).
        m: Vector length (m * w <= 2^36, w the word size).

    Raises:
        InvalidInputError: A field has the wrong type, length or range; the
            message names the rule and the values.
    """

    seed_keys: tuple[bytes, ...]
    server_verify_keys: tuple[bytes, ...]
    registry: Mapping[int, bytes]
    n_min: int
    corrupt_clients: int
    b: int
    m: int

    def __post_init__(self) -> None:
        vks = tuple(_key_bytes(k, "a server verification key") for k in self.server_verify_keys)
        if not 2 <= len(vks) <= MAX_SERVERS:
            raise InvalidInputError(
                f"multi-server sharing needs 2..{MAX_SERVERS} servers, got S = {len(vks)} "
                "(one server alone would hold every input)."
            )
        if len(set(vks)) != len(vks):
            raise InvalidInputError("two servers share a verification key; each needs its own.")
        seeds = tuple(_key_bytes(k, "a server's X25519 key") for k in self.seed_keys)
        if len(seeds) != len(vks) - 1:
            raise InvalidInputError(
                f"S = {len(vks)} servers need S - 1 = {len(vks) - 1} seed keys (servers "
                f"0..{len(vks) - 2}), got {len(seeds)}."
            )
        for j, pk in enumerate(seeds):
            try:
                crypto.check_public_key(pk)
            except ProtocolViolationError as exc:
                raise InvalidInputError(f"the X25519 key of server {j} is refused: {exc}") from exc
        if len(set(seeds)) != len(seeds):
            raise InvalidInputError("two servers share an X25519 key; each needs its own.")
        object.__setattr__(self, "seed_keys", seeds)
        object.__setattr__(self, "server_verify_keys", vks)
        self._set_registry()
        for name in ("n_min", "corrupt_clients", "b", "m"):
            value = getattr(self, name)
            if not _is_int(value):
                raise InvalidInputError(f"{name} must be an integer, got {value!r}.")
            object.__setattr__(self, name, int(value))
        n = self.n
        if not 2 <= self.n_min <= n:
            raise InvalidInputError(
                f"n_min must lie in 2..n, got n_min = {self.n_min} with n = {n} "
                "(a sum over one client is that client's input)."
            )
        if not 0 <= self.corrupt_clients < self.n_min:
            raise InvalidInputError(
                f"corrupt_clients (C) must lie in 0..n_min - 1 so that a released sum covers an "
                f"honest client, got C = {self.corrupt_clients} with n_min = {self.n_min}."
            )
        if not 1 <= self.b <= 64:
            raise InvalidInputError(f"b must lie in 1..64, got b = {self.b}.")
        w = self.dtype.itemsize
        if self.m <= 0 or self.m * w > MAX_EXPAND_BYTES:
            raise InvalidInputError(
                f"m must satisfy 1 <= m and m * w <= 2^36 bytes (w = {w}), got m = {self.m}."
            )

    def _set_registry(self) -> None:
        reg = self.registry
        if not isinstance(reg, Mapping) or not reg:
            raise InvalidInputError("the registry must map client ids 1..n to verification keys.")
        ids = sorted(reg)
        if not all(_is_int(u) for u in ids) or ids != list(range(1, len(ids) + 1)):
            raise InvalidInputError(
                f"the registry's ids must be exactly 1..n, got {ids[:8]}"
                f"{' ...' if len(ids) > 8 else ''}."
            )
        if len(ids) > MAX_CLIENTS:
            raise InvalidInputError(f"at most {MAX_CLIENTS} clients fit a u32 id.")
        table = {int(u): _key_bytes(reg[u], f"the verification key of client {u}") for u in ids}
        object.__setattr__(self, "registry", types.MappingProxyType(table))

    @property
    def S(self) -> int:  # noqa: N802 - the specification's name
        """Number of servers."""
        return len(self.server_verify_keys)

    @property
    def n(self) -> int:
        """Number of registered clients (ids 1..n)."""
        return len(self.registry)

    @property
    def correction_server(self) -> int:
        """Index of the server that receives the explicit correction vector: S - 1."""
        return self.S - 1

    @property
    def dtype(self) -> np.dtype:
        """Storage dtype of the ring words (uint32 for b <= 32, else uint64)."""
        return dtype_for_bits(self.b)

    @property
    def packed_size(self) -> int:
        """Bytes of one packed vector: ceil(m * b / 8)."""
        return packing.packed_size(self.m, self.b)

    @property
    def min_honest(self) -> int:
        """n_min - C: the fewest honest clients any released sum covers."""
        return self.n_min - self.corrupt_clients

    def registry_digest(self) -> bytes:
        """SHA-256("secagg/v1/ms/registry" ‖ per id 1..n: u32be(id) ‖ vk)."""
        h = hashlib.sha256(b"secagg/v1/ms/registry")
        for u in range(1, self.n + 1):
            h.update(struct.pack(">I", u) + self.registry[u])
        return h.digest()

    def canonical(self) -> bytes:
        """The byte string a session id is derived from (docs/multiserver.md)."""
        out = bytearray(LABEL_CONFIG + bytes([1, self.S]))
        for pk in self.seed_keys:
            out += pk
        for vk in self.server_verify_keys:
            out += vk
        out += struct.pack(">III", self.n, self.n_min, self.corrupt_clients)
        out += bytes([self.b]) + struct.pack(">Q", self.m) + self.registry_digest()
        return bytes(out)

    def session_id(self, nonce: bytes) -> bytes:
        """SHA-256("secagg/v1/ms/session" ‖ nonce ‖ canonical()), nonce 32 fresh bytes.

        Raises:
            InvalidInputError: ``nonce`` is not 32 bytes.
        """
        return hashlib.sha256(
            LABEL_SESSION + _key_bytes(nonce, "the nonce") + self.canonical()
        ).digest()


def _u32(value: int) -> bytes:
    return struct.pack(">I", value)


def share_purpose(client: int, server: int) -> str:
    """PRG purpose of client ``client``'s seed for server ``server``: "share:<u>:<j>"."""
    return f"share:{client}:{server}"


def share_key(seed: bytes, session_id: bytes, client: int, server: int) -> bytes:
    """HKDF-SHA256(ikm=seed, salt=session_id, info="secagg/v1/ms/prg/share:<u>:<j>", L=16).

    The result is the AES-128 key whose CTR keystream (secagg.prg) is the share.
    """
    info = LABEL_PRG + share_purpose(client, server).encode("ascii")
    return crypto.hkdf_sha256(seed, session_id, info, PRG_KEY_SIZE)


def part_digest(session_id: bytes, client: int, server: int, salt: bytes, payload: bytes) -> bytes:
    """d_j = SHA-256("secagg/v1/ms/part" ‖ sid ‖ u32be(u) ‖ u8(j) ‖ salt_j ‖ payload_j).

    The salt, which only server j sees, keeps d_j from confirming guesses about
    payload_j when the other servers see it.
    """
    h = hashlib.sha256(LABEL_PART + session_id + _u32(client) + bytes([server]) + salt)
    h.update(payload)
    return h.digest()


def client_message(session_id: bytes, client: int, digests: Sequence[bytes]) -> bytes:
    """What client u signs: "secagg/v1/ms/sig/client" ‖ sid ‖ u32be(u) ‖ u8(S) ‖ d_0 … d_{S-1}."""
    return LABEL_SIG_CLIENT + session_id + _u32(client) + bytes([len(digests)]) + b"".join(digests)


def members_bitmap(members: Iterable[int], n: int) -> bytes:
    """u32be(n) ‖ the LSB-first bitmap of ``members`` over 1..n.

    Raises:
        InvalidInputError: A member is not a client id in 1..n.
    """
    ids = list(members)
    for u in ids:
        if not _is_int(u) or not 1 <= u <= n:
            raise InvalidInputError(f"client set member {u!r} is not a client id in 1..{n}.")
    return _u32(n) + encode_bitmap([u - 1 for u in ids], n)


def members_from_bitmap(data: bytes, n: int) -> frozenset[int]:
    """Decode u32be(n) ‖ bitmap; the members as a frozenset.

    Raises:
        MalformedMessageError: Wrong n or length, or a non-zero unused bit.
    """
    if len(data) != 4 + (n + 7) // 8:
        raise MalformedMessageError(
            f"a client set over n = {n} is {4 + (n + 7) // 8} bytes, got {len(data)}."
        )
    got_n = struct.unpack(">I", data[:4])[0]
    if got_n != n:
        raise MalformedMessageError(f"a client set names n = {got_n}, the session has n = {n}.")
    return frozenset(u + 1 for u in decode_bitmap(data[4:], n))


def set_message(session_id: bytes, bitmap: bytes) -> bytes:
    """The statement servers sign: "secagg/v1/ms/set" ‖ sid ‖ u32be(n) ‖ bitmap of U."""
    return LABEL_SET + session_id + bitmap


def partial_message(session_id: bytes, server: int, bitmap: bytes, packed: bytes) -> bytes:
    """What server j signs with its partial sum:
    "secagg/v1/ms/sig/partial" ‖ sid ‖ u8(j) ‖ u32be(n) ‖ bitmap ‖ SHA-256(packed)."""
    return (
        LABEL_SIG_PARTIAL + session_id + bytes([server]) + bitmap + hashlib.sha256(packed).digest()
    )

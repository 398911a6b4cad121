"""The messages of multi-server sharing, with strict ``to_bytes`` / ``from_bytes``.

Every message starts with a 38-byte header: magic "SAMS", u8 version (1),
u8 type, 32-byte session id. Given the session's :class:`MultiServerConfig`
every layout has one fixed length, so a decoder checks the exact length
first, then each field; anything else raises MalformedMessageError with a
sentence naming the field. Decoders check the layout only; whether a message
is acceptable (session, signatures, rules) is the receiving role's decision.
docs/multiserver.md has the tables.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..crypto import SIGNATURE_SIZE
from ..exceptions import MalformedMessageError
from .params import (
    DIGEST_SIZE,
    SALT_SIZE,
    MultiServerConfig,
    members_bitmap,
    members_from_bitmap,
    set_message,
)
from .seal import SEALED_SIZE

__all__ = [
    "MAGIC",
    "VERSION",
    "HEADER_SIZE",
    "ShareBundle",
    "SetStatement",
    "SetSignature",
    "ReleaseRequest",
    "PartialSum",
]

MAGIC = b"SAMS"
VERSION = 1
HEADER_SIZE = 38
TYPE_SHARE_BUNDLE = 0x01
TYPE_SET_STATEMENT = 0x02
TYPE_SET_SIGNATURE = 0x03
TYPE_RELEASE_REQUEST = 0x04
TYPE_PARTIAL_SUM = 0x05
_NAMES = {
    TYPE_SHARE_BUNDLE: "ShareBundle",
    TYPE_SET_STATEMENT: "SetStatement",
    TYPE_SET_SIGNATURE: "SetSignature",
    TYPE_RELEASE_REQUEST: "ReleaseRequest",
    TYPE_PARTIAL_SUM: "PartialSum",
}


def _header(kind: int, session_id: bytes) -> bytes:
    return MAGIC + bytes([VERSION, kind]) + session_id


def _check(data: object, kind: int, size: int | None) -> tuple[bytes, bytes]:
    """Check type, header and exact length (unless None); return (session id, body)."""
    name = _NAMES[kind]
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedMessageError(f"a {name} must be bytes, got {type(data).__name__}.")
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise MalformedMessageError(
            f"a {name} is at least its {HEADER_SIZE}-byte header, got {len(data)} bytes."
        )
    if data[:4] != MAGIC:
        raise MalformedMessageError(f"a {name} starts with magic {MAGIC!r}, got {data[:4]!r}.")
    if data[4] != VERSION:
        raise MalformedMessageError(f"a {name} has version {VERSION}, got {data[4]}.")
    if data[5] != kind:
        got = _NAMES.get(data[5], f"unknown type 0x{data[5]:02x}")
        raise MalformedMessageError(f"expected a {name} (type 0x{kind:02x}), got {got}.")
    if size is not None:
        _check_size(len(data), name, size)
    return data[6:HEADER_SIZE], data[HEADER_SIZE:]


def _check_size(length: int, name: str, size: int) -> None:
    if length != size:
        raise MalformedMessageError(
            f"a {name} for this session is exactly {size} bytes, got {length}."
        )


def _server_index(value: int, config: MultiServerConfig, name: str) -> int:
    if value >= config.S:
        raise MalformedMessageError(
            f"a {name} names server {value}, but the session has servers 0..{config.S - 1}."
        )
    return value


def _bitmap_size(config: MultiServerConfig) -> int:
    return 4 + (config.n + 7) // 8


@dataclass(frozen=True)
class ShareBundle:
    """What client ``client`` sends server ``server`` (type 0x01).

    Attributes:
        session_id: The session.
        client: Sender id (1..n).
        server: Receiving server's index (0..S-1).
        digests: d_0..d_{S-1}, the salted digests of every server's part.
        salt: This server's 32-byte digest salt.
        payload: The sealed seed (92 bytes, servers 0..S-2) or the packed
            correction vector (ceil(m*b/8) bytes, server S-1).
        signature: Ed25519 by the client's registered key on
            :func:`~secagg.multiserver.params.client_message`.
    """

    session_id: bytes
    client: int
    server: int
    digests: tuple[bytes, ...]
    salt: bytes
    payload: bytes
    signature: bytes

    @staticmethod
    def size(config: MultiServerConfig, server: int) -> int:
        """Exact length of the bundle for ``server`` in this session."""
        payload = config.packed_size if server == config.correction_server else SEALED_SIZE
        return HEADER_SIZE + 6 + DIGEST_SIZE * config.S + SALT_SIZE + payload + SIGNATURE_SIZE

    def to_bytes(self) -> bytes:
        """Encode (the fields are assumed valid: a client builds them)."""
        return (
            _header(TYPE_SHARE_BUNDLE, self.session_id)
            + struct.pack(">IBB", self.client, self.server, len(self.digests))
            + b"".join(self.digests)
            + self.salt
            + self.payload
            + self.signature
        )

    @classmethod
    def from_bytes(cls, data: bytes, config: MultiServerConfig) -> ShareBundle:
        """Decode strictly.

        Raises:
            MalformedMessageError: Wrong header, length, server count, server
                index or client id.
        """
        sid, body = _check(data, TYPE_SHARE_BUNDLE, None)
        if len(body) < 6:
            raise MalformedMessageError(
                f"a ShareBundle's body starts with 6 bytes of ids and counts, got {len(body)}."
            )
        client, server, count = struct.unpack(">IBB", body[:6])
        if count != config.S:
            raise MalformedMessageError(
                f"a ShareBundle carries one digest per server, S = {config.S}, got {count}."
            )
        _server_index(server, config, "ShareBundle")
        if not 1 <= client <= config.n:
            raise MalformedMessageError(
                f"a ShareBundle names client {client}, not a registered id in 1..{config.n}."
            )
        _check_size(HEADER_SIZE + len(body), "ShareBundle", cls.size(config, server))
        pos = 6
        digests = tuple(
            body[pos + DIGEST_SIZE * j : pos + DIGEST_SIZE * (j + 1)] for j in range(count)
        )
        pos += DIGEST_SIZE * count
        salt = body[pos : pos + SALT_SIZE]
        pos += SALT_SIZE
        payload = body[pos:-SIGNATURE_SIZE]
        return cls(sid, client, server, digests, salt, payload, body[-SIGNATURE_SIZE:])


@dataclass(frozen=True)
class SetStatement:
    """The client set U one sum is to cover (type 0x02: the request to sign it).

    Attributes:
        session_id: The session.
        n: Number of registered clients (the bitmap's universe 1..n).
        members: U.
    """

    session_id: bytes
    n: int
    members: frozenset[int]

    @property
    def bitmap(self) -> bytes:
        """u32be(n) ‖ the bitmap of U over 1..n."""
        return members_bitmap(sorted(self.members), self.n)

    def message(self) -> bytes:
        """The signed statement: "secagg/v1/ms/set" ‖ sid ‖ u32be(n) ‖ bitmap."""
        return set_message(self.session_id, self.bitmap)

    def to_bytes(self) -> bytes:
        """Encode."""
        return _header(TYPE_SET_STATEMENT, self.session_id) + self.bitmap

    @classmethod
    def from_bytes(cls, data: bytes, config: MultiServerConfig) -> SetStatement:
        """Decode strictly.

        Raises:
            MalformedMessageError: Wrong header or length, another n, or a
                non-zero unused bitmap bit.
        """
        sid, body = _check(data, TYPE_SET_STATEMENT, HEADER_SIZE + _bitmap_size(config))
        return cls(sid, config.n, members_from_bitmap(body, config.n))


@dataclass(frozen=True)
class SetSignature:
    """Server ``server``'s Ed25519 signature on a :class:`SetStatement` (type 0x03)."""

    statement: SetStatement
    server: int
    signature: bytes

    def to_bytes(self) -> bytes:
        """Encode."""
        st = self.statement
        return (
            _header(TYPE_SET_SIGNATURE, st.session_id)
            + bytes([self.server])
            + st.bitmap
            + self.signature
        )

    @classmethod
    def from_bytes(cls, data: bytes, config: MultiServerConfig) -> SetSignature:
        """Decode strictly.

        Raises:
            MalformedMessageError: Wrong header, length, server index or bitmap.
        """
        size = HEADER_SIZE + 1 + _bitmap_size(config) + SIGNATURE_SIZE
        sid, body = _check(data, TYPE_SET_SIGNATURE, size)
        server = _server_index(body[0], config, "SetSignature")
        members = members_from_bitmap(body[1:-SIGNATURE_SIZE], config.n)
        return cls(SetStatement(sid, config.n, members), server, body[-SIGNATURE_SIZE:])


@dataclass(frozen=True)
class ReleaseRequest:
    """A statement with all S servers' signatures, in server order (type 0x04)."""

    statement: SetStatement
    signatures: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """Encode."""
        st = self.statement
        return (
            _header(TYPE_RELEASE_REQUEST, st.session_id)
            + st.bitmap
            + bytes([len(self.signatures)])
            + b"".join(self.signatures)
        )

    @classmethod
    def from_bytes(cls, data: bytes, config: MultiServerConfig) -> ReleaseRequest:
        """Decode strictly.

        Raises:
            MalformedMessageError: Wrong header, length, bitmap or signature count.
        """
        bm = _bitmap_size(config)
        size = HEADER_SIZE + bm + 1 + SIGNATURE_SIZE * config.S
        sid, body = _check(data, TYPE_RELEASE_REQUEST, size)
        if body[bm] != config.S:
            raise MalformedMessageError(
                f"a ReleaseRequest carries S = {config.S} signatures, its count says {body[bm]}."
            )
        members = members_from_bitmap(body[:bm], config.n)
        sigs = tuple(
            body[bm + 1 + SIGNATURE_SIZE * j : bm + 1 + SIGNATURE_SIZE * (j + 1)]
            for j in range(config.S)
        )
        return cls(SetStatement(sid, config.n, members), sigs)


@dataclass(frozen=True)
class PartialSum:
    """Server ``server``'s sum of its shares over the statement's set (type 0x05).

    Attributes:
        statement: The set the sum covers.
        server: The releasing server.
        b: Ring bits.
        m: Vector length.
        packed: The partial sum packed b bits per element.
        signature: Ed25519 by the server on
            :func:`~secagg.multiserver.params.partial_message`.
    """

    statement: SetStatement
    server: int
    b: int
    m: int
    packed: bytes
    signature: bytes

    def to_bytes(self) -> bytes:
        """Encode."""
        st = self.statement
        return (
            _header(TYPE_PARTIAL_SUM, st.session_id)
            + bytes([self.server])
            + st.bitmap
            + struct.pack(">BQ", self.b, self.m)
            + self.packed
            + self.signature
        )

    @classmethod
    def from_bytes(cls, data: bytes, config: MultiServerConfig) -> PartialSum:
        """Decode strictly (the packed vector's padding bits are checked when unpacked).

        Raises:
            MalformedMessageError: Wrong header, length, server index, bitmap, b or m.
        """
        bm = _bitmap_size(config)
        size = HEADER_SIZE + 1 + bm + 9 + config.packed_size + SIGNATURE_SIZE
        sid, body = _check(data, TYPE_PARTIAL_SUM, size)
        server = _server_index(body[0], config, "PartialSum")
        members = members_from_bitmap(body[1 : 1 + bm], config.n)
        b, m = struct.unpack(">BQ", body[1 + bm : 10 + bm])
        if (b, m) != (config.b, config.m):
            raise MalformedMessageError(
                f"a PartialSum has b = {b}, m = {m}; the session has b = {config.b}, "
                f"m = {config.m}."
            )
        packed = body[10 + bm : -SIGNATURE_SIZE]
        statement = SetStatement(sid, config.n, members)
        return cls(statement, server, b, m, packed, body[-SIGNATURE_SIZE:])

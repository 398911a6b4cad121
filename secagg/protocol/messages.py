"""Wire messages of the secagg protocol, exactly as in docs/wire-format.md.

One frozen dataclass per message. ``to_bytes()`` encodes (raising
:class:`~secagg.exceptions.InvalidInputError` when a field cannot be encoded);
``Cls.from_bytes(data, config=None)`` and the generic :func:`decode` check
every length, count and range and raise
:class:`~secagg.exceptions.MalformedMessageError` (and only that) on anything
wrong. Decoding never trusts a count before checking that the bytes it claims
are actually present, so a short hostile message cannot make the decoder
allocate or loop more than its own length allows.

When a :class:`secagg.protocol.config.Config` (or any object with ``n``, ``k``, ``b``,
``m`` and ``mode`` attributes) is passed, the decoder also enforces the
limits derived from it: ids in 1..n, counts within the neighbourhood size,
the exact vector length and bit width, signatures present exactly in active
mode, and a total size of at most :func:`max_message_size`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, TypeAlias

import numpy as np

from ..exceptions import InvalidInputError, MalformedMessageError
from .vocabulary import MAX_N

__all__ = [
    "MAGIC",
    "VERSION",
    "HEADER_LEN",
    "SERVER_ID",
    "MAX_N",
    "MAX_REASON_BYTES",
    "CONFIG_LEN",
    "KEY_LEN",
    "SIG_LEN",
    "COMMIT_LEN",
    "CIPHERTEXT_LEN",
    "SHARE_LEN",
    "SHARE_PLAINTEXT_LEN",
    "MsgType",
    "ShareKind",
    "Advert",
    "CiphertextOut",
    "CiphertextIn",
    "SignatureEntry",
    "ShareEntry",
    "ConfigRequest",
    "KeyAdvert",
    "AdvertForward",
    "EncryptedShares",
    "ShareForward",
    "MaskedInput",
    "SurvivorRequest",
    "SurvivorSignature",
    "UnmaskRequest",
    "UnmaskResponse",
    "AbortNotice",
    "Message",
    "decode",
    "peek_header",
    "max_message_size",
    "encode_bitmap",
    "decode_bitmap",
]

MAGIC = b"SAGG"
VERSION = 1
SERVER_ID = 0
MAX_REASON_BYTES = 1024
KEY_LEN = 32
SIG_LEN = 64
COMMIT_LEN = 32
SESSION_ID_LEN = 32
NONCE_LEN = 32
#: One Shamir share of a 32-byte secret: five little-endian u64 values < p.
SHARE_LEN = 40
SHARE_VALUES = SHARE_LEN // 8
#: share(b_u) || share(s_u^SK).
SHARE_PLAINTEXT_LEN = 2 * SHARE_LEN
#: nonce(12) || AES-GCM ciphertext of the 80-byte plaintext || tag(16).
CIPHERTEXT_LEN = 12 + SHARE_PLAINTEXT_LEN + 16
_P = (1 << 61) - 1
_CONFIG_LABEL = b"secagg/v1/config"
#: canonical(config): label, u8 version, five u32be, u8 b, u64be m, u8 mode, digest.
CONFIG_LEN = len(_CONFIG_LABEL) + 1 + 5 * 4 + 1 + 8 + 1 + 32
_CONFIG_MODE_OFFSET = len(_CONFIG_LABEL) + 1 + 5 * 4 + 1 + 8

_HEADER = struct.Struct(">4sBB32sI")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
HEADER_LEN = _HEADER.size  # 42


class MsgType:
    """Message type codes (header byte 5)."""

    CONFIG_REQUEST = 0x01
    KEY_ADVERT = 0x02
    ADVERT_FORWARD = 0x03
    ENCRYPTED_SHARES = 0x04
    SHARE_FORWARD = 0x05
    MASKED_INPUT = 0x06
    SURVIVOR_REQUEST = 0x07
    SURVIVOR_SIGNATURE = 0x08
    UNMASK_REQUEST = 0x09
    UNMASK_RESPONSE = 0x0A
    ABORT = 0x0F


class ShareKind:
    """What an R4 share entry carries."""

    SELF_MASK = 1  # a share of b_v (v survived)
    SECRET_KEY = 2  # a share of s_v^SK (v dropped)


class Advert(NamedTuple):
    """One forwarded key advert: client id, channel key, masking key, signature."""

    id: int
    c_pk: bytes
    s_pk: bytes
    signature: bytes | None = None


class CiphertextOut(NamedTuple):
    """A ciphertext as sent by its author, addressed to ``receiver``."""

    receiver: int
    ciphertext: bytes


class CiphertextIn(NamedTuple):
    """A ciphertext as forwarded to its receiver, with the author's commitment."""

    sender: int
    commitment: bytes
    ciphertext: bytes


class SignatureEntry(NamedTuple):
    """A signature on the survivor list by client ``id``."""

    id: int
    signature: bytes


class ShareEntry(NamedTuple):
    """One R4 share: whose secret (``id``), which kind, the 40-byte share."""

    id: int
    kind: int
    share: bytes


# --------------------------------------------------------------------------
# helpers


def _bad(msg: str) -> MalformedMessageError:
    return MalformedMessageError(msg)


def encode_bitmap(members: Any, universe_size: int) -> bytes:
    """Bitmap over positions 0..universe_size-1 (PROTOCOL notation paragraph).

    Args:
        members: 0-based positions whose bit is set.
        universe_size: number of entries in the list the bitmap covers.

    Returns:
        ceil(universe_size / 8) bytes, entry j at bit j % 8 of byte j // 8.

    Raises:
        InvalidInputError: a position is outside 0..universe_size-1.
    """
    out = bytearray((universe_size + 7) // 8)
    for j in members:
        if not 0 <= j < universe_size:
            raise InvalidInputError(f"bitmap position {j} is outside 0..{universe_size - 1}.")
        out[j >> 3] |= 1 << (j & 7)
    return bytes(out)


def decode_bitmap(data: bytes, universe_size: int) -> list[int]:
    """Set positions of a bitmap; non-zero unused bits make it malformed.

    Raises:
        MalformedMessageError: wrong length or a non-zero unused bit.
    """
    if len(data) != (universe_size + 7) // 8:
        raise _bad(
            f"a bitmap over {universe_size} entries needs {(universe_size + 7) // 8} "
            f"bytes, got {len(data)}."
        )
    rem = universe_size & 7
    if rem and data[-1] >> rem:
        raise _bad(f"bitmap over {universe_size} entries has non-zero unused bits.")
    # Bit j of byte i is entry 8i + j: unpacking least significant bit first
    # lists the entries in order (survivor lists over n = 1000 are decoded by
    # every client, so a per-bit Python loop showed up in profiles).
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    out: list[int] = np.flatnonzero(bits).tolist()
    return out


class _Reader:
    """Bounds-checked cursor over a message body."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes | memoryview, pos: int, what: str) -> None:
        self.data = data
        self.pos = pos
        self.what = what

    def _advance(self, n: int, field: str) -> int:
        """Move past the next n bytes; return where they start."""
        start, end = self.pos, self.pos + n
        if end > len(self.data):
            raise _bad(
                f"{self.what} is truncated: field {field} needs {n} bytes at offset "
                f"{self.pos}, only {len(self.data) - self.pos} remain."
            )
        self.pos = end
        return start

    def take(self, n: int, field: str) -> bytes:
        start = self._advance(n, field)
        return bytes(self.data[start : start + n])

    # Integers are read in place, without first copying their bytes out.

    def view(self, n: int, field: str) -> bytes | memoryview:
        """The next n bytes as a view into the message when it is read-only.

        A server would otherwise copy each masked vector (most of an R2
        message) once more while folding it. Writable input (a bytearray) is
        copied, so a decoded message never changes under its holder.
        """
        start = self._advance(n, field)
        whole = memoryview(self.data)
        if not whole.readonly:
            return bytes(whole[start : start + n])
        return whole[start : start + n]

    def u8(self, field: str) -> int:
        return self.data[self._advance(1, field)]

    def u16(self, field: str) -> int:
        return int(_U16.unpack_from(self.data, self._advance(2, field))[0])

    def u32(self, field: str) -> int:
        return int(_U32.unpack_from(self.data, self._advance(4, field))[0])

    def u64(self, field: str) -> int:
        return int(_U64.unpack_from(self.data, self._advance(8, field))[0])

    def need(self, n: int, field: str) -> None:
        if self.pos + n > len(self.data):
            raise _bad(
                f"{self.what} is truncated: {field} needs {n} bytes at offset {self.pos}, "
                f"only {len(self.data) - self.pos} remain."
            )

    def end(self) -> None:
        if self.pos != len(self.data):
            raise _bad(
                f"{self.what} has {len(self.data) - self.pos} trailing bytes after offset "
                f"{self.pos}."
            )


def _flag(r: _Reader, field: str) -> bool:
    v = r.u8(field)
    if v not in (0, 1):
        raise _bad(f"{r.what}: flag {field} must be 0 or 1, got {v}.")
    return bool(v)


def _id_limit(config: Any) -> int:
    return MAX_N if config is None else int(config.n)


def _check_count(r: _Reader, count: int, limit: int, entry_len: int, field: str) -> None:
    if count > limit:
        raise _bad(f"{r.what}: {field} count {count} exceeds the limit {limit}.")
    r.need(count * entry_len, f"{count} {field} entries of {entry_len} bytes")


def _check_ids(r: _Reader, prev: int, cur: int, limit: int, field: str) -> None:
    if not 1 <= cur <= limit:
        raise _bad(f"{r.what}: {field} id {cur} is outside 1..{limit}.")
    if cur <= prev:
        raise _bad(f"{r.what}: {field} ids must be strictly increasing, got {cur} after {prev}.")


def _check_sig_mode(r: _Reader, signed: bool, config: Any) -> None:
    if config is None:
        return
    active = _is_active(config)
    if signed != active:
        raise _bad(
            f"{r.what}: signatures are {'present' if signed else 'absent'} but the "
            f"session runs in {'active' if active else 'semi_honest'} mode."
        )


def _is_active(config: Any) -> bool:
    mode = config.mode
    value = getattr(mode, "value", mode)
    return value in ("active", 1, "ACTIVE")


def _word_bytes(b: int) -> int:
    return 4 if b <= 32 else 8


def _check_share(r: _Reader, share: bytes, field: str) -> None:
    for i in range(SHARE_VALUES):
        v = int.from_bytes(share[8 * i : 8 * i + 8], "little")
        if v >= _P:
            raise _bad(f"{r.what}: {field} value {i} is {v}, not below p = 2^61 - 1.")


def _enc_u32(v: int, field: str) -> bytes:
    if not 0 <= v < 1 << 32:
        raise InvalidInputError(f"field {field} = {v} does not fit in a u32.")
    return v.to_bytes(4, "big")


def _enc_fixed(v: bytes, n: int, field: str) -> bytes:
    if not isinstance(v, (bytes, bytearray)) or len(v) != n:
        got = len(v) if isinstance(v, (bytes, bytearray)) else type(v).__name__
        raise InvalidInputError(f"field {field} must be {n} bytes, got {got}.")
    return bytes(v)


def _enc_sorted_ids(ids: list[int], field: str) -> None:
    for a, b in zip(ids, ids[1:], strict=False):
        if b <= a:
            raise InvalidInputError(f"{field} ids must be strictly increasing, got {b} after {a}.")
    if ids and ids[0] < 1:
        raise InvalidInputError(f"{field} id {ids[0]} is not a client id (ids start at 1).")


# --------------------------------------------------------------------------
# messages


@dataclass(frozen=True)
class _Base:
    session_id: bytes
    sender: int

    TYPE: ClassVar[int] = 0
    FROM_SERVER: ClassVar[bool] = False
    NAME: ClassVar[str] = ""

    def _header(self) -> bytes:
        sid = _enc_fixed(self.session_id, SESSION_ID_LEN, "session_id")
        if self.FROM_SERVER and self.sender != SERVER_ID:
            raise InvalidInputError(
                f"{self.NAME} is sent by the server, whose id is 0, not {self.sender}."
            )
        if not self.FROM_SERVER and not 1 <= self.sender <= MAX_N:
            raise InvalidInputError(
                f"{self.NAME} is sent by a client, whose id must be in 1..{MAX_N}, "
                f"not {self.sender}."
            )
        return _HEADER.pack(MAGIC, VERSION, self.TYPE, sid, self.sender)

    def _body(self) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Encode as in docs/wire-format.md (header then body)."""
        return self._header() + self._body()

    @classmethod
    def from_bytes(cls, data: bytes, config: Any = None) -> Message:
        """Decode ``data`` as this message type.

        Args:
            data: the complete message.
            config: optional session config; enables the config-derived limits.

        Raises:
            MalformedMessageError: anything about ``data`` is wrong, including
                another message type.
        """
        msg = decode(data, config)
        if not isinstance(msg, cls):
            raise _bad(f"expected a {cls.NAME} message, got a {msg.NAME} message.")
        return msg

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> _Base:
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True)
class ConfigRequest(_Base):
    """R0, server to client: canonical(config), nonce, authority signature (active)."""

    config: bytes
    nonce: bytes
    signature: bytes | None = None

    TYPE: ClassVar[int] = MsgType.CONFIG_REQUEST
    FROM_SERVER: ClassVar[bool] = True
    NAME: ClassVar[str] = "ConfigRequest"

    def _body(self) -> bytes:
        cfg = _enc_fixed(self.config, CONFIG_LEN, "config")
        active = cfg[_CONFIG_MODE_OFFSET] == 1
        if (self.signature is not None) != active:
            raise InvalidInputError(
                "ConfigRequest carries a signature exactly when the config's mode is active."
            )
        out = cfg + _enc_fixed(self.nonce, NONCE_LEN, "nonce")
        if self.signature is None:
            return out + b"\x00"
        return out + b"\x01" + _enc_fixed(self.signature, SIG_LEN, "signature")

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> ConfigRequest:
        cfg = r.take(CONFIG_LEN, "config")
        if not cfg.startswith(_CONFIG_LABEL) or cfg[len(_CONFIG_LABEL)] != 1:
            raise _bad(f"{r.what}: the config does not start with the v1 canonical label.")
        mode = cfg[_CONFIG_MODE_OFFSET]
        if mode not in (0, 1):
            raise _bad(f"{r.what}: config mode byte is {mode}, not 0 or 1.")
        nonce = r.take(NONCE_LEN, "nonce")
        signed = _flag(r, "has_signature")
        if signed != (mode == 1):
            raise _bad(
                f"{r.what}: a signature must be present exactly when the config's mode is "
                f"active (mode {mode}, has_signature {int(signed)})."
            )
        sig = r.take(SIG_LEN, "signature") if signed else None
        return cls(session_id, sender, cfg, nonce, sig)


@dataclass(frozen=True)
class KeyAdvert(_Base):
    """R0, client to server: channel and masking public keys (+ signature)."""

    c_pk: bytes
    s_pk: bytes
    signature: bytes | None = None

    TYPE: ClassVar[int] = MsgType.KEY_ADVERT
    NAME: ClassVar[str] = "KeyAdvert"

    def _body(self) -> bytes:
        out = _enc_fixed(self.c_pk, KEY_LEN, "c_pk") + _enc_fixed(self.s_pk, KEY_LEN, "s_pk")
        if self.signature is None:
            return out + b"\x00"
        return out + b"\x01" + _enc_fixed(self.signature, SIG_LEN, "signature")

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> KeyAdvert:
        c_pk = r.take(KEY_LEN, "c_pk")
        s_pk = r.take(KEY_LEN, "s_pk")
        signed = _flag(r, "has_signature")
        _check_sig_mode(r, signed, config)
        sig = r.take(SIG_LEN, "signature") if signed else None
        return cls(session_id, sender, c_pk, s_pk, sig)


@dataclass(frozen=True)
class AdvertForward(_Base):
    """R1 request, server to client: the adverts of N(u) ∩ U1 (all U1 in active mode)."""

    adverts: tuple[Advert, ...]

    TYPE: ClassVar[int] = MsgType.ADVERT_FORWARD
    FROM_SERVER: ClassVar[bool] = True
    NAME: ClassVar[str] = "AdvertForward"

    def _body(self) -> bytes:
        signed = bool(self.adverts) and self.adverts[0].signature is not None
        ids = [a.id for a in self.adverts]
        _enc_sorted_ids(ids, "advert")
        parts = [b"\x01" if signed else b"\x00", _enc_u32(len(self.adverts), "count")]
        for a in self.adverts:
            if (a.signature is not None) != signed:
                raise InvalidInputError("AdvertForward: either every advert is signed or none.")
            parts.append(_enc_u32(a.id, "id"))
            parts.append(_enc_fixed(a.c_pk, KEY_LEN, "c_pk"))
            parts.append(_enc_fixed(a.s_pk, KEY_LEN, "s_pk"))
            if signed:
                parts.append(_enc_fixed(a.signature, SIG_LEN, "signature"))  # type: ignore[arg-type]
        return b"".join(parts)

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> AdvertForward:
        signed = _flag(r, "has_signatures")
        _check_sig_mode(r, signed, config)
        count = r.u32("count")
        if signed and count == 0:
            # The encoder derives the flag from the entries: keep decoding canonical.
            raise _bad(f"{r.what}: has_signatures is 1 but the list is empty.")
        limit = _id_limit(config)
        entry = 4 + 2 * KEY_LEN + (SIG_LEN if signed else 0)
        _check_count(r, count, limit, entry, "advert")
        out = []
        prev = 0
        for _ in range(count):
            i = r.u32("id")
            _check_ids(r, prev, i, limit, "advert")
            prev = i
            c_pk = r.take(KEY_LEN, "c_pk")
            s_pk = r.take(KEY_LEN, "s_pk")
            sig = r.take(SIG_LEN, "signature") if signed else None
            out.append(Advert(i, c_pk, s_pk, sig))
        return cls(session_id, sender, tuple(out))


@dataclass(frozen=True)
class EncryptedShares(_Base):
    """R1, client to server: commitment to b_u and one ciphertext per neighbour."""

    commitment: bytes
    ciphertexts: tuple[CiphertextOut, ...]

    TYPE: ClassVar[int] = MsgType.ENCRYPTED_SHARES
    NAME: ClassVar[str] = "EncryptedShares"

    def _body(self) -> bytes:
        _enc_sorted_ids([c.receiver for c in self.ciphertexts], "receiver")
        parts = [
            _enc_fixed(self.commitment, COMMIT_LEN, "commitment"),
            _enc_u32(len(self.ciphertexts), "count"),
        ]
        for c in self.ciphertexts:
            parts.append(_enc_u32(c.receiver, "receiver"))
            parts.append(_enc_fixed(c.ciphertext, CIPHERTEXT_LEN, "ciphertext"))
        return b"".join(parts)

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> EncryptedShares:
        com = r.take(COMMIT_LEN, "commitment")
        count = r.u32("count")
        limit = _id_limit(config)
        _check_count(r, count, limit - 1, 4 + CIPHERTEXT_LEN, "ciphertext")
        out = []
        prev = 0
        for _ in range(count):
            i = r.u32("receiver")
            _check_ids(r, prev, i, limit, "receiver")
            if i == sender:
                raise _bad(f"{r.what}: client {sender} addresses a ciphertext to itself.")
            prev = i
            out.append(CiphertextOut(i, r.take(CIPHERTEXT_LEN, "ciphertext")))
        return cls(session_id, sender, com, tuple(out))


@dataclass(frozen=True)
class ShareForward(_Base):
    """R2 request, server to client: ciphertexts and commitments from N(u) ∩ U2."""

    ciphertexts: tuple[CiphertextIn, ...]

    TYPE: ClassVar[int] = MsgType.SHARE_FORWARD
    FROM_SERVER: ClassVar[bool] = True
    NAME: ClassVar[str] = "ShareForward"

    def _body(self) -> bytes:
        _enc_sorted_ids([c.sender for c in self.ciphertexts], "sender")
        parts = [_enc_u32(len(self.ciphertexts), "count")]
        for c in self.ciphertexts:
            parts.append(_enc_u32(c.sender, "sender"))
            parts.append(_enc_fixed(c.commitment, COMMIT_LEN, "commitment"))
            parts.append(_enc_fixed(c.ciphertext, CIPHERTEXT_LEN, "ciphertext"))
        return b"".join(parts)

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> ShareForward:
        count = r.u32("count")
        limit = _id_limit(config)
        _check_count(r, count, limit, 4 + COMMIT_LEN + CIPHERTEXT_LEN, "ciphertext")
        out = []
        prev = 0
        for _ in range(count):
            i = r.u32("sender")
            _check_ids(r, prev, i, limit, "sender")
            prev = i
            com = r.take(COMMIT_LEN, "commitment")
            out.append(CiphertextIn(i, com, r.take(CIPHERTEXT_LEN, "ciphertext")))
        return cls(session_id, sender, tuple(out))


@dataclass(frozen=True)
class MaskedInput(_Base):
    """R2, client to server: masking-set bitmap over N(u) and the packed y_u.

    ``mask_bitmap`` covers the ``num_neighbours`` entries of N(u) in increasing
    id; ``packed`` is y_u packed ``b`` bits per element (``m`` elements). A
    message decoded from read-only data (``bytes``) holds ``packed`` as a
    read-only ``memoryview`` into that data rather than a copy of it.
    """

    num_neighbours: int
    mask_bitmap: bytes
    b: int
    m: int
    packed: bytes | memoryview

    TYPE: ClassVar[int] = MsgType.MASKED_INPUT
    NAME: ClassVar[str] = "MaskedInput"

    def masking_positions(self) -> list[int]:
        """0-based positions in N(u) (increasing id) whose bit is set."""
        return decode_bitmap(self.mask_bitmap, self.num_neighbours)

    def _body(self) -> bytes:
        if not 1 <= self.b <= 64:
            raise InvalidInputError(f"MaskedInput: b = {self.b} is outside 1..64.")
        if self.m < 1:
            raise InvalidInputError(f"MaskedInput: m = {self.m} must be at least 1.")
        if len(self.mask_bitmap) != (self.num_neighbours + 7) // 8:
            raise InvalidInputError(
                f"MaskedInput: a bitmap over {self.num_neighbours} neighbours needs "
                f"{(self.num_neighbours + 7) // 8} bytes, got {len(self.mask_bitmap)}."
            )
        if len(self.packed) != (self.m * self.b + 7) // 8:
            raise InvalidInputError(
                f"MaskedInput: {self.m} elements of {self.b} bits pack into "
                f"{(self.m * self.b + 7) // 8} bytes, got {len(self.packed)}."
            )
        return b"".join(
            [
                _enc_u32(self.num_neighbours, "num_neighbours"),
                bytes(self.mask_bitmap),
                bytes([self.b]),
                self.m.to_bytes(8, "big"),
                bytes(self.packed),
            ]
        )

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> MaskedInput:
        k = r.u32("num_neighbours")
        limit = MAX_N - 1 if config is None else int(config.k)
        if k > limit or (config is not None and k != limit):
            raise _bad(
                f"{r.what}: the masking-set bitmap covers {k} neighbours, expected "
                f"{'at most ' if config is None else ''}{limit}."
            )
        bitmap = r.take((k + 7) // 8, "mask_bitmap")
        try:
            decode_bitmap(bitmap, k)
        except MalformedMessageError as exc:
            raise _bad(f"{r.what}: {exc}") from None
        b = r.u8("b")
        m = r.u64("m")
        if not 1 <= b <= 64:
            raise _bad(f"{r.what}: bit width b = {b} is outside 1..64.")
        if m < 1 or m * _word_bytes(b) > 1 << 36:
            raise _bad(f"{r.what}: vector length m = {m} is outside 1..2^36/w.")
        if config is not None and (b != int(config.b) or m != int(config.m)):
            raise _bad(
                f"{r.what}: vector has b = {b}, m = {m}; the session has b = {config.b}, "
                f"m = {config.m}."
            )
        nbytes = (m * b + 7) // 8
        packed = r.view(nbytes, "packed vector")
        rem = (m * b) & 7
        if rem and packed[-1] >> rem:
            raise _bad(f"{r.what}: the packed vector has non-zero padding bits.")
        return cls(session_id, sender, k, bitmap, b, m, packed)


@dataclass(frozen=True)
class SurvivorRequest(_Base):
    """R3 request (active mode), server to client: U3 as bitmap_n."""

    n: int
    survivors: tuple[int, ...]

    TYPE: ClassVar[int] = MsgType.SURVIVOR_REQUEST
    FROM_SERVER: ClassVar[bool] = True
    NAME: ClassVar[str] = "SurvivorRequest"

    def _body(self) -> bytes:
        _enc_sorted_ids(list(self.survivors), "survivor")
        return _enc_u32(self.n, "n") + encode_bitmap([v - 1 for v in self.survivors], self.n)

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> SurvivorRequest:
        n, ids = _parse_bitmap_n(r, config)
        return cls(session_id, sender, n, ids)


def _parse_bitmap_n(r: _Reader, config: Any) -> tuple[int, tuple[int, ...]]:
    n = r.u32("n")
    if not 1 <= n <= MAX_N or (config is not None and n != int(config.n)):
        raise _bad(
            f"{r.what}: bitmap_n covers n = {n} clients, expected "
            f"{'1..' + str(MAX_N) if config is None else config.n}."
        )
    raw = r.take((n + 7) // 8, "bitmap_n")
    try:
        pos = decode_bitmap(raw, n)
    except MalformedMessageError as exc:
        raise _bad(f"{r.what}: {exc}") from None
    return n, tuple(p + 1 for p in pos)


@dataclass(frozen=True)
class SurvivorSignature(_Base):
    """R3, client to server: Ed25519 signature on the survivor list S."""

    signature: bytes

    TYPE: ClassVar[int] = MsgType.SURVIVOR_SIGNATURE
    NAME: ClassVar[str] = "SurvivorSignature"

    def _body(self) -> bytes:
        return _enc_fixed(self.signature, SIG_LEN, "signature")

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> SurvivorSignature:
        if config is not None and not _is_active(config):
            raise _bad(f"{r.what}: survivor signatures exist only in active mode.")
        return cls(session_id, sender, r.take(SIG_LEN, "signature"))


@dataclass(frozen=True)
class UnmaskRequest(_Base):
    """R4 request, server to client: U3 (bitmap_n) and, in active mode, signatures."""

    n: int
    survivors: tuple[int, ...]
    signatures: tuple[SignatureEntry, ...] | None = None

    TYPE: ClassVar[int] = MsgType.UNMASK_REQUEST
    FROM_SERVER: ClassVar[bool] = True
    NAME: ClassVar[str] = "UnmaskRequest"

    def _body(self) -> bytes:
        _enc_sorted_ids(list(self.survivors), "survivor")
        out = [_enc_u32(self.n, "n"), encode_bitmap([v - 1 for v in self.survivors], self.n)]
        if self.signatures is None:
            out.append(b"\x00")
        else:
            _enc_sorted_ids([s.id for s in self.signatures], "signer")
            out.append(b"\x01")
            out.append(_enc_u32(len(self.signatures), "count"))
            for s in self.signatures:
                out.append(_enc_u32(s.id, "signer"))
                out.append(_enc_fixed(s.signature, SIG_LEN, "signature"))
        return b"".join(out)

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> UnmaskRequest:
        n, ids = _parse_bitmap_n(r, config)
        signed = _flag(r, "has_signatures")
        _check_sig_mode(r, signed, config)
        if not signed:
            return cls(session_id, sender, n, ids, None)
        count = r.u32("count")
        _check_count(r, count, n, 4 + SIG_LEN, "signature")
        sigs = []
        prev = 0
        for _ in range(count):
            i = r.u32("signer")
            _check_ids(r, prev, i, n, "signer")
            prev = i
            sigs.append(SignatureEntry(i, r.take(SIG_LEN, "signature")))
        return cls(session_id, sender, n, ids, tuple(sigs))


@dataclass(frozen=True)
class UnmaskResponse(_Base):
    """R4, client to server: per secret owner v, the kind and the 40-byte share."""

    shares: tuple[ShareEntry, ...]

    TYPE: ClassVar[int] = MsgType.UNMASK_RESPONSE
    NAME: ClassVar[str] = "UnmaskResponse"

    def _body(self) -> bytes:
        _enc_sorted_ids([s.id for s in self.shares], "owner")
        parts = [_enc_u32(len(self.shares), "count")]
        for s in self.shares:
            if s.kind not in (ShareKind.SELF_MASK, ShareKind.SECRET_KEY):
                raise InvalidInputError(f"UnmaskResponse: share kind {s.kind} is not 1 or 2.")
            parts.append(_enc_u32(s.id, "owner"))
            parts.append(bytes([s.kind]))
            parts.append(_enc_fixed(s.share, SHARE_LEN, "share"))
        return b"".join(parts)

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> UnmaskResponse:
        count = r.u32("count")
        limit = _id_limit(config)
        _check_count(r, count, limit, 4 + 1 + SHARE_LEN, "share")
        out = []
        prev = 0
        for _ in range(count):
            i = r.u32("owner")
            _check_ids(r, prev, i, limit, "owner")
            prev = i
            kind = r.u8("kind")
            if kind not in (ShareKind.SELF_MASK, ShareKind.SECRET_KEY):
                raise _bad(f"{r.what}: share kind {kind} for owner {i} is not 1 or 2.")
            share = r.take(SHARE_LEN, "share")
            _check_share(r, share, f"share for owner {i}")
            out.append(ShareEntry(i, kind, share))
        return cls(session_id, sender, tuple(out))


@dataclass(frozen=True)
class AbortNotice(_Base):
    """Either direction: the sender aborted the session; ``reason`` says why."""

    reason: str

    TYPE: ClassVar[int] = MsgType.ABORT
    NAME: ClassVar[str] = "AbortNotice"

    def _header(self) -> bytes:
        sid = _enc_fixed(self.session_id, SESSION_ID_LEN, "session_id")
        if not 0 <= self.sender <= MAX_N:
            raise InvalidInputError(f"AbortNotice sender {self.sender} is outside 0..{MAX_N}.")
        return _HEADER.pack(MAGIC, VERSION, self.TYPE, sid, self.sender)

    def _body(self) -> bytes:
        raw = self.reason.encode("utf-8")
        if len(raw) > MAX_REASON_BYTES:
            # Truncate on a character boundary rather than refusing to abort.
            raw = raw[:MAX_REASON_BYTES].decode("utf-8", "ignore").encode("utf-8")
        return len(raw).to_bytes(2, "big") + raw

    @classmethod
    def _parse(cls, r: _Reader, session_id: bytes, sender: int, config: Any) -> AbortNotice:
        n = r.u16("reason_length")
        if n > MAX_REASON_BYTES:
            raise _bad(f"{r.what}: reason length {n} exceeds {MAX_REASON_BYTES} bytes.")
        raw = r.take(n, "reason")
        try:
            reason = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(f"{r.what}: the reason is not valid UTF-8.") from None
        return cls(session_id, sender, reason)


Message: TypeAlias = (
    ConfigRequest
    | KeyAdvert
    | AdvertForward
    | EncryptedShares
    | ShareForward
    | MaskedInput
    | SurvivorRequest
    | SurvivorSignature
    | UnmaskRequest
    | UnmaskResponse
    | AbortNotice
)

_BY_TYPE: dict[int, type[_Base]] = {
    cls.TYPE: cls
    for cls in (
        ConfigRequest,
        KeyAdvert,
        AdvertForward,
        EncryptedShares,
        ShareForward,
        MaskedInput,
        SurvivorRequest,
        SurvivorSignature,
        UnmaskRequest,
        UnmaskResponse,
        AbortNotice,
    )
}


def max_message_size(config: Any) -> int:
    """Largest valid message of any type for ``config`` (n, k, b, m, mode).

    The largest is the R2 masked input or, for small vectors and large n, a
    forward or request carrying n entries.
    """
    n, k, b, m = int(config.n), int(config.k), int(config.b), int(config.m)
    sig = SIG_LEN if _is_active(config) else 0
    bitmap_n = 4 + (n + 7) // 8
    sizes = [
        CONFIG_LEN + NONCE_LEN + 1 + SIG_LEN,
        2 * KEY_LEN + 1 + SIG_LEN,
        1 + 4 + n * (4 + 2 * KEY_LEN + sig),
        COMMIT_LEN + 4 + k * (4 + CIPHERTEXT_LEN),
        4 + k * (4 + COMMIT_LEN + CIPHERTEXT_LEN),
        4 + (k + 7) // 8 + 1 + 8 + (m * b + 7) // 8,
        bitmap_n + 1 + 4 + n * (4 + SIG_LEN),
        4 + n * (4 + 1 + SHARE_LEN),
        2 + MAX_REASON_BYTES,
    ]
    return HEADER_LEN + max(sizes)


def peek_header(data: bytes) -> tuple[int, bytes, int]:
    """Check magic and version; return (type, session_id, sender) without the body.

    Raises:
        MalformedMessageError: shorter than a header, wrong magic or version.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _bad(f"a message must be bytes, got {type(data).__name__}.")
    if len(data) < HEADER_LEN:
        raise _bad(f"a message needs at least {HEADER_LEN} header bytes, got {len(data)}.")
    magic, version, mtype, sid, sender = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise _bad(f"wrong magic {magic!r}, expected {MAGIC!r}.")
    if version != VERSION:
        raise _bad(f"wire format version {version} is not supported (only {VERSION}).")
    return mtype, sid, sender


def decode(data: bytes, config: Any = None) -> Message:
    """Decode any message, dispatching on the type byte.

    Args:
        data: the complete message (bytes, bytearray or memoryview).
        config: optional session config enabling the config-derived limits
            (ids ≤ n, exact k/b/m, signatures exactly in active mode, size).

    Returns:
        The decoded message dataclass.

    Raises:
        MalformedMessageError: truncated, trailing bytes, wrong magic, version,
            type or direction, counts beyond limits, unsorted or duplicate ids,
            non-zero bitmap or vector padding, share values ≥ p, bad flags.
    """
    mtype, sid, sender = peek_header(data)
    cls = _BY_TYPE.get(mtype)
    if cls is None:
        raise _bad(f"unknown message type 0x{mtype:02x}.")
    if config is not None:
        limit = max_message_size(config)
        if len(data) > limit:
            raise _bad(
                f"{cls.NAME} of {len(data)} bytes exceeds the session's limit of {limit} bytes."
            )
    if cls is not AbortNotice:
        if cls.FROM_SERVER and sender != SERVER_ID:
            raise _bad(f"{cls.NAME} comes from the server (id 0), but the sender is {sender}.")
        if not cls.FROM_SERVER and not 1 <= sender <= _id_limit(config):
            raise _bad(
                f"{cls.NAME} comes from a client, but sender {sender} is outside "
                f"1..{_id_limit(config)}."
            )
    elif sender > _id_limit(config):
        raise _bad(f"AbortNotice sender {sender} is outside 0..{_id_limit(config)}.")
    r = _Reader(memoryview(data) if not isinstance(data, bytes) else data, HEADER_LEN, cls.NAME)
    msg = cls._parse(r, sid, sender, config)
    r.end()
    return msg  # type: ignore[return-value]

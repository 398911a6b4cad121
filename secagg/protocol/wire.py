"""The wire layer: header, bounds-checked reader, writer, bitmaps and limits.

Everything here is independent of any one message. The header is the
42-byte frame of docs/wire-format.md; :class:`Reader` walks a body and
refuses to read, count or loop past the bytes that are actually there;
:class:`Writer` collects the parts of an encoding without copying them;
bitmaps (LSB-first with unused bits zero, PROTOCOL.md notation) come from
:mod:`secagg.protocol.bitmaps` and are re-exported here; and
:class:`Limits` is the typed view of a session config a decoder needs (n, k,
b, m and whether signatures belong on the wire).

Decoding failures are :class:`~secagg.exceptions.MalformedMessageError`;
values the format cannot carry are
:class:`~secagg.exceptions.InvalidInputError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from ..exceptions import InvalidInputError, MalformedMessageError
from .bitmaps import IdBitmap, bitmap_problem, decode_bitmap, encode_bitmap
from .config import Config
from .thresholds import is_int
from .vocabulary import MAX_KEYSTREAM_BYTES, MAX_N, SERVER_ID, SESSION_ID_LEN, Mode

__all__ = [
    "MAGIC",
    "VERSION",
    "HEADER_LEN",
    "Header",
    "Sender",
    "Limits",
    "Reader",
    "Writer",
    "pack_header",
    "peek_header",
    "as_buffer",
    "encode_bitmap",
    "decode_bitmap",
    "bitmap_problem",
    "IdBitmap",
    "word_bytes",
]

MAGIC = b"SAGG"
VERSION = 1
_HEADER = struct.Struct(">4sBB32sI")
HEADER_LEN = _HEADER.size  # 42
_UINT = {w: struct.Struct(">" + c) for w, c in ((1, "B"), (2, "H"), (4, "I"), (8, "Q"))}

Buffer = bytes | bytearray | memoryview


def word_bytes(b: int) -> int:
    """Storage width w in bytes of a b-bit element: 4 for b <= 32, else 8."""
    return 4 if b <= 32 else 8


# ---------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """What a decoder checks a message against, from one session's config.

    Attributes:
        n: Clients in the session (ids 1..n), at most ``MAX_N``.
        k: Neighbours per client, below n.
        b: Bits per ring element (1..64).
        m: Vector length (m * w at most 2^36 bytes).
        active: True when the session runs in active mode (signatures on
            the wire), False in semi_honest mode.

    Raises:
        InvalidInputError: A field has the wrong type or lies outside its range.
    """

    n: int
    k: int
    b: int
    m: int
    active: bool = False

    def __post_init__(self) -> None:
        for name in ("n", "k", "b", "m"):
            value = getattr(self, name)
            if not is_int(value):
                raise InvalidInputError(
                    f"limit {name} must be an integer, got {type(value).__name__} {value!r}."
                )
            object.__setattr__(self, name, int(value))
        if not isinstance(self.active, bool):
            raise InvalidInputError(
                f"limit active must be a bool, got {type(self.active).__name__} {self.active!r}."
            )
        if not 1 <= self.n <= MAX_N:
            raise InvalidInputError(f"limit n must lie in 1..{MAX_N}, got {self.n}.")
        if not 0 <= self.k < self.n:
            raise InvalidInputError(f"limit k must lie in 0..n - 1 = {self.n - 1}, got {self.k}.")
        if not 1 <= self.b <= 64:
            raise InvalidInputError(f"limit b must lie in 1..64, got {self.b}.")
        top = MAX_KEYSTREAM_BYTES // word_bytes(self.b)
        if not 1 <= self.m <= top:
            raise InvalidInputError(f"limit m must lie in 1..{top} for b = {self.b}, got {self.m}.")

    @classmethod
    def of(cls, config: Config) -> Limits:
        """The limits of a session config.

        Args:
            config: The session's validated Config.

        Returns:
            Its n, k, b and m, and whether its mode is active.
        """
        return cls(config.n, config.k, config.b, config.m, config.mode is Mode.ACTIVE)

    @classmethod
    def coerce(cls, value: Limits | Config | None) -> Limits | None:
        """Accept limits, a session config (converted) or None; refuse anything else.

        Raises:
            InvalidInputError: ``value`` is neither Limits, Config nor None.
        """
        if value is None or isinstance(value, Limits):
            return value
        if isinstance(value, Config):
            return cls.of(value)
        raise InvalidInputError(
            f"decoding limits must be a Limits, a Config or None, got {type(value).__name__}."
        )

    @property
    def mode(self) -> Mode:
        """The session's mode."""
        return Mode.ACTIVE if self.active else Mode.SEMI_HONEST


# ---------------------------------------------------------------------- header


class Header(NamedTuple):
    """A message's frame: type code, session id and sender id."""

    type: int
    session_id: bytes
    sender: int


class Sender(Enum):
    """Who may send a message type: the server (id 0), a client (1..n) or either."""

    SERVER = "server"
    CLIENT = "client"
    EITHER = "either"

    def problem(self, name: str, sender: int, top: int) -> str | None:
        """Why ``sender`` may not send message ``name`` (ids up to ``top``), or None."""
        if self is Sender.SERVER and sender != SERVER_ID:
            return f"{name} comes from the server (id 0), but the sender is {sender}."
        if self is Sender.CLIENT and not 1 <= sender <= top:
            return f"{name} comes from a client, but sender {sender} is outside 1..{top}."
        if self is Sender.EITHER and not 0 <= sender <= top:
            return f"{name} sender {sender} is outside 0..{top}."
        return None


def pack_header(mtype: int, session_id: bytes, sender: int, who: Sender, name: str) -> bytes:
    """The 42-byte header of a message ``name`` of type ``mtype`` sent by ``who``.

    Args:
        mtype: The type code (header byte 5).
        session_id: The 32-byte session id.
        sender: The sender's id (0 for the server).
        who: Who may send this message type.
        name: The message's name, for error sentences.

    Returns:
        magic ‖ version ‖ type ‖ session id ‖ u32be sender.

    Raises:
        InvalidInputError: The session id is not 32 bytes or the sender id
            does not fit ``who``.
    """
    if not isinstance(session_id, (bytes, bytearray)) or len(session_id) != SESSION_ID_LEN:
        got = len(session_id) if isinstance(session_id, (bytes, bytearray)) else session_id
        raise InvalidInputError(f"field session_id must be {SESSION_ID_LEN} bytes, got {got!r}.")
    if not is_int(sender):
        raise InvalidInputError(f"{name} sender must be an integer, got {sender!r}.")
    problem = who.problem(name, sender, MAX_N)
    if problem is not None:
        raise InvalidInputError(problem)
    return _HEADER.pack(MAGIC, VERSION, mtype, bytes(session_id), sender)


def as_buffer(data: Buffer) -> bytes | memoryview:
    """``data`` as bytes, or as a flat byte view of any other contiguous buffer.

    Raises:
        MalformedMessageError: ``data`` is not bytes, a bytearray or a
            contiguous memoryview.
    """
    if isinstance(data, bytes):
        return data
    if not isinstance(data, (bytearray, memoryview)):
        raise MalformedMessageError(f"a message must be bytes, got {type(data).__name__}.")
    view = memoryview(data)
    if view.ndim != 1 or view.format != "B":
        if not view.c_contiguous:
            raise MalformedMessageError("a message must be contiguous bytes.")
        view = view.cast("B")
    return view


def peek_header(data: Buffer) -> Header:
    """Check magic and version; return (type, session_id, sender) without the body.

    Raises:
        MalformedMessageError: Not bytes, shorter than a header, wrong magic
            or version.
    """
    data = as_buffer(data)
    if len(data) < HEADER_LEN:
        raise MalformedMessageError(
            f"a message needs at least {HEADER_LEN} header bytes, got {len(data)}."
        )
    magic, version, mtype, sid, sender = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise MalformedMessageError(f"wrong magic {magic!r}, expected {MAGIC!r}.")
    if version != VERSION:
        raise MalformedMessageError(
            f"wire format version {version} is not supported (only {VERSION})."
        )
    return Header(mtype, sid, sender)


# ---------------------------------------------------------------------- reader


class Reader:
    """Bounds-checked cursor over a message; every failure is a MalformedMessageError.

    Args:
        data: The whole message; read-only input (bytes) may be handed out
            as zero-copy views, writable input is always copied.
        pos: Where the cursor starts (after the header).
        what: The message's name, for error sentences.
    """

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes | memoryview, pos: int = 0, what: str = "message") -> None:
        self.data = data
        self.pos = pos
        self.what = what

    def fail(self, sentence: str) -> MalformedMessageError:
        """The error for a broken rule, prefixed with the message's name."""
        return MalformedMessageError(f"{self.what}: {sentence}")

    def need(self, n: int, field: str) -> None:
        """Refuse unless ``n`` more bytes are present."""
        if self.pos + n > len(self.data):
            raise MalformedMessageError(
                f"{self.what} is truncated: {field} needs {n} bytes at offset {self.pos}, "
                f"only {len(self.data) - self.pos} remain."
            )

    def _advance(self, n: int, field: str) -> int:
        """Move past the next n bytes; return where they start."""
        self.need(n, f"field {field}")
        start = self.pos
        self.pos = start + n
        return start

    def take(self, n: int, field: str) -> bytes:
        """The next n bytes, copied."""
        start = self._advance(n, field)
        return bytes(self.data[start : start + n])

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

    def uint(self, width: int, field: str) -> int:
        """A big-endian unsigned integer of 1, 2, 4 or 8 bytes, read in place."""
        return int(_UINT[width].unpack_from(self.data, self._advance(width, field))[0])

    def flag(self, field: str) -> bool:
        """A u8 that must be 0 or 1."""
        value = self.uint(1, field)
        if value > 1:
            raise self.fail(f"flag {field} must be 0 or 1, got {value}.")
        return bool(value)

    def count(self, field: str, limit: int, entry_len: int) -> int:
        """A u32be entry count, refused before any entry is read if it is too large.

        The count must be at most ``limit`` and its ``count * entry_len``
        bytes must all be present, so a hostile count costs nothing.
        """
        count = self.uint(4, "count")
        if count > limit:
            raise self.fail(f"{field} count {count} exceeds the limit {limit}.")
        self.need(count * entry_len, f"{count} {field} entries of {entry_len} bytes")
        return count

    def records(self, count: int, layout: struct.Struct, field: str) -> Iterator[tuple[Any, ...]]:
        """The next ``count`` fixed-size records, unpacked by ``layout`` in one pass."""
        start = self._advance(count * layout.size, f"{count} {field} entries")
        return layout.iter_unpack(memoryview(self.data)[start : self.pos])

    def next_id(self, prev: int, limit: int, field: str) -> int:
        """A u32be id in 1..limit, strictly above ``prev``."""
        return self.check_id(self.uint(4, field), prev, limit, field)

    def check_id(self, value: int, prev: int, limit: int, field: str) -> int:
        """``value`` if it lies in 1..limit and strictly above ``prev``."""
        if not 1 <= value <= limit:
            raise self.fail(f"{field} id {value} is outside 1..{limit}.")
        if value <= prev:
            raise self.fail(f"{field} ids must be strictly increasing, got {value} after {prev}.")
        return value

    def end(self) -> None:
        """Refuse trailing bytes."""
        if self.pos != len(self.data):
            raise MalformedMessageError(
                f"{self.what} has {len(self.data) - self.pos} trailing bytes after offset "
                f"{self.pos}."
            )


# ---------------------------------------------------------------------- writer


class Writer:
    """Collects the parts of an encoding; byte strings are kept, not copied, until the end."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[Buffer] = []

    def uint(self, width: int, value: int, field: str) -> None:
        """Append a big-endian unsigned integer of ``width`` bytes.

        Raises:
            InvalidInputError: ``value`` is not an integer or does not fit.
        """
        top = (1 << (8 * width)) - 1
        if not is_int(value) or not 0 <= value <= top:
            raise InvalidInputError(
                f"field {field} = {value!r} does not fit in a u{8 * width} (0..{top})."
            )
        self.parts.append(_UINT[width].pack(value))

    def raw(self, data: Buffer) -> None:
        """Append bytes as they are (a masked vector is not copied until :meth:`getvalue`)."""
        self.parts.append(data)

    def getvalue(self) -> bytes:
        """The encoding: every part, joined once."""
        return b"".join(self.parts)

"""The generic message codec: a header, then a body walked along the message's layout.

Every message type is a frozen dataclass deriving from :class:`WireMessage`
with a type code, the side that may send it and a ``LAYOUT`` (a tuple of
:mod:`secagg.protocol.layout` descriptors in wire order). :meth:`to_bytes`,
:func:`decode` and :func:`max_message_size` all walk that one layout, so a
message's bytes are written down once.

The encoder refuses what the format cannot carry or gives no meaning (an
:class:`~secagg.exceptions.InvalidInputError` naming the field): a value of
the wrong type, length or width, an integer outside its declared range or
enumeration, ids that are not positive and strictly increasing, a flag that
contradicts what it guards, ids outside a bitmap's range. Rules on content
the bytes could carry (share values below p, zero unused bits, the
canonical config's label, ids within the session's n, no ciphertext
addressed to its own sender, signatures only in active sessions) are
decoding rules only, so that tests can still play a deviating peer: the
decoder refuses such a message with a
:class:`~secagg.exceptions.MalformedMessageError`, and decodes anything else
the encoder produced back to an equal message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Self

from ..exceptions import InvalidInputError, MalformedMessageError
from .config import Config
from .layout import Context, Layout
from .vocabulary import MAX_N
from .wire import HEADER_LEN, Limits, Reader, Sender, Writer, as_buffer, pack_header, peek_header

__all__ = ["WireMessage", "REGISTRY", "decode", "max_message_size"]

#: Every message type by its type code, filled as the types are defined.
REGISTRY: dict[int, type[WireMessage]] = {}


@dataclass(frozen=True)
class WireMessage:
    """Base of every message: the header's session id and sender, then the layout's fields.

    Subclasses set ``TYPE`` (the header's type code), ``SENDER`` (who may
    send it) and ``LAYOUT``; ``NAME`` and ``FROM_SERVER`` follow from them.
    """

    session_id: bytes
    sender: int

    TYPE: ClassVar[int] = 0
    SENDER: ClassVar[Sender] = Sender.CLIENT
    FROM_SERVER: ClassVar[bool] = False
    NAME: ClassVar[str] = ""
    LAYOUT: ClassVar[Layout] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.NAME = cls.__name__
        cls.FROM_SERVER = cls.SENDER is Sender.SERVER
        if "TYPE" not in cls.__dict__:
            return  # a subclass of a message type is not a new type
        if cls.TYPE in REGISTRY:
            raise TypeError(f"message type 0x{cls.TYPE:02x} is defined twice.")
        REGISTRY[cls.TYPE] = cls

    def to_bytes(self) -> bytes:
        """Encode as in docs/wire-format.md (header then body).

        Raises:
            InvalidInputError: A field cannot be encoded (wrong type, length,
                range, order or combination); the sentence names it.
        """
        w = Writer()
        w.raw(pack_header(self.TYPE, self.session_id, self.sender, self.SENDER, self.NAME))
        values = {f.name: getattr(self, f.name) for f in self.LAYOUT}
        ctx = Context(self.NAME, self.sender, values, error=InvalidInputError)
        for f in self.LAYOUT:
            f.write(w, values[f.name], ctx)
        return w.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, limits_or_config: Limits | Config | None = None
    ) -> Self:
        """Decode ``data`` as this message type.

        Args:
            data: The complete message.
            limits_or_config: The session's limits or config, enabling the
                limits derived from it (None: only the format's own limits).

        Raises:
            MalformedMessageError: Anything about ``data`` is wrong, including
                another message type.
            InvalidInputError: ``limits_or_config`` is neither Limits, Config
                nor None.
        """
        msg = decode(data, limits_or_config)
        if not isinstance(msg, cls):
            raise MalformedMessageError(f"expected a {cls.NAME} message, got a {msg.NAME} message.")
        return msg

    @classmethod
    def max_body_size(cls, limits: Limits) -> int:
        """The largest body of this type under ``limits``."""
        ctx = Context(cls.NAME, 0, {}, limits)
        return sum(f.max_size(ctx) for f in cls.LAYOUT)


@lru_cache(maxsize=64)
def _max_size(limits: Limits) -> int:
    return HEADER_LEN + max(cls.max_body_size(limits) for cls in REGISTRY.values())


def max_message_size(limits_or_config: Limits | Config) -> int:
    """Largest valid message of any type for a session, from the layouts themselves.

    Each layout is sized at its largest under the session's n, k, b, m and
    mode (lists of neighbours at k entries); the largest is the R2 masked
    input or, for small vectors and large n, a forward or request carrying
    n entries.

    Raises:
        InvalidInputError: ``limits_or_config`` is neither Limits nor Config.
    """
    limits = Limits.coerce(limits_or_config)
    if limits is None:
        raise InvalidInputError("max_message_size needs the session's limits or config.")
    return _max_size(limits)


def decode(
    data: bytes | bytearray | memoryview, limits_or_config: Limits | Config | None = None
) -> WireMessage:
    """Decode any message, dispatching on the type byte.

    Args:
        data: The complete message (bytes, bytearray or memoryview).
        limits_or_config: The session's :class:`Limits` or its Config,
            enabling the limits derived from it (ids ≤ n, exact k/b/m,
            signatures exactly in active mode, size); None for the format's
            own limits only.

    Returns:
        The decoded message dataclass.

    Raises:
        MalformedMessageError: Truncated, trailing bytes, wrong magic, version,
            type or direction, counts beyond limits, unsorted or duplicate ids,
            non-zero bitmap or vector padding, share values ≥ p, bad flags.
        InvalidInputError: ``limits_or_config`` is neither Limits, Config nor
            None.
    """
    limits = Limits.coerce(limits_or_config)
    buf = as_buffer(data)
    mtype, sid, sender = peek_header(buf)
    cls = REGISTRY.get(mtype)
    if cls is None:
        raise MalformedMessageError(f"unknown message type 0x{mtype:02x}.")
    if limits is not None and len(buf) > _max_size(limits):
        raise MalformedMessageError(
            f"{cls.NAME} of {len(buf)} bytes exceeds the session's limit of "
            f"{_max_size(limits)} bytes."
        )
    problem = cls.SENDER.problem(cls.NAME, sender, MAX_N if limits is None else limits.n)
    if problem is not None:
        raise MalformedMessageError(problem)
    r = Reader(buf, HEADER_LEN, cls.NAME)
    ctx = Context(cls.NAME, sender, {}, limits)
    for f in cls.LAYOUT:
        ctx.values[f.name] = f.read(r, ctx)
    r.end()
    return cls(sid, sender, **ctx.values)

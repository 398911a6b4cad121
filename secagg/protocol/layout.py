"""Field descriptors: how one field of a message is encoded, decoded and sized.

A message's layout is a tuple of descriptors in wire order, which the codec
(:mod:`secagg.protocol.codec`) walks to encode, to decode and to size it.
A broken rule is reported through one :class:`Context`: an
:class:`~secagg.exceptions.InvalidInputError` when encoding, a
:class:`~secagg.exceptions.MalformedMessageError` when decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ..exceptions import MalformedMessageError, SecAggError
from .thresholds import is_int
from .wire import Limits, Reader, Writer, bitmap_problem

__all__ = [
    "Context",
    "Field",
    "UInt",
    "Blob",
    "Maybe",
    "Text",
    "Layout",
    "bits",
    "U32_MAX",
]

#: A length or bound: a number, or computed from the fields read so far.
Size = int | Callable[[Mapping[str, Any]], int]
#: A rule on a field's value given the fields read so far: the broken rule's sentence, or None.
Check = Callable[[Any, Mapping[str, Any]], "str | None"]
U32_MAX = (1 << 32) - 1
_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


@dataclass(slots=True)
class Context:
    """What a field sees besides its own bytes.

    Attributes:
        what: The message's name, prefixed to every sentence.
        sender: The header's sender id.
        values: The message's fields by name (all of them when encoding,
            those read so far when decoding).
        limits: The session's limits (decoding only; None otherwise).
        error: The exception a broken rule raises.
        noun: What the ids of the list being walked name ("owner").
        entry: The id of the list entry being walked, for sentences.
    """

    what: str
    sender: int
    values: dict[str, Any]
    limits: Limits | None = None
    error: type[SecAggError] = MalformedMessageError
    noun: str = ""
    entry: int | None = None

    def fail(self, sentence: str) -> SecAggError:
        """The exception for a broken rule (raise it)."""
        where = "" if self.entry is None else f", {self.noun} {self.entry}"
        return self.error(f"{self.what}{where}: {sentence}")

    def signatures(self, present: bool) -> str | None:
        """Why signatures being ``present`` breaks the session's mode, or None."""
        if self.limits is None or present == self.limits.active:
            return None
        return (
            f"signatures are {'present' if present else 'absent'} but the session runs in "
            f"{self.limits.mode.value} mode."
        )


def _resolve(size: Size, values: Mapping[str, Any]) -> int:
    return size if isinstance(size, int) else size(values)


class Field:
    """One field of a layout; fixed-size ones pack into a list entry's ``struct``."""

    name: str
    #: Encoded size when it never varies (required inside list entries).
    size: int | None = None
    #: struct format code of a fixed-size field ("I", "32s").
    code: str = ""
    #: True when :meth:`accept` has a rule to apply (False: identity).
    checked: bool = True

    def prepare(self, value: Any, ctx: Context) -> Any:
        """Check a value to encode; the value to write."""
        return value

    def accept(self, value: Any, ctx: Context) -> Any:
        """Check a decoded value; the value the message holds."""
        return value

    def plain(self, column: list[Any]) -> bool:
        """True when :meth:`prepare` would pass every value of ``column`` through unchanged."""
        return False

    def write(self, w: Writer, value: Any, ctx: Context) -> None:
        """Check ``value`` and append its encoding."""
        raise NotImplementedError  # pragma: no cover

    def read(self, r: Reader, ctx: Context) -> Any:
        """Read and check the field's value."""
        raise NotImplementedError  # pragma: no cover

    def max_size(self, ctx: Context) -> int:
        """Largest encoding under ``ctx.limits``; records the value dependents size by."""
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True)
class UInt(Field):
    """A big-endian unsigned integer of ``width`` bytes in lo..hi.

    ``kind`` restricts it to an enumeration's values (decoded as members);
    ``session`` names the :class:`Limits` attribute it must equal when the
    session's limits are known.
    """

    name: str
    width: int
    lo: int = 0
    hi: Size | None = None
    session: str | None = None
    kind: type[IntEnum] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", self.width)
        object.__setattr__(self, "code", _CODES[self.width])
        object.__setattr__(self, "label", self.label or self.name)

    def _hi(self, values: Mapping[str, Any]) -> int:
        return (1 << (8 * self.width)) - 1 if self.hi is None else _resolve(self.hi, values)

    def _check(self, value: int, ctx: Context) -> None:
        hi = self._hi(ctx.values)
        if not self.lo <= value <= hi:
            raise ctx.fail(f"{self.label} = {value} is outside {self.lo}..{hi}.")
        if self.kind is not None and value not in self.kind._value2member_map_:
            allowed = ", ".join(str(int(k)) for k in self.kind)
            raise ctx.fail(f"{self.label} {value} is not one of {allowed}.")
        if self.session is not None and ctx.limits is not None:
            want = getattr(ctx.limits, self.session)
            if value != want:
                raise ctx.fail(
                    f"{self.label} = {value}, but the session has {self.session} = {want}."
                )

    def accept(self, value: int, ctx: Context) -> Any:
        self._check(value, ctx)
        return value if self.kind is None else self.kind(value)

    def plain(self, column: list[Any]) -> bool:
        if not column:
            return True
        types = {int} if self.kind is None else {int, self.kind}
        if callable(self.hi) or set(map(type, column)) - types:
            return False
        if min(column) < self.lo or max(column) > self._hi({}):
            return False
        return self.kind is None or set(column).issubset(self.kind._value2member_map_)

    def prepare(self, value: Any, ctx: Context) -> Any:
        if not is_int(value):
            raise ctx.fail(f"field {self.name} must be an integer, got {value!r}.")
        self._check(int(value), ctx)
        return int(value)

    def write(self, w: Writer, value: Any, ctx: Context) -> None:
        w.uint(self.width, self.prepare(value, ctx), self.name)

    def read(self, r: Reader, ctx: Context) -> Any:
        return self.accept(r.uint(self.width, self.name), ctx)

    def max_size(self, ctx: Context) -> int:
        assert ctx.limits is not None
        top = self._hi(ctx.values)
        ctx.values[self.name] = top if self.session is None else getattr(ctx.limits, self.session)
        return self.width


@dataclass(frozen=True)
class Blob(Field):
    """``length`` bytes, whose content a decoder checks with ``check``.

    ``view`` hands out a zero-copy view of read-only input; ``active_only``
    refuses the field in a semi_honest session (a signature that has no
    place there). Both are decoding rules: the encoder checks only the type
    and length, and never copies a variable-length value.
    """

    name: str
    length: Size
    check: Check | None = None
    view: bool = False
    active_only: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.length, int):
            object.__setattr__(self, "size", self.length)
            object.__setattr__(self, "code", f"{self.length}s")
        object.__setattr__(self, "checked", self.check is not None or self.active_only)

    def prepare(self, value: Any, ctx: Context) -> Any:
        if type(value) is bytes and len(value) == self.size:
            return value  # the common case, first
        if isinstance(value, memoryview) and (value.ndim != 1 or value.format != "B"):
            if not value.c_contiguous:
                raise ctx.fail(f"field {self.name} must be contiguous bytes.")
            value = value.cast("B")
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ctx.fail(f"field {self.name} must be bytes, got {type(value).__name__}.")
        n = _resolve(self.length, ctx.values)
        if len(value) != n:
            raise ctx.fail(f"field {self.name} must be {n} bytes, got {len(value)}.")
        # struct packs bytes, not views; a fixed-size field is small enough to copy.
        return value.tobytes() if self.size is not None and type(value) is memoryview else value

    def plain(self, column: list[Any]) -> bool:
        return not set(map(type, column)) - {bytes} and set(map(len, column)) <= {self.size}

    def accept(self, value: Any, ctx: Context) -> Any:
        if self.active_only and ctx.limits is not None and not ctx.limits.active:
            raise ctx.fail(f"field {self.name} exists only in active mode.")
        if self.check is not None:
            problem = self.check(value, ctx.values)
            if problem is not None:
                raise ctx.fail(problem)
        return value

    def write(self, w: Writer, value: Any, ctx: Context) -> None:
        w.raw(self.prepare(value, ctx))

    def read(self, r: Reader, ctx: Context) -> Any:
        n = _resolve(self.length, ctx.values)
        return self.accept(r.view(n, self.name) if self.view else r.take(n, self.name), ctx)

    def max_size(self, ctx: Context) -> int:
        return _resolve(self.length, ctx.values)


@dataclass(frozen=True)
class Maybe(Field):
    """A u8 flag (0 or 1) named ``flag``, then ``inner`` exactly when it is 1.

    ``rule`` says when it must be 1; without one, ``inner`` is a signature,
    present exactly in active sessions.
    """

    inner: Field
    flag: str
    rule: Callable[[bool, Mapping[str, Any]], str | None] | None = None
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.inner.name)

    def _check(self, present: bool, ctx: Context) -> None:
        problem = ctx.signatures(present) if self.rule is None else self.rule(present, ctx.values)
        if problem is not None:
            raise ctx.fail(problem)

    def write(self, w: Writer, value: Any, ctx: Context) -> None:
        self._check(value is not None, ctx)
        w.uint(1, int(value is not None), self.flag)
        if value is not None:
            self.inner.write(w, value, ctx)

    def read(self, r: Reader, ctx: Context) -> Any:
        present = r.flag(self.flag)
        self._check(present, ctx)
        return self.inner.read(r, ctx) if present else None

    def max_size(self, ctx: Context) -> int:
        assert ctx.limits is not None
        present = self.rule is not None or ctx.limits.active
        return 1 + (self.inner.max_size(ctx) if present else 0)


@dataclass(frozen=True)
class Text(Field):
    """u16be length (at most ``max_bytes``), then UTF-8; too long is cut, never refused."""

    name: str
    max_bytes: int

    def write(self, w: Writer, value: Any, ctx: Context) -> None:
        if not isinstance(value, str):
            raise ctx.fail(f"field {self.name} must be a str, got {type(value).__name__}.")
        # A lone surrogate cannot be UTF-8; it becomes "?" rather than block the notice.
        raw = value.encode("utf-8", "replace")
        if len(raw) > self.max_bytes:
            raw = raw[: self.max_bytes].decode("utf-8", "ignore").encode("utf-8")
        w.uint(2, len(raw), f"{self.name}_length")
        w.raw(raw)

    def read(self, r: Reader, ctx: Context) -> Any:
        n = r.uint(2, f"{self.name}_length")
        if n > self.max_bytes:
            raise ctx.fail(f"{self.name} length {n} exceeds {self.max_bytes} bytes.")
        raw = r.take(n, self.name)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ctx.fail(f"the {self.name} is not valid UTF-8.") from None

    def max_size(self, ctx: Context) -> int:
        return 2 + self.max_bytes


#: A message's fields in wire order.
Layout = tuple[Field, ...]


def bits(name: str, nbits: Callable[[Mapping[str, Any]], int], view: bool = False) -> Blob:
    """ceil(nbits/8) bytes with zero bits after the first ``nbits`` (a bitmap, a packed vector)."""
    return Blob(
        name,
        lambda v: (nbits(v) + 7) // 8,
        check=lambda raw, v: bitmap_problem(raw, nbits(v), name),
        view=view,
    )

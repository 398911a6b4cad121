"""Field-level encoding of exported states: integers, byte strings, id tables, vectors.

Decoding is as strict as for messages: every length is checked before it is
trusted, ids are strictly increasing, nothing may trail, and a failure is a
MalformedMessageError naming the field.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ...exceptions import MalformedMessageError
from ..vocabulary import MAX_N

__all__ = ["StateReader", "StateWriter"]

_U = {
    1: struct.Struct(">B"),
    2: struct.Struct(">H"),
    4: struct.Struct(">I"),
    8: struct.Struct(">Q"),
}


class StateWriter:
    """Collects the parts of an exported state."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def uint(self, width: int, value: int) -> None:
        """A big-endian unsigned integer of 1, 2, 4 or 8 bytes."""
        self.parts.append(_U[width].pack(value))

    def fixed(self, data: bytes) -> None:
        """Bytes whose length the reader knows."""
        self.parts.append(bytes(data))

    def var(self, data: bytes) -> None:
        """Bytes preceded by their u32be length."""
        self.uint(4, len(data))
        self.parts.append(bytes(data))

    def text(self, value: str) -> None:
        """UTF-8 text preceded by its u16be length."""
        raw = value.encode("utf-8")[:65535]
        self.uint(2, len(raw))
        self.parts.append(raw)

    def optional(self, data: bytes | None) -> None:
        """A flag, then the bytes (known length) when present."""
        self.uint(1, data is not None)
        if data is not None:
            self.fixed(data)

    def ids(self, ids: Iterable[int]) -> None:
        """A u32be count, then the ids (increasing)."""
        values = sorted(ids)
        self.uint(4, len(values))
        self.parts.extend(_U[4].pack(v) for v in values)

    def table(self, rows: Mapping[int, Sequence[bytes]]) -> None:
        """A u32be count, then per id (increasing): u32be id and its fixed-size fields."""
        self.uint(4, len(rows))
        for key in sorted(rows):
            self.uint(4, key)
            for value in rows[key]:
                self.fixed(value)

    def vector(self, words: np.ndarray) -> None:
        """An m-word vector in little-endian storage order (length known from the config)."""
        self.parts.append(words.astype(words.dtype.newbyteorder("<"), copy=False).tobytes())

    def getvalue(self) -> bytes:
        """The encoding."""
        return b"".join(self.parts)


class StateReader:
    """Bounds-checked cursor over an exported state."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int, field: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MalformedMessageError(
                f"the exported state is truncated: {field} needs {n} bytes at offset "
                f"{self.pos}, only {len(self.data) - self.pos} remain."
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, width: int, field: str) -> int:
        """A big-endian unsigned integer of 1, 2, 4 or 8 bytes."""
        return int(_U[width].unpack(self._take(width, field))[0])

    def fixed(self, n: int, field: str) -> bytes:
        """n bytes."""
        return self._take(n, field)

    def var(self, field: str, limit: int) -> bytes:
        """Bytes preceded by their u32be length, at most ``limit``."""
        n = self.uint(4, field)
        if n > limit:
            raise MalformedMessageError(f"the exported {field} has {n} bytes, at most {limit}.")
        return self._take(n, field)

    def text(self, field: str) -> str:
        """UTF-8 text preceded by its u16be length."""
        raw = self._take(self.uint(2, field), field)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessageError(f"the exported {field} is not UTF-8.") from None

    def flag(self, field: str) -> bool:
        """A u8 that is 0 or 1."""
        value = self.uint(1, field)
        if value > 1:
            raise MalformedMessageError(f"the exported {field} flag is {value}, not 0 or 1.")
        return bool(value)

    def optional(self, n: int, field: str) -> bytes | None:
        """A flag, then n bytes when present."""
        return self.fixed(n, field) if self.flag(field) else None

    def _count(self, field: str, limit: int, entry: int) -> int:
        count = self.uint(4, field)
        if count > limit or self.pos + count * entry > len(self.data):
            raise MalformedMessageError(
                f"the exported {field} claims {count} entries, more than it holds or than "
                f"the limit {limit}."
            )
        return count

    def _id(self, prev: int, limit: int, field: str) -> int:
        value = self.uint(4, field)
        if not prev < value <= limit:
            raise MalformedMessageError(
                f"the exported {field} ids must increase within 1..{limit}; got {value} after "
                f"{prev}."
            )
        return value

    def ids(self, field: str, limit: int = MAX_N) -> tuple[int, ...]:
        """A u32be count, then strictly increasing ids in 1..limit."""
        out = []
        prev = 0
        for _ in range(self._count(field, limit, 4)):
            prev = self._id(prev, limit, field)
            out.append(prev)
        return tuple(out)

    def table(
        self, field: str, widths: Sequence[int], limit: int = MAX_N
    ) -> dict[int, tuple[bytes, ...]]:
        """A table written by :meth:`StateWriter.table` with the given field widths."""
        out: dict[int, tuple[bytes, ...]] = {}
        prev = 0
        for _ in range(self._count(field, limit, 4 + sum(widths))):
            prev = self._id(prev, limit, field)
            out[prev] = tuple(self.fixed(w, field) for w in widths)
        return out

    def vector(self, m: int, dtype: np.dtype, field: str) -> np.ndarray:
        """An m-word vector of ``dtype`` (a fresh, writable array)."""
        raw = self._take(m * dtype.itemsize, field)
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype, copy=True)

    def end(self) -> None:
        """Refuse trailing bytes."""
        if self.pos != len(self.data):
            raise MalformedMessageError(
                f"the exported state has {len(self.data) - self.pos} trailing bytes."
            )

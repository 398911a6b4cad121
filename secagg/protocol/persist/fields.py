"""Field-level encoding of exported states, on the wire layer's reader and writer.

An exported state is decoded as strictly as a message: every length is
checked before it is trusted, ids strictly increase, nothing may trail, and
a failure is a MalformedMessageError naming the field. Besides the wire's
integers, flags and counted ids, a state needs variable-length bytes, text,
optional fields, id tables and whole vectors.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ...exceptions import InvalidInputError
from ..vocabulary import MAX_N
from ..wire import Reader, Writer

__all__ = ["StateReader", "StateWriter"]


@functools.lru_cache(maxsize=16)
def _row_layout(widths: tuple[int, ...]) -> struct.Struct:
    """A table row: u32be id, then fixed-size byte fields."""
    return struct.Struct(">I" + "".join(f"{w}s" for w in widths))


class StateWriter(Writer):
    """Collects the parts of an exported state."""

    def fixed(self, data: bytes) -> None:
        """Bytes whose length the reader knows."""
        self.raw(bytes(data))

    def var(self, data: bytes) -> None:
        """Bytes preceded by their u32be length."""
        self.uint(4, len(data), "length")
        self.raw(bytes(data))

    def text(self, value: str) -> None:
        """UTF-8 text preceded by its u16be length."""
        raw = value.encode("utf-8")[:65535]
        self.uint(2, len(raw), "text length")
        self.raw(raw)

    def optional(self, data: bytes | None) -> None:
        """A flag, then the bytes (known length) when present."""
        self.uint(1, int(data is not None), "flag")
        if data is not None:
            self.fixed(data)

    def ids(self, ids: Iterable[int]) -> None:
        """A u32be count, then the ids (increasing)."""
        values = sorted(ids)
        self.uint(4, len(values), "count")
        for v in values:
            self.uint(4, v, "id")

    def table(self, rows: Mapping[int, Sequence[bytes]]) -> None:
        """A u32be count, then per id (increasing): u32be id and its fixed-size fields."""
        self.uint(4, len(rows), "count")
        if not rows:
            return
        keys = sorted(rows)
        widths = tuple(len(v) for v in rows[keys[0]])
        # struct pads or cuts a field of the wrong length: refuse it instead.
        if any(tuple(len(v) for v in rows[key]) != widths for key in keys):
            raise InvalidInputError("the rows of an exported table differ in their field lengths.")
        layout = _row_layout(widths)
        try:
            self.raw(b"".join(layout.pack(key, *rows[key]) for key in keys))
        except struct.error as exc:  # an id outside u32
            raise InvalidInputError(
                f"an exported table row does not fit {layout.format}: {exc}"
            ) from exc

    def vector(self, words: np.ndarray) -> None:
        """An m-word vector in little-endian storage order (length known from the config)."""
        # A little-endian array is its own storage order: joined without a copy here.
        little = words.astype(words.dtype.newbyteorder("<"), copy=False)
        self.raw(np.ascontiguousarray(little).data.cast("B"))


class StateReader(Reader):
    """Bounds-checked cursor over an exported state."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data, 0, "the exported state")

    def fixed(self, n: int, field: str) -> bytes:
        """n bytes."""
        return self.take(n, field)

    def var(self, field: str, limit: int) -> bytes:
        """Bytes preceded by their u32be length, at most ``limit``."""
        n = self.uint(4, field)
        if n > limit:
            raise self.fail(f"{field} has {n} bytes, at most {limit}.")
        return self.take(n, field)

    def text(self, field: str) -> str:
        """UTF-8 text preceded by its u16be length."""
        raw = self.take(self.uint(2, field), field)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{field} is not UTF-8.") from None

    def optional(self, n: int, field: str) -> bytes | None:
        """A flag, then n bytes when present."""
        return self.take(n, field) if self.flag(field) else None

    def ids(self, field: str, limit: int = MAX_N) -> tuple[int, ...]:
        """A u32be count, then strictly increasing ids in 1..limit."""
        out = []
        prev = 0
        for _ in range(self.count(field, limit, 4)):
            prev = self.next_id(prev, limit, field)
            out.append(prev)
        return tuple(out)

    def table(
        self, field: str, widths: Sequence[int], limit: int = MAX_N
    ) -> dict[int, tuple[bytes, ...]]:
        """A table written by :meth:`StateWriter.table` with the given field widths."""
        layout = _row_layout(tuple(widths))
        out: dict[int, tuple[bytes, ...]] = {}
        prev = 0
        count = self.count(field, limit, layout.size)
        for key, *row in self.records(count, layout, field):
            prev = self.check_id(key, prev, limit, field)
            out[prev] = tuple(row)
        return out

    def vector(self, m: int, dtype: np.dtype, field: str) -> np.ndarray:
        """An m-word vector of ``dtype`` (a fresh, writable array)."""
        raw = self.view(m * dtype.itemsize, field)  # copied once, by astype
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype, copy=True)

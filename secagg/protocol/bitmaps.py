"""Bitmaps of the wire format: LSB-first, unused bits zero (PROTOCOL.md notation).

A bitmap over L entries is ceil(L/8) bytes, entry j at bit j % 8 of byte
j // 8. :func:`encode_bitmap` and :func:`decode_bitmap` convert positions;
:func:`bitmap_problem` states why bytes are not a valid bitmap (the same
rule covers the padding of a packed vector); :class:`IdBitmap` is a decoded
set of client ids that keeps its bytes, for survivor lists every client
reads. :mod:`secagg.protocol.wire` re-exports all four.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError, MalformedMessageError
from .thresholds import is_int

__all__ = ["encode_bitmap", "decode_bitmap", "bitmap_problem", "IdBitmap"]

Buffer = bytes | bytearray | memoryview


def encode_bitmap(members: Iterable[int], universe_size: int) -> bytes:
    """Bitmap over positions 0..universe_size-1 (PROTOCOL notation paragraph).

    Args:
        members: 0-based positions whose bit is set.
        universe_size: Number of entries in the list the bitmap covers.

    Returns:
        ceil(universe_size / 8) bytes, entry j at bit j % 8 of byte j // 8.

    Raises:
        InvalidInputError: A position is outside 0..universe_size-1.
    """
    out = bytearray((universe_size + 7) // 8)
    for j in members:
        if not is_int(j) or not 0 <= j < universe_size:
            raise InvalidInputError(f"bitmap position {j!r} is outside 0..{universe_size - 1}.")
        out[j >> 3] |= 1 << (j & 7)
    return bytes(out)


def bitmap_problem(data: Buffer, nbits: int, what: str = "bitmap") -> str | None:
    """Why ``data`` is not ``nbits`` bits in ceil(nbits/8) bytes with zero unused bits, or None.

    The same rule covers a bitmap over ``nbits`` entries and the padding of
    a packed vector of ``nbits`` bits.
    """
    if len(data) != (nbits + 7) // 8:
        return f"a {what} over {nbits} entries needs {(nbits + 7) // 8} bytes, got {len(data)}."
    rem = nbits & 7
    if rem and data[-1] >> rem:
        return f"{what} over {nbits} entries has non-zero unused bits (its padding must be 0)."
    return None


class IdBitmap(Sequence[int]):
    """A decoded set of client ids 1..n that keeps its bitmap (a survivor list).

    Every client decodes the server's survivor list, an n-bit bitmap; turning
    it into n Python ints in each of n clients would cost O(n^2) in all. This
    sequence answers ``u in ids`` with one bit test and ``len(ids)`` with one
    popcount, and lists its ids (increasing) only when asked. It compares
    equal to a tuple or list holding the same ids.

    Args:
        data: ceil(n / 8) bytes, already checked with :func:`bitmap_problem`.
        n: The universe size.
    """

    __slots__ = ("_data", "_n", "_len", "_ids")

    def __init__(self, data: bytes, n: int) -> None:
        self._data, self._n = bytes(data), n
        self._len = int.from_bytes(self._data, "little").bit_count()
        self._ids: tuple[int, ...] | None = None

    @property
    def bitmap(self) -> bytes:
        """The bitmap as it was on the wire: entry u - 1 at bit (u - 1) % 8 of byte (u - 1) // 8."""
        return self._data

    def ids(self) -> tuple[int, ...]:
        """The ids in increasing order (built once)."""
        if self._ids is None:
            bits = np.unpackbits(np.frombuffer(self._data, dtype=np.uint8), bitorder="little")
            self._ids = tuple((np.flatnonzero(bits) + 1).tolist())
        return self._ids

    def __contains__(self, u: object) -> bool:
        if not is_int(u) or not 1 <= u <= self._n:  # type: ignore[operator]
            return False
        j = int(u) - 1  # type: ignore[call-overload]
        return bool(self._data[j >> 3] >> (j & 7) & 1)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids())

    def __getitem__(self, index: Any) -> Any:
        return self.ids()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdBitmap):
            return self._n == other._n and self._data == other._data
        if isinstance(other, (tuple, list)):
            return len(other) == self._len and self.ids() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.ids())

    def __repr__(self) -> str:
        shown = ", ".join(map(str, self.ids()[:8]))
        more = ", ..." if self._len > 8 else ""
        return f"IdBitmap(n={self._n}, {self._len} ids: {shown}{more})"


def decode_bitmap(data: Buffer, universe_size: int) -> list[int]:
    """Set positions of a bitmap, in increasing order.

    Args:
        data: ceil(universe_size / 8) bytes (bytes, bytearray or memoryview).
        universe_size: Number of entries in the list the bitmap covers.

    Returns:
        The 0-based positions whose bit is set.

    Raises:
        MalformedMessageError: Not bytes, wrong length or a non-zero unused bit.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedMessageError(f"a bitmap must be bytes, got {type(data).__name__}.")
    problem = bitmap_problem(data, universe_size)
    if problem is not None:
        raise MalformedMessageError(problem)
    # Bit j of byte i is entry 8i + j: unpacking least significant bit first
    # lists the entries in order (survivor lists over n = 1000 are decoded by
    # every client, so a per-bit Python loop showed up in profiles).
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    out: list[int] = np.flatnonzero(bits).tolist()
    return out

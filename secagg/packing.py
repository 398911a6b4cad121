"""Wire packing of Z_2^b vectors (PROTOCOL.md section 1).

m elements of b bits become ceil(m*b/8) bytes: element i occupies bits
i*b .. i*b + b - 1 of the byte string read as one little-endian integer, and
the unused high bits of the last byte (the padding) are zero. A message with
the wrong length or a set padding bit is malformed. ``unpack_add`` is the
server's streaming sum: it validates the whole message, then decodes and adds
in one pass.

Example:
    >>> import numpy as np
    >>> data = pack(np.array([1, 2, 3], dtype=np.uint32), 3)
    >>> data.hex(), unpack(data, 3, 3).tolist()
    ('d100', [1, 2, 3])
"""

from __future__ import annotations

import sys

import numpy as np

from . import _core
from .exceptions import InvalidInputError

__all__ = ["packed_size", "pack", "unpack", "unpack_add"]


def _check_m(m: object) -> int:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 0:
        raise InvalidInputError(f"m must be a non-negative integer, got {m!r}.")
    return int(m)


def _check_data(data: object) -> bytes | bytearray | memoryview:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"data must be bytes, got {type(data).__name__}.")
    if isinstance(data, memoryview):
        if not data.c_contiguous:
            raise InvalidInputError("data must be a contiguous buffer, got a strided memoryview.")
        if data.format != "B" or data.ndim != 1:
            data = data.cast("B")  # lengths below are in bytes
    return data


def packed_size(m: int, b: int) -> int:
    """Bytes of a packed vector: ceil(m * b / 8).

    Raises:
        InvalidInputError: if m is negative or b is not in 1..64.
    """
    m = _check_m(m)
    _core.word_dtype(b)
    return (m * b + 7) // 8


def pack(vec: np.ndarray, b: int) -> bytes:
    """Pack a Z_2^b vector into ceil(m*b/8) bytes.

    Args:
        vec: a valid Z_2^b vector (uint32 for b <= 32, else uint64).
        b: bit width, 1..64.

    Returns:
        The packed bytes.

    Raises:
        InvalidInputError: bad dtype, shape or layout, or a word >= 2^b.
    """
    return _core.pack(vec, b)


def pack_view(vec: np.ndarray, b: int) -> bytes | memoryview:
    """The packed bytes of ``vec``, without a copy where the layout allows one.

    For b = 32 and 64 on a little-endian host the words already are the wire
    layout: the result is a read-only view of ``vec`` itself, valid while
    ``vec`` lives and does not change. Otherwise it is a fresh packed buffer.
    A message encoder that joins it into the message then copies the vector
    once instead of twice.

    Raises:
        InvalidInputError: bad dtype, shape or layout, or a word >= 2^b.
    """
    if (b == 32 or b == 64) and sys.byteorder == "little":
        _core.check_vec(vec, b, "vec")
        return vec.data.cast("B").toreadonly()
    return _core.pack(vec, b)


def unpack(data: bytes | bytearray | memoryview, m: int, b: int) -> np.ndarray:
    """Unpack m elements of b bits.

    Args:
        data: exactly ceil(m*b/8) bytes with zero padding bits.
        m: number of elements.
        b: bit width, 1..64.

    Returns:
        A new uint32 (b <= 32) or uint64 array of length m.

    Raises:
        MalformedMessageError: wrong length or a non-zero padding bit.
        InvalidInputError: bad m, b or data type.
    """
    m = _check_m(m)
    _core.word_dtype(b)
    return _core.unpack(_check_data(data), m, b)  # type: ignore[arg-type,return-value]


def unpack_add(acc: np.ndarray, data: bytes | bytearray | memoryview, b: int) -> None:
    """In place: acc = acc + unpack(data, len(acc), b) mod 2^b, in one pass.

    The whole message (length, padding) and acc (every word < 2^b) are checked
    before acc is touched, so a malformed message leaves the sum unchanged.

    Args:
        acc: a valid, writable Z_2^b vector (the running sum).
        data: the packed vector, ceil(len(acc)*b/8) bytes.
        b: bit width, 1..64.

    Raises:
        MalformedMessageError: wrong length or a non-zero padding bit.
        InvalidInputError: bad acc (dtype, shape, layout, read-only, a word >= 2^b) or b.
    """
    _core.unpack_add(acc, _check_data(data), b)  # type: ignore[arg-type]

"""Byte layout shared by the Paillier path's messages (docs/paillier.md, "Wire format").

Every encoding starts with the 4-byte magic ``SAPL``, a format version byte
and a type byte; integers are big-endian; a big integer modulo N or N^2 takes
exactly L or 2L bytes, where L is the byte length of N. Decoding reads every
field through :class:`Reader`, which refuses a short buffer and, at the end,
any trailing byte: a message is valid only at its exact length.
"""

from __future__ import annotations

import struct

from ..exceptions import MalformedMessageError
from ._bigint import mpz

__all__ = [
    "MAGIC",
    "VERSION",
    "TYPE_PUBLIC_KEY",
    "TYPE_THRESHOLD_KEY",
    "TYPE_CLIENT_BUNDLE",
    "TYPE_REQUEST",
    "TYPE_SHARE",
    "TYPE_SUM",
    "MIN_MODULUS_BYTES",
    "MAX_MODULUS_BYTES",
    "header",
    "Reader",
]

MAGIC = b"SAPL"
VERSION = 1
TYPE_PUBLIC_KEY = 1
TYPE_THRESHOLD_KEY = 2
TYPE_CLIENT_BUNDLE = 3
TYPE_REQUEST = 4
TYPE_SHARE = 5
TYPE_SUM = 6
_NAMES = {
    TYPE_PUBLIC_KEY: "public key",
    TYPE_THRESHOLD_KEY: "threshold public key",
    TYPE_CLIENT_BUNDLE: "client bundle",
    TYPE_REQUEST: "decryption request",
    TYPE_SHARE: "decryption share",
    TYPE_SUM: "decrypted sum",
}
#: Moduli from 512 to 8192 bits are representable; the size policy is in keys.py.
MIN_MODULUS_BYTES = 64
MAX_MODULUS_BYTES = 1024


def header(kind: int) -> bytes:
    """Magic, version and type byte of a message of type ``kind``."""
    return MAGIC + bytes([VERSION, kind])


class Reader:
    """Strict sequential reader over one encoded message."""

    __slots__ = ("_data", "_pos", "what")

    def __init__(self, data: object, kind: int) -> None:
        """Check the header of a message of type ``kind`` and position after it.

        Raises:
            MalformedMessageError: Not bytes, wrong magic, version or type.
        """
        self.what = _NAMES[kind]
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MalformedMessageError(f"a {self.what} must be bytes, got {type(data).__name__}.")
        self._data = bytes(data)
        self._pos = 0
        head = self.take(6, "header")
        if head[:4] != MAGIC:
            raise MalformedMessageError(
                f"a {self.what} must start with {MAGIC!r}, got {head[:4]!r}."
            )
        if head[4] != VERSION:
            raise MalformedMessageError(
                f"{self.what} format version {head[4]} is not supported (expected {VERSION})."
            )
        if head[5] != kind:
            got = _NAMES.get(head[5], f"type {head[5]}")
            raise MalformedMessageError(f"expected a {self.what}, got a {got}.")

    def take(self, size: int, field: str) -> bytes:
        """The next ``size`` bytes.

        Raises:
            MalformedMessageError: Fewer than ``size`` bytes remain.
        """
        end = self._pos + size
        if size < 0 or end > len(self._data):
            raise MalformedMessageError(
                f"{self.what} is truncated: {field} needs {size} bytes at offset {self._pos}, "
                f"only {len(self._data) - self._pos} remain."
            )
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def u8(self, field: str) -> int:
        """One unsigned byte."""
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        """A big-endian 16-bit unsigned integer."""
        return int(struct.unpack(">H", self.take(2, field))[0])

    def u32(self, field: str) -> int:
        """A big-endian 32-bit unsigned integer."""
        return int(struct.unpack(">I", self.take(4, field))[0])

    def integer(self, size: int, field: str) -> mpz:
        """A big-endian unsigned integer of exactly ``size`` bytes."""
        return mpz(int.from_bytes(self.take(size, field), "big"))

    def modulus_bytes(self) -> int:
        """The u16 byte length L of N, checked against the representable range."""
        size = self.u16("modulus length")
        if not MIN_MODULUS_BYTES <= size <= MAX_MODULUS_BYTES:
            raise MalformedMessageError(
                f"{self.what} declares a {size}-byte modulus; the format allows "
                f"{MIN_MODULUS_BYTES}..{MAX_MODULUS_BYTES} bytes."
            )
        return size

    def count(self, field: str, item_size: int, minimum: int = 0) -> int:
        """A u32 count of items of ``item_size`` bytes, checked against what remains."""
        n = self.u32(field)
        if n < minimum:
            raise MalformedMessageError(f"{self.what} has {n} {field}; at least {minimum} needed.")
        if item_size and n * item_size > len(self._data) - self._pos:
            raise MalformedMessageError(
                f"{self.what} declares {n} {field} of {item_size} bytes, more than the "
                f"{len(self._data) - self._pos} bytes that remain."
            )
        return n

    def done(self) -> None:
        """Refuse trailing bytes.

        Raises:
            MalformedMessageError: Bytes remain after the last field.
        """
        extra = len(self._data) - self._pos
        if extra:
            raise MalformedMessageError(
                f"{self.what} has {extra} trailing bytes after its last field."
            )

"""Many quantised values per Paillier plaintext (BatchCrypt-style packing).

Input is what :class:`secagg.encoding.UpdateCodec` produces for the masking
path: m words of Z_2^b, each the two's complement of a signed integer x in
[-2^(b-1), 2^(b-1)). Each word is re-encoded with an **offset**:
u = x + 2^(b-1), which lies in [0, 2^b) and is simply the word with its top
bit flipped. Slot j of plaintext i holds u for coordinate i*k + j, at bit
offset j*w:

    P = sum_j u_j * 2^(j*w),    w = b + h,    h = ceil(log2 n_max)

Adding n <= n_max plaintexts (multiplying ciphertexts) adds slot by slot:
each slot sum is at most n_max * (2^b - 1) < 2^w, so nothing carries into
the next slot, and k = floor((|N| - 1) / w) slots keep the whole plaintext
below 2^(|N|-1) < N, so nothing wraps modulo N. Unpacking a sum over n
contributors reads each slot S_j and returns (S_j - n * 2^(b-1)) mod 2^b:
exactly the words the masking path would return for the same inputs.

Why an offset and not two's complement in the slots: a slot sum of
two's-complement words is sum x + 2^b * (number of negative x), so its
headroom bits would tell whoever decrypts how many clients sent a negative
value in that coordinate. With the offset, S_j = sum x + n * 2^(b-1) carries
only the exact sum (n is public).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InvalidInputError
from ._bigint import mpz

__all__ = ["PackingLayout", "word_dtype"]


def word_dtype(bits: int) -> np.dtype:
    """Storage dtype of Z_2^b words, as in :class:`secagg.encoding.UpdateCodec`."""
    return np.dtype(np.uint32) if bits <= 32 else np.dtype(np.uint64)


def _positive_int(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidInputError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class PackingLayout:
    """Where each word sits in which plaintext, for one key size, b and n_max.

    Attributes:
        modulus_bits: Bit length of N.
        bits: Ring width b of the words (1..64).
        n_max: Most summands the slots must hold without carrying.
        length: Number of words m.
        headroom: h = ceil(log2 n_max) extra bits per slot.
        slot_bits: w = b + h.
        slots: Words per plaintext, floor((|N| - 1) / w).
        plaintexts: Plaintexts (so ciphertexts) per vector, ceil(m / slots).
        offset: 2^(b-1), added to each centred value.
    """

    modulus_bits: int
    bits: int
    n_max: int
    length: int
    headroom: int = field(init=False)
    slot_bits: int = field(init=False)
    slots: int = field(init=False)
    plaintexts: int = field(init=False)
    offset: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        nbits = _positive_int("the modulus length", self.modulus_bits, 2)
        b = _positive_int("the bit width b", self.bits)
        if b > 64:
            raise InvalidInputError(f"the bit width b must be in 1..64, got {b}.")
        n_max = _positive_int("n_max", self.n_max)
        length = _positive_int("the vector length m", self.length)
        headroom = (n_max - 1).bit_length()
        width = b + headroom
        slots = (nbits - 1) // width
        if slots == 0:
            raise InvalidInputError(
                f"packing does not fit: a slot needs b + ceil(log2 n_max) = {b} + {headroom} = "
                f"{width} bits, but a plaintext of a {nbits}-bit modulus holds at most "
                f"{nbits - 1} bits; use a larger key, a smaller b or fewer clients."
            )
        values = {
            "modulus_bits": nbits,
            "bits": b,
            "n_max": n_max,
            "length": length,
            "headroom": headroom,
            "slot_bits": width,
            "slots": slots,
            "plaintexts": -(-length // slots),
            "offset": 1 << (b - 1),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def dtype(self) -> np.dtype:
        """Storage dtype of the words (uint32 for b <= 32, else uint64)."""
        return word_dtype(self.bits)

    def check_contributors(self, count: int) -> None:
        """Refuse a sum of more summands than the headroom holds.

        Raises:
            InvalidInputError: ``count`` > n_max.
        """
        if count > self.n_max:
            raise InvalidInputError(
                f"a sum of {count} packed vectors could carry into the next slot: the "
                f"{self.headroom} headroom bits hold at most n_max = {self.n_max} summands."
            )

    def pack(self, words: np.ndarray) -> list[mpz]:
        """Pack m words of Z_2^b into :attr:`plaintexts` integers below 2^(|N|-1).

        Args:
            words: 1-D unsigned array of length m with every word < 2^b.

        Returns:
            The plaintexts; the unused slots of the last one are zero.

        Raises:
            InvalidInputError: Wrong shape, dtype or length, or a word >= 2^b.
        """
        w = np.asarray(words)
        if w.ndim != 1 or w.size != self.length:
            raise InvalidInputError(
                f"a vector of {self.length} words is needed, got shape {w.shape}."
            )
        if w.dtype.kind != "u":
            raise InvalidInputError(f"words must be unsigned integers, got dtype {w.dtype}.")
        w = w.astype(np.uint64)
        if self.bits < 64 and w.size and int(w.max()) >> self.bits:
            raise InvalidInputError(
                f"a word {int(w.max())} is not in Z_2^{self.bits} (it needs more than "
                f"{self.bits} bits)."
            )
        shifted = (w ^ np.uint64(self.offset)).tolist()
        k, width = self.slots, self.slot_bits
        out: list[mpz] = []
        for start in range(0, self.length, k):
            value = 0
            for u in reversed(shifted[start : start + k]):
                value = (value << width) | u
            out.append(mpz(value))
        return out

    def slot_sums(self, plaintexts: Sequence[int | mpz]) -> list[int]:
        """The m exact slot values of summed plaintexts (headroom included).

        Raises:
            InvalidInputError: Not :attr:`plaintexts` values.
        """
        if len(plaintexts) != self.plaintexts:
            raise InvalidInputError(
                f"{self.plaintexts} plaintexts are needed to unpack, got {len(plaintexts)}."
            )
        k, width = self.slots, self.slot_bits
        mask = (1 << width) - 1
        out: list[int] = []
        for value in plaintexts:
            x = int(value)
            for _ in range(k):
                out.append(x & mask)
                x >>= width
        return out[: self.length]

    def unpack_sum(self, plaintexts: Sequence[int | mpz], contributors: int) -> np.ndarray:
        """The ring sum of ``contributors`` packed vectors, from their summed plaintexts.

        Args:
            plaintexts: The decrypted aggregate, one integer per ciphertext.
            contributors: How many vectors were summed (removes their offsets).

        Returns:
            m words of Z_2^b in :attr:`dtype`: the sum mod 2^b of the input words.

        Raises:
            InvalidInputError: A wrong number of plaintexts or contributors.
        """
        count = _positive_int("the number of contributors", contributors)
        self.check_contributors(count)
        removed = count * self.offset
        ring = (1 << self.bits) - 1
        sums = [(s - removed) & ring for s in self.slot_sums(plaintexts)]
        return np.array(sums, dtype=np.uint64).astype(self.dtype)

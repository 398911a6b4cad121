"""Masking arithmetic in Z_2^b (PROTOCOL.md sections 1-2).

A vector in Z_2^b is a one-dimensional, C-contiguous numpy array of native
uint32 (b <= 32) or uint64 (b > 32) whose words are all below 2^b; a word at
or above 2^b is an error, never reduced silently. ``apply_masks`` adds or
subtracts the masks of many keys in one pass of the compiled core, generating
keystream in cache-sized slices fused with the arithmetic, so no whole mask is
ever held in memory.

Example:
    >>> import numpy as np
    >>> x = np.zeros(4, dtype=dtype_for_bits(16))
    >>> key = bytes(16)
    >>> apply_masks(x, [key, key], [+1, -1], 16)
    >>> x.tolist()
    [0, 0, 0, 0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _core
from .exceptions import InvalidInputError
from .prg import KEY_SIZE, MAX_EXPAND_BYTES, apply_keystreams, resolve_impl

__all__ = ["dtype_for_bits", "check_vector", "apply_masks", "add_into", "sub_into"]


def dtype_for_bits(b: int) -> np.dtype:
    """Storage dtype of Z_2^b: uint32 for b <= 32, uint64 for 32 < b <= 64.

    Raises:
        InvalidInputError: if b is not an integer in 1..64.
    """
    return _core.word_dtype(b)  # type: ignore[return-value]


def check_vector(vec: np.ndarray, b: int) -> None:
    """Check that vec is a valid Z_2^b vector.

    Args:
        vec: the array to check.
        b: bit width, 1..64.

    Raises:
        InvalidInputError: wrong type, dtype, shape or layout, or a word >= 2^b
            (the message gives the first such word and its index).
    """
    _core.vec_check(vec, b, "vec")


def apply_masks(
    vec: np.ndarray,
    keys: Sequence[bytes],
    signs: Sequence[int],
    b: int,
    *,
    impl: str | None = None,
) -> None:
    """In place: vec += sum_j signs[j] * PRG(keys[j]) mod 2^b.

    Args:
        vec: a valid, writable Z_2^b vector; it is checked entirely before any
            word is changed.
        keys: 16-byte PRG keys.
        signs: one +1 (add the mask) or -1 (subtract it) per key.
        b: bit width, 1..64.
        impl: keystream implementation (default: the selected one).

    Raises:
        InvalidInputError: on a bad vector, key, sign, b or implementation, or
            mismatched lengths of keys and signs; vec is then unchanged.
    """
    if isinstance(keys, (bytes, bytearray, str)):
        raise InvalidInputError(
            "keys must be a sequence of 16-byte keys, not a single bytes object."
        )
    if len(keys) != len(signs):
        raise InvalidInputError(
            f"keys and signs must have the same length, got {len(keys)} and {len(signs)}."
        )
    for j, key in enumerate(keys):
        if not isinstance(key, (bytes, bytearray, memoryview)) or len(key) != KEY_SIZE:
            got = (
                f"{len(key)} bytes"
                if isinstance(key, (bytes, bytearray, memoryview))
                else (type(key).__name__)
            )
            raise InvalidInputError(f"keys[{j}] must be {KEY_SIZE} bytes, got {got}.")
    for j, s in enumerate(signs):
        if isinstance(s, bool) or s not in (1, -1):
            raise InvalidInputError(f"signs[{j}] must be +1 or -1, got {s!r}.")
    _core.check_vec(vec, b, "vec", writable=True)
    if vec.nbytes > MAX_EXPAND_BYTES:
        raise InvalidInputError(
            f"the vector is {vec.nbytes} bytes, over the 2^36-byte limit one key may expand."
        )
    index = resolve_impl(impl)
    key_bytes = b"".join(bytes(k) for k in keys)
    sign_bytes = bytes((1 if s == 1 else 0xFF) for s in signs)
    apply_keystreams(index, vec, key_bytes, sign_bytes, b)


def add_into(acc: np.ndarray, x: np.ndarray, b: int) -> None:
    """In place: acc = acc + x mod 2^b.

    Raises:
        InvalidInputError: bad dtype, shape, layout, length mismatch, read-only
            acc, or a word >= 2^b in either vector; acc is then unchanged.
    """
    _core.vec_add(acc, x, b)


def sub_into(acc: np.ndarray, x: np.ndarray, b: int) -> None:
    """In place: acc = acc - x mod 2^b.

    Raises:
        InvalidInputError: as for ``add_into``; acc is then unchanged.
    """
    _core.vec_sub(acc, x, b)

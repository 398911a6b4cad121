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

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

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
    threads: int = 1,
) -> None:
    """In place: vec += sum_j signs[j] * PRG(keys[j]) mod 2^b.

    Args:
        vec: a valid, writable Z_2^b vector; it is checked entirely before any
            word is changed.
        keys: 16-byte PRG keys.
        signs: one +1 (add the mask) or -1 (subtract it) per key.
        b: bit width, 1..64.
        impl: keystream implementation (default: the selected one).
        threads: Threads to split the vector across (default 1). The core
            releases the GIL, so with T > 1 and a vector of at least
            ``THREAD_MIN_BYTES`` per thread, T contiguous parts (cut at
            ``THREAD_ALIGN`` bytes) are masked at once, each from its own
            counter block: the same bytes as one thread.

    Raises:
        InvalidInputError: on a bad vector, key, sign, b, implementation or
            thread count, or mismatched lengths of keys and signs; vec is then
            unchanged.
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
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 256:
        raise InvalidInputError(f"threads must be an integer in 1..256, got {threads!r}.")
    index = resolve_impl(impl)
    key_bytes = b"".join(bytes(k) for k in keys)
    sign_bytes = bytes((1 if s == 1 else 0xFF) for s in signs)
    parts = _parts(vec.nbytes, vec.itemsize, threads)
    if len(parts) == 1:
        apply_keystreams(index, vec, key_bytes, sign_bytes, b)
        return
    w = vec.itemsize

    def run(part: tuple[int, int]) -> None:
        start, stop = part
        apply_keystreams(index, vec[start:stop], key_bytes, sign_bytes, b, start * w // 16)

    # The vector was checked whole above, so no part can fail after another
    # has written: the result is all or nothing, as with one thread.
    with ThreadPoolExecutor(max_workers=len(parts) - 1) as pool:
        others = [pool.submit(run, part) for part in parts[1:]]
        run(parts[0])
        for job in others:
            job.result()


#: Fewest bytes per thread worth a thread of their own.
THREAD_MIN_BYTES = 1 << 20
#: Parts start at multiples of this many bytes (a whole number of AES blocks).
THREAD_ALIGN = 1 << 16


def _parts(nbytes: int, itemsize: int, threads: int) -> list[tuple[int, int]]:
    """Word ranges [start, stop) of at most ``threads`` parts of THREAD_MIN_BYTES or more."""
    count = max(1, min(threads, nbytes // THREAD_MIN_BYTES))
    m = nbytes // itemsize
    if count == 1:
        return [(0, m)]
    step = -(-nbytes // count // THREAD_ALIGN) * THREAD_ALIGN // itemsize
    return [(start, min(m, start + step)) for start in range(0, m, step)]


def default_threads() -> int:
    """The CPUs this process may run on (at least 1): the server's default for mask removal."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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

"""Helpers shared by several test modules (imported as ``helpers``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable


def det_rng(seed: bytes | int | str) -> Callable[[int], bytes]:
    """A reproducible byte source for tests: SHA-256 in counter mode over the seed.

    Never for real secrets: the protocol's default is the OS CSPRNG; this
    stands in for it only where a test needs the same run twice.
    """
    key = seed if isinstance(seed, bytes) else str(seed).encode()
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = bytearray()
        while len(out) < n:
            out += hashlib.sha256(key + counter.to_bytes(8, "big")).digest()
            counter += 1
        return bytes(out[:n])

    return rng

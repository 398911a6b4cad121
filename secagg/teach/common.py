"""What the teaching lessons share: reproducible demo randomness, id lists, output files.

A lesson draws from ``os.urandom`` unless given ``--seed``, which derives
every byte from the seed with SHA-256 so that a class can follow the same
numbers; seeded bytes are for teaching output only, never for anything real.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from ..exceptions import InvalidInputError

__all__ = ["Rng", "below", "byte_source", "out_dir", "parse_ids"]

Rng = Callable[[int], bytes]


def byte_source(seed: int | None, label: str) -> Rng:
    """``os.urandom``, or a reproducible byte source derived from ``seed`` (demo only).

    Args:
        seed: ``None`` for the OS CSPRNG, else any integer.
        label: separates the streams of different lessons for one seed.

    Returns:
        A function ``n -> n bytes``.
    """
    if seed is None:
        return os.urandom
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = bytearray()
        while len(out) < n:
            out += hashlib.sha256(f"secagg-teach/{label}/{seed}/{counter}".encode()).digest()
            counter += 1
        return bytes(out[:n])

    return rng


def below(rng: Rng, bound: int) -> int:
    """A uniform integer in 0..bound-1 from ``rng`` (rejection sampling, no modulo bias)."""
    if bound < 1:
        raise InvalidInputError(f"the bound must be at least 1, got {bound}.")
    size = (bound.bit_length() + 7) // 8 + 1
    limit = (1 << (8 * size)) - (1 << (8 * size)) % bound
    while True:
        v = int.from_bytes(rng(size), "little")
        if v < limit:
            return v % bound


def parse_ids(text: str, what: str, n: int) -> list[int]:
    """``"2,4,5"`` as ``[2, 4, 5]``: distinct ids in 1..n.

    Raises:
        InvalidInputError: a part is not an integer, out of range, or repeated.
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    ids = []
    for part in parts:
        try:
            ids.append(int(part))
        except ValueError:
            raise InvalidInputError(
                f"{what} must be comma-separated holder ids such as 2,4,5; got {text!r}."
            ) from None
    bad = [x for x in ids if not 1 <= x <= n]
    if bad:
        raise InvalidInputError(f"{what} {bad} are not holder ids 1..{n}.")
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"{what} {ids} name a holder twice.")
    return ids


def out_dir(path: str | os.PathLike[str]) -> Path:
    """The ``--out`` directory, created if missing.

    Raises:
        InvalidInputError: the path exists and is not a directory.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InvalidInputError(f"--out {str(p)!r} exists and is not a directory.")
    p.mkdir(parents=True, exist_ok=True)
    return p

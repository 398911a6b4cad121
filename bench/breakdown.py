"""Where a round's time goes: the keystream floor and a per-phase profile.

``round_over_keystream`` divides the round's wall time by the time the
selected AES implementation needs to produce every keystream byte of the
round (measured here, at 1 MiB requests, in the same process and run): 1.0
would mean the round costs exactly its keystream. The per-phase breakdown
profiles a second run of the same round (cProfile, self time of each
function) and sorts every function into mask expansion, packing and copies,
key agreement (X25519 and the HKDF over its output), AES-GCM, Shamir, and the
rest, Python overhead. Profiling slows Python more than C, so the shares are
an upper bound on Python's part; the seconds are scaled to the unprofiled
round.
"""

from __future__ import annotations

import cProfile
import multiprocessing
import os
import pstats
import time
from typing import Any

from secagg import _core, prg

from .core import best_time

__all__ = ["CATEGORIES", "categorise", "keystream_gb_per_s", "profile_breakdown"]

#: (category, substrings of "file:function" that put a function in it), first match wins.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("mask expansion", ("secagg_mask", "secagg_keystream", "secagg_expand")),
    ("shamir", ("secagg_shamir", "secagg_rs_", "shamir.py")),
    ("aes-gcm", ("aead", "AESGCM", "gcm_seal", "gcm_open", "aes_gcm")),
    (
        "key agreement",
        ("x25519", "X25519", "exchange", "hkdf", "hmac", "_hashlib", "derive_key"),
    ),
    (
        "packing and copies",
        (
            "secagg_pack",
            "secagg_unpack",
            "numpy.array",
            "tobytes",
            "'fill'",
            "astype",
            "'copy'",
            "frombuffer",
            "'join' of 'bytes'",
        ),
    ),
]
OTHER = "python overhead"


def categorise(where: str) -> str:
    """The category of a profiled function, described as "file:line(function)"."""
    for name, needles in CATEGORIES:
        if any(n in where for n in needles):
            return name
    return OTHER


def keystream_gb_per_s(
    impl: str | None = None, nbytes: int = 1 << 20, repeat: int = 7, workers: int = 1
) -> float:
    """GB/s of the AES implementation at ``nbytes`` requests (the selected one by default).

    With ``workers`` > 1, that many forked processes expand keystream at once
    and the figure is their combined rate (bytes of all of them over the
    slowest one's time), the floor a round with as many workers can reach.
    """
    idx = prg.resolve_impl(impl)
    if workers == 1:
        key, ctr, buf = os.urandom(16), bytes(16), bytearray(nbytes)
        best, _ = best_time(lambda: _core.keystream_into(idx, key, ctr, buf), repeat)
        return nbytes / best / 1e9
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers)
    calls = max(1, (256 << 20) // nbytes)  # about 256 MiB per process per repeat
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_parallel_keystream, args=(idx, nbytes, calls, repeat, barrier, results))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    runs = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    per_repeat = [max(r[i] for r in runs) for i in range(repeat)]
    return workers * calls * nbytes / min(per_repeat) / 1e9


def _parallel_keystream(
    idx: int, nbytes: int, calls: int, repeat: int, barrier: Any, results: Any
) -> None:
    """One process of :func:`keystream_gb_per_s`: seconds per repeat, each started together."""
    key, ctr, buf = os.urandom(16), bytes(16), bytearray(nbytes)
    out = []
    for _ in range(repeat):
        barrier.wait()
        t0 = time.perf_counter()
        for _ in range(calls):
            _core.keystream_into(idx, key, ctr, buf)
        out.append(time.perf_counter() - t0)
    results.put(out)


def profile_breakdown(prof: cProfile.Profile, round_s: float) -> dict[str, dict[str, float]]:
    """Sort the self time of a profiled round into the categories.

    Returns:
        Category -> {"profiled_s", "share", "scaled_s"} (scaled_s = share of
        the unprofiled ``round_s``).
    """
    stats = pstats.Stats(prof)
    totals: dict[str, float] = {name: 0.0 for name, _ in CATEGORIES}
    totals[OTHER] = 0.0
    for (filename, line, func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        totals[categorise(f"{filename}:{line}({func})")] += tottime
    whole = sum(totals.values()) or 1.0
    return {
        name: {"profiled_s": t, "share": t / whole, "scaled_s": t / whole * round_s}
        for name, t in totals.items()
    }

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
import os
import pstats

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


def keystream_gb_per_s(impl: str | None = None, nbytes: int = 1 << 20, repeat: int = 7) -> float:
    """GB/s of the AES implementation at ``nbytes`` requests (the selected one by default)."""
    idx = prg.resolve_impl(impl)
    key, ctr, buf = os.urandom(16), bytes(16), bytearray(nbytes)
    best, _ = best_time(lambda: _core.keystream_into(idx, key, ctr, buf), repeat)
    return nbytes / best / 1e9


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

"""Numeric primitives of the update codec: clipping, rounding, ring embedding.

:mod:`secagg.encoding` builds the codec from these pieces; they are public so
that other encoders (the DP mechanisms, tests, research code) can reuse them:

- :func:`choose_bits` / :func:`bits_for_bound`: the least ring width b whose
  centred range ``[-2^(b-1), 2^(b-1) - 1]`` holds a sum of n bounded values,
  so the sum can never wrap and decoding is exact.
- :func:`clip_coordinates` / :func:`clip_l2`: per-coordinate or L2 clipping,
  reporting how much was clipped.
- :func:`stochastic_round`: unbiased (optionally L2-conditional) rounding.
- :func:`to_ring` / :func:`from_ring_centred`: two's complement embedding into
  Z_{2^b} and centred read-back.

Randomness: :func:`csprng_generator` seeds a numpy ``Generator`` from 32 bytes
of ``os.urandom``; callers inject a generator only in tests.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from .exceptions import InvalidInputError

__all__ = [
    "MAX_EXACT_FLOAT",
    "choose_bits",
    "bits_for_bound",
    "clip_l2",
    "clip_coordinates",
    "stochastic_round",
    "to_ring",
    "to_ring_parts",
    "round_in_place",
    "clip_coordinates_in_place",
    "from_ring_centred",
    "csprng_generator",
]

#: Largest scaled magnitude accepted: float64 represents every integer up to
#: 2^53 exactly, so stochastic rounding is exact below this bound.
MAX_EXACT_FLOAT = float(2**52)


def csprng_generator() -> np.random.Generator:
    """A numpy Generator seeded from 32 fresh bytes of the OS CSPRNG.

    Returns:
        A new ``np.random.Generator`` (PCG64) seeded from ``os.urandom(32)``.
    """
    return np.random.default_rng(int.from_bytes(os.urandom(32), "little"))


def _ring_dtype(bits: int) -> np.dtype:
    return np.dtype(np.uint32) if bits <= 32 else np.dtype(np.uint64)


def _check_bits(bits: int) -> None:
    if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool) or not 1 <= bits <= 64:
        raise InvalidInputError(f"bit width b must be an integer in 1..64, got {bits!r}")


def _check_positive(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a positive finite number, got {value!r}") from exc
    if not math.isfinite(v) or v <= 0:
        raise InvalidInputError(f"{name} must be a positive finite number, got {value!r}")
    return v


def bits_for_bound(max_abs_sum: int) -> int:
    """Least ring width b whose centred range holds every integer in ±max_abs_sum.

    The centred range of Z_{2^b} is ``[-2^(b-1), 2^(b-1) - 1]``, so b is the
    least integer with ``max_abs_sum <= 2^(b-1) - 1``.

    Args:
        max_abs_sum: Largest absolute value the (integer) sum can take.

    Returns:
        The bit width b (at least 2: one sign bit and one magnitude bit).

    Raises:
        InvalidInputError: If the bound is negative or needs more than 64 bits.
    """
    bound = int(max_abs_sum)
    if bound < 0:
        raise InvalidInputError(f"the sum bound must be non-negative, got {max_abs_sum!r}")
    bits = max(2, (bound).bit_length() + 1)
    if bits > 64:
        raise InvalidInputError(
            f"a sum bounded by {bound} in absolute value needs {bits} bits, more than the "
            "64 the ring supports; lower the scale, the clip bound or the number of clients"
        )
    return bits


def choose_bits(
    clip: float,
    scale: float,
    n: int,
    *,
    max_weight: float = 1.0,
    headroom: int = 0,
) -> int:
    """Ring width b so that a sum of n encoded values cannot wrap around.

    Each summand is ``w * v * scale`` with ``|v| <= clip`` and ``0 <= w <=
    max_weight``, stochastically rounded, so its magnitude is at most
    ``M = ceil(max_weight * clip * scale)``. The sum of n of them, plus an
    additive ``headroom`` (e.g. a tail bound on DP noise), is at most
    ``n * M + headroom`` in absolute value; b is the least width whose centred
    range holds that.

    Args:
        clip: Per-coordinate bound in real units (> 0).
        scale: Integer steps per real unit (> 0).
        n: Largest number of summands (clients), >= 1.
        max_weight: Largest client weight (> 0).
        headroom: Extra absolute bound added to the sum (>= 0).

    Returns:
        The bit width b, 2 <= b <= 64.

    Raises:
        InvalidInputError: On a non-positive parameter, a per-client bound
            beyond 2^52 (float64 rounding would no longer be exact), or when
            more than 64 bits are needed.
    """
    clip = _check_positive("clip", clip)
    scale = _check_positive("scale", scale)
    max_weight = _check_positive("max_weight", max_weight)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InvalidInputError(f"the number of summands n must be an integer >= 1, got {n!r}")
    if int(headroom) < 0:
        raise InvalidInputError(f"headroom must be non-negative, got {headroom!r}")
    per_client = max_weight * clip * scale
    if per_client > MAX_EXACT_FLOAT:
        raise InvalidInputError(
            f"max_weight * clip * scale = {per_client:.4g} exceeds 2^52: float64 cannot "
            "round such values exactly; lower the scale or max_weight"
        )
    return bits_for_bound(int(n) * math.ceil(per_client) + int(headroom))


def clip_coordinates(x: np.ndarray, clip: float) -> tuple[np.ndarray, float]:
    """Clip each coordinate of ``x`` to ``[-clip, clip]``.

    Returns:
        ``(clipped vector, fraction of coordinates that were clipped)``.
    """
    x = np.asarray(x, dtype=np.float64)
    return clip_coordinates_in_place(x.copy(), clip)


def clip_coordinates_in_place(x: np.ndarray, clip: float) -> tuple[np.ndarray, float]:
    """:func:`clip_coordinates` on a float64 vector the caller owns, changed in place.

    Two reductions find whether anything lies outside; only then are the
    coordinates counted and clipped (no temporary as large as ``x``).

    Returns:
        ``(x, fraction of coordinates that were clipped)``.
    """
    clip = _check_positive("clip", clip)
    if not x.size or (float(x.max()) <= clip and float(x.min()) >= -clip):
        return x, 0.0  # (a NaN fails both tests and takes the counting path, as before)
    over = np.count_nonzero(x > clip) + np.count_nonzero(x < -clip)
    np.clip(x, -clip, clip, out=x)
    return x, float(over) / x.size


def clip_l2(x: np.ndarray, norm: float) -> tuple[np.ndarray, bool]:
    """Scale ``x`` down to L2 norm ``norm`` if it is longer.

    Returns:
        ``(clipped vector, whether it was clipped)``.
    """
    norm = _check_positive("L2 clip norm", norm)
    x = np.asarray(x, dtype=np.float64)
    length = float(np.linalg.norm(x))
    if length > norm:
        return x * (norm / length), True
    return x.copy(), False


def stochastic_round(
    v: np.ndarray,
    rng: np.random.Generator | None = None,
    *,
    l2_bound: float | None = None,
    max_tries: int = 1000,
) -> np.ndarray:
    """Unbiased randomised rounding of a float vector to int64.

    ``v_i`` becomes ``floor(v_i) + 1`` with probability ``v_i - floor(v_i)`` and
    ``floor(v_i)`` otherwise, so ``E[result] = v`` exactly.

    With ``l2_bound`` this is the *conditional* randomised rounding of the
    distributed-DP papers: rounding is redrawn until the rounded vector's L2
    norm is at most ``l2_bound``, which then bounds the DP sensitivity.

    Args:
        v: Float vector, every entry finite with magnitude at most 2^52.
        rng: Randomness (tests only); default a CSPRNG-seeded Generator.
        l2_bound: Optional L2 norm the rounded vector must respect.
        max_tries: Redraws allowed before giving up under ``l2_bound``.

    Returns:
        The rounded int64 vector.

    Raises:
        InvalidInputError: On a non-finite or too-large entry, or when no draw
            within ``max_tries`` meets ``l2_bound`` (the bound is too tight).
    """
    v = np.asarray(v, dtype=np.float64)
    _check_roundable(v)
    gen = rng if rng is not None else csprng_generator()
    if l2_bound is None:
        return _round_owned(v.copy(), gen)
    lo = np.floor(v)
    frac = v - lo
    base = lo.astype(np.int64)
    for _ in range(max_tries):
        out = base + (gen.random(v.shape) < frac).astype(np.int64)
        if l2_bound is None:
            return out
        if float(np.sqrt(np.sum(out.astype(np.float64) ** 2))) <= l2_bound:
            return out
    raise InvalidInputError(
        f"conditional rounding found no draw with L2 norm <= {l2_bound} in {max_tries} tries; "
        "the bound is too tight for this vector"
    )


def _check_roundable(v: np.ndarray) -> None:
    """Refuse NaN, infinities and magnitudes above 2^52 (two reductions, no temporary)."""
    if not v.size:
        return
    peak = max(float(v.max()), -float(v.min()))  # NaN propagates through max and min
    if not math.isfinite(peak):
        raise InvalidInputError("stochastic rounding needs finite values; got NaN or infinity")
    if peak > MAX_EXACT_FLOAT:
        raise InvalidInputError(
            f"a scaled value of magnitude {peak:.4g} exceeds 2^52 and "
            "cannot be rounded exactly in float64; lower the scale"
        )


def _round_owned(v: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Stochastic rounding of a checked float64 vector the caller gives up (it is overwritten).

    The same draws and result as the plain formula ``floor(v) + (U < v - floor(v))``
    with ``U = gen.random(v.shape)``, in fewer passes and allocations.
    """
    lo = np.floor(v)
    np.subtract(v, lo, out=v)  # v now holds the fractional parts
    out = lo.astype(np.int64)
    gen.random(out=lo)  # lo is free again: it takes the uniform draws
    out += np.less(lo, v)
    return out


def round_in_place(v: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """:func:`stochastic_round` (without ``l2_bound``) of a float64 vector the caller owns.

    ``v`` is overwritten; the result and the draws are those of
    ``stochastic_round(v, gen)``.

    Raises:
        InvalidInputError: On a non-finite or too-large entry.
    """
    _check_roundable(v)
    return _round_owned(v, gen)


def to_ring(values: np.ndarray, bits: int) -> np.ndarray:
    """Embed signed integers into Z_{2^b} (two's complement), in the ring's dtype.

    Raises:
        InvalidInputError: If a value lies outside the centred range of b bits
            (it would alias another value after wrapping).
    """
    _check_bits(bits)
    vals = np.asarray(values, dtype=np.int64)
    if bits < 64 and vals.size:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        vmin, vmax = int(vals.min()), int(vals.max())
        if vmin < lo or vmax > hi:
            raise InvalidInputError(
                f"encoded values span [{vmin}, {vmax}], outside the {bits}-bit centred range "
                f"[{lo}, {hi}]"
            )
    words = np.ascontiguousarray(vals).view(np.uint64)
    if bits < 64:
        words = words & np.uint64((1 << bits) - 1)
    return words.astype(_ring_dtype(bits))


def to_ring_parts(parts: Sequence[np.ndarray], bits: int) -> np.ndarray:
    """:func:`to_ring` of the parts' concatenation, written straight into the ring's dtype.

    Raises:
        InvalidInputError: If a value lies outside the centred range of b bits.
    """
    _check_bits(bits)
    vals = [np.asarray(p, dtype=np.int64).ravel() for p in parts]
    if bits < 64 and any(v.size for v in vals):
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        vmin = min(int(v.min()) for v in vals if v.size)
        vmax = max(int(v.max()) for v in vals if v.size)
        if vmin < lo or vmax > hi:
            raise InvalidInputError(
                f"encoded values span [{vmin}, {vmax}], outside the {bits}-bit centred range "
                f"[{lo}, {hi}]"
            )
    dtype = _ring_dtype(bits)
    words = np.empty(sum(v.size for v in vals), dtype=dtype)
    start = 0
    for v in vals:
        # An int64 cast to an unsigned type keeps its low bits: two's complement.
        np.copyto(words[start : start + v.size], v, casting="unsafe")
        start += v.size
    if bits < dtype.itemsize * 8:
        words &= dtype.type((1 << bits) - 1)
    return words


def from_ring_centred(words: np.ndarray, bits: int) -> np.ndarray:
    """Read words of Z_{2^b} as signed integers in ``[-2^(b-1), 2^(b-1) - 1]``.

    Raises:
        InvalidInputError: If the array is not an unsigned integer array or holds
            a word >= 2^b.
    """
    _check_bits(bits)
    w = np.asarray(words)
    if w.dtype.kind != "u":
        raise InvalidInputError(f"ring words must be unsigned integers, got dtype {w.dtype}")
    w = w.astype(np.uint64)
    if bits < 64 and w.size and int(w.max()) >= (1 << bits):
        raise InvalidInputError(f"a word {int(w.max())} is not in Z_2^{bits}")
    # Sign extension: move bit b-1 to bit 63, reinterpret, shift back arithmetically.
    shift = np.uint64(64 - bits)
    return np.ascontiguousarray(w << shift).view(np.int64) >> np.int64(64 - bits)

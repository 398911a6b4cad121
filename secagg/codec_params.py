"""The parameters of an update codec, checked once, and the ring they need.

:class:`CodecParams` is the frozen part of :class:`secagg.encoding.UpdateCodec`:
its fields, their checks, the ring width b they need so that a sum of
``n_max`` encoded updates never wraps around 2^b, and the sizes derived from
them. :func:`check_codec` checks a codec (or an encoded update) against a
session config before any word is sent. ``secagg.encoding`` re-exports every
name here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .exceptions import InvalidInputError
from .quantization import _check_positive, _ring_dtype, choose_bits
from .updates import Layout

__all__ = ["CodecParams", "SessionShape", "RingShape", "check_codec", "DEFAULT_MAX_WEIGHT"]

#: Largest client weight an :class:`UpdateCodec` accepts when ``max_weight`` is
#: not given (outside the DP path): 2^16 = 65 536, so FedAvg weights that are
#: local sample counts work untuned. It costs 16 bits of ring width over unit
#: weights; pass the real largest weight (or 1 for a plain mean) to save them.
DEFAULT_MAX_WEIGHT = float(2**16)


class SessionShape(Protocol):
    """What :func:`check_codec` reads from a session config (``secagg.protocol.config.Config``).

    Attributes:
        n: Number of clients in the session.
        b: Ring width in bits.
        m: Vector length in words.
    """

    @property
    def n(self) -> int: ...

    @property
    def b(self) -> int: ...

    @property
    def m(self) -> int: ...


class RingShape(Protocol):
    """What :func:`check_codec` reads from a codec or an encoded update.

    Attributes:
        bits: Ring width b of the words.
        length: Number of words.
        n_max: Most summands the ring width was chosen for (None: unknown).
    """

    @property
    def bits(self) -> int: ...

    @property
    def length(self) -> int: ...

    @property
    def n_max(self) -> int | None: ...


def check_codec(codec: RingShape, config: SessionShape, *, name: str = "the codec") -> None:
    """Check that a codec (or an encoded update) fits a session config.

    Three rules, each named in the error with both values: the ring width
    ``codec.bits`` equals ``config.b``, the vector length ``codec.length``
    equals ``config.m``, and the session's ``config.n`` clients do not exceed
    the ``codec.n_max`` summands the ring width was chosen for (a sum over more
    clients could wrap around 2^b and decode to a wrong value without error).
    An ``n_max`` of None (unknown) skips the last rule.

    Args:
        codec: An :class:`UpdateCodec` or :class:`EncodedUpdate`.
        config: A ``secagg.protocol.config.Config`` or any object with ``n``, ``b``, ``m``.
        name: How the message names ``codec`` (e.g. ``"client 3's update"``).

    Raises:
        InvalidInputError: On any mismatch; the message lists every broken rule.
    """
    try:
        n, b, m = int(config.n), int(config.b), int(config.m)
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"a session config with integer n, b and m is needed, got {config!r}"
        ) from exc
    broken = []
    if codec.bits != b:
        broken.append(f"its ring width is b = {codec.bits} but the config's is b = {b}")
    if codec.length != m:
        broken.append(f"its vector length is {codec.length} but the config's is m = {m}")
    if codec.n_max is not None and n > codec.n_max:
        broken.append(
            f"it was sized for sums of at most {codec.n_max} clients but the config has "
            f"n = {n}, so the sum could wrap around 2^{codec.bits}"
        )
    if broken:
        raise InvalidInputError(f"{name} does not fit the session: " + "; ".join(broken) + ".")


@dataclass(frozen=True)
class CodecParams:
    """What an :class:`~secagg.encoding.UpdateCodec` is built from, and the ring it needs.

    Checked once, at construction; ``bits`` is derived (:func:`choose_bits`).

    Attributes:
        layout: Shapes and dtypes of the update arrays.
        clip: Per-coordinate bound in real units (also bounds coordinates
            after L2 clipping, since a coordinate never exceeds the norm).
        scale: Integer steps per real unit.
        n_max: Largest number of summands (the session's n); decoding refuses
            a sum over more clients, which could have wrapped around 2^b.
        max_weight: Largest accepted weight. Default (None):
            :data:`DEFAULT_MAX_WEIGHT` (2^16, room for sample counts) outside
            the DP path, 1 on it. Each doubling costs one bit of b.
        weight_scale: Integer steps per unit of weight.
        noise_bound: Largest absolute noise one client may add to one data slot
            (DP); ``n_max * noise_bound`` is reserved in every sum slot.
        l2_clip: Optional L2 clipping norm (DP path).
        beta: Probability bound used to derive :attr:`rounded_l2_bound`.
        bits: Ring width b, derived (:func:`choose_bits`).
    """

    layout: Layout
    clip: float
    scale: float
    n_max: int
    max_weight: float | None = None
    weight_scale: float = 1.0
    noise_bound: int = 0
    l2_clip: float | None = None
    beta: float = math.exp(-0.5)
    bits: int = field(init=False)

    def __post_init__(self) -> None:
        _check_positive("weight_scale", self.weight_scale)
        if self.max_weight is None:
            default = DEFAULT_MAX_WEIGHT if self.l2_clip is None else 1.0
            object.__setattr__(self, "max_weight", default)
        if self.l2_clip is not None:
            _check_positive("l2_clip", self.l2_clip)
            if self.max_weight != 1.0:
                raise InvalidInputError(
                    "the L2-clipped (DP) path needs unit weights (max_weight = 1), "
                    f"got max_weight = {self.max_weight}"
                )
        if not 0 < self.beta < 1:
            raise InvalidInputError(f"beta must lie in (0, 1), got {self.beta}")
        if not isinstance(self.noise_bound, (int, np.integer)) or self.noise_bound < 0:
            raise InvalidInputError(
                f"noise_bound must be a non-negative integer, got {self.noise_bound!r}"
            )
        data_bits = choose_bits(
            self._clip_bound,
            self.scale,
            self.n_max,
            max_weight=self._max_weight,
            headroom=int(self.n_max) * int(self.noise_bound),
        )
        weight_bits = choose_bits(self._max_weight, self.weight_scale, self.n_max)
        bits = max(data_bits, weight_bits)
        object.__setattr__(self, "bits", bits)

    @property
    def _clip_bound(self) -> float:
        # Clipping to an L2 norm also bounds every coordinate by that norm.
        return self.clip if self.l2_clip is None else min(self.clip, self.l2_clip)

    @property
    def _max_weight(self) -> float:
        # __post_init__ replaced None by the default; this narrows the type.
        return float(self.max_weight if self.max_weight is not None else DEFAULT_MAX_WEIGHT)

    @property
    def length(self) -> int:
        """Number of ring words: the update's scalars plus the weight slot."""
        return self.layout.size + 1

    @property
    def dtype(self) -> np.dtype:
        """Storage dtype of the words (uint32 for b <= 32, else uint64)."""
        return _ring_dtype(self.bits)

    def rounded_l2_bound_for(self, l2_clip: float) -> float:
        """L2 bound enforced on the rounded (integer) update, in integer units.

        With ``c = l2_clip * scale`` and ``d`` coordinates, Kairouz, Liu and
        Steinke (2021), Lemma on conditional randomised rounding, show that
        unconditioned rounding exceeds
        ``sqrt(c^2 + d/4 + sqrt(2 ln(1/beta)) * (c + sqrt(d)/2))`` with
        probability at most ``beta``; the deterministic bound ``c + sqrt(d)``
        always holds. The smaller of the two is enforced by redrawing.
        """
        c = l2_clip * self.scale
        d = self.layout.size
        prob = math.sqrt(
            c * c + d / 4 + math.sqrt(2 * math.log(1 / self.beta)) * (c + math.sqrt(d) / 2)
        )
        return min(prob, c + math.sqrt(d))

    @property
    def rounded_l2_bound(self) -> float | None:
        """The enforced L2 bound on the rounded update (DP path), else None."""
        return None if self.l2_clip is None else self.rounded_l2_bound_for(self.l2_clip)

    def _check_summands(self, summands: int) -> int:
        if not isinstance(summands, (int, np.integer)) or isinstance(summands, bool):
            raise InvalidInputError(
                "summands must be the number of clients whose updates are in the sum "
                f"(an integer), got {summands!r}"
            )
        if summands < 1:
            raise InvalidInputError(f"a sum needs at least one summand, got summands = {summands}")
        if summands > self.n_max:
            raise InvalidInputError(
                f"the sum is over {summands} clients but the codec's ring width b = {self.bits} "
                f"was chosen for at most n_max = {self.n_max}; such a sum may have wrapped "
                "around 2^b and cannot be decoded (build the codec with n_max = the session's n)"
            )
        return int(summands)

    def _sum_reach(self, summands: int) -> tuple[int, int]:
        """The largest |data slot| and weight slot a sum of ``summands`` updates can hold."""
        # Per client, a data slot is at most ceil(max_weight * clip * scale) plus
        # its noise, and the weight slot lies in [0, ceil(max_weight * weight_scale)].
        # One step of slack per client covers float rounding at the clip edge.
        per_client = math.ceil(self._max_weight * self._clip_bound * self.scale)
        data_cap = summands * (per_client + self.noise_bound + 1)
        weight_cap = summands * (math.ceil(self._max_weight * self.weight_scale) + 1)
        return data_cap, weight_cap

    def check_config(self, config: SessionShape) -> None:
        """Check this codec against a session config (:func:`check_codec`).

        Raises:
            InvalidInputError: If b, the vector length or n does not fit; the
                message names each mismatch and both values.
        """
        check_codec(self, config)

"""Real-valued model updates to and from the ring Z_{2^b}: the update codec.

:class:`UpdateCodec` turns a list of float arrays into one vector of words
modulo 2^b and a ring sum of such vectors back into a weighted mean:

1. **Flatten** the arrays (:class:`Layout`, in :mod:`secagg.updates`).
2. **Clip** every coordinate to ``[-clip, clip]`` (or, for differential
   privacy, the whole vector to an L2 norm). Clipping is never silent: the
   fraction is reported, and above :data:`CLIP_WARN_FRACTION` encoding warns
   (:class:`~secagg.exceptions.ClippingWarning`).
3. **Weight, scale and round stochastically** (unbiased), then **embed** in
   Z_{2^b} by two's complement (primitives in :mod:`secagg.quantization`).

The codec encodes ``w * x`` *and* ``w`` in one vector, so one aggregation
session yields ``sum w_k x_k`` and ``sum w_k`` over the same survivors. Its
ring width b is chosen so that a sum of at most ``n_max`` encoded updates
cannot wrap around 2^b; decoding therefore takes the number of summands
(the survivor count |U3|) and refuses more than ``n_max``, and
:func:`check_codec` checks a codec against a session config (b, length,
n <= n_max) before any word is sent. Weights default to at most
:data:`DEFAULT_MAX_WEIGHT` (2^16, room for sample counts). The codec's
parameters, their checks and the ring width are :class:`CodecParams`
(:mod:`secagg.codec_params`).

One update, one session: :class:`EncodedUpdate` hands out its words once;
a retried round must re-encode. Stochastic rounding uses a numpy
``Generator`` seeded from 32 bytes of ``os.urandom`` per call unless the
caller injects one (tests only).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .codec_params import DEFAULT_MAX_WEIGHT, CodecParams, RingShape, SessionShape, check_codec
from .exceptions import ClippingWarning, InvalidInputError
from .quantization import (
    MAX_EXACT_FLOAT,
    bits_for_bound,
    choose_bits,
    clip_coordinates,
    clip_coordinates_in_place,
    clip_l2,
    csprng_generator,
    from_ring_centred,
    round_in_place,
    stochastic_round,
    to_ring,
    to_ring_parts,
)
from .updates import EncodedUpdate, Layout, Quantized, UpdateReusedError

__all__ = [
    "Layout",
    "Quantized",
    "EncodedUpdate",
    "UpdateCodec",
    "CodecParams",
    "UpdateReusedError",
    "SessionShape",
    "RingShape",
    "check_codec",
    "DEFAULT_MAX_WEIGHT",
    "CLIP_WARN_FRACTION",
    "MAX_EXACT_FLOAT",
    "choose_bits",
    "bits_for_bound",
    "clip_l2",
    "clip_coordinates",
    "stochastic_round",
    "to_ring",
    "from_ring_centred",
    "csprng_generator",
]

#: :meth:`UpdateCodec.encode` warns (:class:`~secagg.exceptions.ClippingWarning`)
#: when clipping changes more than this fraction of an update's coordinates.
CLIP_WARN_FRACTION = 0.01

NoiseFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _clipping_message(clip: float, fraction: float, size: int) -> str:
    return (
        f"clipping to [-{clip:g}, {clip:g}] changed "
        f"{100 * fraction:.2f} % of the update's {size} "
        f"coordinates, more than the {100 * CLIP_WARN_FRACTION:g} % encode accepts "
        "quietly; the decoded mean is pulled towards zero there (raise clip, or "
        "check the update's units)"
    )


def _checked_noise(noise: object, shape: tuple[int, ...], bound: int) -> np.ndarray:
    """``noise`` as int64, if it is an integer vector of ``shape`` within ±``bound``."""
    extra = np.asarray(noise)
    if extra.shape != shape or extra.dtype.kind not in "iu":
        raise InvalidInputError(
            f"noise must be an integer vector of shape {shape}, got {extra.dtype} {extra.shape}"
        )
    if extra.size and int(np.max(np.abs(extra))) > bound:
        raise InvalidInputError(
            f"sampled noise of magnitude {int(np.max(np.abs(extra)))} exceeds the "
            f"reserved noise_bound {bound}; the sum could wrap"
        )
    return extra.astype(np.int64)


def _sum_words(codec: CodecParams, words: np.ndarray) -> np.ndarray:
    """``words`` as an array, if it is a vector of the codec's length, dtype and ring."""
    w = np.asarray(words)
    if w.ndim != 1 or w.size != codec.length:
        raise InvalidInputError(
            f"a summed vector of length {codec.length} is needed, got shape {w.shape}"
        )
    if w.dtype != codec.dtype:
        raise InvalidInputError(
            f"summed words must have dtype {codec.dtype} for b = {codec.bits}, got {w.dtype}"
        )
    if codec.bits < 64 and int(w.max()) >= 1 << codec.bits:
        raise InvalidInputError(
            f"the sum holds the word {int(w.max())}, which is not in Z_2^{codec.bits}: it was "
            f"summed in a wider ring than the codec's b = {codec.bits} (check_codec compares "
            "a codec with the session config)"
        )
    return w


@dataclass(frozen=True)
class UpdateCodec(CodecParams):
    """Encoder for weighted-mean aggregation of model updates in one session.

    The encoded vector is ``[round(w * clip(x) * scale), round(w * weight_scale)]``:
    ``layout.size`` data slots followed by one weight slot. Summing the
    vectors of the survivors gives ``sum w_k x_k`` and ``sum w_k`` over the
    same set; :meth:`decode_mean` returns their ratio.

    With ``l2_clip`` set (differential privacy), the update is clipped to that
    L2 norm instead of per coordinate, rounding is conditional on the rounded
    norm staying below :attr:`rounded_l2_bound`, weights must be 1 and an
    optional ``noise`` function adds integer noise to the data slots before
    the ring embedding.

    The parameters (attributes), their checks and the derived ring width
    ``bits`` are those of :class:`CodecParams`.
    """

    def quantize(
        self,
        update: Sequence[np.ndarray],
        weight: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> Quantized:
        """Clip, weight, scale and stochastically round an update (no weight slot).

        Raises:
            InvalidInputError: On a layout mismatch, a non-finite value or a bad weight.
        """
        w = float(weight)
        if not math.isfinite(w) or w < 0 or w > self._max_weight:
            raise InvalidInputError(
                f"a client weight must lie in [0, max_weight = {self._max_weight:g}], got "
                f"{weight!r}; build the codec with a larger max_weight (one bit of b per doubling)"
            )
        x = self.layout.flatten(update)
        gen = rng if rng is not None else csprng_generator()
        if self.l2_clip is not None:
            x, norm_clipped = clip_l2(x, self.l2_clip)
            x, frac = clip_coordinates(x, self.clip)
            ints = stochastic_round(x * self.scale, gen, l2_bound=self.rounded_l2_bound)
            return Quantized(ints, frac, norm_clipped)
        # x is flatten's fresh copy: clipped, weighted, scaled and rounded in place
        # (the same operations, in the same order, as w * x * scale).
        x, frac = clip_coordinates_in_place(x, self.clip)
        np.multiply(x, w, out=x)
        np.multiply(x, self.scale, out=x)
        return Quantized(round_in_place(x, gen), frac)

    def encode(
        self,
        update: Sequence[np.ndarray],
        weight: float = 1.0,
        rng: np.random.Generator | None = None,
        noise: NoiseFn | None = None,
    ) -> EncodedUpdate:
        """Encode one client's update and weight into one ring vector.

        Args:
            update: Arrays matching :attr:`layout`.
            weight: Client weight in ``[0, max_weight]`` (1 on the DP path).
            rng: Randomness for rounding and noise (tests only); default CSPRNG-seeded.
            noise: Optional ``f(int64 data slots, rng) -> int64 noise`` added to
                the data slots (DP); each entry must satisfy ``|e| <= noise_bound``.

        Returns:
            An :class:`EncodedUpdate` of length :attr:`length`.

        Raises:
            InvalidInputError: On bad input, or noise beyond :attr:`noise_bound`.

        Warns:
            ClippingWarning: When per-coordinate clipping changed more than
                :data:`CLIP_WARN_FRACTION` of the coordinates (L2 clipping on
                the DP path is the mechanism working as meant and is only
                reported, in ``norm_clipped``).
        """
        gen = rng if rng is not None else csprng_generator()
        q = self.quantize(update, weight, gen)
        if q.clipped_fraction > CLIP_WARN_FRACTION:
            warnings.warn(
                _clipping_message(self.clip, q.clipped_fraction, self.layout.size),
                ClippingWarning,
                stacklevel=2,
            )
        data = q.values
        if noise is not None:
            data = data + _checked_noise(noise(data, gen), data.shape, self.noise_bound)
        wslot = stochastic_round(np.array([float(weight) * self.weight_scale]), gen)
        return EncodedUpdate(
            to_ring_parts((data, wslot), self.bits),
            self.bits,
            float(weight),
            q.clipped_fraction,
            q.norm_clipped,
            int(self.n_max),
        )

    def decode_sum(self, words: np.ndarray, summands: int) -> tuple[np.ndarray, float]:
        """Decode a ring sum into ``(sum of w*x as a flat float64 vector, sum of w)``.

        Args:
            words: The sum, modulo 2^b, of ``summands`` outputs of :meth:`encode`.
            summands: How many clients' updates the sum holds (the survivor
                count |U3|), at most :attr:`n_max`.

        Returns:
            The summed weighted update (flat, real units) and the summed weight.

        Raises:
            InvalidInputError: On a wrong length or dtype, a word >= 2^b, a
                ``summands`` outside ``1..n_max``, or a sum larger than
                ``summands`` encoded updates can produce (it was not made by
                this codec from that many clients).
        """
        n = self._check_summands(summands)
        ints = from_ring_centred(_sum_words(self, words), self.bits)
        data_cap, weight_cap = self._sum_reach(n)
        peak = int(np.max(np.abs(ints[:-1]))) if ints.size > 1 else 0
        if peak > data_cap or not 0 <= int(ints[-1]) <= weight_cap:
            raise InvalidInputError(
                f"the decoded sum (largest data slot {peak}, weight slot {int(ints[-1])}) is "
                f"beyond what {n} updates of this codec can add up to (data within "
                f"±{data_cap}, weight within [0, {weight_cap}]); it holds more clients than "
                "summands says, or was not encoded with this codec"
            )
        total_weight = float(ints[-1]) / self.weight_scale
        return ints[:-1].astype(np.float64) / self.scale, total_weight

    def decode_mean(self, words: np.ndarray, summands: int) -> tuple[list[np.ndarray], float]:
        """Decode a ring sum into the weighted mean update and the total weight.

        Args:
            words: The sum, modulo 2^b, of ``summands`` outputs of :meth:`encode`.
            summands: How many clients' updates the sum holds (|U3|), at most
                :attr:`n_max`.

        Returns:
            ``(arrays in the layout's shapes and dtypes, sum of weights)``.

        Raises:
            InvalidInputError: If the summed weight is not positive (no survivor
                contributed weight), or as :meth:`decode_sum` does.
        """
        total, weight = self.decode_sum(words, summands)
        if weight <= 0:
            raise InvalidInputError(
                f"the summed weight is {weight}; a mean needs a positive total weight"
            )
        return self.layout.unflatten(total / weight), weight

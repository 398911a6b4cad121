"""Real-valued model updates to and from the ring Z_{2^b}.

Secure aggregation sums words modulo 2^b. A federated-learning update is a list
of float arrays (a model's parameters). This module turns one into the other
and back:

1. **Flatten** the arrays into one float64 vector (:class:`Layout`, in
   :mod:`secagg.updates`, remembers the shapes and dtypes).
2. **Clip** every coordinate to ``[-clip, clip]`` (or, for differential
   privacy, the whole vector to an L2 norm). Clipping is never silent: the
   fraction of clipped coordinates is reported in the result.
3. **Scale** by ``scale`` integer steps per real unit and **round
   stochastically**: ``v`` becomes ``floor(v)`` or ``floor(v) + 1`` with the
   probability that makes the expectation exactly ``v`` (unbiased).
4. **Embed** the signed integers into Z_{2^b} (two's complement).

After aggregation the sum is read back *centred*: a word ``w >= 2^(b-1)``
stands for ``w - 2^b``. :func:`choose_bits` picks ``b`` so the sum of ``n``
clipped, scaled, rounded values (plus any DP-noise headroom) always lies in
``[-2^(b-1), 2^(b-1) - 1]``: the sum can never wrap, so decoding is exact.

Weighted means (FedAvg): :class:`UpdateCodec` encodes ``w * x`` *and* ``w`` into
one vector, so a single aggregation session yields both ``sum w_k x_k`` and
``sum w_k`` over the same survivors; :meth:`UpdateCodec.decode_mean` divides.

One update, one session: :class:`EncodedUpdate` hands out its words once
(:meth:`EncodedUpdate.take`). Feeding the same encoded update to two sessions
with different survivor sets would let the server difference the two sums and
isolate it, so a retried round must re-encode (fresh rounding randomness and,
with DP, fresh noise). The object refuses a second use.

Randomness: stochastic rounding uses a numpy ``Generator`` seeded from 32 bytes
of ``os.urandom`` per call unless the caller injects one (tests only).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .exceptions import InvalidInputError
from .quantization import (
    MAX_EXACT_FLOAT,
    _check_positive,
    _ring_dtype,
    bits_for_bound,
    choose_bits,
    clip_coordinates,
    clip_l2,
    csprng_generator,
    from_ring_centred,
    stochastic_round,
    to_ring,
)
from .updates import EncodedUpdate, Layout, Quantized, UpdateReusedError

__all__ = [
    "Layout",
    "Quantized",
    "EncodedUpdate",
    "UpdateCodec",
    "UpdateReusedError",
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


NoiseFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class UpdateCodec:
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

    Attributes:
        layout: Shapes and dtypes of the update arrays.
        clip: Per-coordinate bound in real units (also bounds coordinates
            after L2 clipping, since a coordinate never exceeds the norm).
        scale: Integer steps per real unit.
        n_max: Largest number of summands (the session's n).
        max_weight: Largest accepted weight.
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
    max_weight: float = 1.0
    weight_scale: float = 1.0
    noise_bound: int = 0
    l2_clip: float | None = None
    beta: float = math.exp(-0.5)
    bits: int = field(init=False)

    def __post_init__(self) -> None:
        _check_positive("weight_scale", self.weight_scale)
        clip = self.clip if self.l2_clip is None else min(self.clip, self.l2_clip)
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
            clip,
            self.scale,
            self.n_max,
            max_weight=self.max_weight,
            headroom=int(self.n_max) * int(self.noise_bound),
        )
        weight_bits = choose_bits(self.max_weight, self.weight_scale, self.n_max)
        bits = max(data_bits, weight_bits)
        object.__setattr__(self, "bits", bits)

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
        if not math.isfinite(w) or w < 0 or w > self.max_weight:
            raise InvalidInputError(
                f"a client weight must lie in [0, {self.max_weight}], got {weight!r}"
            )
        x = self.layout.flatten(update)
        gen = rng if rng is not None else csprng_generator()
        if self.l2_clip is not None:
            x, norm_clipped = clip_l2(x, self.l2_clip)
            x, frac = clip_coordinates(x, self.clip)
            ints = stochastic_round(x * self.scale, gen, l2_bound=self.rounded_l2_bound)
            return Quantized(ints, frac, norm_clipped)
        x, frac = clip_coordinates(x, self.clip)
        return Quantized(stochastic_round(w * x * self.scale, gen), frac)

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
        """
        gen = rng if rng is not None else csprng_generator()
        q = self.quantize(update, weight, gen)
        data = q.values
        if noise is not None:
            extra = np.asarray(noise(data, gen))
            if extra.shape != data.shape or extra.dtype.kind not in "iu":
                raise InvalidInputError(
                    f"noise must be an integer vector of shape {data.shape}, "
                    f"got {extra.dtype} {extra.shape}"
                )
            if extra.size and int(np.max(np.abs(extra))) > self.noise_bound:
                raise InvalidInputError(
                    f"sampled noise of magnitude {int(np.max(np.abs(extra)))} exceeds the "
                    f"reserved noise_bound {self.noise_bound}; the sum could wrap"
                )
            data = data + extra.astype(np.int64)
        wslot = stochastic_round(np.array([float(weight) * self.weight_scale]), gen)
        ints = np.concatenate([data, wslot])
        return EncodedUpdate(
            to_ring(ints, self.bits),
            self.bits,
            float(weight),
            q.clipped_fraction,
            q.norm_clipped,
            int(self.n_max),
        )

    def decode_sum(self, words: np.ndarray) -> tuple[np.ndarray, float]:
        """Decode a ring sum into ``(sum of w*x as a flat float64 vector, sum of w)``.

        Raises:
            InvalidInputError: On a wrong length or dtype.
        """
        w = np.asarray(words)
        if w.ndim != 1 or w.size != self.length:
            raise InvalidInputError(
                f"a summed vector of length {self.length} is needed, got shape {w.shape}"
            )
        if w.dtype != self.dtype:
            raise InvalidInputError(
                f"summed words must have dtype {self.dtype} for b = {self.bits}, got {w.dtype}"
            )
        ints = from_ring_centred(w, self.bits)
        total_weight = float(ints[-1]) / self.weight_scale
        return ints[:-1].astype(np.float64) / self.scale, total_weight

    def decode_mean(self, words: np.ndarray) -> tuple[list[np.ndarray], float]:
        """Decode a ring sum into the weighted mean update and the total weight.

        Returns:
            ``(arrays in the layout's shapes and dtypes, sum of weights)``.

        Raises:
            InvalidInputError: If the summed weight is not positive (no survivor
                contributed weight), or on a wrong length or dtype.
        """
        total, weight = self.decode_sum(words)
        if weight <= 0:
            raise InvalidInputError(
                f"the summed weight is {weight}; a mean needs a positive total weight"
            )
        return self.layout.unflatten(total / weight), weight

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
:data:`DEFAULT_MAX_WEIGHT` (2^16, room for sample counts).

One update, one session: :class:`EncodedUpdate` hands out its words once;
a retried round must re-encode. Stochastic rounding uses a numpy
``Generator`` seeded from 32 bytes of ``os.urandom`` per call unless the
caller injects one (tests only).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .exceptions import ClippingWarning, InvalidInputError
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

#: Largest client weight an :class:`UpdateCodec` accepts when ``max_weight`` is
#: not given (outside the DP path): 2^16 = 65 536, so FedAvg weights that are
#: local sample counts work untuned. It costs 16 bits of ring width over unit
#: weights; pass the real largest weight (or 1 for a plain mean) to save them.
DEFAULT_MAX_WEIGHT = float(2**16)

#: :meth:`UpdateCodec.encode` warns (:class:`~secagg.exceptions.ClippingWarning`)
#: when clipping changes more than this fraction of an update's coordinates.
CLIP_WARN_FRACTION = 0.01


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
            max_weight=self._max_weight,
            headroom=int(self.n_max) * int(self.noise_bound),
        )
        weight_bits = choose_bits(self._max_weight, self.weight_scale, self.n_max)
        bits = max(data_bits, weight_bits)
        object.__setattr__(self, "bits", bits)

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
                f"clipping to [-{self.clip:g}, {self.clip:g}] changed "
                f"{100 * q.clipped_fraction:.2f} % of the update's {self.layout.size} "
                f"coordinates, more than the {100 * CLIP_WARN_FRACTION:g} % encode accepts "
                "quietly; the decoded mean is pulled towards zero there (raise clip, or "
                "check the update's units)",
                ClippingWarning,
                stacklevel=2,
            )
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
        w = np.asarray(words)
        if w.ndim != 1 or w.size != self.length:
            raise InvalidInputError(
                f"a summed vector of length {self.length} is needed, got shape {w.shape}"
            )
        if w.dtype != self.dtype:
            raise InvalidInputError(
                f"summed words must have dtype {self.dtype} for b = {self.bits}, got {w.dtype}"
            )
        if self.bits < 64 and int(w.max()) >= 1 << self.bits:
            raise InvalidInputError(
                f"the sum holds the word {int(w.max())}, which is not in Z_2^{self.bits}: it was "
                f"summed in a wider ring than the codec's b = {self.bits} (check_codec compares "
                "a codec with the session config)"
            )
        ints = from_ring_centred(w, self.bits)
        # Per client, a data slot is at most ceil(max_weight * clip * scale) plus
        # its noise, and the weight slot lies in [0, ceil(max_weight * weight_scale)].
        # One step of slack per client covers float rounding at the clip edge.
        clip = self.clip if self.l2_clip is None else min(self.clip, self.l2_clip)
        data_cap = n * (math.ceil(self._max_weight * clip * self.scale) + self.noise_bound + 1)
        weight_cap = n * (math.ceil(self._max_weight * self.weight_scale) + 1)
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

    def check_config(self, config: SessionShape) -> None:
        """Check this codec against a session config (:func:`check_codec`).

        Raises:
            InvalidInputError: If b, the vector length or n does not fit; the
                message names each mismatch and both values.
        """
        check_codec(self, config)

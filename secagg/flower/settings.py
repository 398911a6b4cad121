"""The knobs of a secure-aggregation round in Flower, checked once.

:class:`Settings` is what the server side (legacy workflow or Message-API
strategy) is built from. It mirrors the protocol: either an explicit
neighbourhood ``k`` (and threshold ``t``) or the planner's ``dropout`` and
``corrupt`` rates, the mode, ``n_min``, and the encoding of float updates
(``clip``, ``quantization_bits``, ``max_weight``), plus the stage timeouts.
Each round it becomes one :class:`~secagg.protocol.config.Config` for the
nodes actually sampled (:meth:`Settings.session`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..encoding import Layout, UpdateCodec
from ..exceptions import InvalidInputError
from ..protocol.config import Config
from ..protocol.planner import session_config
from ..protocol.vocabulary import Mode

__all__ = ["Settings", "CodecSpec"]

_MAX_QUANTIZATION_BITS = 40


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class CodecSpec:
    """The public encoding parameters both sides build the same codec from.

    A client's update (its parameters minus the global parameters it was
    sent) is clipped to ``[-clip, clip]`` per coordinate and quantised to
    ``2^quantization_bits`` steps across that range; its weight (the number
    of examples, capped at ``max_weight``) is divided by ``max_weight`` and
    quantised with the same number of steps. Both travel in one vector.

    Attributes:
        clip: Per-coordinate bound on an update.
        quantization_bits: log2 of the steps across ``[-clip, clip]``.
        max_weight: Weight (example count) that maps to 1; larger ones are capped.
    """

    clip: float
    quantization_bits: int
    max_weight: float

    def __post_init__(self) -> None:
        if not _is_number(self.clip) or not math.isfinite(self.clip) or self.clip <= 0:
            raise InvalidInputError(f"clip must be a finite number > 0, got {self.clip!r}.")
        bits = self.quantization_bits
        if not _is_int(bits) or not 1 <= bits <= _MAX_QUANTIZATION_BITS:
            raise InvalidInputError(
                f"quantization_bits must be an integer in 1..{_MAX_QUANTIZATION_BITS}, "
                f"got {bits!r}."
            )
        w = self.max_weight
        if not _is_number(w) or not math.isfinite(w) or w <= 0:
            raise InvalidInputError(f"max_weight must be a finite number > 0, got {w!r}.")

    @property
    def scale(self) -> float:
        """Integer steps per real unit of an update coordinate."""
        return 2.0**self.quantization_bits / (2.0 * self.clip)

    def codec(self, layout: Layout, n: int) -> UpdateCodec:
        """The codec for ``n`` clients' updates of this layout.

        Args:
            layout: Shapes of the update arrays (float64).
            n: Clients in the session (the codec's ``n_max``).

        Returns:
            The :class:`~secagg.encoding.UpdateCodec`.

        Raises:
            InvalidInputError: The parameters need more than 64 bits for n clients.
        """
        return UpdateCodec(
            layout,
            clip=float(self.clip),
            scale=self.scale,
            n_max=n,
            max_weight=1.0,
            weight_scale=2.0**self.quantization_bits,
        )


@dataclass(frozen=True)
class Settings:
    """How each round's secure aggregation is configured (server side).

    Attributes:
        dropout: Largest fraction of the sampled nodes that may drop out
            (the planner's delta); more missing nodes release nothing.
        corrupt: Fraction of nodes assumed to collude with the server (the
            planner's gamma); 0 means none does.
        k: Neighbours per node (None: the planner chooses). Flower's
            ``num_shares`` counts the node itself: k = num_shares - 1. A k
            of at least the sampled count minus one means the complete graph;
            below that k must be even (a round whose sample makes it odd and
            incomplete fails, saying so).
        t: Shamir threshold (None: the planner's rule for the graph).
        n_min: Fewest survivors whose sum may be released (None: the
            planner's max(t, n - floor(dropout * n))).
        mode: ``"semi_honest"`` (the only mode this adapter runs; see
            docs/flower.md for why active mode needs more than Flower offers).
        clip: Per-coordinate bound on each node's update (parameters after
            training minus the global parameters).
        quantization_bits: log2 of the quantisation steps across ``[-clip, clip]``.
        max_weight: Example count that maps to weight 1; larger counts are capped.
        timeout: Seconds to wait for the replies of one stage (None: forever).
        train_timeout: The same for the first stage, which includes local
            training (None: ``timeout``).

    Raises:
        InvalidInputError: A knob is out of range; the message names it.
    """

    dropout: float = 0.2
    corrupt: float = 0.0
    k: int | None = None
    t: int | None = None
    n_min: int | None = None
    mode: str = "semi_honest"
    clip: float = 8.0
    quantization_bits: int = 22
    max_weight: float = 1000.0
    timeout: float | None = 120.0
    train_timeout: float | None = None

    def __post_init__(self) -> None:
        for name in ("dropout", "corrupt"):
            rate = getattr(self, name)
            if not _is_number(rate) or not 0.0 <= rate < 1.0:
                raise InvalidInputError(f"{name} must be a number in [0, 1), got {rate!r}.")
        for name, low in (("k", 2), ("t", 2), ("n_min", 2)):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < low):
                raise InvalidInputError(
                    f"{name} must be None or an integer >= {low}, got {value!r}."
                )
        mode = Mode.parse(self.mode)
        if mode is not Mode.SEMI_HONEST:
            raise InvalidInputError(
                "the Flower adapter runs semi_honest sessions only: active mode needs a "
                "registry of node keys and a config authority that the server cannot "
                "change, which Flower 1.42 does not provide (docs/flower.md)."
            )
        for name in ("timeout", "train_timeout"):
            value = getattr(self, name)
            if value is not None and (
                not _is_number(value) or not math.isfinite(value) or value <= 0
            ):
                raise InvalidInputError(f"{name} must be None or a number > 0, got {value!r}.")
        self.codec_spec  # noqa: B018 - validates clip, quantization_bits, max_weight

    @property
    def codec_spec(self) -> CodecSpec:
        """The encoding parameters sent to the nodes."""
        return CodecSpec(self.clip, self.quantization_bits, self.max_weight)

    def stage_timeout(self, first: bool) -> float | None:
        """The reply timeout of a stage (the first includes training)."""
        if first and self.train_timeout is not None:
            return self.train_timeout
        return self.timeout

    def session(self, n: int, layout: Layout) -> tuple[Config, UpdateCodec]:
        """The config and codec of one round with ``n`` sampled nodes.

        Args:
            n: Nodes sampled this round.
            layout: Shapes of the update arrays (float64).

        Returns:
            The session Config and the codec, checked against each other.

        Raises:
            InvalidInputError: Fewer than 3 nodes, or the planner or the
                Config refuses these knobs for n (the message says why).
        """
        if n < 3:
            raise InvalidInputError(
                f"a secure-aggregation round needs at least 3 nodes, {n} were sampled."
            )
        codec = self.codec_spec.codec(layout, n)
        k = None if self.k is None else min(self.k, n - 1)
        config = session_config(
            n,
            codec.bits,
            codec.length,
            dropout=self.dropout,
            corrupt=self.corrupt,
            mode=Mode.SEMI_HONEST,
            k=k,
            t=self.t,
            n_min=self.n_min,
        )
        codec.check_config(config)
        return config, codec

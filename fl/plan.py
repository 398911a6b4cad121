"""The session plan of a federated run: what every round shares, built once.

:func:`build_plan` turns an :class:`~fl.config.FLConfig` and the shape of
the strategy's update vector into a frozen :class:`SessionPlan`: the public
codec, the protocol Config of one session (from
:func:`secagg.protocol.planner.session_config`), the DP set-up when there is
one (:mod:`fl.privacy`), the cohort's colluding clients C and, in active
mode, the clients' long-term Ed25519 keys
(:class:`secagg.protocol.registry.Registry`), from which each session's
registry is cut.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from secagg.encoding import Layout, UpdateCodec
from secagg.protocol.config import Config
from secagg.protocol.planner import session_config
from secagg.protocol.registry import Registry
from secagg.protocol.thresholds import count_of

from .config import FLConfig
from .models import Params
from .privacy import DPSetup, dp_setup

__all__ = ["SessionPlan", "build_plan", "DP_STEPS"]

#: Under DP, integer steps per L2 clip: the scale is DP_STEPS / dp_clip.
DP_STEPS = 2.0**12

NoiseFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class SessionPlan:
    """Everything the rounds of a run share, fixed before the first round.

    Attributes:
        codec: The public update codec: clients encode with it, the server decodes.
        config: The Config of one session (n = the session size, b and m the
            codec's). In active mode its registry digest is the first
            cohort's; :meth:`session_registry` gives each session its own.
        dp: The DP set-up, None without DP.
        keys: Active mode: every client's long-term signing key, by client id
            1..N; None in semi_honest mode.
        colluders: C = floor(corrupt rate x n), the session's clients assumed
            to collude with the server (the cohort-wide count, not the
            per-neighbourhood c). The Paillier and multi-server paths pass
            it to their decrypting parties and servers as their C.
    """

    codec: UpdateCodec
    config: Config
    dp: DPSetup | None = None
    keys: Registry | None = None
    colluders: int = 0

    @property
    def unit_weights(self) -> bool:
        """Under DP every client weighs 1 (the noise is calibrated to unit weights)."""
        return self.dp is not None

    def noise(self) -> NoiseFn | None:
        """The noise function clients add when encoding (None without DP)."""
        return None if self.dp is None else self.dp.mechanism.noise_fn()

    def session_registry(self, session: Mapping[int, int]) -> Registry | None:
        """Active mode: one session's registry, session id -> its client's long-term key.

        Args:
            session: Session id (1..n) -> client id.

        Returns:
            The registry, or None in semi_honest mode.
        """
        if self.keys is None:
            return None
        keys = self.keys.signing_keys
        return Registry.from_signing_keys({sid: keys[cid] for sid, cid in session.items()})

    def session_config(self, session: Mapping[int, int]) -> tuple[Config, Registry | None]:
        """One session's Config (its own registry digest in active mode) and registry."""
        registry = self.session_registry(session)
        if registry is None:
            return self.config, None
        return replace(self.config, registry_digest=registry.digest), registry


def build_plan(cfg: FLConfig, template: Params, max_weight: float) -> SessionPlan:
    """The session plan of a run.

    Without DP the codec clips per coordinate at ``cfg.clip`` with
    ``cfg.scale`` steps per unit and weights up to ``max_weight``. With DP
    the thresholds are planned first (b and m do not enter them), the noise
    is calibrated to them (:func:`fl.privacy.dp_setup`), and the codec
    reserves room for the noise; the session's n_min is the DP set-up's.

    Args:
        cfg: The run's configuration.
        template: Zero arrays shaped like the vector a client sends.
        max_weight: The largest client weight (the largest local sample count).

    Returns:
        The plan.

    Raises:
        InvalidInputError: If the planner, the codec or the DP calibration
            refuses the parameters.
    """
    layout = Layout.of(template)
    n = cfg.session_size
    colluders = count_of(cfg.corrupt, n)
    keys = Registry.generate(cfg.n_clients) if cfg.mode == "active" else None
    digest = bytes(32)
    if keys is not None:
        first = Registry.from_signing_keys({u: keys.signing_keys[u] for u in range(1, n + 1)})
        digest = first.digest

    def config(b: int, m: int, n_min: int | None = None) -> Config:
        return session_config(
            n,
            b,
            m,
            dropout=cfg.planner_dropout,
            corrupt=cfg.corrupt,
            mode=cfg.mode,
            k=cfg.k,
            t=cfg.t,
            n_min=n_min,
            registry_digest=digest,
        )

    if cfg.dp == "none":
        codec = UpdateCodec(layout, cfg.clip, cfg.scale, n, max_weight=max_weight)
        return SessionPlan(codec, config(codec.bits, codec.length), None, keys, colluders)
    probe = config(64, layout.size + 1)
    base = UpdateCodec(layout, cfg.dp_clip, DP_STEPS / cfg.dp_clip, n, l2_clip=cfg.dp_clip)
    dp = dp_setup(cfg, probe, float(base.rounded_l2_bound or 0.0), layout.size)
    codec = replace(base, noise_bound=dp.mechanism.noise_bound(n))
    return SessionPlan(codec, config(codec.bits, codec.length, dp.n_min), dp, keys, colluders)

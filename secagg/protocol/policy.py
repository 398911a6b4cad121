"""What a client's operator accepts: the policy a client judges every config by (§10)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..exceptions import InvalidInputError, ProtocolViolationError
from .config import Config
from .thresholds import corrupt_holders_bound, count_of, is_int, threshold_violation
from .vocabulary import DIGEST_LEN, MAX_N, Mode

__all__ = ["ClientPolicy"]


@dataclass(frozen=True)
class ClientPolicy:
    """A client operator's minimum requirements on any config it will join (§10).

    Attributes:
        gamma_max: Largest fraction of corrupt clients the operator assumes;
            the config's c must tolerate floor(gamma_max * n) corrupt clients
            (directly on the complete graph, by the planner's hypergeometric
            bound on a sparse one).
        min_n: Smallest cohort accepted.
        min_t: Smallest threshold accepted.
        min_n_min: Smallest n_min accepted (smallest sum ever released).
        registry_digest: The digest of the registry this client trusts, or
            None (then only semi_honest configs are accepted, since active
            mode is meaningless without a trusted registry).
        max_n: Largest cohort accepted (default: the wire limit ``MAX_N``). A
            config with more clients is refused before the client builds
            anything whose size depends on n.
        require_majority: Also require 2t > h (a majority of every holder
            set). Off by default: it is defence in depth, not a guarantee.
            It does not stop a deviating server in semi_honest mode
            (PROTOCOL.md §11), and on sparse graphs it makes the planner's
            graphs several times denser at high dropout rates.

    Raises:
        InvalidInputError: A field is out of range.
    """

    gamma_max: float
    min_n: int
    min_t: int
    min_n_min: int
    registry_digest: bytes | None
    max_n: int = MAX_N
    require_majority: bool = False

    def __post_init__(self) -> None:
        g = self.gamma_max
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g):
            raise InvalidInputError(f"gamma_max must be a finite number, got {g!r}.")
        if not 0.0 <= g < 1.0:
            raise InvalidInputError(f"gamma_max must lie in [0, 1), got {g}.")
        for name in ("min_n", "min_t", "min_n_min"):
            value = getattr(self, name)
            if not is_int(value) or value < 0:
                raise InvalidInputError(
                    f"policy field {name} must be a non-negative integer, got {value!r}."
                )
        if not is_int(self.max_n) or not 3 <= self.max_n <= MAX_N:
            raise InvalidInputError(
                f"policy field max_n must be an integer in 3..{MAX_N}, got {self.max_n!r}."
            )
        if not isinstance(self.require_majority, bool):
            raise InvalidInputError(
                f"policy field require_majority must be a bool, got {self.require_majority!r}."
            )
        if self.registry_digest is not None:
            d = self.registry_digest
            if not isinstance(d, (bytes, bytearray, memoryview)) or len(d) != DIGEST_LEN:
                raise InvalidInputError(
                    "policy registry_digest must be 32 bytes or None, got "
                    f"{len(d) if isinstance(d, (bytes, bytearray, memoryview)) else d!r}."
                )
            object.__setattr__(self, "registry_digest", bytes(d))

    def check(self, config: Config) -> None:
        """Refuse a config this client must not join.

        Args:
            config: The config received in the R0 request.

        Raises:
            ProtocolViolationError: Naming the violated rule: n above the
                policy maximum, registry digest mismatch, a §6 threshold
                rule, a policy minimum (n, t, n_min, or c below what
                floor(gamma_max * n) corrupt clients require), or 2t <= h
                when the policy requires a majority.
        """
        if not isinstance(config, Config):
            raise ProtocolViolationError(
                f"expected a Config to check against the policy, got {type(config).__name__}."
            )
        if config.n > self.max_n:
            raise ProtocolViolationError(
                f"the config has n = {config.n} clients, above the policy maximum {self.max_n}."
            )
        if config.mode is Mode.ACTIVE and self.registry_digest is None:
            raise ProtocolViolationError(
                "the config asks for active mode but this client's policy pins no registry "
                "digest to check it against."
            )
        if self.registry_digest is not None and config.registry_digest != self.registry_digest:
            raise ProtocolViolationError(
                "the config's registry digest "
                f"{config.registry_digest.hex()} differs from the trusted registry digest "
                f"{self.registry_digest.hex()}."
            )
        problem = threshold_violation(
            config.n, config.t, config.k, config.c, config.n_min, config.mode
        )
        if problem is not None:
            raise ProtocolViolationError(f"the config breaks a threshold rule: {problem}")
        if config.n < self.min_n:
            raise ProtocolViolationError(
                f"the config has n = {config.n} clients, below the policy minimum {self.min_n}."
            )
        if config.t < self.min_t:
            raise ProtocolViolationError(
                f"the config has t = {config.t}, below the policy minimum {self.min_t}."
            )
        if config.n_min < self.min_n_min:
            raise ProtocolViolationError(
                f"the config has n_min = {config.n_min}, below the policy minimum {self.min_n_min}."
            )
        if self.require_majority and 2 * config.t <= config.h:
            raise ProtocolViolationError(
                f"the policy requires 2t > h, but the config has t = {config.t}, "
                f"h = k + 1 = {config.h}."
            )
        corrupt = count_of(self.gamma_max, config.n)
        need = corrupt if config.complete else corrupt_holders_bound(config.n, config.k, corrupt)
        if config.c < need:
            raise ProtocolViolationError(
                f"the config tolerates c = {config.c} corrupt holders, but "
                f"floor(gamma_max * n) = floor({self.gamma_max} * {config.n}) = {corrupt} "
                f"corrupt clients need c >= {need} with k = {config.k}."
            )

"""Session configuration: thresholds, canonical encoding, session id, client policy.

A :class:`Config` is validated once, when it is built, against the threshold
rules of PROTOCOL.md §6; an object that exists is a valid configuration. Its
canonical encoding (§5) is what the session id hashes and what the config
authority signs in active mode. :class:`ClientPolicy` is what a client's
operator adds on top (§10): the registry it trusts and the weakest
parameters it accepts.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError, MalformedMessageError, ProtocolViolationError

__all__ = [
    "Mode",
    "Config",
    "ClientPolicy",
    "CONFIG_LABEL",
    "CONFIG_VERSION",
    "CANONICAL_SIZE",
    "MAX_N",
    "MAX_KEYSTREAM_BYTES",
    "new_nonce",
    "registry_digest",
]

CONFIG_LABEL = b"secagg/v1/config"
CONFIG_VERSION = 1
SESSION_LABEL = b"secagg/v1/session"
REGISTRY_LABEL = b"secagg/v1/registry"
# label, u8 version, u32be n t k c n_min, u8 b, u64be m, u8 mode, 32-byte digest
_LAYOUT = struct.Struct(">B5IBQB")
CANONICAL_SIZE = len(CONFIG_LABEL) + _LAYOUT.size + 32
# The one limit on n: decoders refuse more clients (docs/wire-format.md), so a
# config that no message could carry is refused when it is built.
MAX_N = 1 << 20
_U32_MAX = 2**32 - 1
# One PRG key expands at most 2^36 bytes (PROTOCOL §2).
MAX_KEYSTREAM_BYTES = 2**36
NONCE_SIZE = 32
DIGEST_SIZE = 32


class Mode(str, Enum):  # noqa: UP042 - str mixin keeps str() == the plain name
    """Protocol mode; the value is the name used in configs, ``byte`` the wire code."""

    SEMI_HONEST = "semi_honest"
    ACTIVE = "active"

    @property
    def byte(self) -> int:
        """The mode's canonical byte (0 = semi_honest, 1 = active)."""
        return 0 if self is Mode.SEMI_HONEST else 1

    @classmethod
    def from_byte(cls, value: int) -> Mode:
        """Mode for a canonical byte; anything but 0 or 1 is an InvalidInputError."""
        if value == 0:
            return cls.SEMI_HONEST
        if value == 1:
            return cls.ACTIVE
        raise InvalidInputError(f"mode byte must be 0 (semi_honest) or 1 (active), got {value}.")

    @classmethod
    def parse(cls, value: Mode | str) -> Mode:
        """Accept a Mode or its string name; anything else is an InvalidInputError."""
        if isinstance(value, Mode):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        raise InvalidInputError(
            f"mode must be 'semi_honest' or 'active' (or a Mode), got {value!r}."
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def threshold_violation(n: int, t: int, k: int, c: int, n_min: int, mode: Mode) -> str | None:
    """Return a sentence naming the first §6 threshold rule broken, or None.

    Only the graph and threshold rules (those a client policy re-checks); the
    field ranges of :class:`Config` are checked there.
    """
    h = k + 1
    if n < 3:
        return f"n must be at least 3 (a graph needs k >= 2 neighbours), got n = {n}."
    if k < 2 or k > n - 1:
        return f"k must lie in 2..n-1 = 2..{n - 1}, got k = {k} (n = {n})."
    if k < n - 1 and k % 2 == 1:
        return (
            f"a sparse (Harary) graph needs an even k, got k = {k} with n = {n} "
            f"(only the complete graph k = n - 1 = {n - 1} may be odd)."
        )
    if c < 0:
        return f"c (corrupt holders tolerated) must be >= 0, got c = {c}."
    if t < 2:
        return f"t must be at least 2 (t = 1 hands every holder the secret), got t = {t}."
    if t > h:
        return f"t must not exceed the h = k + 1 = {h} holders of a secret, got t = {t}."
    if mode is Mode.SEMI_HONEST:
        if t <= c:
            return (
                f"semi_honest needs t > c so that the c colluding holders a neighbourhood "
                f"may contain cannot rebuild a secret, got t = {t}, c = {c}."
            )
    else:
        if k < n - 1:
            return (
                f"active mode runs on the complete graph only in v1 (k = n - 1 = {n - 1}), "
                f"got k = {k}."
            )
        if 2 * t <= h + c:
            return (
                f"active mode needs 2t > h + c (t >= floor((h + c)/2) + 1 = "
                f"{(h + c) // 2 + 1}), got t = {t}, h = {h}, c = {c}."
            )
    if n_min < t:
        return f"n_min must be at least t, got n_min = {n_min}, t = {t}."
    if n_min > n:
        return f"n_min must not exceed n, got n_min = {n_min}, n = {n}."
    return None


@dataclass(frozen=True)
class Config:
    """One session's parameters, validated against PROTOCOL.md §6 when built.

    Attributes:
        n: Number of clients (ids 1..n).
        t: Shamir threshold.
        k: Neighbours per client (n - 1 for the complete graph, else even).
        b: Bits per ring element (1..64).
        m: Vector length.
        c: Corrupt holders tolerated in any client's holder set.
        n_min: Fewest survivors for which a sum may be released; required,
            keyword-only, no default (the planner proposes max(t, n - D)).
        mode: ``Mode.SEMI_HONEST`` or ``Mode.ACTIVE`` (the string is accepted).
        registry_digest: SHA-256 registry digest (active) or 32 zero bytes.

    Raises:
        InvalidInputError: A field has the wrong type or range, or a §6 rule
            is broken; the message names the rule and the values.
    """

    n: int
    t: int
    k: int
    b: int
    m: int
    c: int = 0
    # No default: a sum over few survivors is what an attacker who drops
    # clients wants, so the caller (or the planner) must say what it accepts.
    n_min: int = field(kw_only=True)
    mode: Mode = Mode.SEMI_HONEST
    registry_digest: bytes = field(default=bytes(DIGEST_SIZE))

    def __post_init__(self) -> None:
        for name in ("n", "t", "k", "b", "m", "c", "n_min"):
            value = getattr(self, name)
            if not _is_int(value):
                raise InvalidInputError(
                    f"config field {name} must be an integer, got {type(value).__name__} {value!r}."
                )
            object.__setattr__(self, name, int(value))
        object.__setattr__(self, "mode", Mode.parse(self.mode))
        digest = self.registry_digest
        if not isinstance(digest, (bytes, bytearray, memoryview)):
            raise InvalidInputError(f"registry_digest must be bytes, got {type(digest).__name__}.")
        digest = bytes(digest)
        object.__setattr__(self, "registry_digest", digest)

        if not 3 <= self.n <= MAX_N:
            raise InvalidInputError(
                f"n must lie in 3..{MAX_N} (the largest cohort a message can carry), "
                f"got n = {self.n}."
            )
        for name in ("t", "k", "c", "n_min"):
            value = getattr(self, name)
            if not 0 <= value <= _U32_MAX:
                raise InvalidInputError(
                    f"config field {name} must fit in 32 bits (0..{_U32_MAX}), got {value}."
                )
        problem = threshold_violation(self.n, self.t, self.k, self.c, self.n_min, self.mode)
        if problem is not None:
            raise InvalidInputError(problem)
        if not 1 <= self.b <= 64:
            raise InvalidInputError(f"b must lie in 1..64, got b = {self.b}.")
        if self.m <= 0:
            raise InvalidInputError(f"m (vector length) must be positive, got m = {self.m}.")
        if self.m * self.word_bytes > MAX_KEYSTREAM_BYTES:
            raise InvalidInputError(
                f"m * w = {self.m} * {self.word_bytes} = {self.m * self.word_bytes} bytes "
                f"exceeds the 2^36-byte limit one PRG key may expand."
            )
        if len(digest) != DIGEST_SIZE:
            raise InvalidInputError(
                f"registry_digest must be {DIGEST_SIZE} bytes, got {len(digest)}."
            )
        if self.mode is Mode.ACTIVE and digest == bytes(DIGEST_SIZE):
            raise InvalidInputError(
                "active mode needs the registry digest of the clients' verification keys, "
                "got 32 zero bytes."
            )
        if self.mode is Mode.SEMI_HONEST and digest != bytes(DIGEST_SIZE):
            raise InvalidInputError(
                "semi_honest mode carries no registry: its registry_digest must be 32 zero "
                f"bytes, got {digest.hex()}."
            )

    @property
    def h(self) -> int:
        """Holders of each client's shares: k neighbours plus the client itself."""
        return self.k + 1

    @property
    def word_bytes(self) -> int:
        """Storage width w in bytes: 4 for b <= 32, else 8."""
        return 4 if self.b <= 32 else 8

    @property
    def dtype(self) -> type[np.unsignedinteger[Any]]:
        """numpy storage type of a vector element (uint32 or uint64)."""
        return np.uint32 if self.b <= 32 else np.uint64

    @property
    def complete(self) -> bool:
        """True for the complete graph (k = n - 1)."""
        return self.k == self.n - 1

    def canonical(self) -> bytes:
        """The canonical encoding of PROTOCOL.md §5 (79 bytes)."""
        return (
            CONFIG_LABEL
            + _LAYOUT.pack(
                CONFIG_VERSION,
                self.n,
                self.t,
                self.k,
                self.c,
                self.n_min,
                self.b,
                self.m,
                self.mode.byte,
            )
            + self.registry_digest
        )

    def session_id(self, nonce: bytes) -> bytes:
        """SHA-256("secagg/v1/session" ‖ nonce ‖ canonical(config)) (PROTOCOL §5).

        Args:
            nonce: The 32 CSPRNG bytes drawn by the party that issued the config.

        Returns:
            The 32-byte session id.

        Raises:
            InvalidInputError: ``nonce`` is not 32 bytes.
        """
        if not isinstance(nonce, (bytes, bytearray, memoryview)) or len(nonce) != NONCE_SIZE:
            got = len(nonce) if isinstance(nonce, (bytes, bytearray, memoryview)) else nonce
            raise InvalidInputError(f"the session nonce must be 32 bytes, got {got!r}.")
        return hashlib.sha256(SESSION_LABEL + bytes(nonce) + self.canonical()).digest()

    @classmethod
    def from_canonical(cls, data: bytes) -> Config:
        """Strictly decode a canonical config.

        Args:
            data: Exactly the 79 bytes of ``canonical()``.

        Returns:
            The validated Config.

        Raises:
            MalformedMessageError: Wrong type or length, label, version or mode
                byte, or a decoded config that breaks a §6 rule.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MalformedMessageError(
                f"a canonical config must be bytes, got {type(data).__name__}."
            )
        data = bytes(data)
        if len(data) != CANONICAL_SIZE:
            raise MalformedMessageError(
                f"a canonical config is {CANONICAL_SIZE} bytes, got {len(data)}."
            )
        if data[: len(CONFIG_LABEL)] != CONFIG_LABEL:
            raise MalformedMessageError(f"canonical config does not start with {CONFIG_LABEL!r}.")
        version, n, t, k, c, n_min, b, m, mode_byte = _LAYOUT.unpack_from(data, len(CONFIG_LABEL))
        if version != CONFIG_VERSION:
            raise MalformedMessageError(
                f"canonical config version must be {CONFIG_VERSION}, got {version}."
            )
        if mode_byte not in (0, 1):
            raise MalformedMessageError(
                f"canonical config mode byte must be 0 or 1, got {mode_byte}."
            )
        digest = data[len(CONFIG_LABEL) + _LAYOUT.size :]
        try:
            return cls(
                n=n,
                t=t,
                k=k,
                b=b,
                m=m,
                c=c,
                n_min=n_min,
                mode=Mode.from_byte(mode_byte),
                registry_digest=digest,
            )
        except InvalidInputError as exc:
            raise MalformedMessageError(f"canonical config is not a valid config: {exc}") from exc


def new_nonce() -> bytes:
    """32 fresh bytes from the OS CSPRNG, for :meth:`Config.session_id`."""
    return os.urandom(NONCE_SIZE)


def registry_digest(verify_keys: Mapping[int, bytes], n: int) -> bytes:
    """SHA-256("secagg/v1/registry" ‖ for id = 1..n: u32be(id) ‖ vk_id) (PROTOCOL §5).

    Args:
        verify_keys: Every client id 1..n mapped to its 32-byte Ed25519
            verification key, and nothing else.
        n: Number of clients.

    Returns:
        The 32-byte registry digest.

    Raises:
        InvalidInputError: An id is missing or extra, or a key is not 32 bytes.
    """
    if not _is_int(n) or not 1 <= n <= MAX_N:
        raise InvalidInputError(f"n must be an integer in 1..{MAX_N}, got {n!r}.")
    n = int(n)
    if not isinstance(verify_keys, Mapping):
        raise InvalidInputError(
            f"verify_keys must map ids to keys, got {type(verify_keys).__name__}."
        )
    outside = [i for i in verify_keys if not (_is_int(i) and 1 <= i <= n)]
    if outside:
        raise InvalidInputError(
            f"the registry holds ids outside 1..{n}: {sorted(map(repr, outside))[:5]}."
        )
    h = hashlib.sha256(REGISTRY_LABEL)
    for uid in range(1, n + 1):
        if uid not in verify_keys:
            raise InvalidInputError(f"the registry has no verification key for id {uid} (n = {n}).")
        vk = verify_keys[uid]
        if not isinstance(vk, (bytes, bytearray, memoryview)) or len(vk) != 32:
            got = len(vk) if isinstance(vk, (bytes, bytearray, memoryview)) else type(vk).__name__
            raise InvalidInputError(
                f"the verification key of id {uid} must be 32 bytes, got {got}."
            )
        h.update(struct.pack(">I", uid))
        h.update(bytes(vk))
    return h.digest()


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
            if not _is_int(value) or value < 0:
                raise InvalidInputError(
                    f"policy field {name} must be a non-negative integer, got {value!r}."
                )
        if not _is_int(self.max_n) or not 3 <= self.max_n <= MAX_N:
            raise InvalidInputError(
                f"policy field max_n must be an integer in 3..{MAX_N}, got {self.max_n!r}."
            )
        if not isinstance(self.require_majority, bool):
            raise InvalidInputError(
                f"policy field require_majority must be a bool, got {self.require_majority!r}."
            )
        if self.registry_digest is not None:
            d = self.registry_digest
            if not isinstance(d, (bytes, bytearray, memoryview)) or len(d) != DIGEST_SIZE:
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
        # Imported here: the planner builds Configs, so it imports this module.
        from .planner import corrupt_holders_bound, count_of

        corrupt = count_of(self.gamma_max, config.n)
        need = corrupt if config.complete else corrupt_holders_bound(config.n, config.k, corrupt)
        if config.c < need:
            raise ProtocolViolationError(
                f"the config tolerates c = {config.c} corrupt holders, but "
                f"floor(gamma_max * n) = floor({self.gamma_max} * {config.n}) = {corrupt} "
                f"corrupt clients need c >= {need} with k = {config.k}."
            )

"""Session configuration: validation, canonical encoding, session id.

A :class:`Config` is validated once, when it is built, against the threshold
rules of PROTOCOL.md §6; an object that exists is a valid configuration. Its
canonical encoding (§5) is what the session id hashes and what the config
authority signs in active mode. What a client's operator adds on top (§10)
is :class:`~secagg.protocol.policy.ClientPolicy`.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import InvalidInputError, MalformedMessageError
from .thresholds import is_int, threshold_violation
from .vocabulary import (
    CONFIG_LABEL,
    CONFIG_VERSION,
    DIGEST_LEN,
    MAX_KEYSTREAM_BYTES,
    MAX_N,
    NONCE_LEN,
    SESSION_LABEL,
    Mode,
)

__all__ = ["Config", "CANONICAL_SIZE", "new_nonce"]

# label, u8 version, u32be n t k c n_min, u8 b, u64be m, u8 mode, 32-byte digest
_LAYOUT = struct.Struct(">B5IBQB")
CANONICAL_SIZE = len(CONFIG_LABEL) + _LAYOUT.size + DIGEST_LEN
_U32_MAX = 2**32 - 1


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
    registry_digest: bytes = field(default=bytes(DIGEST_LEN))

    def __post_init__(self) -> None:
        _normalise(self)
        problem = _field_problem(self)
        if problem is not None:
            raise InvalidInputError(problem)

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
        if not isinstance(nonce, (bytes, bytearray, memoryview)) or len(nonce) != NONCE_LEN:
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


def _normalise(config: Config) -> None:
    """Integers as int, the mode as a Mode, the digest as bytes (or InvalidInputError)."""
    for name in ("n", "t", "k", "b", "m", "c", "n_min"):
        value = getattr(config, name)
        if not is_int(value):
            raise InvalidInputError(
                f"config field {name} must be an integer, got {type(value).__name__} {value!r}."
            )
        object.__setattr__(config, name, int(value))
    object.__setattr__(config, "mode", Mode.parse(config.mode))
    digest = config.registry_digest
    if not isinstance(digest, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"registry_digest must be bytes, got {type(digest).__name__}.")
    object.__setattr__(config, "registry_digest", bytes(digest))


def _field_problem(config: Config) -> str | None:
    """The first rule a normalised config breaks, as a sentence, or None."""
    if not 3 <= config.n <= MAX_N:
        return (
            f"n must lie in 3..{MAX_N} (the largest cohort a message can carry), "
            f"got n = {config.n}."
        )
    for name in ("t", "k", "c", "n_min"):
        value = getattr(config, name)
        if not 0 <= value <= _U32_MAX:
            return f"config field {name} must fit in 32 bits (0..{_U32_MAX}), got {value}."
    problem = threshold_violation(config.n, config.t, config.k, config.c, config.n_min, config.mode)
    if problem is not None:
        return problem
    if not 1 <= config.b <= 64:
        return f"b must lie in 1..64, got b = {config.b}."
    if config.m <= 0:
        return f"m (vector length) must be positive, got m = {config.m}."
    if config.m * config.word_bytes > MAX_KEYSTREAM_BYTES:
        return (
            f"m * w = {config.m} * {config.word_bytes} = {config.m * config.word_bytes} bytes "
            f"exceeds the 2^36-byte limit one PRG key may expand."
        )
    digest = config.registry_digest
    if len(digest) != DIGEST_LEN:
        return f"registry_digest must be {DIGEST_LEN} bytes, got {len(digest)}."
    if config.mode is Mode.ACTIVE and digest == bytes(DIGEST_LEN):
        return (
            "active mode needs the registry digest of the clients' verification keys, "
            "got 32 zero bytes."
        )
    if config.mode is Mode.SEMI_HONEST and digest != bytes(DIGEST_LEN):
        return (
            "semi_honest mode carries no registry: its registry_digest must be 32 zero "
            f"bytes, got {digest.hex()}."
        )
    return None


def new_nonce() -> bytes:
    """32 fresh bytes from the OS CSPRNG, for :meth:`Config.session_id`."""
    return os.urandom(NONCE_LEN)

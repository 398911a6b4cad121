"""The package's exception hierarchy: one root, a few specific kinds.

Every message is a sentence naming the broken rule and the values involved.
Warnings (:class:`SecAggWarning` and its subclasses) flag a result that is
valid but probably not what the caller meant; filter them by category.
"""

from __future__ import annotations

__all__ = [
    "SecAggError",
    "InvalidInputError",
    "MalformedMessageError",
    "ProtocolViolationError",
    "RefusedError",
    "DecryptionRefused",
    "AbortedError",
    "NotEnoughSharesError",
    "DecodingError",
    "CoreError",
    "StaleBuildError",
    "SecAggWarning",
    "ClippingWarning",
]


class SecAggError(Exception):
    """Root of every exception this package raises on purpose."""


class InvalidInputError(SecAggError, ValueError):
    """An argument is invalid (wrong dtype, shape, length, range or parameter)."""


class MalformedMessageError(SecAggError, ValueError):
    """A wire message failed to decode or violates a length, range or limit."""


class ProtocolViolationError(SecAggError):
    """A peer broke a protocol rule (wrong session, round, list or signature)."""


class RefusedError(ProtocolViolationError):
    """An honest party refuses a request that would break one of its at-most-once rules.

    Raised, for example, by a multi-server aggregation server asked to sign a
    second client set, or to release its partial sum twice or over a set not
    signed by every server; the message names the rule.
    """


class DecryptionRefused(ProtocolViolationError):
    """A decrypting party (key holder or committee member) refused a request.

    ``reason`` says which rule of its decryption policy the request broke.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AbortedError(SecAggError):
    """The session was aborted; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotEnoughSharesError(SecAggError):
    """Fewer shares than the threshold are available to reconstruct a secret."""


class DecodingError(SecAggError):
    """Reconstruction or Reed-Solomon decoding failed (too many wrong shares)."""


class CoreError(SecAggError):
    """The compiled core reported an unexpected status (a bug, not bad input)."""


class StaleBuildError(SecAggError, ImportError):
    """The compiled module does not match the C sources next to it (rebuild needed)."""


class SecAggWarning(UserWarning):
    """Root of every warning this package emits on purpose."""


class ClippingWarning(SecAggWarning):
    """Clipping changed more of an update than ``secagg.encoding.CLIP_WARN_FRACTION``."""

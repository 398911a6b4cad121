"""secagg: secure aggregation for federated learning with a compiled C core.

A server learns the sum of many clients' vectors and nothing else about any
single one (see docs/security.md for exactly what, under which assumptions),
even when clients drop out mid-round.
"""

from __future__ import annotations

from .exceptions import (
    AbortedError,
    DecodingError,
    InvalidInputError,
    MalformedMessageError,
    NotEnoughSharesError,
    ProtocolViolationError,
    SecAggError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "SecAggError",
    "InvalidInputError",
    "MalformedMessageError",
    "ProtocolViolationError",
    "AbortedError",
    "NotEnoughSharesError",
    "DecodingError",
]

"""secagg: secure aggregation for federated learning with a compiled C core.

A server learns the sum of many clients' vectors and, under the assumptions
of docs/security.md, nothing else about any single one, even when clients
drop out mid-round.
"""

from __future__ import annotations

import importlib

from .exceptions import (
    AbortedError,
    ClippingWarning,
    DecodingError,
    InvalidInputError,
    MalformedMessageError,
    NotEnoughSharesError,
    ProtocolViolationError,
    SecAggError,
    SecAggWarning,
)

__version__ = "0.1.0"

# The protocol objects are imported on first use, so that ``import secagg``
# (e.g. for its exceptions) does not load numpy and the compiled core.
_LAZY = {
    "Client": "secagg.protocol.client",
    "Server": "secagg.protocol.server",
    "Config": "secagg.protocol.config",
    "Mode": "secagg.protocol.vocabulary",
    "plan": "secagg.protocol.planner",
    "run_round": "secagg.protocol.runner",
    "RoundResult": "secagg.protocol.runner",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'secagg' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "__version__",
    "Client",
    "Server",
    "Config",
    "Mode",
    "plan",
    "run_round",
    "RoundResult",
    "SecAggError",
    "InvalidInputError",
    "MalformedMessageError",
    "ProtocolViolationError",
    "AbortedError",
    "NotEnoughSharesError",
    "DecodingError",
    "SecAggWarning",
    "ClippingWarning",
]

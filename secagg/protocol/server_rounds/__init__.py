"""The server's states, one per round being collected (PROTOCOL.md §8, §9)."""

from .base import (
    Closing,
    Ledger,
    ServerAborted,
    ServerCompleted,
    ServerResult,
    ServerSession,
    ServerState,
)
from .keys import CollectAdverts, CollectShares
from .masked import CollectMaskedInputs, CollectSignatures
from .unmask import CollectUnmasking

__all__ = [
    "Closing",
    "CollectAdverts",
    "CollectMaskedInputs",
    "CollectShares",
    "CollectSignatures",
    "CollectUnmasking",
    "Ledger",
    "ServerAborted",
    "ServerCompleted",
    "ServerResult",
    "ServerSession",
    "ServerState",
]

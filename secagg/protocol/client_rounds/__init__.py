"""The client's states, one per round (PROTOCOL.md §8), plus Completed and Aborted."""

from .base import Aborted, ClientState, Completed, Secrets, Session, Step, Trust
from .r0 import R0AdvertiseKeys
from .r1 import R1ShareKeys
from .r2 import R2MaskedInputCollection
from .r4 import Held, R3ConsistencyCheck, R4Unmasking

__all__ = [
    "Aborted",
    "ClientState",
    "Completed",
    "Held",
    "R0AdvertiseKeys",
    "R1ShareKeys",
    "R2MaskedInputCollection",
    "R3ConsistencyCheck",
    "R4Unmasking",
    "Secrets",
    "Session",
    "Step",
    "Trust",
]

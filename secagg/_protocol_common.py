"""Pieces shared by the client and server state machines."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Config

__all__ = ["State", "Rng", "default_rng", "pair_purpose", "share_aad", "ROUND_OF_STATE"]

#: A source of random bytes: ``rng(n)`` returns n bytes (os.urandom by default).
Rng = Callable[[int], bytes]


def default_rng(n: int) -> bytes:
    """n bytes from the OS CSPRNG."""
    return os.urandom(n)


class State(StrEnum):
    """Protocol states, named after the round whose message they accept.

    A client in ``R1_SHARE_KEYS`` waits for the server's R1 request (the
    forwarded adverts); a server in ``R1_SHARE_KEYS`` collects the clients'
    R1 replies (encrypted shares) until the caller closes the round.
    """

    R0_ADVERTISE_KEYS = "R0_ADVERTISE_KEYS"
    R1_SHARE_KEYS = "R1_SHARE_KEYS"
    R2_MASKED_INPUT_COLLECTION = "R2_MASKED_INPUT_COLLECTION"
    R3_CONSISTENCY_CHECK = "R3_CONSISTENCY_CHECK"
    R4_UNMASKING = "R4_UNMASKING"
    COMPLETED = "COMPLETED"
    ABORTED = "ABORTED"

    @property
    def round(self) -> str | None:
        """Short round name ("R0".."R4"), None for the final states."""
        return ROUND_OF_STATE.get(self)


ROUND_OF_STATE: dict[State, str] = {
    State.R0_ADVERTISE_KEYS: "R0",
    State.R1_SHARE_KEYS: "R1",
    State.R2_MASKED_INPUT_COLLECTION: "R2",
    State.R3_CONSISTENCY_CHECK: "R3",
    State.R4_UNMASKING: "R4",
}


def _n_min(config: Config) -> int:
    """The config's n_min (Config fills None with t when it is built)."""
    return config.t if config.n_min is None else config.n_min


def pair_purpose(u: int, v: int) -> str:
    """PRG purpose label of the pairwise mask between u and v (PROTOCOL §2)."""
    lo, hi = (u, v) if u < v else (v, u)
    return f"pair:{lo}:{hi}"


def share_aad(session_id: bytes, sender: int, receiver: int) -> bytes:
    """Associated data of a share ciphertext: session_id ‖ u32be(sender) ‖ u32be(receiver)."""
    return session_id + sender.to_bytes(4, "big") + receiver.to_bytes(4, "big")

"""Pieces shared by the client and server state machines."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Config

__all__ = [
    "State",
    "Rng",
    "default_rng",
    "pair_purpose",
    "share_aad",
    "ROUND_OF_STATE",
    "AbortCode",
    "notice_reason",
    "parse_notice_reason",
]

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


class AbortCode(StrEnum):
    """The fixed vocabulary of a client's abort notice (PROTOCOL.md §8).

    A notice that leaves a client says which rule failed and, where a peer's
    message failed, that peer's id; nothing else, so it can carry nothing
    derived from the client's input, keys or shares. The detailed sentence
    stays in the client object (``abort_reason``).
    """

    MALFORMED_MESSAGE = "malformed_message"
    WRONG_SESSION = "wrong_session"
    UNEXPECTED_MESSAGE = "unexpected_message"
    CONFIG_REFUSED = "config_refused"
    CONFIG_SIGNATURE_INVALID = "config_signature_invalid"
    REGISTRY_MISMATCH = "registry_mismatch"
    SESSION_ID_INVALID = "session_id_invalid"
    INPUT_INVALID = "input_invalid"
    OWN_ADVERT_CHANGED = "own_advert_changed"
    ADVERT_INVALID = "advert_invalid"
    CIPHERTEXT_INVALID = "ciphertext_invalid"
    SIGNATURE_INVALID = "signature_invalid"
    LIST_NOT_SUBSET = "list_not_subset"
    NOT_A_SURVIVOR = "not_a_survivor"
    TOO_FEW_HOLDERS = "too_few_holders"
    TOO_FEW_SURVIVORS = "too_few_survivors"
    TOO_FEW_NEIGHBOURS = "too_few_neighbours"
    TOO_FEW_SIGNATURES = "too_few_signatures"
    SURVIVOR_LIST_CHANGED = "survivor_list_changed"
    INTERNAL_ERROR = "internal_error"

    @property
    def names_peer(self) -> bool:
        """True for the rules a peer's own message fails (the notice names it)."""
        return self in _PEER_CODES


_PEER_CODES = frozenset(
    {AbortCode.ADVERT_INVALID, AbortCode.CIPHERTEXT_INVALID, AbortCode.SIGNATURE_INVALID}
)


def notice_reason(code: AbortCode, peer: int | None = None) -> str:
    """The reason text of an abort notice: ``code`` or ``code:peer``."""
    if peer is None:
        return code.value
    return f"{code.value}:{int(peer)}"


def parse_notice_reason(reason: str, n: int) -> tuple[AbortCode, int | None] | None:
    """Read a notice reason written by :func:`notice_reason`; None if it is not one.

    Args:
        reason: The notice's reason text.
        n: Number of clients (a named peer must be in 1..n).
    """
    code_text, sep, peer_text = reason.partition(":")
    try:
        code = AbortCode(code_text)
    except ValueError:
        return None
    if not sep:
        return (code, None) if not code.names_peer else None
    if not code.names_peer or not peer_text.isdigit() or len(peer_text) > 7:
        return None
    peer = int(peer_text)
    if not 1 <= peer <= n or str(peer) != peer_text:
        return None
    return code, peer

"""The protocol's vocabulary: rounds, states, modes, message kinds, sizes and limits.

Every name the rest of the protocol shares is written here once: the round
names a dropout schedule uses, the states of the client and server, the
mode, the message type codes, the byte sizes of keys, signatures, shares and
ciphertexts, the wire limits, the labels hashed into configs and session
ids, and the fixed vocabulary of abort notices (PROTOCOL.md §8).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import Enum, IntEnum, StrEnum

from ..exceptions import InvalidInputError
from ..shamir import share_size

__all__ = [
    "ROUNDS",
    "State",
    "Mode",
    "MsgType",
    "ShareKind",
    "AbortCode",
    "Rng",
    "default_rng",
    "notice_reason",
    "parse_notice_reason",
    "share_aad",
    "MAX_N",
    "MAX_KEYSTREAM_BYTES",
    "MAX_REASON_BYTES",
    "SERVER_ID",
    "KEY_LEN",
    "SIG_LEN",
    "COMMIT_LEN",
    "DIGEST_LEN",
    "NONCE_LEN",
    "SESSION_ID_LEN",
    "SHARE_LEN",
    "SHARE_PLAINTEXT_LEN",
    "CIPHERTEXT_LEN",
    "CONFIG_LEN",
    "CONFIG_LABEL",
    "CONFIG_VERSION",
    "SESSION_LABEL",
    "REGISTRY_LABEL",
]

#: Round names in order; a dropout schedule names the round a client stops before.
ROUNDS: tuple[str, ...] = ("R0", "R1", "R2", "R3", "R4")

# --------------------------------------------------------------------- limits

#: The most clients a session may have: ids travel as u32be, and decoders
#: refuse more (docs/wire-format.md), so a config no message could carry is
#: refused when it is built.
MAX_N = 1 << 20
#: One PRG key expands at most 2^36 bytes (PROTOCOL.md §2).
MAX_KEYSTREAM_BYTES = 1 << 36
#: Longest abort reason on the wire, in UTF-8 bytes.
MAX_REASON_BYTES = 1024
#: The sender id of every server message.
SERVER_ID = 0

# ---------------------------------------------------------------------- sizes

KEY_LEN = 32  # X25519 public key
SIG_LEN = 64  # Ed25519 signature
COMMIT_LEN = 32  # SHA-256 commitment to b_u
DIGEST_LEN = 32  # registry digest, transcript hash
NONCE_LEN = 32  # session nonce
SESSION_ID_LEN = 32
#: One Shamir share of a 32-byte secret: five little-endian u64 values < p.
SHARE_LEN = share_size(32)
#: share(b_u) ‖ share(s_u^SK).
SHARE_PLAINTEXT_LEN = 2 * SHARE_LEN
#: nonce(12) ‖ AES-GCM ciphertext of the share plaintext ‖ tag(16).
CIPHERTEXT_LEN = 12 + SHARE_PLAINTEXT_LEN + 16

# --------------------------------------------------------------------- labels

CONFIG_LABEL = b"secagg/v1/config"
CONFIG_VERSION = 1
SESSION_LABEL = b"secagg/v1/session"
REGISTRY_LABEL = b"secagg/v1/registry"

#: canonical(config) (PROTOCOL.md §5): label, u8 version, u32be n t k c n_min,
#: u8 b, u64be m, u8 mode, 32-byte registry digest; the mode byte comes last
#: before the digest.
CONFIG_LEN = len(CONFIG_LABEL) + 1 + 5 * 4 + 1 + 8 + 1 + DIGEST_LEN

#: A source of random bytes: ``rng(n)`` returns n bytes (os.urandom by default).
Rng = Callable[[int], bytes]


def default_rng(n: int) -> bytes:
    """n bytes from the OS CSPRNG."""
    return os.urandom(n)


def share_aad(session_id: bytes, sender: int, receiver: int) -> bytes:
    """Associated data of a share ciphertext: session_id ‖ u32be(sender) ‖ u32be(receiver)."""
    return session_id + sender.to_bytes(4, "big") + receiver.to_bytes(4, "big")


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
        return _ROUND_OF_STATE.get(self)

    @property
    def tag(self) -> int:
        """The state's byte in a persisted session (PROTOCOL.md §13)."""
        return _TAG_OF_STATE[self]


_ROUND_OF_STATE = {state: name for state, name in zip(State, ROUNDS, strict=False)}
_TAG_OF_STATE = {state: i for i, state in enumerate(State)}


class MsgType(IntEnum):
    """Message type codes (header byte 5, docs/wire-format.md)."""

    CONFIG_REQUEST = 0x01
    KEY_ADVERT = 0x02
    ADVERT_FORWARD = 0x03
    ENCRYPTED_SHARES = 0x04
    SHARE_FORWARD = 0x05
    MASKED_INPUT = 0x06
    SURVIVOR_REQUEST = 0x07
    SURVIVOR_SIGNATURE = 0x08
    UNMASK_REQUEST = 0x09
    UNMASK_RESPONSE = 0x0A
    ABORT = 0x0F


class ShareKind(IntEnum):
    """What an R4 share entry carries."""

    SELF_MASK = 1  # a share of b_v (v survived)
    SECRET_KEY = 2  # a share of s_v^SK (v dropped)


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

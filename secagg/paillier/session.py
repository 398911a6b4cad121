"""One Paillier aggregation session's parameters and the client registry.

Every role takes the same :class:`SessionParams` (plain arguments: nothing is
read from a configuration file) and, where signatures are checked, the
registry: client id -> 32-byte Ed25519 verification key, the same mapping as
the masking path's active mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..encoding import UpdateCodec
from ..exceptions import InvalidInputError
from .keys import PublicKey
from .packing import PackingLayout

__all__ = ["SessionParams", "check_registry", "SESSION_ID_SIZE", "MAX_CLIENT_ID"]

SESSION_ID_SIZE = 32
MAX_CLIENT_ID = 2**32 - 1


def _count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInputError(f"{name} must be an integer >= {low}, got {value!r}.")
    return value


@dataclass(frozen=True)
class SessionParams:
    """What every party of one session agrees on.

    Attributes:
        session_id: 32 bytes naming the session; ciphertexts, proofs and
            signatures are bound to it, and a decrypting party decrypts at
            most one aggregate per session id.
        length: Words per client vector (m).
        bits: Ring width b of the words.
        n_max: Most contributors a sum may have (sizes the packing headroom).
        n_min: Fewest distinct registered clients with valid proofs in a
            decrypted aggregate.
        max_colluders: C, the most registered clients assumed to collude
            with the server; n_min >= C + 2 so every released sum mixes at
            least two honest inputs.
    """

    session_id: bytes
    length: int
    bits: int
    n_max: int
    n_min: int
    max_colluders: int = 0

    def __post_init__(self) -> None:
        sid = self.session_id
        if not isinstance(sid, (bytes, bytearray)) or len(sid) != SESSION_ID_SIZE:
            got = len(sid) if isinstance(sid, (bytes, bytearray)) else type(sid).__name__
            raise InvalidInputError(f"the session id must be {SESSION_ID_SIZE} bytes, got {got}.")
        object.__setattr__(self, "session_id", bytes(sid))
        _count("the vector length m", self.length, 1)
        bits = _count("the bit width b", self.bits, 1)
        if bits > 64:
            raise InvalidInputError(f"the bit width b must be in 1..64, got {bits}.")
        n_min = _count("n_min", self.n_min, 2)
        n_max = _count("n_max", self.n_max, 2)
        colluders = _count("max_colluders", self.max_colluders, 0)
        if n_min > n_max:
            raise InvalidInputError(f"n_min = {n_min} exceeds n_max = {n_max}.")
        if n_min < colluders + 2:
            raise InvalidInputError(
                f"n_min = {n_min} with max_colluders = {colluders} would let a decrypted sum "
                f"hold a single honest input, which the colluders could then read; n_min must "
                f"be at least max_colluders + 2 = {colluders + 2}."
            )

    @classmethod
    def for_codec(
        cls,
        codec: UpdateCodec,
        *,
        session_id: bytes,
        n_min: int,
        max_colluders: int = 0,
    ) -> SessionParams:
        """Parameters matching an :class:`~secagg.encoding.UpdateCodec` (m, b and n_max).

        Raises:
            InvalidInputError: As the constructor.
        """
        return cls(
            session_id=session_id,
            length=codec.length,
            bits=codec.bits,
            n_max=int(codec.n_max),
            n_min=n_min,
            max_colluders=max_colluders,
        )

    def layout(self, public_key: PublicKey) -> PackingLayout:
        """The packing layout for this session under ``public_key``.

        Raises:
            InvalidInputError: The slots do not fit in the key's plaintexts.
        """
        return PackingLayout(public_key.bits, self.bits, self.n_max, self.length)


def check_registry(registry: Mapping[int, bytes]) -> dict[int, bytes]:
    """Validate a registry (client id -> 32-byte Ed25519 verification key).

    Returns:
        A plain dict copy.

    Raises:
        InvalidInputError: A bad id or key, or an empty registry.
    """
    if not isinstance(registry, Mapping) or not registry:
        raise InvalidInputError("the registry must be a non-empty mapping of id -> key.")
    out: dict[int, bytes] = {}
    for uid, vk in registry.items():
        if isinstance(uid, bool) or not isinstance(uid, int) or not 1 <= uid <= MAX_CLIENT_ID:
            raise InvalidInputError(f"registry ids must lie in 1..{MAX_CLIENT_ID}, got {uid!r}.")
        if not isinstance(vk, (bytes, bytearray)) or len(vk) != 32:
            raise InvalidInputError(
                f"the registry's key for client {uid} must be 32 bytes (Ed25519)."
            )
        out[uid] = bytes(vk)
    return out

"""The output step: add the S released partial sums into Σ_{u∈U} x_u mod 2^b.

The combiner may be one of the servers or another party. It checks that
every partial sum is signed by the server it names, that there is exactly one
from each of the S servers, and that all cover the identical client set U of
at least n_min clients. It cannot check that a server added the right shares:
multi-server sharing gives privacy, not integrity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .. import crypto, packing
from ..exceptions import InvalidInputError, ProtocolViolationError
from .params import MultiServerConfig, check_session_id, partial_message
from .wire import PartialSum

__all__ = ["CombinedSum", "combine"]


@dataclass(frozen=True)
class CombinedSum:
    """The session's output.

    Attributes:
        sum: Σ_{u∈U} x_u mod 2^b (uint32 for b <= 32, else uint64).
        members: U, the clients the sum covers (|U| >= n_min).
    """

    sum: np.ndarray
    members: frozenset[int]


def combine(
    config: MultiServerConfig, session_id: bytes, partials: Iterable[bytes | PartialSum]
) -> CombinedSum:
    """Add the partial sums of all S servers.

    Args:
        config: The session's parameters.
        session_id: The 32-byte session id.
        partials: One PartialSum (or its bytes) per server, in any order.

    Returns:
        The :class:`CombinedSum`.

    Raises:
        MalformedMessageError: A partial sum does not decode (or has non-zero
            padding bits).
        ProtocolViolationError: Another session, a signature that does not
            verify, two partial sums from one server, different client sets,
            or a set smaller than n_min.
        InvalidInputError: Some server's partial sum is missing.
    """
    sid = check_session_id(session_id)
    by_server: dict[int, PartialSum] = {}
    for item in partials:
        p = item if isinstance(item, PartialSum) else PartialSum.from_bytes(item, config)
        j = p.server
        if p.statement.session_id != sid:
            raise ProtocolViolationError(f"server {j}'s partial sum is for another session.")
        message = partial_message(sid, j, p.statement.bitmap, p.packed)
        if not crypto.ed25519_verify(config.server_verify_keys[j], message, p.signature):
            raise ProtocolViolationError(
                f"the partial sum naming server {j} is not signed by server {j}'s pinned key."
            )
        if j in by_server:
            raise ProtocolViolationError(f"server {j} sent two partial sums; a server sends one.")
        by_server[j] = p
    missing = sorted(set(range(config.S)) - by_server.keys())
    if missing:
        raise InvalidInputError(
            f"the sum needs the partial sums of all S = {config.S} servers; "
            f"missing: servers {missing}."
        )
    sets = {p.statement.members for p in by_server.values()}
    if len(sets) != 1:
        raise ProtocolViolationError(
            "the servers' partial sums cover different client sets; they do not add up to a sum."
        )
    members = sets.pop()
    if len(members) < config.n_min:
        raise ProtocolViolationError(
            f"the partial sums cover {len(members)} clients, fewer than n_min = {config.n_min}."
        )
    total = np.zeros(config.m, dtype=config.dtype)
    for j in range(config.S):
        packing.unpack_add(total, by_server[j].packed, config.b)
    return CombinedSum(total, members)

"""Combining a committee's decryption shares: verify each proof, decrypt with t good ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ...exceptions import NotEnoughSharesError
from .._bigint import mpz
from ..messages import DecryptionRequest, DecryptionShare, SumResult
from ..packing import PackingLayout
from ..threshold import ThresholdPublicKey, combine_plaintexts, share_problem

__all__ = ["CombinedSum", "combine_shares"]


@dataclass(frozen=True)
class CombinedSum:
    """The outcome of combining threshold decryption shares.

    Attributes:
        result: The decrypted sum.
        used: The t holders whose shares were combined, ascending.
        excluded: Holder index -> why its share was dropped.
    """

    result: SumResult
    used: tuple[int, ...]
    excluded: dict[int, str] = field(default_factory=dict)


def combine_shares(
    key: ThresholdPublicKey,
    request: DecryptionRequest,
    layout: PackingLayout,
    shares: Sequence[DecryptionShare | bytes],
) -> CombinedSum:
    """Verify each member's shares against the request's aggregate; decrypt with t good ones.

    A share set bound to another session, a holder's second set, and a set
    whose proof fails are named in :attr:`CombinedSum.excluded` and not used.

    Args:
        key: The committee's public key.
        request: The request the members answered (its aggregate and bundles).
        layout: The session's packing layout.
        shares: The members' answers (objects or encodings).

    Returns:
        The decrypted sum, the holders used and those excluded.

    Raises:
        NotEnoughSharesError: Fewer than t shares verify; the message names
            every excluded holder and why.
        MalformedMessageError: An undecodable share.
    """
    good: dict[int, tuple[mpz, ...]] = {}
    excluded: dict[int, str] = {}
    for item in shares:
        share = item if isinstance(item, DecryptionShare) else DecryptionShare.from_bytes(item)
        holder = share.holder
        if share.session_id != request.session_id:
            reason: str | None = "it is bound to another session"
        elif holder in good or holder in excluded:
            reason = "it sent more than one set of shares"
        else:
            reason = share_problem(key, request.aggregate, share)
        if reason is not None:
            excluded[holder] = reason
            good.pop(holder, None)
            continue
        good[holder] = share.shares
    if len(good) < key.threshold:
        detail = "; ".join(f"holder {h}: {r}" for h, r in sorted(excluded.items()))
        raise NotEnoughSharesError(
            f"{len(good)} decryption shares verify (holders {sorted(good)}), t = "
            f"{key.threshold} are needed" + (f"; excluded {detail}." if detail else ".")
        )
    used = tuple(sorted(good)[: key.threshold])
    plaintexts = combine_plaintexts(key, {h: good[h] for h in used})
    contributors = tuple(b.client_id for b in request.bundles)
    words = layout.unpack_sum(plaintexts, len(contributors))
    result = SumResult(request.session_id, contributors, layout.bits, words)
    return CombinedSum(result, used, excluded)

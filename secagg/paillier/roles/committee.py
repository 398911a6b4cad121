"""A threshold committee member: the key holder's policy, then a proven decryption share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ...exceptions import DecryptionRefused
from .._bigint import RandomBytes
from ..messages import DecryptionRequest, DecryptionShare
from ..policy import check_request
from ..proofs import prove_share, share_context
from ..session import SessionParams
from ..threshold import KeyShare, ThresholdPublicKey

__all__ = ["CommitteeMember"]


class CommitteeMember:
    """Holder i of a t-of-w committee.

    Each member applies the full decryption policy on its own (it recomputes
    the aggregate from the client bundles) and answers at most one request
    per session, so the server needs t members to agree to decrypt.

    Attributes:
        index: i in 1..w.
        public_key: The committee's key.
    """

    def __init__(self, share: KeyShare, answered_sessions: Iterable[bytes] = ()) -> None:
        """Wrap this member's key share.

        Args:
            share: The member's key share.
            answered_sessions: Session ids already answered, as saved from
                :attr:`answered_sessions` before a restart.
        """
        self._share = share
        self.index = share.index
        self.public_key: ThresholdPublicKey = share.public_key
        self._answered: set[bytes] = {bytes(s) for s in answered_sessions}

    def __repr__(self) -> str:
        return f"CommitteeMember(index={self.index}, sessions={len(self._answered)})"

    @property
    def answered_sessions(self) -> frozenset[bytes]:
        """Session ids this member has answered (persist them across restarts)."""
        return frozenset(self._answered)

    def decryption_share(
        self,
        request: DecryptionRequest | bytes,
        *,
        params: SessionParams,
        registry: Mapping[int, bytes],
        rng: RandomBytes | None = None,
    ) -> DecryptionShare:
        """This member's proven decryption shares of a request that passes the policy.

        Args:
            request: The server's request (or its encoding).
            params: The session, from the member's own configuration.
            registry: Client id -> Ed25519 verification key.
            rng: Source of the proof's randomness (default: the OS CSPRNG); tests only.

        Raises:
            DecryptionRefused: A second request for the session, or any rule
                of :func:`~secagg.paillier.policy.check_request`.
            MalformedMessageError: Undecodable bytes.
        """
        if not isinstance(request, DecryptionRequest):
            request = DecryptionRequest.from_bytes(request)
        sid = params.session_id
        if sid in self._answered:
            raise DecryptionRefused(
                f"committee member {self.index} already gave shares for session "
                f"{sid[:8].hex()}...; it answers at most one request per session."
            )
        tpk = self.public_key
        verified = check_request(request, key=tpk, params=params, registry=registry)
        self._answered.add(sid)
        shares = tuple(self._share.decrypt_share(c) for c in verified.ciphertexts)
        pk = tpk.key
        proof = prove_share(
            n_square=pk.n_square,
            nbytes=pk.nbytes,
            context=share_context(tpk.fingerprint, sid, self.index),
            v=tpk.v,
            ciphertexts=verified.ciphertexts,
            shares=shares,
            exponent=self._share.proof_exponent,
            secret_bits=tpk.secret_bits,
            rng=rng,
        )
        return DecryptionShare(sid, self.index, tpk.fingerprint, pk.nbytes, shares, proof)

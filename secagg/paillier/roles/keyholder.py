"""The key holder: generates the key, publishes it, decrypts one policed aggregate per session.

The key holder can decrypt anything it is shown, so it is trusted to be
honest, and its policy (:mod:`secagg.paillier.policy`) is what keeps a
server, even one colluding with registered clients, to one sum per session
over at least n_min clients with valid proofs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ...exceptions import DecryptionRefused
from .._bigint import RandomBytes
from ..keys import MIN_MODULUS_BITS, PrivateKey, PublicKey, generate_keypair
from ..messages import DecryptionRequest, SumResult
from ..policy import check_request
from ..session import SessionParams

__all__ = ["KeyHolder"]


class KeyHolder:
    """Holds the private key and applies the decryption policy.

    Attributes:
        public_key: The key to publish (clients pin its fingerprint).
    """

    def __init__(self, private_key: PrivateKey, decrypted_sessions: Iterable[bytes] = ()) -> None:
        """Wrap an existing private key.

        Args:
            private_key: The key.
            decrypted_sessions: Session ids already decrypted, as saved from
                :attr:`decrypted_sessions` before a restart: "once per
                session" holds across restarts only if the caller keeps them.
        """
        self._key = private_key
        self.public_key: PublicKey = private_key.public_key
        self._decrypted: set[bytes] = {bytes(s) for s in decrypted_sessions}

    @classmethod
    def generate(
        cls,
        bits: int = MIN_MODULUS_BITS,
        *,
        rng: RandomBytes | None = None,
        insecure_testing: bool = False,
    ) -> KeyHolder:
        """A key holder with a fresh key of ``bits`` bits (see :func:`generate_keypair`)."""
        return cls(generate_keypair(bits, rng=rng, insecure_testing=insecure_testing))

    def __repr__(self) -> str:
        return f"KeyHolder(bits={self.public_key.bits}, sessions={len(self._decrypted)})"

    @property
    def decrypted_sessions(self) -> frozenset[bytes]:
        """Session ids this key holder has decrypted (persist them across restarts)."""
        return frozenset(self._decrypted)

    def decrypt(
        self,
        request: DecryptionRequest | bytes,
        *,
        params: SessionParams,
        registry: Mapping[int, bytes],
    ) -> SumResult:
        """Decrypt the aggregate of a request that passes the policy, once per session.

        Args:
            request: The server's request (or its encoding).
            params: The session, from the key holder's own configuration.
            registry: Client id -> Ed25519 verification key.

        Returns:
            The :class:`~secagg.paillier.messages.SumResult`.

        Raises:
            DecryptionRefused: A second request for the session, or any rule
                of :func:`~secagg.paillier.policy.check_request`.
            MalformedMessageError: Undecodable bytes.
        """
        if not isinstance(request, DecryptionRequest):
            request = DecryptionRequest.from_bytes(request)
        sid = params.session_id
        if sid in self._decrypted:
            raise DecryptionRefused(
                f"this key holder already decrypted an aggregate for session {sid[:8].hex()}...; "
                "it decrypts at most one per session."
            )
        verified = check_request(request, key=self.public_key, params=params, registry=registry)
        self._decrypted.add(sid)
        plaintexts = [self._key.decrypt(c) for c in verified.ciphertexts]
        layout = params.layout(self.public_key)
        words = layout.unpack_sum(plaintexts, len(verified.contributors))
        return SumResult(sid, verified.contributors, params.bits, words)

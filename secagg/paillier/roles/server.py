"""The aggregation server: collects bundles, multiplies ciphertexts, never decrypts alone.

It holds no private key. With a key holder it forwards a
:class:`~secagg.paillier.messages.DecryptionRequest` and receives the sum;
with a committee it sends the request to the members and combines any t
shares whose proofs verify (:meth:`AggregationServer.combine`). Dropouts need
no recovery: the aggregate is over the bundles that arrived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...exceptions import AbortedError, InvalidInputError, ProtocolViolationError
from .._bigint import mpz
from ..messages import ClientBundle, DecryptionRequest, DecryptionShare
from ..policy import KeyView, bundle_problem
from ..session import SessionParams, check_registry
from ..threshold import ThresholdPublicKey
from .combine import CombinedSum, combine_shares

__all__ = ["AggregationServer", "CombinedSum"]


class AggregationServer:
    """The server of one session.

    Attributes:
        params: The session.
        layout: The packing layout.
    """

    def __init__(
        self,
        public_key: KeyView,
        *,
        params: SessionParams,
        registry: Mapping[int, bytes],
        verify_proofs: bool = True,
    ) -> None:
        """Set up the server.

        Args:
            public_key: The decrypting party's public key (plain or threshold).
            params: The session.
            registry: Client id -> Ed25519 verification key.
            verify_proofs: Verify each bundle's proof on arrival, so that one
                bad client cannot make the decrypting party refuse the whole
                aggregate (it would: it re-verifies everything).
        """
        self.params = params
        self.layout = params.layout(public_key.encryption_key)
        self._key = public_key
        self._registry = check_registry(registry)
        self._verify = verify_proofs
        self._bundles: dict[int, ClientBundle] = {}
        self._aggregate: list[mpz] | None = None
        self._request: DecryptionRequest | None = None

    @property
    def contributors(self) -> tuple[int, ...]:
        """Ids of the clients whose bundles were accepted, ascending."""
        return tuple(sorted(self._bundles))

    @property
    def bundles(self) -> tuple[ClientBundle, ...]:
        """The accepted bundles, by client id."""
        return tuple(self._bundles[u] for u in self.contributors)

    @property
    def aggregate(self) -> tuple[mpz, ...]:
        """The running product of the accepted ciphertexts (empty before the first)."""
        return tuple(self._aggregate or ())

    def receive(self, bundle: ClientBundle | bytes) -> int:
        """Accept one client bundle and fold it into the aggregate.

        Args:
            bundle: A bundle or its encoding.

        Returns:
            The sender's id.

        Raises:
            MalformedMessageError: Undecodable bytes.
            ProtocolViolationError: The session is closed, the client already
                sent a bundle, n_max bundles are already held, or the bundle
                breaks a rule of the policy (the reason names the client).
        """
        if not isinstance(bundle, ClientBundle):
            bundle = ClientBundle.from_bytes(bundle)
        if self._request is not None:
            raise ProtocolViolationError(
                f"the server already asked for decryption; client {bundle.client_id}'s bundle "
                "arrived too late for this session."
            )
        uid = bundle.client_id
        if uid in self._bundles:
            raise ProtocolViolationError(f"client {uid} already sent a bundle in this session.")
        if len(self._bundles) >= self.layout.n_max:
            raise ProtocolViolationError(
                f"the session already holds n_max = {self.layout.n_max} bundles; another would "
                "let slot sums carry into the next slot."
            )
        reason = bundle_problem(
            bundle,
            key=self._key,
            params=self.params,
            registry=self._registry,
            layout=self.layout,
            check_proof=self._verify,
        )
        if reason is not None:
            raise ProtocolViolationError(reason)
        n_square = self._key.encryption_key.n_square
        if self._aggregate is None:
            self._aggregate = list(bundle.ciphertexts)
        else:
            self._aggregate = [
                a * c % n_square for a, c in zip(self._aggregate, bundle.ciphertexts, strict=True)
            ]
        self._bundles[uid] = bundle
        return uid

    def request(self) -> DecryptionRequest:
        """Close the session to new bundles and build the decryption request.

        Raises:
            AbortedError: Fewer than n_min bundles arrived; no aggregate may
                be decrypted.
        """
        if self._request is not None:
            return self._request
        count = len(self._bundles)
        if count < self.params.n_min:
            raise AbortedError(
                f"only {count} clients sent valid bundles, fewer than n_min = "
                f"{self.params.n_min}; no aggregate can be decrypted in this session."
            )
        self._request = DecryptionRequest(
            self.params.session_id,
            self._key.encryption_key.nbytes,
            self.aggregate,
            self.bundles,
        )
        return self._request

    def combine(self, shares: Sequence[DecryptionShare | bytes]) -> CombinedSum:
        """Verify committee members' shares and decrypt with any t good ones.

        Every share's proof is checked against this session's aggregate; a
        share that fails is named in :attr:`CombinedSum.excluded` and not used
        (:func:`~secagg.paillier.roles.combine.combine_shares`).

        Raises:
            InvalidInputError: The server's key is not a threshold key, or no
                request was made yet.
            NotEnoughSharesError: Fewer than t shares verify; the message names
                every excluded holder and why.
        """
        key = self._key
        if not isinstance(key, ThresholdPublicKey):
            raise InvalidInputError("combining shares needs a threshold public key.")
        if self._request is None:
            raise InvalidInputError("combine() comes after request(): no aggregate was sent.")
        return combine_shares(key, self._request, self.layout, shares)

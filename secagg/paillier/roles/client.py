"""The client role: pack, encrypt, prove and sign one encoded update, once."""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import crypto
from ...encoding import EncodedUpdate
from ...exceptions import InvalidInputError, ProtocolViolationError
from .._bigint import RandomBytes
from ..encrypt import Encryptor
from ..messages import ClientBundle
from ..policy import KeyView
from ..proofs import prove_plaintexts
from ..session import MAX_CLIENT_ID, SessionParams

__all__ = ["PaillierClient"]


class PaillierClient:
    """One registered client in one session.

    The client authenticates the public key before using it: the caller
    passes the fingerprint it pinned (or read from a signed configuration),
    and a key whose fingerprint differs is refused. The signature then covers
    that fingerprint, so a decrypting party refuses a bundle made for any
    other key.

    Attributes:
        client_id: The registered id.
        params: The session.
        layout: The packing layout.
    """

    def __init__(
        self,
        public_key: KeyView,
        *,
        pinned_fingerprint: bytes,
        params: SessionParams,
        client_id: int,
        signing_key: bytes,
        encryptor: Encryptor | None = None,
        rng: RandomBytes | None = None,
    ) -> None:
        """Set up the client.

        Args:
            public_key: The decrypting party's key (plain or threshold) as offered.
            pinned_fingerprint: The fingerprint the client trusts.
            params: The session.
            client_id: This client's id in the registry.
            signing_key: Its 32-byte Ed25519 seed.
            encryptor: A shared :class:`Encryptor` for the same key (its table
                is the costly part); None builds one.
            rng: Source of randomness (default: the OS CSPRNG); tests only.

        Raises:
            ProtocolViolationError: The key's fingerprint is not the pinned one.
            InvalidInputError: A bad id, key, encryptor or a layout that does not fit.
        """
        if public_key.fingerprint != pinned_fingerprint:
            raise ProtocolViolationError(
                f"the offered public key has fingerprint {public_key.fingerprint[:8].hex()}..., "
                f"not the pinned {bytes(pinned_fingerprint)[:8].hex()}...; the client refuses it."
            )
        if isinstance(client_id, bool) or not isinstance(client_id, int):
            raise InvalidInputError(f"the client id must be an integer, got {client_id!r}.")
        if not 1 <= client_id <= MAX_CLIENT_ID:
            raise InvalidInputError(
                f"the client id must lie in 1..{MAX_CLIENT_ID}, got {client_id}."
            )
        if not isinstance(signing_key, bytes) or len(signing_key) != 32:
            raise InvalidInputError("the signing key must be a 32-byte Ed25519 seed.")
        key = public_key.encryption_key
        if encryptor is None:
            encryptor = Encryptor(key)
        elif encryptor.public_key != key:
            raise InvalidInputError("the encryptor was built for another public key.")
        self.client_id = client_id
        self.params = params
        self.layout = params.layout(key)
        self._key = public_key
        self._encryptor = encryptor
        self._signing_key = signing_key
        self._rng = rng
        self._submitted = False

    def __repr__(self) -> str:
        return f"PaillierClient(id={self.client_id}, submitted={self._submitted})"

    def submit(self, update: EncodedUpdate | np.ndarray) -> ClientBundle:
        """Encrypt, prove and sign this client's words for the session.

        Args:
            update: An :class:`~secagg.encoding.EncodedUpdate` (its words are
                taken, so it cannot go into another session) or m words of
                Z_2^b.

        Returns:
            The signed :class:`~secagg.paillier.messages.ClientBundle`.

        Raises:
            ProtocolViolationError: A second call.
            InvalidInputError: Words that do not match the session (length, b).
            UpdateReusedError: The encoded update was already used.
        """
        if self._submitted:
            raise ProtocolViolationError(
                f"client {self.client_id} already submitted its update in this session; a "
                "session takes one bundle per client."
            )
        if isinstance(update, EncodedUpdate):
            if update.bits != self.params.bits:
                raise InvalidInputError(
                    f"the update is encoded with b = {update.bits}, the session uses "
                    f"b = {self.params.bits}."
                )
            words = update.take()
        else:
            words = update
        plaintexts = self.layout.pack(words)
        self._submitted = True
        key = self._encryptor.public_key
        ciphertexts, alphas = self._encryptor.encrypt_many(plaintexts, self._rng)
        sid = self.params.session_id
        proof = prove_plaintexts(
            key,
            self._encryptor.table,
            sid,
            self.client_id,
            ciphertexts,
            plaintexts,
            alphas,
            self._rng,
        )
        del plaintexts, alphas
        unsigned = ClientBundle(
            sid,
            self.client_id,
            self._key.fingerprint,
            key.nbytes,
            tuple(ciphertexts),
            proof,
            b"",
        )
        signature = crypto.ed25519_sign(self._signing_key, unsigned.signed_bytes())
        return dataclasses.replace(unsigned, signature=signature)

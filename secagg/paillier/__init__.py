"""Packed Paillier aggregation, with a key holder or a threshold committee (extra ``paillier``).

Clients encode their update with the same :class:`secagg.encoding.UpdateCodec`
as the masking path, pack many words into each plaintext, encrypt, prove
knowledge of their plaintexts and sign; an aggregation server multiplies the
ciphertexts and never holds the private key; a key holder (or any t members
of a committee) decrypts one aggregate per session under the policy of
:mod:`secagg.paillier.policy`. docs/paillier.md explains the roles, the
packing, the proofs, the policy and what each party learns.

Needs ``pip install 'secagg[paillier]'`` (phe and gmpy2).
"""

from __future__ import annotations

from .encrypt import Encryptor
from .keys import PrivateKey, PublicKey, generate_keypair
from .messages import ClientBundle, DecryptionRequest, DecryptionShare, SumResult
from .packing import PackingLayout
from .roles import AggregationServer, CombinedSum, CommitteeMember, KeyHolder, PaillierClient
from .session import SessionParams
from .threshold import KeyShare, ThresholdPublicKey, deal, deal_from_primes

__all__ = [
    "AggregationServer",
    "ClientBundle",
    "CombinedSum",
    "CommitteeMember",
    "DecryptionRequest",
    "DecryptionShare",
    "Encryptor",
    "KeyHolder",
    "KeyShare",
    "PackingLayout",
    "PaillierClient",
    "PrivateKey",
    "PublicKey",
    "SessionParams",
    "SumResult",
    "ThresholdPublicKey",
    "deal",
    "deal_from_primes",
    "generate_keypair",
]

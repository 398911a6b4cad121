"""Shared pieces of the Paillier tests: cached insecure keys and a session builder.

Import only after ``pytest.importorskip("phe")`` and ``("gmpy2")``: the
Paillier path is an optional extra.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from secagg import crypto
from secagg.paillier import (
    AggregationServer,
    ClientBundle,
    Encryptor,
    PaillierClient,
    PrivateKey,
    SessionParams,
    ThresholdPublicKey,
    deal_from_primes,
)
from secagg.paillier.keys import PublicKey
from secagg.paillier.threshold import KeyShare

KEYS_FILE = Path(__file__).parent / "data" / "paillier_test_keys.json"


@functools.cache
def primes(bits: int) -> tuple[int, int]:
    """The cached safe primes (p, q) of the insecure test modulus of ``bits`` bits."""
    entry = json.loads(KEYS_FILE.read_text())["keys"][str(bits)]
    return int(entry["p"], 16), int(entry["q"], 16)


@functools.cache
def private_key(bits: int) -> PrivateKey:
    """The insecure test key of ``bits`` bits (one per process)."""
    p, q = primes(bits)
    return PrivateKey.from_primes(p, q, insecure_testing=bits < 2048)


def encryptor(bits: int) -> Encryptor:
    """A shared encryptor (fixed-base table) for the test key of ``bits`` bits."""
    return encryptor_for(private_key(bits).public_key)


@functools.cache
def encryptor_for(key: PublicKey) -> Encryptor:
    """A shared encryptor for ``key`` (one table per key and process)."""
    return Encryptor(key)


@functools.cache
def committee(
    bits: int, holders: int, threshold: int
) -> tuple[ThresholdPublicKey, tuple[KeyShare, ...]]:
    """A t-of-w committee dealt on the cached primes of ``bits`` bits."""
    p, q = primes(bits)
    tpk, shares = deal_from_primes(
        p, q, holders=holders, threshold=threshold, insecure_testing=bits < 2048
    )
    return tpk, tuple(shares)


@functools.cache
def signing_keys(count: int) -> dict[int, tuple[bytes, bytes]]:
    """Ed25519 (seed, verification key) for clients 1..count."""
    return {u: crypto.ed25519_keypair() for u in range(1, count + 1)}


@dataclass
class Session:
    """One session's parameters, keys, registry and client inputs."""

    key: PublicKey | ThresholdPublicKey
    params: SessionParams
    inputs: dict[int, np.ndarray]
    keys: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)

    @property
    def registry(self) -> dict[int, bytes]:
        """Client id -> verification key."""
        return {u: vk for u, (_, vk) in self.keys.items()}

    def client(self, uid: int) -> PaillierClient:
        """Client ``uid`` of this session, sharing the cached encryptor."""
        pk = self.key.encryption_key
        return PaillierClient(
            self.key,
            pinned_fingerprint=self.key.fingerprint,
            params=self.params,
            client_id=uid,
            signing_key=self.keys[uid][0],
            encryptor=encryptor_for(pk),
        )

    def bundle(self, uid: int) -> ClientBundle:
        """Client ``uid``'s honest bundle."""
        return self.client(uid).submit(self.inputs[uid])

    def server(self, verify_proofs: bool = True) -> AggregationServer:
        """A fresh aggregation server for this session."""
        return AggregationServer(
            self.key, params=self.params, registry=self.registry, verify_proofs=verify_proofs
        )

    def expected(self, ids: list[int] | tuple[int, ...]) -> np.ndarray:
        """The ring sum of the given clients' words (numpy reference)."""
        total = np.zeros(self.params.length, dtype=object)
        for u in ids:
            total = total + self.inputs[u].astype(object)
        return (total % (1 << self.params.bits)).astype(np.uint64)


def make_session(
    key: PublicKey | ThresholdPublicKey,
    *,
    clients: int = 4,
    length: int = 40,
    bits: int = 16,
    n_max: int | None = None,
    n_min: int = 3,
    max_colluders: int = 1,
    seed: int = 0,
) -> Session:
    """A session over ``clients`` registered clients with random words."""
    rng = np.random.default_rng(seed)
    dtype = np.uint32 if bits <= 32 else np.uint64
    inputs = {
        u: rng.integers(0, 1 << bits, size=length, dtype=np.uint64, endpoint=False).astype(dtype)
        for u in range(1, clients + 1)
    }
    params = SessionParams(
        os.urandom(32),
        length=length,
        bits=bits,
        n_max=n_max or clients,
        n_min=n_min,
        max_colluders=max_colluders,
    )
    return Session(key, params, inputs, dict(signing_keys(clients)))

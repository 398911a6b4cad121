"""The roles end to end: codec in, the masking path's words out; client and server rules."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("phe")
pytest.importorskip("gmpy2")

import numpy as np  # noqa: E402
from paillier_support import encryptor, make_session, private_key, signing_keys  # noqa: E402

from secagg.encoding import Layout, UpdateCodec, UpdateReusedError  # noqa: E402
from secagg.exceptions import (  # noqa: E402
    AbortedError,
    InvalidInputError,
    ProtocolViolationError,
)
from secagg.paillier import (  # noqa: E402
    AggregationServer,
    KeyHolder,
    PaillierClient,
    SessionParams,
)
from secagg.paillier.proofs import plaintext_challenges, verify_plaintexts  # noqa: E402


def test_codec_updates_average_through_the_key_holder() -> None:
    """UpdateCodec -> clients -> server -> key holder -> decode_mean equals the plain mean."""
    holder = KeyHolder(private_key(1024))
    shapes = [np.zeros((3, 4)), np.zeros(5)]
    codec = UpdateCodec(Layout.of(shapes), clip=1.0, scale=2**12, n_max=4, weight_scale=4.0)
    keys = signing_keys(4)
    params = SessionParams.for_codec(codec, session_id=bytes(range(32)), n_min=3, max_colluders=1)
    rng = np.random.default_rng(5)
    updates = {u: [rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, 5)] for u in keys}
    weights = {1: 1.0, 2: 0.5, 3: 0.25, 4: 1.0}
    registry = {u: vk for u, (_, vk) in keys.items()}
    server = AggregationServer(holder.public_key, params=params, registry=registry)
    for u in (1, 2, 4):  # client 3 drops out: the sum is over what arrived
        client = PaillierClient(
            holder.public_key,
            pinned_fingerprint=holder.public_key.fingerprint,
            params=params,
            client_id=u,
            signing_key=keys[u][0],
            encryptor=encryptor(1024),
        )
        update = codec.encode(updates[u], weight=weights[u], rng=np.random.default_rng(u))
        server.receive(client.submit(update).to_bytes())
    result = holder.decrypt(server.request(), params=params, registry=registry)
    mean, total_weight = codec.decode_mean(result.words, len(result.contributors))
    assert total_weight == pytest.approx(2.5)
    for k, shape in enumerate(shapes):
        plain = sum(weights[u] * updates[u][k] for u in (1, 2, 4)) / 2.5
        assert mean[k].shape == shape.shape
        assert np.allclose(mean[k], plain, atol=3 / codec.scale)


def test_full_size_round_with_a_2048_bit_key() -> None:
    """With the 2048-bit test key (no testing flag) a three-client sum is exact."""
    holder = KeyHolder(private_key(2048))
    assert not holder.public_key.insecure_testing
    session = make_session(holder.public_key, clients=3, n_min=2, max_colluders=0, bits=32)
    server = session.server()
    for u in (1, 2, 3):
        server.receive(session.bundle(u))
    result = holder.decrypt(server.request(), params=session.params, registry=session.registry)
    assert result.words.tolist() == session.expected([1, 2, 3]).tolist()


def test_client_refuses_an_unpinned_key_and_a_second_submission() -> None:
    """A key whose fingerprint differs from the pinned one is refused; one bundle per client."""
    pk = private_key(512).public_key
    session = make_session(pk, clients=3, n_min=2, max_colluders=0)
    with pytest.raises(ProtocolViolationError, match="not the pinned"):
        PaillierClient(
            pk,
            pinned_fingerprint=bytes(32),
            params=session.params,
            client_id=1,
            signing_key=session.keys[1][0],
        )
    client = session.client(1)
    client.submit(session.inputs[1])
    with pytest.raises(ProtocolViolationError, match="already submitted"):
        client.submit(session.inputs[1])


def test_encoded_update_goes_into_one_session_only() -> None:
    """An EncodedUpdate submitted once cannot be submitted to another session."""
    pk = private_key(512).public_key
    codec = UpdateCodec(Layout.of([np.zeros(6)]), clip=1.0, scale=100.0, n_max=3)
    update = codec.encode([np.full(6, 0.5)])
    for sid in (bytes(32), bytes([1]) * 32):
        params = SessionParams.for_codec(codec, session_id=sid, n_min=2)
        client = PaillierClient(
            pk,
            pinned_fingerprint=pk.fingerprint,
            params=params,
            client_id=1,
            signing_key=signing_keys(1)[1][0],
            encryptor=encryptor(512),
        )
        if sid == bytes(32):
            client.submit(update)
        else:
            with pytest.raises(UpdateReusedError):
                client.submit(update)


def test_server_rules() -> None:
    """The server names bad, duplicate, late and excess bundles, and aborts below n_min."""
    pk = private_key(512).public_key
    session = make_session(pk, clients=4, n_max=3, n_min=2, max_colluders=0)
    server = session.server()
    bundles = {u: session.bundle(u) for u in (1, 2, 3, 4)}
    server.receive(bundles[1])
    with pytest.raises(AbortedError, match="only 1 clients sent valid bundles.*n_min = 2"):
        server.request()
    with pytest.raises(ProtocolViolationError, match="client 1 already sent"):
        server.receive(bundles[1])
    bad = dataclasses.replace(bundles[2], signature=bytes(64))
    with pytest.raises(ProtocolViolationError, match="client 2's signature"):
        server.receive(bad)
    server.receive(bundles[2])
    server.receive(bundles[3])
    with pytest.raises(ProtocolViolationError, match="n_max = 3 bundles"):
        server.receive(bundles[4])
    request = server.request()
    assert [b.client_id for b in request.bundles] == [1, 2, 3]
    with pytest.raises(ProtocolViolationError, match="arrived too late"):
        server.receive(bundles[4])
    with pytest.raises(InvalidInputError, match="threshold public key"):
        server.combine([])


def test_plaintext_proof_binds_session_client_and_ciphertexts() -> None:
    """A valid proof fails for another session, client id or ciphertext list."""
    pk = private_key(512).public_key
    session = make_session(pk, clients=2, n_min=2, max_colluders=0, length=80)
    bundle = session.bundle(1)
    proof = bundle.proof
    assert proof is not None and len(bundle.ciphertexts) >= 2
    sid, cts = session.params.session_id, bundle.ciphertexts
    assert verify_plaintexts(pk, sid, 1, cts, proof) is None
    assert verify_plaintexts(pk, bytes(32), 1, cts, proof) is not None
    assert verify_plaintexts(pk, sid, 2, cts, proof) is not None
    assert verify_plaintexts(pk, sid, 1, cts[::-1], proof) is not None
    assert verify_plaintexts(pk, sid, 1, cts[:1], proof) is not None
    challenges = plaintext_challenges(pk, sid, 1, cts, proof.commitment)
    assert len(set(challenges)) == len(cts) and all(0 <= e < 2**128 for e in challenges)

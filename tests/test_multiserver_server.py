"""The multi-server server role: at-most-once signing and release, durable state,
and refusal of malformed or forged messages with clear reasons."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import det_rng
from hypothesis import given
from hypothesis import strategies as st
from multiserver_helpers import make_session, numpy_sum

from secagg import crypto
from secagg.exceptions import (
    InvalidInputError,
    MalformedMessageError,
    ProtocolViolationError,
    RefusedError,
    SecAggError,
)
from secagg.multiserver import ReleaseRequest, SetSignature, SetStatement, ShareBundle, combine
from secagg.multiserver import params as ms_params
from secagg.multiserver.seal import seal_seed

U = frozenset({1, 2, 3, 4})


def _setup(name: str, S: int = 2, n: int = 5, n_min: int = 3):
    """A session, its servers, and every client's bundles delivered to every server."""
    s = make_session(det_rng(name), S=S, n=n, n_min=n_min)
    servers = [s.server(j) for j in range(S)]
    s.sent = {u: s.bundles(u) for u in range(1, n + 1)}
    for bundles in s.sent.values():
        for j, data in bundles.items():
            assert servers[j].receive(data)
    return s, servers


def _statement(s, members) -> SetStatement:
    return SetStatement(s.session_id, s.config.n, frozenset(members))


def _signatures(s, servers, members) -> tuple[bytes, ...]:
    st_ = _statement(s, members)
    return tuple(SetSignature.from_bytes(sv.sign(st_), s.config).signature for sv in servers)


@pytest.mark.parametrize("h", [0, 1])
def test_second_set_is_refused(h):
    """A server (seed or correction) that signed U refuses to sign U minus one client."""
    s, servers = _setup(f"second-set{h}")
    honest = servers[h]
    first = honest.sign(_statement(s, U))
    with pytest.raises(RefusedError, match="signs at most one set"):
        honest.sign(_statement(s, U - {4}))
    assert honest.sign(_statement(s, U).to_bytes()) == first  # the same statement again


@pytest.mark.parametrize("h", [0, 1])
def test_release_over_a_different_set_is_refused(h):
    """Another server asking for a sum over a set other than the one signed is refused."""
    s, servers = _setup(f"other-set{h}")
    honest, bad = h, 1 - h
    sigs_u = list(_signatures(s, servers, U))  # both signed U; U is not what the asker wants
    other = U - {2}
    wanted = list(sigs_u)
    wanted[bad] = crypto.ed25519_sign(s.server_keys[bad], _statement(s, other).message())
    forged = list(wanted)
    forged[honest] = crypto.ed25519_sign(s.server_keys[honest], b"not the statement")
    for sigs in (wanted, forged):
        with pytest.raises(RefusedError, match="only a sum over the set it signed"):
            servers[honest].release(ReleaseRequest(_statement(s, other), tuple(sigs)).to_bytes())
    assert not servers[honest].released


@pytest.mark.parametrize("h", [0, 1])
def test_second_release_is_refused(h):
    """After one release, any further release request (same or other set) is refused."""
    s, servers = _setup(f"second-sum{h}")
    req = ReleaseRequest(_statement(s, U), _signatures(s, servers, U))
    servers[h].release(req)
    with pytest.raises(RefusedError, match="releases at most once"):
        servers[h].release(req)
    with pytest.raises(RefusedError, match="releases at most once"):
        servers[h].release(ReleaseRequest(_statement(s, U - {1}), req.signatures))
    with pytest.raises(RefusedError, match="accepts no more bundles"):
        servers[h].receive(s.bundles(5)[h])


def test_release_needs_every_servers_signature():
    """A release without a valid signature of every server on the statement is refused."""
    s, servers = _setup("all-sigs", S=3)
    sigs = list(_signatures(s, servers, U))
    for k in range(3):
        bad = sigs.copy()
        bad[k] = bytes(64) if k else crypto.ed25519_sign(s.server_keys[1], b"x")
        with pytest.raises(RefusedError, match=f"server {k}'s does not verify"):
            servers[2].release(ReleaseRequest(_statement(s, U), tuple(bad)))
    servers[2].release(ReleaseRequest(_statement(s, U), tuple(sigs)))


def test_unsigned_server_does_not_release():
    """A server that signed nothing refuses a release, whatever signatures come with it."""
    s, servers = _setup("unsigned")
    sigs = _signatures(s, servers[1:], U)
    with pytest.raises(RefusedError, match="the set it signed, no set"):
        servers[0].release(ReleaseRequest(_statement(s, U), (sigs[0], sigs[0])))


def test_sign_needs_n_min_and_a_bundle_from_every_member():
    """A set smaller than n_min, or with a client whose bundle is missing, is not signed."""
    s = make_session(det_rng("rules"), n=5, n_min=3)
    server = s.server(0)
    for u in (1, 2, 3):
        server.receive(s.bundles(u)[0])
    with pytest.raises(RefusedError, match="at least n_min = 3 clients, got 2"):
        server.sign(_statement(s, {1, 2}))
    with pytest.raises(RefusedError, match=r"has\s+none from \{4, 5\}"):
        server.sign(_statement(s, {1, 2, 3, 4, 5}))
    assert server.signed is None and s.stores[0] == []
    server.sign(_statement(s, {1, 2, 3}))
    assert server.signed == {1, 2, 3}


def test_restart_cannot_sign_or_release_twice():
    """A server restored from its persisted state keeps its one signature and one release."""
    s, servers = _setup("restart")
    servers[0].sign(_statement(s, U))
    assert s.stores[0], "the signature left only after the state was persisted"
    again = s.server(0, state=s.stores[0][-1])
    assert again.signed == U
    with pytest.raises(RefusedError, match="signs at most one set"):
        again.sign(_statement(s, U - {3}))
    for u in U:  # a restart loses the shares; the caller feeds the stored bundles again
        again.receive(s.sent[u][0])
    sigs = _signatures(s, [again, servers[1]], U)
    parts = [node.release(ReleaseRequest(_statement(s, U), sigs)) for node in (again, servers[1])]
    total = combine(s.config, s.session_id, parts)
    assert np.array_equal(total.sum.astype(np.uint64), numpy_sum(s.inputs, U, s.config.b))
    third = s.server(0, state=s.stores[0][-1])
    assert third.released
    with pytest.raises(RefusedError, match="releases at most once"):
        third.release(ReleaseRequest(_statement(s, U), sigs))
    assert s.stores[0][-1] == third.export_state()


def test_persist_failure_fails_closed():
    """If persisting fails nothing leaves, and the server stays bound to that statement."""
    s, servers = _setup("persist")
    calls = []

    def failing(blob: bytes) -> None:
        calls.append(blob)
        if len(calls) == 1:
            raise OSError("disk full")

    node = s.server(0, persist=failing)  # the store fails once, then works
    for u in U:
        node.receive(s.sent[u][0])
    with pytest.raises(OSError):
        node.sign(_statement(s, U))
    with pytest.raises(RefusedError, match="signs at most one set"):
        node.sign(_statement(s, U - {1}))
    node.sign(_statement(s, U))
    assert len(calls) == 2 and calls[0] == calls[1]


def test_state_blob_is_strict():
    """A state blob of another session or server, with bad flags or extra bytes, is refused."""
    s = make_session(det_rng("blob"))
    blob = s.server(0).export_state()  # unsigned: label, version, sid, index, flags
    cases = [
        (blob[:19] + bytes([blob[19] ^ 1]) + blob[20:], "another session or server"),
        (blob[:-2] + b"\x01" + blob[-1:], "another session or server"),
        (blob[:-1] + b"\x07", "invalid flags"),
        (blob + b"\x00", "must end after its flags"),
        (blob[:-1] + b"\x01", "signed set is malformed"),
        (b"XX" + blob[2:], "not a version-1"),
        (blob[:10], "at least"),
    ]
    for bad, words in cases:
        with pytest.raises(InvalidInputError, match=words):
            s.server(0, state=bad)


def _resign(s, u: int, bundle: ShareBundle, **changes) -> bytes:
    """A bundle with changed fields, digest and signature redone by client u (a cheater)."""
    b = dataclasses.replace(bundle, **changes)
    digests = list(b.digests)
    digests[b.server] = ms_params.part_digest(s.session_id, u, b.server, b.salt, b.payload)
    msg = ms_params.client_message(s.session_id, u, digests)
    sig = crypto.ed25519_sign(s.client_keys[u], msg)
    return dataclasses.replace(b, digests=tuple(digests), signature=sig).to_bytes()


def test_malformed_and_forged_bundles_are_refused():
    """Each broken bundle is refused with the exception and sentence of its rule."""
    s = make_session(det_rng("forge"), S=2, b=13)
    cfg = s.config
    seed_srv, corr_srv = s.server(0), s.server(1)
    data = s.bundles(1)
    b0 = ShareBundle.from_bytes(data[0], cfg)
    cases = [
        (seed_srv, data[0][:-1], MalformedMessageError, "exactly"),
        (seed_srv, b"XXXX" + data[0][4:], MalformedMessageError, "magic"),
        (seed_srv, data[0][:4] + b"\x02" + data[0][5:], MalformedMessageError, "version"),
        (seed_srv, data[0][:5] + b"\x03" + data[0][6:], MalformedMessageError, "SetSignature"),
        (
            seed_srv,
            data[0][:38] + b"\x00\x00\x00\x09" + data[0][42:],
            MalformedMessageError,
            "client 9",
        ),
        (seed_srv, data[0][:43] + b"\x03" + data[0][44:], MalformedMessageError, "S = 2"),
        (seed_srv, data[1], ProtocolViolationError, "addressed to server 1"),
        (seed_srv, data[0][:6] + bytes(32) + data[0][38:], ProtocolViolationError, "session"),
        (seed_srv, data[0][:-1] + bytes([data[0][-1] ^ 1]), ProtocolViolationError, "signature"),
        (
            seed_srv,
            data[0][:-70] + bytes([data[0][-70] ^ 1]) + data[0][-69:],
            ProtocolViolationError,
            "digest",
        ),
    ]
    # a sybil: a well-formed bundle signed by a key the registry does not hold
    sybil = crypto.ed25519_keypair(det_rng("sybil"))[0]
    msg = ms_params.client_message(s.session_id, 1, b0.digests)
    forged = dataclasses.replace(b0, signature=crypto.ed25519_sign(sybil, msg)).to_bytes()
    cases.append((seed_srv, forged, ProtocolViolationError, "registered key"))
    # a cheating client: seed sealed for another server index, or with a small-order key
    wrong_aad = seal_seed(cfg.seed_keys[0], b"\x01" * 32, s.session_id, 1, 1)
    cases.append((seed_srv, _resign(s, 1, b0, payload=wrong_aad), ProtocolViolationError, "open"))
    zero_eph = bytes(32) + wrong_aad[32:]
    cases.append(
        (seed_srv, _resign(s, 1, b0, payload=zero_eph), ProtocolViolationError, "small-order")
    )
    b1 = ShareBundle.from_bytes(data[1], cfg)
    padded = b1.payload[:-1] + bytes([b1.payload[-1] | 0x80])  # 7*13 = 91 bits: 5 padding bits
    cases.append((corr_srv, _resign(s, 1, b1, payload=padded), MalformedMessageError, "padding"))
    for server, bad, exc, words in cases:
        with pytest.raises(exc, match=words):
            server.receive(bad)
    assert seed_srv.accepted == frozenset() and corr_srv.accepted == frozenset()
    assert seed_srv.receive(data[0]) and not seed_srv.receive(s.bundles(1)[0])


@given(st.data())
def test_any_changed_byte_is_refused(data):
    """Changing any one byte of a valid bundle makes the server refuse it, never accept it."""
    s = make_session(det_rng("flip"), S=2, b=16, m=5)
    j = data.draw(st.integers(0, 1))
    bundle = s.bundles(1)[j]
    pos = data.draw(st.integers(0, len(bundle) - 1))
    delta = data.draw(st.integers(1, 255))
    bad = bundle[:pos] + bytes([bundle[pos] ^ delta]) + bundle[pos + 1 :]
    server = s.server(j)
    with pytest.raises(SecAggError):
        server.receive(bad)
    assert server.accepted == frozenset()


def test_messages_round_trip_and_refuse_bad_layouts():
    """Every message decodes to itself; wrong lengths, counts or bitmaps are refused."""
    s, servers = _setup("wire", S=3)
    cfg = s.config
    st_ = _statement(s, U)
    assert SetStatement.from_bytes(st_.to_bytes(), cfg) == st_
    sig = servers[0].sign(st_)
    assert SetSignature.from_bytes(sig, cfg).to_bytes() == sig
    req = ReleaseRequest(st_, _signatures(s, servers, U)).to_bytes()
    assert ReleaseRequest.from_bytes(req, cfg).to_bytes() == req
    with pytest.raises(MalformedMessageError, match="carries S = 3 signatures"):
        ReleaseRequest.from_bytes(req[:-193] + b"\x02" + req[-192:], cfg)
    with pytest.raises(MalformedMessageError, match="unused bits"):
        SetStatement.from_bytes(st_.to_bytes()[:-1] + b"\xff", cfg)
    with pytest.raises(MalformedMessageError, match="n = 6"):
        SetStatement.from_bytes(st_.to_bytes()[:38] + b"\x00\x00\x00\x06\x0f", cfg)
    with pytest.raises(MalformedMessageError, match="names server 7"):
        SetSignature.from_bytes(sig[:38] + b"\x07" + sig[39:], cfg)
    with pytest.raises(InvalidInputError, match="not a client id"):
        servers[0].sign(SetStatement(s.session_id, cfg.n, frozenset({0, 1, 2})))

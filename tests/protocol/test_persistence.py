"""Exporting and restoring sessions (PROTOCOL.md §13): determinism, refusals, restarts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pytest
from helpers import det_rng
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secagg.exceptions import InvalidInputError, MalformedMessageError, ProtocolViolationError
from secagg.protocol.client import Client
from secagg.protocol.config import Config
from secagg.protocol.persist.fields import StateReader, StateWriter
from secagg.protocol.registry import Registry, active_setup
from secagg.protocol.server import Server
from secagg.protocol.vocabulary import ROUNDS, Mode, State

KEY = bytes(range(32))
SERVER_KEY = bytes(range(32, 64))


@dataclass
class Run:
    """What one driven session produced."""

    replies: list[tuple[int, bytes]] = field(default_factory=list)
    requests: list[dict[int, bytes]] = field(default_factory=list)
    result: np.ndarray | None = None
    aborted: str | None = None
    restores: int = 0
    refolds_refused: int = 0


def _config(n: int, k: int, t: int, mode: Mode, digest: bytes = bytes(32)) -> Config:
    return Config(n=n, t=t, k=k, b=16, m=5, n_min=t, mode=mode, registry_digest=digest)


def drive(
    n: int,
    k: int,
    t: int,
    mode: Mode,
    *,
    stop: dict[int, str] | None = None,
    persist_clients: bool = False,
    persist_server: bool = False,
    redeliver: bool = False,
    seed: bytes = b"persist",
) -> Run:
    """One session; clients and/or the server exported and restored after every step.

    The counters play the integrator's part: a restore uses the counter, and
    the counter then moves to the restored object's next_seq.
    """
    rng = det_rng(seed)
    stop = stop or {}
    active = mode is Mode.ACTIVE
    registry = Registry.generate(n, rng) if active else None
    config = _config(n, k, t, mode, registry.digest if registry else bytes(32))
    nonce = rng(32)
    setup = (
        active_setup(config, nonce, signing_keys=registry.signing_keys, rng=rng)
        if registry
        else None
    )
    trust: dict = {}
    if setup is not None:
        trust = {"verify_keys": setup.registry.verify_keys, "authority_vk": setup.authority_vk}
    inputs = {u: (np.arange(5, dtype=np.uint32) * 1000 + u) % (1 << 16) for u in range(1, n + 1)}
    clients = {
        u: Client(
            config,
            u,
            inputs[u],
            signing_key=setup.registry.signing_keys[u] if setup else None,
            rng=rng,
            **trust,
        )
        for u in range(1, n + 1)
    }
    server = Server(
        config,
        nonce=nonce,
        config_signature=setup.config_signature if setup else None,
        verify_keys=setup.registry.verify_keys if setup else None,
        rng=rng,
    )
    run = Run()
    client_seq = dict.fromkeys(clients, 0)
    server_seq = [0]

    def restart_server() -> None:
        nonlocal server
        blob = server.export(SERVER_KEY)
        server = Server.restore(
            blob,
            SERVER_KEY,
            session_id=server.session_id,
            expected_seq=server_seq[0],
            verify_keys=setup.registry.verify_keys if setup else None,
        )
        server_seq[0] = server.next_seq
        run.restores += 1

    requests = server.start()
    while server.state not in (State.COMPLETED, State.ABORTED):
        rnd = server.round
        run.requests.append(dict(requests))
        for u, req in sorted(requests.items()):
            if ROUNDS.index(stop.get(u, "R4")) <= ROUNDS.index(rnd) and u in stop:
                continue
            client = clients[u]
            if persist_clients and client.current.facts() is not None:
                blob = client.export(KEY)
                client = clients[u] = Client.restore(
                    blob,
                    KEY,
                    session_id=client.session_id,
                    client_id=u,
                    expected_seq=client_seq[u],
                    signing_key=setup.registry.signing_keys[u] if setup else None,
                    rng=rng,
                    **trust,
                )
                client_seq[u] = client.next_seq
                run.restores += 1
            for reply in client.handle(req):
                run.replies.append((u, reply))
                server.receive(u, reply)
                if persist_server:
                    restart_server()
                    if redeliver and rnd == "R2":
                        # The fold was made durable before the crash; the transport,
                        # never told, delivers y_u again: it must not count twice.
                        server.receive(u, reply)
                        run.refolds_refused += server.discarded[
                            ("R2", u, "a second masked input was discarded")
                        ]
        requests = server.close_round()
        if persist_server and server.state not in (State.COMPLETED, State.ABORTED):
            restart_server()
            assert server.outbox == requests  # the very requests decided before the restart
    run.result = None if server.result is None else server.result.sum
    run.aborted = server.abort_reason
    return run


CASES = [
    (6, 5, 3, Mode.SEMI_HONEST),  # complete graph
    (10, 4, 2, Mode.SEMI_HONEST),  # Harary ring
    (5, 4, 3, Mode.ACTIVE),
]


@pytest.mark.parametrize(("n", "k", "t", "mode"), CASES)
def test_client_export_restore_at_every_round_gives_identical_bytes(n, k, t, mode):
    """Export -> restore -> continue, for every client at every round, sends the same bytes."""
    plain = drive(n, k, t, mode, stop={2: "R2"})
    moved = drive(n, k, t, mode, stop={2: "R2"}, persist_clients=True)
    assert moved.restores > 0
    assert moved.replies == plain.replies
    assert plain.aborted is None and moved.aborted is None
    np.testing.assert_array_equal(moved.result, plain.result)


@pytest.mark.parametrize(("n", "k", "t", "mode"), CASES)
def test_server_restarted_at_every_step_gives_the_exact_sum(n, k, t, mode):
    """A server exported and restored after every receive and every close, each masked
    input delivered again after the restart, sends the same requests and the exact sum."""
    plain = drive(n, k, t, mode, stop={3: "R2"})
    restarted = drive(n, k, t, mode, stop={3: "R2"}, persist_server=True, redeliver=True)
    assert restarted.restores > 0 and restarted.refolds_refused > 0
    assert restarted.requests == plain.requests
    assert restarted.aborted is None
    np.testing.assert_array_equal(restarted.result, plain.result)


_schedules = st.dictionaries(
    st.integers(1, 8), st.sampled_from(["R0", "R1", "R2", "R3", "R4"]), max_size=3
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(
        [(8, 7, 3, Mode.SEMI_HONEST), (8, 4, 2, Mode.SEMI_HONEST), (6, 5, 4, Mode.ACTIVE)]
    ),
    stop=_schedules,
)
def test_persisted_sessions_match_unpersisted_ones(case, stop):
    """Any dropout schedule: clients and server both persisted at every step give the same
    replies, requests and outcome as the session never exported."""
    n, k, t, mode = case
    stop = {u: r for u, r in stop.items() if u <= n}
    plain = drive(n, k, t, mode, stop=stop, seed=b"prop")
    both = drive(
        n,
        k,
        t,
        mode,
        stop=stop,
        persist_clients=True,
        persist_server=True,
        redeliver=True,
        seed=b"prop",
    )
    assert both.replies == plain.replies
    assert both.requests == plain.requests
    assert both.aborted == plain.aborted
    if plain.result is not None:
        np.testing.assert_array_equal(both.result, plain.result)


# ----------------------------------------------------------------- refusals


def _client_after_r0(seed: bytes = b"refuse") -> tuple[Client, Server]:
    rng = det_rng(seed)
    config = _config(5, 4, 3, Mode.SEMI_HONEST)
    server = Server(config, nonce=rng(32), rng=rng)
    clients = {u: Client(config, u, np.arange(5, dtype=np.uint32), rng=rng) for u in range(1, 6)}
    req = server.start()
    for u, c in clients.items():
        server.receive(u, c.handle(req[u])[0])
    return clients[1], server


def test_restore_refuses_stale_wrong_and_replayed_blobs():
    """Wrong seq, session, id, key or role, changed bytes, and a second restore are refused."""
    client, _ = _client_after_r0()
    sid = client.session_id
    blob0 = client.export(KEY)
    args = dict(session_id=sid, client_id=1, expected_seq=0)
    restored = Client.restore(blob0, KEY, **args)
    counter = restored.next_seq  # the integrator advances its counter: blob0 is consumed
    with pytest.raises(ProtocolViolationError, match="sequence number 0, expected 1"):
        Client.restore(blob0, KEY, session_id=sid, client_id=1, expected_seq=counter)
    with pytest.raises(ProtocolViolationError, match="belongs to session"):
        Client.restore(blob0, KEY, session_id=b"\x01" * 32, client_id=1, expected_seq=0)
    with pytest.raises(ProtocolViolationError, match="belongs to id 1, not 2"):
        Client.restore(blob0, KEY, session_id=sid, client_id=2, expected_seq=0)
    with pytest.raises(ProtocolViolationError, match="does not verify"):
        Client.restore(blob0, bytes(32), **args)
    changed = blob0[:-5] + bytes([blob0[-5] ^ 1]) + blob0[-4:]
    with pytest.raises(ProtocolViolationError, match="does not verify"):
        Client.restore(changed, KEY, **args)
    # The header repeats what the tag binds: rewriting its seq is caught either way.
    forged = blob0[:43] + (7).to_bytes(8, "big") + blob0[51:]
    with pytest.raises(ProtocolViolationError, match="sequence number 7, expected 0"):
        Client.restore(forged, KEY, **args)
    with pytest.raises(ProtocolViolationError, match="does not verify"):
        Client.restore(forged, KEY, session_id=sid, client_id=1, expected_seq=7)
    with pytest.raises(ProtocolViolationError, match="client session, not a server session"):
        Server.restore(blob0, KEY, session_id=sid, expected_seq=0)
    with pytest.raises(MalformedMessageError):
        Client.restore(b"SAGS" + bytes(20), KEY, **args)
    # A stale blob: the session moved on (and exported again) after it.
    blob1 = restored.export(KEY)
    assert blob1 != blob0
    with pytest.raises(ProtocolViolationError, match="sequence number 0, expected 1"):
        Client.restore(blob0, KEY, session_id=sid, client_id=1, expected_seq=1)
    assert Client.restore(blob1, KEY, session_id=sid, client_id=1, expected_seq=1).round == "R1"


def test_export_is_a_move_and_only_mid_session():
    """The exported object refuses messages; nothing is exported before R0 or after the end."""
    client, server = _client_after_r0()
    fresh = Client(client.config, 2, np.arange(5, dtype=np.uint32))
    with pytest.raises(ProtocolViolationError, match="no session to export"):
        fresh.export(KEY)
    client.export(KEY)
    with pytest.raises(ProtocolViolationError, match="was exported"):
        client.handle(b"anything")
    with pytest.raises(ProtocolViolationError, match="was exported"):
        client.export(KEY)
    blob = server.export(SERVER_KEY)
    server.receive(1, b"late")
    assert server.discarded[("R0", 1, "the session was exported")] == 1
    with pytest.raises(ProtocolViolationError, match="was exported"):
        server.close_round()
    restored = Server.restore(blob, SERVER_KEY, session_id=server.session_id, expected_seq=0)
    assert restored.round == "R0" and restored.next_seq == 1


def test_blob_keeps_no_trust_anchor_and_restore_needs_them():
    """An active client's blob holds no signing key; restoring without one is refused."""
    run = drive(5, 4, 3, Mode.ACTIVE)
    assert run.aborted is None
    rng = det_rng(b"anchor")
    registry = Registry.generate(5, rng)
    config = _config(5, 4, 3, Mode.ACTIVE, registry.digest)
    nonce = rng(32)
    setup = active_setup(config, nonce, signing_keys=registry.signing_keys, rng=rng)
    server = Server(config, nonce=nonce, config_signature=setup.config_signature)
    client = Client(
        config,
        1,
        np.zeros(5, dtype=np.uint32),
        signing_key=registry.signing_keys[1],
        verify_keys=registry.verify_keys,
        authority_vk=setup.authority_vk,
    )
    client.handle(server.start()[1])
    blob = client.export(KEY)
    assert registry.signing_keys[1] not in blob
    with pytest.raises(Exception, match="signing_key"):
        Client.restore(blob, KEY, session_id=client.session_id, client_id=1, expected_seq=0)


def test_handle_and_export_returns_no_blob_at_the_end():
    """The last message ends the session: replies but no blob (terminal states stay local)."""
    config = _config(5, 4, 3, Mode.SEMI_HONEST)
    rng = det_rng(b"end")
    server = Server(config, nonce=rng(32), rng=rng)
    clients = {u: Client(config, u, np.zeros(5, dtype=np.uint32), rng=rng) for u in range(1, 6)}
    requests = server.start()
    last: dict[int, bytes | None] = {}
    while server.round is not None:
        for u, req in requests.items():
            replies, blob = clients[u].handle_and_export(req, KEY)
            last[u] = blob
            if blob is not None:
                clients[u] = Client.restore(
                    blob,
                    KEY,
                    session_id=server.session_id,
                    client_id=u,
                    expected_seq=clients[u].next_seq,
                    rng=rng,
                )
            for r in replies:
                server.receive(u, r)
        requests = server.close_round()
    assert server.state is State.COMPLETED
    assert all(b is None for b in last.values())
    assert dataclasses.is_dataclass(server.result)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.integers(1, 2**20),
        st.tuples(st.binary(min_size=3, max_size=3), st.binary(min_size=5, max_size=5)),
        max_size=40,
    )
)
def test_state_tables_round_trip(rows):
    """An exported id table reads back as written: ids in order, every field intact."""
    w = StateWriter()
    w.table(rows)
    r = StateReader(w.getvalue())
    assert r.table("rows", (3, 5)) == rows
    r.end()


def test_state_table_rows_of_another_length_are_refused():
    """A table row whose field is shorter or longer than the others is refused, never padded."""
    w = StateWriter()
    with pytest.raises(InvalidInputError, match="field lengths"):
        w.table({1: (b"abc", b"12345"), 2: (b"ab", b"12345")})
    with pytest.raises(InvalidInputError, match="field lengths"):
        w.table({1: (b"abc", b"12345"), 2: (b"abcd", b"12345")})


def test_state_table_ids_must_increase():
    """A table read with ids out of order or repeated is malformed."""
    data = (2).to_bytes(4, "big") + (5).to_bytes(4, "big") + b"x" + (5).to_bytes(4, "big") + b"y"
    with pytest.raises(MalformedMessageError, match="strictly increasing"):
        StateReader(data).table("rows", (1,))

"""The client across rounds: session id and type checks, aborts, erasure, fuzzing."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from session_harness import (
    SEMI,
    Session,
    only_for,
    rewrite,
)

from secagg import packing
from secagg.protocol import messages as M
from secagg.protocol.client import Client
from secagg.protocol.server import State


def _assert_refused(client: Client, reply_list: list[bytes], match: str) -> None:
    assert client.state is State.ABORTED, client
    assert client.abort_reason is not None and match in client.abort_reason, client.abort_reason
    for r in reply_list:  # an abort reveals nothing: only an abort notice goes out
        assert isinstance(M.decode(r), M.AbortNotice)


def test_refuses_wrong_session_id():
    """A request carrying another session id makes the client abort."""
    s = Session(SEMI)
    s.run(to_client=only_for("R1", 1, lambda d: rewrite(d, session_id=b"\x01" * 32)))
    _assert_refused(s.clients[1], s.sent[("R1", 1)], "session id")
    assert s.server.dropped[1] == "R1"


def test_refuses_wrong_message_type_for_the_round():
    """A message of another round's type makes the client abort."""
    s = Session(SEMI)
    sid = s.server.session_id
    s.run(to_client=only_for("R1", 2, lambda d: M.ShareForward(sid, 0, ()).to_bytes()))
    _assert_refused(s.clients[2], s.sent[("R1", 2)], "accepts only")


def test_client_erases_secrets_when_done():
    """At COMPLETED and ABORTED a client keeps no key, seed, share or input."""
    s = Session(SEMI)
    seen: dict[int, list] = {u: [] for u in s.clients}
    for u, client in s.clients.items():
        real = client.handle

        def handle(data, client=client, real=real, u=u):
            seen[u].append(client.current)
            return real(data)

        client.handle = handle  # type: ignore[method-assign]
    s.run(stop={2: "R2"})
    done = s.clients[1]
    assert done.state is State.COMPLETED
    assert vars(done.current) == {}  # Completed holds nothing
    r1, r2 = seen[1][1], seen[1][2]
    assert not any(r1.secrets.b) and not any(r2.b)  # seeds overwritten
    # R2 masks the input in place: what the states still reference is the
    # masked vector the client sent (public), never x.
    (sent,) = s.sent[("R2", 1)]
    y = M.decode(sent, s.config)
    masked = packing.unpack(y.packed, s.config.m, s.config.b)
    for state in (r1, r2):
        np.testing.assert_array_equal(state.words, masked)
    assert not np.array_equal(masked, s.inputs[1])
    stopped = s.clients[2]  # stopped before R2: the runner never completes it
    assert stopped.state is State.R2_MASKED_INPUT_COLLECTION


def test_server_abort_notice_aborts_clients():
    """An abort notice from the server moves a client to ABORTED with the reason."""
    s = Session(SEMI)
    s.run(stop={1: "R2", 2: "R2", 3: "R2"})
    assert s.server.state is State.ABORTED
    for u, note in s.last_requests.items():
        s.clients[u].handle(note)
        assert s.clients[u].state is State.ABORTED
        assert s.clients[u].abort_reason.startswith("the server aborted")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.sampled_from(["R1", "R2", "R4"]), data=st.data())
def test_client_never_raises_on_mutated_requests(rnd, data):
    """Any byte mutation of a request leaves the client completed or aborted, never raising."""
    s = Session(SEMI)
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=3)
    )

    def mutate(d: bytes) -> bytes:
        raw = bytearray(d)
        for pos, x in flips:
            raw[pos % len(raw)] ^= x
        return bytes(raw)

    # A changed request stands for a misbehaving server (the transport is
    # authenticated): in semi_honest mode it may spoil its own sum, but the
    # client must never raise and must end in a defined state.
    server = s.run(to_client=only_for(rnd, 1, mutate))
    assert server.state in (State.COMPLETED, State.ABORTED)
    client = s.clients[1]
    assert client.state in (State.COMPLETED, State.ABORTED) or server.state is State.ABORTED
    if client.state is State.ABORTED:
        assert isinstance(client.abort_reason, str) and client.abort_reason

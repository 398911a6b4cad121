"""run_round(..., workers=N): clients in forked processes, the same bytes as one process."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from helpers import det_rng

from secagg.exceptions import InvalidInputError
from secagg.protocol.config import Config
from secagg.protocol.pool import SHM_THRESHOLD, SLOTS, ProcessClients
from secagg.protocol.registry import Registry
from secagg.protocol.runner import RoundResult, run_round
from secagg.protocol.vocabulary import Mode

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="workers need fork"
)


def inputs_for(config: Config, seed: int) -> dict[int, np.ndarray]:
    gen = np.random.default_rng(seed)
    return {
        u: gen.integers(0, 1 << config.b, config.m, dtype=np.uint64).astype(config.dtype)
        for u in range(1, config.n + 1)
    }


def same_round(a: RoundResult, b: RoundResult) -> None:
    assert a.aborted == b.aborted
    assert (a.sum is None) == (b.sum is None)
    if a.sum is not None:
        np.testing.assert_array_equal(a.sum, b.sum)
    assert a.survivors == b.survivors and a.dropped == b.dropped
    assert a.reconstructed == b.reconstructed and a.bytes_sent == b.bytes_sent
    assert a.transcript is not None and b.transcript is not None
    assert [(e.round, e.sender, e.data) for e in a.transcript] == [
        (e.round, e.sender, e.data) for e in b.transcript
    ]
    assert a.masked_inputs is not None and b.masked_inputs is not None
    assert a.masked_inputs.keys() == b.masked_inputs.keys()
    for u, y in a.masked_inputs.items():
        np.testing.assert_array_equal(y, b.masked_inputs[u])


# A masked input of m = 40000 words at b = 32 is larger than the pool's
# shared-memory threshold, so both paths (pipe and shared slots) are used.
CASES = {
    "sparse, dropouts in every round": (
        Config(n=23, t=3, n_min=12, k=8, b=32, m=40_000),
        {2: "R1", 5: "R2", 8: "R2", 13: "R3", 21: "R4"},
    ),
    "complete graph, 3 workers": (Config(n=7, t=4, n_min=4, k=6, b=17, m=50), {4: "R2"}),
    "abort: below n_min after R2": (
        Config(n=10, t=3, n_min=8, k=9, b=8, m=70_000),
        {1: "R2", 2: "R2", 3: "R2"},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_two_workers_give_the_bytes_of_one(name):
    """Every message, the sum, U3 and the abort reason are those of workers=1."""
    config, drops = CASES[name]
    inputs = inputs_for(config, 3)
    one = run_round(config, inputs, dropouts=drops, transcript="full", rng=det_rng(name))
    workers = 3 if "3 workers" in name else 2
    many = run_round(
        config, inputs, dropouts=drops, transcript="full", rng=det_rng(name), workers=workers
    )
    same_round(one, many)
    assert (one.aborted is None) == ("abort" not in name)


def test_active_mode_with_workers_gives_the_same_bytes():
    """Signing keys and the config authority are made once, in the parent."""
    registry = Registry.generate(8, det_rng(b"keys"))
    config = Config(
        n=8, t=6, n_min=6, k=7, b=16, m=9, c=2, mode=Mode.ACTIVE, registry_digest=registry.digest
    )
    inputs = inputs_for(config, 4)
    args = dict(dropouts={3: "R3"}, transcript="full", signing_keys=registry.signing_keys)
    one = run_round(config, inputs, rng=det_rng(b"a"), **args)
    two = run_round(config, inputs, rng=det_rng(b"a"), workers=2, **args)
    same_round(one, two)
    assert one.aborted is None


def test_without_an_injected_rng_the_sum_is_still_exact():
    """Workers draw from the OS: different bytes, the same exact sum."""
    config = Config(n=12, t=3, n_min=9, k=6, b=32, m=20_000)
    inputs = inputs_for(config, 5)
    result = run_round(config, inputs, dropouts={4: "R2"}, workers=2)
    assert result.aborted is None
    want = sum(inputs[u].astype(np.uint64) for u in result.survivors) % (1 << 32)
    np.testing.assert_array_equal(result.sum, want.astype(np.uint32))
    assert set(result.timings) >= {"R1.client", "R2.client", "R4.server", "total"}


def test_a_client_error_in_a_worker_is_raised_as_itself():
    """A bad input vector fails in the worker that builds its client: the same
    InvalidInputError reaches the caller, and no worker is left behind."""
    config = Config(n=6, t=3, n_min=3, k=5, b=8, m=4)
    inputs = {u: np.zeros(4, np.uint32) for u in range(1, 7)}
    inputs[5] = np.full(4, 300, np.uint32)
    before = len(multiprocessing.active_children())
    with pytest.raises(InvalidInputError, match="0..2\\^8 - 1"):
        run_round(config, inputs, workers=2)
    assert len(multiprocessing.active_children()) == before


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, 257])
def test_worker_count_is_checked(workers):
    config = Config(n=4, t=2, n_min=2, k=3, b=8, m=4)
    inputs = {u: np.zeros(4, np.uint32) for u in range(1, 5)}
    with pytest.raises(InvalidInputError, match="workers"):
        run_round(config, inputs, workers=workers)


class _Chatty:
    """A stand-in client whose every answer is more large replies than a worker has slots."""

    def __init__(self, u: int) -> None:
        self.u = u

    def handle(self, data: bytes) -> list[bytes]:
        size = SHM_THRESHOLD + self.u
        return [bytes([self.u, j]) * (size // 2) for j in range(SLOTS + 2)]


def _chatty(u: int) -> _Chatty:
    return _Chatty(u)


def test_more_large_replies_than_slots_still_arrive_in_order():
    """A client answering with more large replies than its worker has slots neither
    deadlocks nor reorders: the replies past the slots travel by pipe."""
    clients = ProcessClients(_chatty, 4, 2, slot_size=SHM_THRESHOLD + 8)
    try:
        for _ in range(2):
            got = [
                (u, [bytes(r) for r in replies])
                for u, replies in clients.round({u: b"" for u in range(1, 5)}, [1, 2, 3, 4])
            ]
            want = [(u, _Chatty(u).handle(b"")) for u in range(1, 5)]
            assert got == want
    finally:
        clients.close()

"""The masking lesson (``python -m secagg teach masking``): the masks it lays open add up to
what the server received, cancel in the sum, and the server never rebuilds both secrets of a
client."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from secagg.__main__ import main
from secagg.protocol.config import Config
from secagg.protocol.graph import harary_permutation
from secagg.teach.masks import run_session

N, T, M, B = 6, 3, 4, 8


def _run(k: int, dropped: dict[int, str], seed: int = 11):
    config = Config(n=N, t=T, k=k, b=B, m=M, n_min=N - len(dropped))
    gen = np.random.default_rng(seed)
    inputs = {u: gen.integers(0, 40, size=M).astype(config.dtype) for u in range(1, N + 1)}
    return run_session(config, inputs, dropped, seed=seed)


@pytest.mark.parametrize("k", [4, 5])
@pytest.mark.parametrize("drop_round", ["R1", "R2", "R4"])
def test_masks_add_up_and_cancel(k, drop_round):
    """Each y_u is x_u plus the masks shown; after removing self masks and the masks shared
    with clients outside U3 the sum is the plain sum of the survivors' inputs."""
    run = _run(k, {3: drop_round})
    assert run.total is not None and run.masks_add_up()
    steps = run.sum_steps()
    assert np.array_equal(steps["result"], steps["plain"])
    assert np.array_equal(steps["plain"], run.total)
    # Masks between two survivors cancel: their signed sum over U3 is zero.
    inner = sum(
        (run.signed_pair(u, v) for u in run.u3 for v in run.partners(u) if v in run.u3),
        np.zeros(M, dtype=np.int64),
    )
    assert not np.any(inner % (1 << B))


@pytest.mark.parametrize(
    "drop_round,in_u2,in_u3,rebuilt_sk",
    [("R1", False, False, False), ("R2", True, False, True), ("R4", True, True, False)],
)
def test_what_the_server_rebuilds(drop_round, in_u2, in_u3, rebuilt_sk):
    """b_u is rebuilt exactly for U3, s_u^SK exactly for clients in U2 but not U3: never both."""
    run = _run(4, {3: drop_round})
    assert (3 in run.u2, 3 in run.u3) == (in_u2, in_u3)
    assert set(run.reconstructed["self_mask"]) == set(run.u3)
    assert (3 in run.reconstructed["pairwise"]) == rebuilt_sk
    assert set(run.reconstructed["self_mask"]).isdisjoint(run.reconstructed["pairwise"])


def test_the_sparse_graph_is_the_sessions_harary_ring():
    """The graph shown is the Harary ring whose order the session id fixes."""
    run = _run(4, {})
    config = run.config
    assert not run.graph.complete
    assert sorted(run.graph.order) == list(range(1, N + 1))
    assert all(len(run.graph.neighbours(u)) == 4 for u in range(1, N + 1))
    assert run.total is not None and config.k == 4
    assert list(run.graph.order) == harary_permutation(run.session_id, N)


def test_printout_and_pictures(capsys, tmp_path: Path):
    """The lesson prints each client's masks, the sum steps and who got what rebuilt, and
    writes the graph and vector pictures."""
    assert main(["teach", "masking", "--seed", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("✓ what the server received") == 5
    assert "✓ equal" in out and "s_3^SK rebuilt" in out and "never b_3" in out
    assert "π = (" in out
    for name in ("masking_graph.png", "masking_vectors.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_complete_graph_and_no_dropout(capsys):
    """k = n - 1 is the complete graph, and with --drop 0 nobody's s^SK is rebuilt."""
    assert main(["teach", "masking", "-k", "5", "--drop", "0", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "complete graph" in out and "^SK rebuilt" not in out


def test_bad_options_exit_2(capsys):
    """An odd sparse k and an unknown client are refused with a sentence."""
    assert main(["teach", "masking", "-k", "3"]) == 2
    assert "even k" in capsys.readouterr().err
    assert main(["teach", "masking", "--drop", "9"]) == 2
    assert "not a client id" in capsys.readouterr().err

"""Whole rounds through the loopback grid: aggregates, dropouts at every stage, failures.

Both kinds of Flower app run the same scenarios: the legacy
``DefaultWorkflow(fit_workflow=SecAggWorkflow(...))`` with ``secagg_mod``, and
``SecAggStrategy(FedAvg())`` with ``secagg_train_mod``. The aggregate a round
releases is compared with the weighted mean of exactly the survivors it
reports, computed here from the known updates.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("flwr", reason="the flower extra is not installed")

from secagg.flower import Settings  # noqa: E402

from .helpers import (  # noqa: E402
    FIRST_NODE,
    assert_aggregate,
    legacy_app,
    make_grid,
    message_app,
    run_legacy,
    run_message,
    stage_of,
    vanish_at,
)

pytestmark = pytest.mark.flower

FLAVOURS = ("legacy", "message")
SMALL = Settings(k=2, t=2, n_min=2)  # N = 3: any one node may drop
DEFAULT = Settings()  # the planner: dropout 0.2


def _run(flavour: str, n: int, rounds: int, settings: Settings, tmp: Path, hook=None, extra=None):
    app = legacy_app() if flavour == "legacy" else message_app()
    grid = make_grid(app, n, tmp, extra)
    if hook is not None:
        grid.before_delivery = hook(grid)
    if flavour == "legacy":
        return run_legacy(grid, n, rounds, settings)
    return run_message(grid, rounds, settings)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("n, settings", [(3, SMALL), (12, DEFAULT)])
def test_round_releases_the_weighted_mean_of_all_nodes(flavour, n, settings, tmp_path):
    """Without dropouts, two rounds each release global + the weighted mean update of all n."""
    run = _run(flavour, n, 2, settings, tmp_path)
    for r in (1, 2):
        assert set(run.outcomes[r - 1].survivors) == {FIRST_NODE + p for p in range(n)}
        assert_aggregate(run, r, settings)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("n, settings", [(3, SMALL), (10, DEFAULT)])
@pytest.mark.parametrize("stage", ["R0", "R1", "R2", "R4"])
def test_a_node_vanishing_at_any_stage_costs_only_its_contribution(
    flavour, n, settings, stage, tmp_path
):
    """A node killed at a stage (still listed) is left out iff it had not uploaded; exact mean."""
    victim = FIRST_NODE + 1
    run = _run(flavour, n, 2, settings, tmp_path, hook=lambda g: vanish_at(g, {victim: (1, stage)}))
    first, second = run.outcomes
    assert first.completed, first.reason
    everyone = {FIRST_NODE + p for p in range(n)}
    if stage == "R4":  # its masked vector was already folded in: it stays in the sum
        assert set(first.survivors) == everyone
    else:
        assert set(first.survivors) == everyone - {victim}
        assert first.dropped[victim].startswith(stage)
    assert_aggregate(run, 1, settings)
    # Round 2 samples the dead node again (still listed): it vanishes before sharing keys.
    assert second.completed, second.reason
    assert set(second.survivors) == everyone - {victim}
    assert second.dropped[victim].startswith("R0")
    assert_aggregate(run, 2, settings)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_several_dropouts_at_different_stages_within_the_plan(flavour, tmp_path):
    """Two of ten nodes vanish (before sharing keys, before uploading): exact mean of eight."""
    victims = {FIRST_NODE + 2: (1, "R1"), FIRST_NODE + 7: (1, "R2")}
    run = _run(flavour, 10, 1, DEFAULT, tmp_path, hook=lambda g: vanish_at(g, victims))
    assert set(run.outcomes[0].survivors) == {FIRST_NODE + p for p in range(10)} - set(victims)
    assert_aggregate(run, 1, DEFAULT)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_too_few_survivors_fail_the_round_and_keep_the_model(flavour, tmp_path, caplog):
    """Three of ten uploads lost (n_min = 8): logged failure, model unchanged, next round fine."""
    lost = {FIRST_NODE + p for p in (1, 4, 6)}
    app = legacy_app() if flavour == "legacy" else message_app()
    grid = make_grid(app, 10, tmp_path)
    rounds: dict[int, int] = {}

    def lose(nid, reply):
        return None if nid in lost and rounds.get(nid) == 1 and _is_stage(reply, "R2") else reply

    def count(nid, message):
        if stage_of(message) == "R0":
            rounds[nid] = rounds.get(nid, 0) + 1

    grid.after_reply = lose
    grid.before_delivery = count
    with caplog.at_level(logging.ERROR, logger="flwr"):
        run = (
            run_legacy(grid, 10, 2, DEFAULT)
            if flavour == "legacy"
            else run_message(grid, 2, DEFAULT)
        )
    first, second = run.outcomes
    assert not first.completed and "n_min" in (first.reason or "")
    assert any("secagg round 1 failed, the model is unchanged" in r.message for r in caplog.records)
    for before, after in zip(run.globals_[0], run.globals_[1], strict=True):
        assert np.array_equal(before, after)
    assert second.completed and len(second.survivors) == 10
    assert_aggregate(run, 2, DEFAULT)


def _is_stage(reply, stage: str) -> bool:
    return not reply.has_error() and reply.content.config_records["secagg"]["stage"] == stage


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_node_whose_training_fails_never_joins(flavour, tmp_path):
    """A node whose training raises answers R0 with an error and is left out; exact mean."""
    run = _run(flavour, 10, 1, DEFAULT, tmp_path, extra={3: {"fail-training": True}})
    outcome = run.outcomes[0]
    assert FIRST_NODE + 3 not in outcome.survivors
    assert outcome.dropped[FIRST_NODE + 3].startswith("R0: error reply")
    assert_aggregate(run, 1, DEFAULT)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_messages_and_replies_delivered_twice_are_removed(flavour, tmp_path):
    """Every request and reply delivered twice: a node answers a repeat with the same
    bytes (without its state machine), nobody is dropped, the mean is exact."""
    app = legacy_app() if flavour == "legacy" else message_app()
    grid = make_grid(app, 10, tmp_path)
    grid.deliver_twice = True
    grid.reply_twice = True
    replies: dict[tuple[int, str], list] = {}

    def keep(nid, reply):
        assert not reply.has_error(), reply.error.reason
        stage = reply.content.config_records["secagg"]["stage"]
        record = dict(reply.content.config_records["secagg"])
        arrays = reply.content.array_records.get("secagg.arrays")
        record.update({k: v.data for k, v in (arrays or {}).items()})
        replies.setdefault((nid, stage), []).append(record)
        return reply

    grid.after_reply = keep
    run = run_legacy(grid, 10, 1, DEFAULT) if flavour == "legacy" else run_message(grid, 1, DEFAULT)
    assert len(run.outcomes[0].survivors) == 10 and not run.outcomes[0].dropped
    assert_aggregate(run, 1, DEFAULT)
    assert len(replies) == 40
    assert all(len(pair) == 2 and pair[0] == pair[1] for pair in replies.values())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_node_that_left_is_not_sampled_next_round(flavour, tmp_path):
    """A node that disconnects after round 1 is not sampled; round 2 runs with the rest."""
    app = legacy_app() if flavour == "legacy" else message_app()
    grid = make_grid(app, 4, tmp_path)
    calls = {"n": 0}

    def leave_after_round_one(nid, message):
        if stage_of(message) == "R0":
            calls["n"] += 1
            if calls["n"] == 5:  # the first R0 of round 2
                grid.leave(FIRST_NODE + 3)

    grid.before_delivery = leave_after_round_one
    run = run_legacy(grid, 3, 2, SMALL) if flavour == "legacy" else run_message(grid, 2, SMALL)
    assert run.outcomes[0].completed and run.outcomes[1].completed
    assert_aggregate(run, 2, SMALL)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_fewer_than_three_nodes_is_a_logged_failure(flavour, tmp_path, caplog):
    """Two sampled nodes cannot run a session: the round fails explicitly, model unchanged."""
    with caplog.at_level(logging.ERROR, logger="flwr"):
        run = _run(flavour, 2, 1, DEFAULT, tmp_path)
    assert not run.outcomes[0].completed
    assert "at least 3 nodes" in (run.outcomes[0].reason or "")
    for before, after in zip(run.globals_[0], run.globals_[1], strict=True):
        assert np.array_equal(before, after)

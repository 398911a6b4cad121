"""The demo's comparison of aggregation paths (``python -m fl --aggregator ...``).

Every named path runs on the same configuration, hence the same seed, data
split, client sampling, local training and dropout schedule, under audit.
Every path reads the schedule with one rule (:mod:`fl.boundary`: a client
stopping before R2 sends nothing; one stopping later is in the sum), so the
survivor sets agree except where masking itself aborts a round. The plain
baseline then replays the first path's survivor sets. For each path this
prints its set-up, the per-round table and what its servers held; then one
comparison table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TextIO

from .config import FLConfig
from .federation import RunResult
from .paths import PathOptions, choose
from .report import comparison_table, epsilon_note, held_audit, masking_audit, round_table

__all__ = ["run_comparison"]

#: Runs one federated training: (config, progress label, run_federated's keywords).
RunFn = Callable[..., RunResult]


def run_comparison(
    cfg: FLConfig, names: Sequence[str], options: PathOptions, out: TextIO, run: RunFn
) -> list[tuple[str, RunResult]]:
    """Run every named path and the plain baseline, printing each and the comparison.

    Args:
        cfg: The run's configuration (the same for every path).
        names: The paths to run, in order (see :data:`fl.paths.AGGREGATORS`).
        options: The paths' parameters (key size, committee, servers).
        out: Where the reports go.
        run: Runs one training, given (cfg, label, **run_federated keywords).

    Returns:
        (label, run) per path, then the plain baseline's.

    Raises:
        SecAggError: A path refuses its parameters (key size, n_min, C, S)
            or a run fails.
    """
    runs: list[tuple[str, RunResult]] = []
    for name in names:
        choice = choose(name, options)
        result = run(cfg, name, audit=True, aggregator=choice.factory)
        out.write(f"\n== {name} ==\n{choice.describe(result.plan)}\n")
        if result.dp is not None:
            out.write(f"DP: {result.dp.description}; {epsilon_note(result)}\n")
        round_table(result, out)
        aborted = sum(1 for r in result.records if r.aborted)
        out.write(f"aborted rounds: {aborted} of {len(result.records)}\n")
        if name == "masking":
            masking_audit(result, out)
        else:
            held_audit(result, out)
        runs.append((name, result))
    schedule = runs[0][1].survivor_schedule
    plain_cfg = replace(cfg, dp="none")
    plain = run(plain_cfg, "plain", secure=False, audit=True, survivor_schedule=schedule)
    runs.append(("plain (insecure)", plain))
    out.write(
        "\nComparison (same seed, data and dropout schedule; the plain baseline replays "
        f"{names[0]}'s survivors)\n"
    )
    comparison_table(runs, out)
    return runs

"""The demo's printed reports: per-round tables, what the servers held, the comparison.

:func:`round_table` and :func:`masking_audit` print the default demo's
table and audit; :func:`held_audit` prints the audit of a Paillier or
multi-server run; :func:`comparison_table` the side-by-side summary of
several aggregators' runs. Every function writes to a text stream and
returns nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TextIO

from .federation import RunResult

__all__ = [
    "round_table",
    "masking_audit",
    "held_audit",
    "comparison_table",
    "epsilon_note",
    "verdict",
]


def round_table(run: RunResult, out: TextIO) -> None:
    """The per-round table: accuracy, loss, survivors, time, bytes, clipping (and epsilon)."""
    out.write(
        f"{'round':>5} {'accuracy':>8} {'loss':>7} {'survivors':>9} {'dropped':>7} "
        f"{'agg ms':>8} {'upload B/client':>15} {'clipped':>7}"
        + (f" {'epsilon':>8}" if run.epsilon is not None else "")
        + "\n"
    )
    for r in run.records:
        line = (
            f"{r.round:>5} {r.accuracy:>8.3f} {r.loss:>7.3f} {r.survivors:>9} {r.dropped:>7} "
            f"{1000 * r.agg_time:>8.1f} {r.upload_bytes:>15.0f} {100 * r.clipped_fraction:>6.2f}%"
        )
        if r.epsilon is not None:
            line += f" {r.epsilon:>8.3f}"
        if r.aborted:
            line += f"  ABORTED: {r.aborted}"
        out.write(line + "\n")


def masking_audit(run: RunResult, out: TextIO) -> None:
    """What the masking server held: uniformity of the masked vectors, rebuilt secrets, verdict."""
    a = run.audit
    if a is None:
        return
    cfg = run.session_config
    stat, p = a.chi_square()
    pstat, pp = a.chi_square(a.plain_top_counts)
    # Largest |r| among N independent pairs of m uniform words is about sqrt(2 ln 2N / m).
    chance = math.sqrt(2 * math.log(2 * max(a.vectors, 1)) / cfg.m)
    out.write("\nWhat the server held (audit over all rounds)\n")
    out.write(
        f"  masked vectors received: {a.vectors} of {cfg.m} words in Z_2^{cfg.b}\n"
        f"  uniformity of the top 4 bits of the masked words: chi-square {stat:.1f} "
        f"(15 dof), p-value {p:.3f}\n"
        f"  same statistic on the unmasked encoded updates (never sent): chi-square "
        f"{pstat:.0f}, p-value {pp:.1e}\n"
        f"  largest |Pearson r| between a masked vector and its client's true encoded "
        f"update: {a.max_abs_corr:.3f} (chance level for {a.vectors} pairs ~ {chance:.3f})\n"
    )
    total_self = sum(a.self_mask.values())
    out.write(
        f"  reconstructed self-mask seeds b_u: {total_self} (one per survivor per round: "
        "removing a survivor's self mask needs its b_u; its masking key stays secret)\n"
    )
    pairs = [(r, u, rnd) for r, lst in sorted(a.pairwise.items()) for u, rnd in lst]
    if pairs:
        out.write(
            f"  reconstructed pairwise masking keys s_u^SK: {len(pairs)} (clients that shared "
            "keys in R1 but sent no masked input, so the survivors' pairwise masks with them "
            "had to be cancelled):\n"
        )
        for r, u, rnd in pairs[:12]:
            out.write(f"    round {r + 1}: client {u} (dropped before {rnd})\n")
        if len(pairs) > 12:
            out.write(f"    ... and {len(pairs) - 12} more\n")
    else:
        out.write(
            "  reconstructed pairwise masking keys s_u^SK: none (no client dropped "
            "between sharing keys and sending its masked input)\n"
        )
    if a.both_secrets or a.self_mask_outside_u3:
        out.write(
            f"  WARNING: both secrets rebuilt for (round, client) {a.both_secrets[:8]}; "
            f"self-mask seeds rebuilt outside U3 for {a.self_mask_outside_u3[:8]}\n"
        )
    else:
        out.write(
            "  checked: no client had both its self-mask seed and its masking key rebuilt in "
            "any round, and every rebuilt self-mask seed belongs to a survivor\n"
        )
    kinds = sorted({h.description for h in a.held})
    problems = a.problems()
    out.write(
        f"  the server held, as its aggregator declared: {'; '.join(kinds)}; audit verdict: "
        + ("private (every check passed)\n" if not problems else "NOT private:\n")
    )
    for problem in problems[:8]:
        out.write(f"    {problem}\n")


def epsilon_note(run: RunResult) -> str:
    """ε at the δ asked for, and the δ of the whole guarantee beside it."""
    assert run.dp is not None
    if run.epsilon is None:
        return "no round released, nothing charged"
    return (
        f"epsilon {run.epsilon:.3f} at delta {run.dp.delta:g}, i.e. "
        f"({run.epsilon:.3f}, {run.dp.delta_total:.10g})-DP"
    )


def _chance(vectors: int, m: int) -> float:
    # Largest |r| among N independent pairs of m uniform words is about sqrt(2 ln 2N / m).
    return math.sqrt(2 * math.log(2 * max(vectors, 1)) / m)


def verdict(run: RunResult) -> str:
    """The audit's one-word verdict: private, NOT private, or not audited."""
    if run.audit is None:
        return "not audited"
    return "private" if run.audit.private else "NOT private"


def held_audit(run: RunResult, out: TextIO) -> None:
    """What a Paillier or multi-server run's servers held, and the audit's checks."""
    a = run.audit
    if a is None:
        return
    cfg = run.session_config
    out.write("\nWhat the servers held (audit over all rounds)\n")
    for kind in sorted({h.description for h in a.held}):
        out.write(f"  as the aggregator declared: {kind}\n")
    uploads = sum(r.survivors for r in run.records)
    if a.vectors:
        stat, p = a.chi_square()
        pstat, pp = a.chi_square(a.plain_top_counts)
        out.write(
            f"  per-client vectors declared uniform, received: {a.vectors} of {cfg.m} words in "
            f"Z_2^{cfg.b}\n"
            f"  uniformity of their top 4 bits: chi-square {stat:.1f} (15 dof), p-value {p:.3f}\n"
            f"  same statistic on the encoded updates themselves (never sent): chi-square "
            f"{pstat:.0f}, p-value {pp:.1e}\n"
            f"  largest |Pearson r| between such a vector and its client's true encoded update: "
            f"{a.max_abs_corr:.3f} (chance level for {a.vectors} pairs ~ "
            f"{_chance(a.vectors, cfg.m):.3f})\n"
        )
    else:
        out.write(
            f"  {uploads} uploads over the run, none of them a vector of ring words (ciphertexts "
            "are not uniform words of Z_2^b, so no uniformity test applies)\n"
        )
    if a.releases:
        counts = ", ".join(f"{party}: {count}" for party, count in sorted(a.releases.items()))
        out.write(
            f"  aggregates decrypted or released, per party: {counts} (of {len(run.records)} "
            f"rounds); checked: each over exactly its round's survivors, and at least "
            f"n_min = {cfg.n_min} of them\n"
        )
    problems = a.problems()
    out.write(
        "  checked: every released sum is the survivors' exact sum, and no server held an "
        "update in the clear; audit verdict: "
        + ("private (every check passed)\n" if not problems else "NOT private:\n")
    )
    for problem in problems[:8]:
        out.write(f"    {problem}\n")


def comparison_table(runs: Sequence[tuple[str, RunResult]], out: TextIO) -> None:
    """One line per run: final accuracy and loss, time per round, bytes, aborts, verdict."""
    out.write(
        f"  {'aggregator':<20} {'accuracy':>8} {'loss':>7} {'ms/round':>9} "
        f"{'upload B/client':>15} {'aborted':>7} {'run s':>7}  audit\n"
    )
    for label, run in runs:
        recs = run.records
        ms = 1000 * sum(r.agg_time for r in recs) / max(len(recs), 1)
        upload = sum(r.upload_bytes for r in recs) / max(len(recs), 1)
        aborted = sum(1 for r in recs if r.aborted)
        out.write(
            f"  {label:<20} {run.final_accuracy:>8.3f} {run.final_loss:>7.3f} {ms:>9.1f} "
            f"{upload:>15.0f} {aborted:>7} {run.wall_time:>7.1f}  {verdict(run)}\n"
        )
    out.write("  what the server(s) held, as each aggregator declared:\n")
    for label, run in runs:
        kinds = sorted({h.description for h in run.audit.held}) if run.audit else []
        out.write(f"    {label}: {'; '.join(kinds) if kinds else 'not audited'}\n")

"""The audit of a simulated run: what the server held, checked against what was declared.

:meth:`Audit.tap` wraps a round's aggregator. The wrapper keeps a copy of
the true encoded words (simulation instrumentation: a deployment has no
such copy, and it never reaches the server object), passes the updates on,
and folds the aggregator's :class:`~fl.boundary.RoundOutcome` into the
audit, which then checks, round by round:

* what the server held, as declared (:class:`~fl.boundary.ServerHeld`): a
  server that held any update in the clear makes the run not private;
* that the released sum is exactly the sum of the survivors' true words;
* where uniform per-client vectors are declared (masking), that they were
  kept for the audit, that none equals its client's true words, and, over
  the run, that their top 4 bits pass a chi-square test of uniformity
  (p >= :data:`UNIFORMITY_ALPHA`) while the plain words, for contrast,
  do not need to;
* where secrets were rebuilt (masking), that no client had both its
  self-mask seed and its masking key rebuilt in one round and that every
  rebuilt self-mask seed belongs to a survivor;
* where a party other than the aggregation server decrypted or released an
  aggregate (the Paillier key holder or committee members, each
  multi-server server), that each did so over exactly the round's
  survivors, and over at least n_min of them.

:attr:`Audit.private` is True only if every check passed in every round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from secagg.encoding import EncodedUpdate, UpdateReusedError

from .boundary import Aggregator, RoundOutcome, ServerHeld

__all__ = ["Audit", "AuditTap", "UNIFORMITY_ALPHA"]

#: The masked words fail the audit when their uniformity test gives a p-value
#: below this (a run of truly uniform words fails with this probability).
UNIFORMITY_ALPHA = 1e-6


def _top_counts(words: np.ndarray, bits: int) -> np.ndarray:
    shift = np.uint64(max(bits - 4, 0))
    top = (np.asarray(words).astype(np.uint64) >> shift).astype(np.int64)
    return np.bincount(top, minlength=16)[:16]


def _sum_findings(r: int, outcome: RoundOutcome, inputs: Mapping[int, np.ndarray]) -> list[str]:
    """A released sum must be exactly the survivors' sum mod 2^b."""
    if outcome.sum is None:
        return []
    cfg = outcome.config
    want = np.zeros(cfg.m, dtype=np.uint64)
    for u in outcome.survivors:
        want += np.asarray(inputs[u]).astype(np.uint64)
    if cfg.b < 64:
        want &= np.uint64((1 << cfg.b) - 1)
    if np.array_equal(np.asarray(outcome.sum).astype(np.uint64), want):
        return []
    return [
        f"round {r + 1}: the released sum is not the sum of the {len(outcome.survivors)} "
        "survivors' encoded updates"
    ]


def _release_findings(r: int, outcome: RoundOutcome) -> list[str]:
    """Each party's one aggregate must cover exactly the survivors, and at least n_min."""
    n_min = outcome.config.n_min
    out = []
    for party, members in sorted(outcome.releases.items()):
        if members != outcome.survivors:
            out.append(
                f"round {r + 1}: {party} released an aggregate over clients "
                f"{sorted(members)[:8]}, not over the round's survivors"
            )
        if len(members) < n_min:
            out.append(
                f"round {r + 1}: {party} released an aggregate over {len(members)} clients, "
                f"fewer than n_min = {n_min}"
            )
    return out


@dataclass
class Audit:
    """What the server held over a run, and the checks on it.

    Attributes:
        held: Per round, what the server held (the outcome's declaration).
        findings: Every failed check, one sentence each (empty: all passed).
        top_counts: Counts of the top 4 bits of every uniform-declared word
            the server received.
        plain_top_counts: The same over the clients' true encoded words (what
            the server would have seen without masking), for contrast.
        max_abs_corr: Largest |Pearson r| between a received vector and its
            client's true words.
        vectors: Uniform-declared vectors folded in.
        self_mask: Round -> number of self-mask seeds b_u rebuilt.
        pairwise: Round -> (client, round it dropped before) per masking key
            s_u^SK rebuilt.
        both_secrets: (round, client) with both secrets rebuilt (must stay empty).
        self_mask_outside_u3: (round, client) with b_u rebuilt outside U3
            (must stay empty).
        releases: Party -> aggregates it decrypted or released over the run.
    """

    held: list[ServerHeld] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    top_counts: np.ndarray = field(default_factory=lambda: np.zeros(16, dtype=np.int64))
    plain_top_counts: np.ndarray = field(default_factory=lambda: np.zeros(16, dtype=np.int64))
    max_abs_corr: float = 0.0
    vectors: int = 0
    self_mask: dict[int, int] = field(default_factory=dict)
    pairwise: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    both_secrets: list[tuple[int, int]] = field(default_factory=list)
    self_mask_outside_u3: list[tuple[int, int]] = field(default_factory=list)
    releases: dict[str, int] = field(default_factory=dict)

    def tap(self, inner: Aggregator) -> AuditTap:
        """Wrap one round's aggregator so that its outcome is audited."""
        return AuditTap(inner, self)

    @property
    def private(self) -> bool:
        """True if at least one round was audited and every check passed."""
        return bool(self.held) and not self.problems()

    def problems(self) -> list[str]:
        """The per-round findings plus the run-wide uniformity test."""
        out = list(self.findings)
        if self.vectors:
            stat, p = self.chi_square()
            if p < UNIFORMITY_ALPHA:
                out.append(
                    f"the top 4 bits of the {self.vectors} vectors declared uniform fail the "
                    f"uniformity test: chi-square {stat:.1f}, p-value {p:.1e} < "
                    f"{UNIFORMITY_ALPHA:g}"
                )
        return out

    def chi_square(self, counts: np.ndarray | None = None) -> tuple[float, float]:
        """Chi-square statistic (15 dof) and p-value of uniformity of the top bits."""
        # scipy is an optional dependency (the demo and test extras bring it),
        # needed only when an audit is reported.
        from scipy.stats import chi2

        c = self.top_counts if counts is None else counts
        total = c.sum()
        if total == 0:
            return float("nan"), float("nan")
        exp = total / c.size
        stat = float(((c - exp) ** 2 / exp).sum())
        return stat, float(chi2.sf(stat, c.size - 1))

    def add(self, outcome: RoundOutcome, inputs: Mapping[int, np.ndarray]) -> None:
        """Fold one round in and check it.

        Args:
            outcome: What the server held after the round.
            inputs: Session id -> that client's true encoded words (the tap's copy).
        """
        r = len(self.held)
        self.held.append(outcome.held)
        if outcome.held.updates_in_clear:
            self.findings.append(f"round {r + 1}: the server held {outcome.held.description}")
        self.findings += _sum_findings(r, outcome, inputs)
        if outcome.held.uniform_words:
            self._fold_uniform(r, outcome, inputs)
        self._check_rebuilt(r, outcome)
        for party in outcome.releases:
            self.releases[party] = self.releases.get(party, 0) + 1
        self.findings += _release_findings(r, outcome)

    def _fold_uniform(
        self, r: int, outcome: RoundOutcome, inputs: Mapping[int, np.ndarray]
    ) -> None:
        if outcome.received is None:
            self.findings.append(
                f"round {r + 1}: the server held {outcome.held.description}, declared uniform, "
                "but none were kept for the audit"
            )
            return
        bits = outcome.config.b
        for sid, y in outcome.received.items():
            self.top_counts += _top_counts(y, bits)
            self.vectors += 1
            if sid not in inputs:
                continue
            x = np.asarray(inputs[sid])
            self.plain_top_counts += _top_counts(x, bits)
            if np.array_equal(np.asarray(y).astype(np.uint64), x.astype(np.uint64)):
                self.findings.append(
                    f"round {r + 1}: client {sid}'s vector, declared uniform, is its update"
                )
            xf, yf = x.astype(np.float64), np.asarray(y).astype(np.float64)
            if xf.std() > 0 and yf.std() > 0:
                corr = abs(float(np.corrcoef(xf, yf)[0, 1]))
                self.max_abs_corr = max(self.max_abs_corr, corr)

    def _check_rebuilt(self, r: int, outcome: RoundOutcome) -> None:
        rec = outcome.reconstructed
        if not rec:
            return
        selfs = {int(u) for u in rec.get("self_mask", ())}
        pairs = {int(u) for u in rec.get("pairwise", ())}
        self.self_mask[r] = len(selfs)
        both = [(r, u) for u in sorted(selfs & pairs)]
        outside = [(r, u) for u in sorted(selfs - set(outcome.survivors))]
        self.both_secrets += both
        self.self_mask_outside_u3 += outside
        self.pairwise[r] = [
            (int(u), str(outcome.dropped.get(u, "?"))) for u in rec.get("pairwise", ())
        ]
        if both:
            self.findings.append(
                f"round {r + 1}: both secrets of clients {[u for _, u in both]} were rebuilt"
            )
        if outside:
            self.findings.append(
                f"round {r + 1}: self-mask seeds of clients {[u for _, u in outside]} outside "
                "U3 were rebuilt"
            )


@dataclass(frozen=True)
class AuditTap:
    """An aggregator wrapped for the audit (simulation instrumentation only).

    It takes every update's words, keeps a copy for the audit, and hands the
    inner aggregator fresh single-use updates with the same words, so the
    inner aggregator's own checks still run; the copy goes to the audit, not
    to the server.

    Attributes:
        inner: The round's aggregator.
        audit: The audit the outcome goes to.
    """

    inner: Aggregator
    audit: Audit

    @property
    def held(self) -> ServerHeld:
        """What the inner aggregator declares."""
        return self.inner.held

    def aggregate(
        self, encoded: Mapping[int, EncodedUpdate], dropouts: Mapping[int, str]
    ) -> RoundOutcome:
        """Run the inner aggregator and audit its outcome.

        A refused round (the inner aggregator raises) consumes the updates
        here, unlike a bare aggregator: the copy had to be taken first.

        Raises:
            UpdateReusedError: If an update was already used (nothing is consumed).
            InvalidInputError: As the inner aggregator.
        """
        reused = sorted(sid for sid, enc in encoded.items() if enc.used)
        if reused:
            raise UpdateReusedError(
                f"the encoded updates of clients {reused[:8]} were already submitted to a "
                "session; a retried round must re-encode them"
            )
        passed: dict[int, EncodedUpdate] = {}
        copies: dict[int, np.ndarray] = {}
        for sid, enc in encoded.items():
            words = enc.take()
            copies[sid] = words.copy()
            passed[sid] = EncodedUpdate(
                words, enc.bits, enc.weight, enc.clipped_fraction, enc.norm_clipped, enc.n_max
            )
        outcome = self.inner.aggregate(passed, dropouts)
        if outcome.held != self.inner.held:
            self.audit.findings.append(
                f"round {len(self.audit.held) + 1}: the aggregator declares "
                f"{self.inner.held.description!r} but returned {outcome.held.description!r}"
            )
        self.audit.add(outcome, copies)
        return outcome

"""The aggregation paths a run can use, by name, and their per-run set-up.

``masking`` (secure aggregation, one protocol session per round),
``paillier`` (packed Paillier with a key holder), ``threshold-paillier``
(packed Paillier with a t-of-w committee) and ``multiserver`` (additive
shares across S servers). :func:`parse_aggregators` reads the demo's
``--aggregator`` value; :func:`choose` makes one path's factory for one run
(for the Paillier paths that generates the key once, which takes a second
or two at 2048 bits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from secagg.exceptions import InvalidInputError
from secagg.paillier.keys import MIN_MODULUS_BITS
from secagg.protocol.runner import MAX_WORKERS

from .aggregators import masking_round
from .boundary import AggregatorFactory
from .multiserver import multiserver_round
from .paillier_runs import PaillierRounds, ThresholdPaillierRounds
from .plan import SessionPlan

__all__ = ["AGGREGATORS", "PathOptions", "Choice", "parse_aggregators", "choose"]

#: Every aggregation path, in the order ``all`` runs them.
AGGREGATORS = ("masking", "paillier", "threshold-paillier", "multiserver")


@dataclass(frozen=True)
class PathOptions:
    """The paths' own parameters (validated on construction).

    Attributes:
        paillier_bits: Modulus length of the Paillier keys.
        insecure_testing: Allow Paillier keys below 2048 bits (tests only).
        committee_size: w, members of the threshold committee.
        committee_threshold: t, members needed to decrypt (t > w / 2).
        servers: S, servers of multi-server sharing.
        workers: Processes that run the masking path's clients each round
            (the other paths run in one process and ignore it).
    """

    paillier_bits: int = MIN_MODULUS_BITS
    insecure_testing: bool = False
    committee_size: int = 5
    committee_threshold: int = 3
    servers: int = 2
    workers: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise InvalidInputError(
                f"workers must lie in 1..{MAX_WORKERS} (processes running the masking "
                f"clients), got {self.workers}"
            )
        if self.paillier_bits < MIN_MODULUS_BITS and not self.insecure_testing:
            raise InvalidInputError(
                f"a {self.paillier_bits}-bit Paillier key is insecure; keys below "
                f"{MIN_MODULUS_BITS} bits need the explicit insecure testing flag "
                "(--insecure-test-keys), for tests only"
            )
        if not 2 <= self.servers <= 255:
            raise InvalidInputError(
                f"multi-server sharing needs 2..255 servers, got {self.servers}"
            )
        w, t = self.committee_size, self.committee_threshold
        if not 1 <= w <= 255 or not w / 2 < t <= w:
            raise InvalidInputError(
                f"a t-of-w committee needs w / 2 < t <= w <= 255 (two disjoint groups of t "
                f"members could otherwise each decrypt a different aggregate), got "
                f"t = {t}, w = {w}"
            )


@dataclass(frozen=True)
class Choice:
    """One path, set up for one run.

    Attributes:
        name: The path's name (one of :data:`AGGREGATORS`).
        factory: Builds each round's aggregator.
        describe: One line on the path's set-up for a plan (keys, packing, servers).
    """

    name: str
    factory: AggregatorFactory
    describe: Callable[[SessionPlan], str]


def parse_aggregators(text: str) -> tuple[str, ...]:
    """The paths named by ``text``: ``all``, or a comma-separated list of names.

    Raises:
        InvalidInputError: An unknown or repeated name, or an empty list.
    """
    if text.strip() == "all":
        return AGGREGATORS
    names = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in names if name not in AGGREGATORS]
    if unknown or not names:
        raise InvalidInputError(
            f"unknown aggregator {unknown[0]!r}: choose 'all' or a comma-separated list of "
            f"{', '.join(AGGREGATORS)}"
        )
    if len(set(names)) != len(names):
        raise InvalidInputError(f"the aggregator list {text!r} names a path twice")
    return names


def _masking_note(plan: SessionPlan) -> str:
    c = plan.config
    graph = "complete" if c.k == c.n - 1 else "sparse"
    return (
        f"secure aggregation by masking: n={c.n} k={c.k} t={c.t} c={c.c} n_min={c.n_min} "
        f"b={c.b} m={c.m} ({graph} graph)"
    )


def choose(name: str, options: PathOptions, *, record: bool = True) -> Choice:
    """Set up one path for one run (Paillier keys are generated here, once).

    Args:
        name: One of :data:`AGGREGATORS`.
        options: The paths' parameters.
        record: Keep the per-client vectors declared uniform, for the audit.

    Raises:
        InvalidInputError: An unknown name, or parameters the path refuses.
    """
    if name == "masking":
        factory = partial(masking_round, record=record, workers=options.workers)
        return Choice(name, factory, _masking_note)
    if name == "paillier":
        keyed = PaillierRounds(
            bits=options.paillier_bits, insecure_testing=options.insecure_testing
        )
        return Choice(name, keyed, keyed.describe)
    if name == "threshold-paillier":
        dealt = ThresholdPaillierRounds(
            bits=options.paillier_bits,
            holders=options.committee_size,
            threshold=options.committee_threshold,
            insecure_testing=options.insecure_testing,
        )
        return Choice(name, dealt, dealt.describe)
    if name == "multiserver":
        s = options.servers

        def note(plan: SessionPlan) -> str:
            c = plan.config
            return (
                f"additive shares across S = {s} servers (server {s - 1} receives the "
                f"correction vectors); n_min = {c.n_min}, C = {plan.colluders}, b = {c.b}, "
                f"m = {c.m}"
            )

        return Choice(name, partial(multiserver_round, servers=s, record=record), note)
    raise InvalidInputError(f"unknown aggregator {name!r}: choose one of {', '.join(AGGREGATORS)}")

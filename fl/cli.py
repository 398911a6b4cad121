"""The demo: ``python -m fl`` (run by ``make demo``).

Trains softmax regression (or an MLP) on the vendored UCI digits split over
non-IID clients, with every round's updates summed by secure aggregation
under random dropouts, then shows what the server held, compares with plain
(insecure) FedAvg on the same seed and survivor schedule, runs secure
aggregation with distributed DP, and writes plots. The last line printed is
the final test accuracy of secure and plain FedAvg and their difference.

With ``--aggregator`` (``all``, or a comma-separated list of masking,
paillier, threshold-paillier, multiserver) it compares those aggregation
paths instead (:mod:`fl.compare`): each on the same seed and dropout
schedule, with what its servers held, then the plain baseline and a
comparison table; the last line lists every run's final test accuracy.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from secagg.exceptions import SecAggError
from secagg.protocol.vocabulary import ROUNDS

from .boundary import AggregatorFactory
from .compare import run_comparison
from .config import FLConfig
from .federation import RunResult, run_federated
from .paths import AGGREGATORS, PathOptions, choose, parse_aggregators
from .plots import plot_accuracy, plot_round_time
from .progress import RunProgress
from .report import epsilon_note, masking_audit, round_table
from .training import LocalConfig

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The demo's command-line interface: every option says what it does and its default."""
    p = argparse.ArgumentParser(
        prog="python -m fl",
        description="Federated learning on UCI digits with secure aggregation (secagg).",
        epilog="Progress goes to stderr: a bar per run on a terminal (with tqdm, the demo "
        "extra), otherwise one summary line per run. Tables go to stdout.",
    )
    p.add_argument("--clients", type=int, default=20, help="number of clients (default: 20)")
    p.add_argument("--rounds", type=int, default=30, help="federated rounds (default: 30)")
    p.add_argument(
        "--sample-fraction",
        type=float,
        default=1.0,
        help="fraction of the clients sampled into each round's session (default: 1.0)",
    )
    p.add_argument(
        "--dropout",
        type=float,
        default=0.1,
        help="probability that a sampled client drops out of a round (default: 0.1)",
    )
    p.add_argument(
        "--dropout-at",
        default="random",
        choices=["random", *ROUNDS],
        help="protocol round before which a dropping client stops; random picks one per "
        "dropout, R3 only in active mode (default: random)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=0.5,
        help="Dirichlet label skew, lower is more non-IID (default: 0.5)",
    )
    p.add_argument(
        "--dataset",
        choices=["digits", "synthetic"],
        default="digits",
        help="vendored UCI digits, or synthetic Gaussian blobs (default: digits)",
    )
    p.add_argument(
        "--model",
        choices=["softmax", "mlp"],
        default="softmax",
        help="softmax regression or a one-hidden-layer MLP (default: softmax)",
    )
    p.add_argument("--hidden", type=int, default=32, help="MLP hidden units (default: 32)")
    p.add_argument(
        "--strategy",
        choices=["fedavg", "fedprox", "fednova"],
        default="fedavg",
        help="server strategy; the DP comparison run uses fedavg in place of fednova "
        "(default: fedavg)",
    )
    p.add_argument("--prox-mu", type=float, default=0.01, help="FedProx mu (default: 0.01)")
    p.add_argument("--epochs", type=int, default=2, help="local epochs (default: 2)")
    p.add_argument("--batch-size", type=int, default=16, help="local batch size (default: 16)")
    p.add_argument("--lr", type=float, default=0.3, help="local learning rate (default: 0.3)")
    p.add_argument(
        "--mode",
        choices=["semi_honest", "active"],
        default="semi_honest",
        help="protocol mode: semi_honest, or active (signed messages, consistency check, "
        "complete graph) (default: semi_honest)",
    )
    p.add_argument(
        "--k", type=int, default=None, help="neighbours per client (default: the planner's)"
    )
    p.add_argument(
        "--t",
        type=int,
        default=None,
        help="Shamir threshold (default: the planner's, or the rule's for an explicit --k)",
    )
    p.add_argument(
        "--corrupt",
        metavar="RATE",
        type=float,
        default=0.0,
        help="fraction of a session's clients assumed to collude with the server; sets "
        "C = floor(rate x n), the planner's c and, in active mode, t (default: 0.0)",
    )
    p.add_argument(
        "--dp",
        choices=["none", "local", "distributed"],
        default="none",
        help="differential privacy of the main run (default: none)",
    )
    p.add_argument(
        "--dp-kind",
        choices=["skellam", "gaussian"],
        default="skellam",
        help="distributed DP noise (default: skellam)",
    )
    p.add_argument(
        "--dp-epsilon",
        type=float,
        default=None,
        help="epsilon target: over all rounds (distributed) or per round (local) "
        "(default: 10 for a DP run without --dp-noise-multiplier)",
    )
    p.add_argument(
        "--dp-noise-multiplier",
        type=float,
        default=None,
        help="distributed DP noise multiplier instead of an epsilon target "
        "(default: none, the epsilon target decides)",
    )
    p.add_argument("--dp-clip", type=float, default=0.5, help="L2 clip under DP (default: 0.5)")
    p.add_argument(
        "--dp-delta",
        type=float,
        default=1e-5,
        help="delta of the reported epsilon (default: 1e-05)",
    )
    p.add_argument(
        "--dp-rounds",
        type=int,
        default=None,
        help="rounds of the secure+DP comparison run (default: --rounds)",
    )
    p.add_argument(
        "--no-dp-run",
        action="store_true",
        help="skip the secure+DP comparison runs (default: run them)",
    )
    p.add_argument(
        "--aggregator",
        default=None,
        help="compare aggregation paths instead of the default demo: 'all' or a "
        f"comma-separated list of {', '.join(AGGREGATORS)} (default: masking only, "
        "with the plain and DP comparisons)",
    )
    p.add_argument(
        "--workers",
        metavar="N",
        type=int,
        default=1,
        help="processes that run the masking clients of each round, so that a round uses "
        "that many cores; results are the same for every count; the plain, Paillier and "
        "multi-server aggregators ignore it (default: 1)",
    )
    p.add_argument(
        "--paillier-bits",
        type=int,
        default=2048,
        help="Paillier modulus length; below 2048 needs --insecure-test-keys (default: 2048)",
    )
    p.add_argument(
        "--insecure-test-keys",
        action="store_true",
        help="allow Paillier keys below 2048 bits, insecure, for tests only (default: off)",
    )
    p.add_argument(
        "--committee-size",
        type=int,
        default=5,
        help="threshold Paillier committee w (default: 5)",
    )
    p.add_argument(
        "--committee-threshold",
        type=int,
        default=3,
        help="committee members needed to decrypt, t > w/2 (default: 3)",
    )
    p.add_argument(
        "--servers", type=int, default=2, help="servers of multi-server sharing (default: 2)"
    )
    p.add_argument("--seed", type=int, default=0, help="simulation seed (default: 0)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out/demo"),
        help="output folder for the plots (default: out/demo)",
    )
    return p


def _config(args: argparse.Namespace) -> FLConfig:
    dp_eps = args.dp_epsilon
    if args.dp != "none" and dp_eps is None and args.dp_noise_multiplier is None:
        dp_eps = 10.0
    return FLConfig(
        n_clients=args.clients,
        rounds=args.rounds,
        sample_fraction=args.sample_fraction,
        dropout=args.dropout,
        dropout_at=args.dropout_at,
        alpha=args.alpha,
        dataset=args.dataset,
        model=args.model,
        hidden=args.hidden,
        strategy=args.strategy,
        prox_mu=args.prox_mu,
        local=LocalConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr),
        mode=args.mode,
        k=args.k,
        t=args.t,
        corrupt=args.corrupt,
        dp=args.dp,
        dp_kind=args.dp_kind,
        dp_epsilon=dp_eps,
        dp_noise_multiplier=args.dp_noise_multiplier if args.dp == "distributed" else None,
        dp_clip=args.dp_clip,
        dp_delta=args.dp_delta,
        seed=args.seed,
    )


def _run(cfg: FLConfig, label: str, **kw: Any) -> RunResult:
    """One training run, its progress on stderr (:class:`fl.progress.RunProgress`)."""
    with RunProgress(label, cfg.rounds) as progress:
        result = run_federated(cfg, progress=progress.round_done, **kw)
        progress.finish(result)
    return result


def _masking(options: PathOptions, *, record: bool) -> AggregatorFactory:
    """The masking aggregator of the default demo's secure runs (with ``--workers``)."""
    return choose("masking", options, record=record).factory


def _compare(
    args: argparse.Namespace,
    cfg: FLConfig,
    names: tuple[str, ...],
    options: PathOptions,
    t0: float,
    out: TextIO,
) -> int:
    """The comparison of aggregation paths (``--aggregator``)."""
    try:
        runs = run_comparison(cfg, names, options, out, _run)
        acc_png = plot_accuracy(runs, args.out / "accuracy.png")
        time_png = plot_round_time(runs, args.out / "round_time.png")
    except SecAggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out.write(f"\nplots written to {args.out.resolve()}/ ({acc_png.name}, {time_png.name})\n")
    out.write(f"total demo time {time.perf_counter() - t0:.1f}s\n")
    finals = ", ".join(f"{label.split()[0]} {run.final_accuracy:.3f}" for label, run in runs)
    out.write(f"final test accuracy: {finals}\n")
    out.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    args = build_parser().parse_args(argv)
    out = sys.stdout
    try:
        cfg = _config(args)
        if args.dp_rounds is not None and args.dp_rounds < 1:
            raise SecAggError(f"--dp-rounds must be >= 1, got {args.dp_rounds}")
        names = () if args.aggregator is None else parse_aggregators(args.aggregator)
        options = PathOptions(
            paillier_bits=args.paillier_bits,
            insecure_testing=args.insecure_test_keys,
            committee_size=args.committee_size,
            committee_threshold=args.committee_threshold,
            servers=args.servers,
            workers=args.workers,
        )
        args.out.mkdir(parents=True, exist_ok=True)
    except (SecAggError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    out.write(
        f"secagg federated demo: {cfg.n_clients} clients, {cfg.rounds} rounds, "
        f"{cfg.strategy}, {cfg.model}, Dirichlet alpha {cfg.alpha}, dropout {cfg.dropout} "
        f"per round (at {cfg.dropout_at}), mode {cfg.mode}, seed {cfg.seed}\n"
    )
    if names:
        return _compare(args, cfg, names, options, t0, out)
    try:
        secure = _run(cfg, "masking", audit=True, aggregator=_masking(options, record=True))
        sc = secure.session_config
        out.write(
            f"\nsession config: n={sc.n} k={sc.k} t={sc.t} c={sc.c} n_min={sc.n_min} "
            f"b={sc.b} m={sc.m} ({'complete' if sc.k == sc.n - 1 else 'sparse'} graph)\n"
        )
        if secure.dp is not None:
            out.write(f"DP: {secure.dp.description}; {epsilon_note(secure)}\n")
        out.write("\nSecure aggregation, per round\n")
        round_table(secure, out)
        aborted = sum(1 for r in secure.records if r.aborted)
        planned = sc.n - sc.n_min
        out.write(
            f"aborted rounds: {aborted} of {len(secure.records)} (planned for up to {planned} "
            f"dropouts per round: a round that loses more before R2 closes releases nothing)\n"
        )
        masking_audit(secure, out)

        plain = _run(
            replace(cfg, dp="none"),
            "plain",
            secure=False,
            survivor_schedule=secure.survivor_schedule,
        )
        runs: list[tuple[str, RunResult]] = [("secure", secure), ("plain (insecure)", plain)]
        dp_run = local_run = None
        if not args.no_dp_run:
            dp_cfg = replace(
                cfg,
                rounds=args.dp_rounds or cfg.rounds,
                dp="distributed" if cfg.dp == "none" else cfg.dp,
                dp_epsilon=cfg.dp_epsilon
                if cfg.dp != "none"
                else (args.dp_epsilon or (None if args.dp_noise_multiplier else 10.0)),
                dp_noise_multiplier=args.dp_noise_multiplier
                if cfg.dp in ("none", "distributed") and args.dp_epsilon is None
                else None,
                strategy="fedavg" if cfg.strategy == "fednova" else cfg.strategy,
            )
            dp_label = f"masking + {dp_cfg.dp} DP"
            dp_run = _run(dp_cfg, dp_label, aggregator=_masking(options, record=False))
            runs.append((f"secure + {dp_cfg.dp} DP (eps {dp_run.epsilon:.2f})", dp_run))
            if dp_cfg.dp == "distributed" and dp_run.epsilon is not None:
                # The classic baseline at the same total budget: every client adds the
                # full noise itself (epsilon per round = total / rounds).
                local_cfg = replace(
                    dp_cfg,
                    dp="local",
                    dp_noise_multiplier=None,
                    dp_epsilon=dp_run.epsilon / dp_cfg.rounds,
                )
                local_run = _run(
                    local_cfg,
                    "masking + local DP baseline",
                    aggregator=_masking(options, record=False),
                )
                runs.append((f"secure + local DP (eps {local_run.epsilon:.2f})", local_run))
        out.write("\nComparison (same seed, same survivor schedule)\n")
        out.write(
            f"  secure: test accuracy {secure.final_accuracy:.3f}, loss {secure.final_loss:.3f}, "
            f"personalised accuracy ({cfg.personalise_steps} local steps) "
            f"{secure.personalised_accuracy:.3f}, {secure.wall_time:.1f}s\n"
            f"  plain:  test accuracy {plain.final_accuracy:.3f}, loss {plain.final_loss:.3f}, "
            f"personalised accuracy {plain.personalised_accuracy:.3f}, {plain.wall_time:.1f}s\n"
        )
        if dp_run is not None:
            out.write(
                f"  secure + DP ({dp_run.config.rounds} rounds; {dp_run.dp_description}): test "
                f"accuracy {dp_run.final_accuracy:.3f}, {epsilon_note(dp_run)}, "
                f"{dp_run.wall_time:.1f}s\n"
            )
        if local_run is not None:
            out.write(
                f"  secure + local DP baseline ({local_run.dp_description}): test accuracy "
                f"{local_run.final_accuracy:.3f}, {epsilon_note(local_run)}, "
                f"{local_run.wall_time:.1f}s\n"
            )
        acc_png = plot_accuracy(runs, args.out / "accuracy.png")
        time_png = plot_round_time(runs, args.out / "round_time.png")
    except SecAggError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out.write(f"\nplots written to {args.out.resolve()}/ ({acc_png.name}, {time_png.name})\n")
    out.write(f"total demo time {time.perf_counter() - t0:.1f}s\n")
    diff = secure.final_accuracy - plain.final_accuracy
    label = "secure" if cfg.dp == "none" else f"secure+{cfg.dp} DP"
    out.write(
        f"final test accuracy: {label} {secure.final_accuracy:.3f}, plain "
        f"{plain.final_accuracy:.3f}, difference {diff:+.3f}\n"
    )
    out.flush()
    return 0

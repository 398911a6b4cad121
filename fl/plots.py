"""PNG plots of federated runs (matplotlib, Agg backend: no display needed).

Each plot draws one line per labelled run, titled with the configuration of
the first run (clients, rounds, strategy, mode, k and t, dropout), its
legend outside the axes so that it never covers a curve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .federation import RoundRecord, RunResult

__all__ = [
    "TIME_DODGE",
    "accuracy_figure",
    "round_time_figure",
    "plot_accuracy",
    "plot_round_time",
    "setup_line",
]


def _pyplot() -> Any:
    # matplotlib is an optional dependency (the demo extra): imported only when
    # a plot is drawn, so that importing fl does not need it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: Runs often lie on top of each other (the secure paths release the same sum;
#: the two DP runs aggregate alike, so their round times coincide). Each run gets
#: its own hollow marker and dash pattern, and each later run is drawn above the
#: earlier ones with a thinner line and a smaller marker, so that the curve below
#: shows around it wherever two coincide.
#: Sideways spread, in rounds, between runs' points on the round-time plot.
TIME_DODGE = 0.08

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_DASHES = ("-", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 2)), (0, (1, 2)), (0, (7, 2)))


def _style(i: int, count: int, run: RunResult) -> dict[str, Any]:
    """Line style of the i-th of ``count`` runs (the plain baseline is dashed)."""
    below = count - 1 - i  # runs drawn above this one
    return {
        "marker": _MARKERS[i % len(_MARKERS)],
        "markersize": 3.5 + 1.6 * below,
        "markerfacecolor": "none",
        "linewidth": 1.0 + 0.5 * below,
        "linestyle": "--" if not run.secure else _DASHES[i % len(_DASHES)],
        "zorder": 2 + i,
    }


def setup_line(run: RunResult) -> str:
    """The configuration of a run in one line, for a plot title.

    Clients (and the session size when sampling), rounds, strategy, mode,
    the session's k and t (and c when clients are assumed corrupt), and the
    simulated dropout rate.
    """
    cfg, sc = run.config, run.session_config
    clients = f"{cfg.n_clients} clients"
    if sc.n != cfg.n_clients:
        clients += f" (n = {sc.n} per round)"
    graph = f"k = {sc.k}, t = {sc.t}" + (f", c = {sc.c}" if sc.c else "")
    return (
        f"{clients}, {cfg.rounds} rounds, {cfg.strategy}, {cfg.mode}, {graph}, "
        f"dropout {cfg.dropout:g}"
    )


def _figure(
    runs: Sequence[tuple[str, RunResult]],
    title: str,
    ylabel: str,
    values: Callable[[RoundRecord], float],
    dodge: float = 0.0,
) -> tuple[Any, Any]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.6, 4.2))
    for i, (label, run) in enumerate(runs):
        shift = dodge * (i - (len(runs) - 1) / 2)
        ax.plot(
            [r.round + shift for r in run.records],
            [values(r) for r in run.records],
            label=label,
            **_style(i, len(runs), run),
        )
    ax.set_xlabel("round")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")
    setup = setup_line(runs[0][1]) if runs else ""
    ax.set_title(f"{title}\n{setup}", fontsize="medium")
    return fig, ax


def accuracy_figure(runs: Sequence[tuple[str, RunResult]]) -> Any:
    """The matplotlib Figure of test accuracy per round, one line per labelled run."""
    data = "UCI digits" if not runs or runs[0][1].config.dataset == "digits" else "synthetic data"
    fig, ax = _figure(runs, f"Federated training on {data}", "test accuracy", lambda r: r.accuracy)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def round_time_figure(runs: Sequence[tuple[str, RunResult]]) -> Any:
    """The matplotlib Figure of aggregation time per round (ms), one line per labelled run.

    The secure runs' times nearly coincide on the log scale, so each run's
    points are shifted sideways by ``TIME_DODGE`` of a round from the next
    run's (the x axis is still the round: the shift is only for visibility).
    """
    fig, ax = _figure(
        runs,
        "Aggregation time per round",
        "aggregation time per round (ms)",
        lambda r: 1000 * r.agg_time,
        dodge=TIME_DODGE,
    )
    ax.set_xlabel("round (each run's points shifted slightly sideways, for visibility)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def plot_accuracy(runs: Sequence[tuple[str, RunResult]], path: Path) -> Path:
    """Write :func:`accuracy_figure` to ``path`` (PNG) and return it."""
    return _save(accuracy_figure(runs), path)


def plot_round_time(runs: Sequence[tuple[str, RunResult]], path: Path) -> Path:
    """Write :func:`round_time_figure` to ``path`` (PNG) and return it."""
    return _save(round_time_figure(runs), path)

"""PNG plots of federated runs (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .federation import RunResult

__all__ = ["plot_accuracy", "plot_round_time"]


def _pyplot() -> Any:
    # matplotlib is an optional dependency (the demo extra): imported only when
    # a plot is drawn, so that importing fl does not need it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: Secure runs often lie on top of each other (the aggregation paths release the
#: same sum): each gets its own marker and dash pattern so that every curve stays
#: visible where they overlap.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_DASHES = ("-", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 2)), (0, (1, 2)), (0, (7, 2)))


def plot_accuracy(runs: Sequence[tuple[str, RunResult]], path: Path) -> Path:
    """Test accuracy per round, one line per labelled run; written to ``path``.

    The legend sits outside the axes, so it never covers a curve.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.6, 4.2))
    for i, (label, run) in enumerate(runs):
        ax.plot(
            [r.round for r in run.records],
            [r.accuracy for r in run.records],
            label=label,
            marker=_MARKERS[i % len(_MARKERS)],
            markersize=3 + 0.6 * (len(runs) - i),
            markerfacecolor="none",
            linewidth=1.3,
            # The plain baseline is dashed.
            linestyle="--" if not run.secure else _DASHES[i % len(_DASHES)],
        )
    ax.set_xlabel("round")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")
    ax.set_title("Federated training on UCI digits")
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_round_time(runs: Sequence[tuple[str, RunResult]], path: Path) -> Path:
    """Aggregation time per round (milliseconds), one line per labelled run."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.6, 4.2))
    for label, run in runs:
        ax.plot(
            [r.round for r in run.records],
            [1000 * r.agg_time for r in run.records],
            label=label,
            marker="o",
            markersize=2.5,
            linewidth=1.3,
        )
    ax.set_xlabel("round")
    ax.set_ylabel("aggregation time per round (ms)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")
    ax.set_title("Time per round")
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

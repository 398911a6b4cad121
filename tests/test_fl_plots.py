"""The demo's plots: every curve distinguishable, the legend off the axes, the set-up titled."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fl.federation import FLConfig, run_federated
from fl.plots import TIME_DODGE, accuracy_figure, round_time_figure, setup_line
from fl.training import LocalConfig

pytest.importorskip("matplotlib")

CFG = FLConfig(
    n_clients=8,
    rounds=3,
    dataset="synthetic",
    dropout=0.2,
    corrupt=0.25,
    strategy="fedprox",
    local=LocalConfig(epochs=1, batch_size=32),
    seed=4,
)


@pytest.fixture(autouse=True)
def _close_figures():
    """Free every figure a test drew."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def runs():
    """Five labelled runs, two of them identical (as two DP runs' round times nearly are)."""
    secure = run_federated(CFG)
    plain = run_federated(CFG, secure=False, survivor_schedule=secure.survivor_schedule)
    dp = run_federated(replace(CFG, dp="distributed", dp_epsilon=10.0))
    return [("secure", secure), ("plain", plain), ("dp", dp), ("dp again", dp), ("x", secure)]


@pytest.mark.parametrize("figure", [accuracy_figure, round_time_figure])
def test_every_curve_has_its_own_style_and_is_drawn_above_the_previous(runs, figure):
    """Each run's line differs from every other in marker and colour, later lines lie
    above earlier ones and are thinner, so a line hidden under another still shows."""
    fig = figure(runs)
    lines = fig.axes[0].get_lines()
    assert len(lines) == len(runs)
    assert len({line.get_marker() for line in lines}) == len(runs)
    assert len({line.get_color() for line in lines}) == len(runs)
    zorders = [line.get_zorder() for line in lines]
    widths = [line.get_linewidth() for line in lines]
    assert zorders == sorted(set(zorders)) and widths == sorted(set(widths), reverse=True)
    assert all(line.get_markerfacecolor() == "none" for line in lines)  # hollow markers
    assert lines[1].get_linestyle() == "--"  # the plain baseline


def test_round_times_of_coinciding_runs_are_shifted_apart(runs):
    """On the round-time plot two runs with the same times sit TIME_DODGE apart per round."""
    fig = round_time_figure(runs)
    lines = fig.axes[0].get_lines()
    same_y = list(lines[2].get_ydata()) == list(lines[3].get_ydata())
    dx = [b - a for a, b in zip(lines[2].get_xdata(), lines[3].get_xdata(), strict=True)]
    assert same_y and dx == pytest.approx([TIME_DODGE] * CFG.rounds)


@pytest.mark.parametrize("figure", [accuracy_figure, round_time_figure])
def test_legend_lies_outside_the_axes(runs, figure):
    """The legend's box starts right of the axes' box: it never covers a curve."""
    fig = figure(runs)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1


@pytest.mark.parametrize("figure", [accuracy_figure, round_time_figure])
def test_title_names_the_runs_configuration(runs, figure):
    """The title carries clients, rounds, strategy, mode, k, t, c and the dropout rate."""
    title = figure(runs).axes[0].get_title()
    sc = runs[0][1].session_config
    for words in (
        "8 clients",
        "3 rounds",
        "fedprox",
        "semi_honest",
        f"k = {sc.k}, t = {sc.t}, c = 2",
        "dropout 0.2",
    ):
        assert words in title, title
    assert setup_line(runs[0][1]) in title

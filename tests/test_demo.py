"""Smoke tests of the demo CLI (python -m fl) with tiny settings."""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fl.aggregators
from fl.cli import build_parser, main
from fl.federation import FLConfig, run_federated
from fl.paths import AGGREGATORS
from fl.progress import RunProgress

#: The one line a run writes to stderr when stderr is not a terminal.
SUMMARY = re.compile(
    r"^[A-Za-z +-]+: \d+ rounds( \(\d+ aborted\))?, \d+\.\d s, final accuracy \d\.\d{3}$"
)

LAST_LINE = re.compile(
    r"^final test accuracy: secure (\d\.\d{3}), plain (\d\.\d{3}), difference ([+-]\d\.\d{3})$"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_runs_end_to_end(tmp_path, capsys):
    """Five clients, two rounds: the table, audit and comparison are printed, both
    plots are written as PNG files, and the last line reports the accuracies."""
    out = tmp_path / "demo"
    code = main(["--clients", "5", "--rounds", "2", "--out", str(out), "--seed", "1"])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.strip().splitlines()
    m = LAST_LINE.match(lines[-1])
    assert m, lines[-1]
    secure, plain, diff = (float(g) for g in m.groups())
    assert diff == pytest.approx(secure - plain, abs=0.0015)
    text = captured.out
    assert "round accuracy" in text and "What the server held" in text
    assert "chi-square" in text and "Pearson" in text
    assert "secure + DP" in text and "epsilon" in text
    for name in ("accuracy.png", "round_time.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    assert str(out.resolve()) in text
    # stderr is no terminal here: one summary line per run, no redrawn bar
    assert "\r" not in captured.err
    labels = [line.split(":")[0] for line in captured.err.splitlines()]
    assert labels == ["masking", "plain", "masking + distributed DP", "masking + local DP baseline"]
    assert all(SUMMARY.match(line) for line in captured.err.splitlines()), captured.err


def test_demo_module_entry_point(tmp_path):
    """``python -m fl`` works as a module (subprocess), FedNova and the MLP included."""
    out = tmp_path / "o"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fl",
            "--clients",
            "4",
            "--rounds",
            "2",
            "--model",
            "mlp",
            "--strategy",
            "fednova",
            "--no-dp-run",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    assert LAST_LINE.match(proc.stdout.strip().splitlines()[-1])
    assert (out / "accuracy.png").exists()
    # stderr is a pipe: no carriage return, exactly one line per run (secure, plain)
    assert "\r" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and all(SUMMARY.match(line) for line in lines), proc.stderr
    assert lines[0].startswith("masking: 2 rounds, ") and lines[1].startswith("plain: 2 rounds, ")


def test_demo_rejects_bad_settings(tmp_path, capsys):
    """Impossible settings exit with code 2 and a sentence on stderr, no traceback."""
    code = main(["--clients", "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "error:" in err and "Traceback" not in err


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _finished_run(label: str, stream: io.StringIO) -> bool:
    """Report a tiny run on ``stream``; True if it drew a bar."""
    cfg = FLConfig(n_clients=3, rounds=2, dataset="synthetic", dropout=0.0)
    with RunProgress(label, cfg.rounds, stream=stream) as progress:
        drew = progress.draws_bar
        progress.finish(run_federated(cfg, progress=progress.round_done))
    return drew


def test_progress_draws_a_bar_on_a_terminal_and_a_line_elsewhere(monkeypatch):
    """On a terminal with tqdm a run draws a bar; on any other stream, or without tqdm,
    it writes one summary line and no carriage return."""
    pytest.importorskip("tqdm")
    tty = _Terminal()
    assert _finished_run("masking", tty)
    assert "\r" in tty.getvalue() and "2/2" in tty.getvalue()
    log = io.StringIO()
    assert not _finished_run("masking", log)
    assert "\r" not in log.getvalue() and SUMMARY.match(log.getvalue().rstrip("\n"))
    monkeypatch.setitem(sys.modules, "tqdm", None)  # tqdm missing: its import fails
    plain = _Terminal()
    assert not _finished_run("plain", plain)
    assert plain.getvalue().startswith("plain: 2 rounds, ") and "\r" not in plain.getvalue()
    assert plain.getvalue().count("\n") == 1


def test_every_option_states_its_default():
    """Every option of python -m fl --help has help text stating its default: the
    default's value where there is one, else what stands in for it."""
    parser = build_parser()
    checked = 0
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{action.option_strings} has no help"
        text = action.help % {**vars(action), "prog": parser.prog}
        assert "(default" in text, f"{action.option_strings}: {text!r}"
        if action.default is not None:
            shown = "off" if action.default is False else str(action.default)
            assert shown in text or isinstance(action.default, bool), (action.option_strings, text)
        checked += 1
    assert checked == len(parser._actions) - 1 >= 30
    assert "ignore it" in parser.format_help().split("--workers", 1)[1]


def _accuracy_column(text: str) -> list[str]:
    table = text.split("\nSecure aggregation, per round\n", 1)[1].split("\naborted", 1)[0]
    return [row.split()[1] for row in table.splitlines()[1:]]


def test_workers_reach_the_masking_rounds_and_leave_accuracy_unchanged(
    tmp_path, capsys, monkeypatch
):
    """--workers 2 runs every masking round on two worker processes and yields the
    accuracy column of --workers 1 on the same seed (active mode, 6 clients, a dropout)."""
    seen: list[int] = []
    run_round = fl.aggregators.run_round

    def spy(*args, **kwargs):
        seen.append(kwargs["workers"])
        return run_round(*args, **kwargs)

    monkeypatch.setattr(fl.aggregators, "run_round", spy)
    argv = ["--mode", "active", "--clients", "6", "--rounds", "2", "--dropout", "0.2"]
    argv += ["--seed", "1", "--no-dp-run", "--out", str(tmp_path)]
    columns = []
    for workers in ("1", "2"):
        assert main([*argv, "--workers", workers]) == 0
        columns.append(_accuracy_column(capsys.readouterr().out))
    assert seen == [1, 1, 2, 2]
    assert columns[0] == columns[1] and len(columns[0]) == 2


def test_unplannable_active_cohort_is_refused_in_one_sentence(tmp_path, capsys):
    """Active mode with more colluders than the complete graph can outvote exits with
    code 2 and one line naming n, the rates and what to change, before any run starts."""
    argv = ["--mode", "active", "--clients", "6", "--corrupt", "0.7", "--out", str(tmp_path)]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the planner has no graph"), lines
    for words in ("n = 6", "dropout rate 0.1", "corrupt rate 0.7", "lower the corrupt rate"):
        assert words in lines[0]


def test_demo_local_dp_epsilon_is_the_recomputed_one(tmp_path, capsys, monkeypatch):
    """The demo's local-DP epsilon equals one recomputed from the discrete Laplace
    scale the clients actually used: per round 2 D1 / t (any two updates, D1 from
    the documented rounding bound), composed over the rounds (RDP bound of an
    eps-DP release, dp-accounting's conversion, capped by basic composition)."""
    import math

    from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

    import secagg.dp

    scales: list[float] = []
    sampler = secagg.dp.sample_discrete_laplace

    def recording(scale, size, rng=None):
        scales.append(scale)
        return sampler(scale, size, rng)

    monkeypatch.setattr(secagg.dp, "sample_discrete_laplace", recording)
    argv = ["--clients", "5", "--rounds", "2", "--dropout", "0", "--dp", "local"]
    code = main([*argv, "--dp-epsilon", "0.5", "--no-dp-run", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0
    line = next(x for x in text.splitlines() if x.startswith("DP: local"))
    printed = float(re.search(r"; epsilon (\d+\.\d+)", line).group(1))

    d, c = 64 * 10 + 10, 2.0**12  # softmax on digits; clip 0.5 at 2^12 / 0.5 steps per unit
    l2 = min(math.sqrt(c * c + d / 4 + (c + math.sqrt(d) / 2)), c + math.sqrt(d))
    l1 = min(math.sqrt(d) * l2, l2 * l2)
    assert len(set(scales)) == 1 and len(scales) == 2 * 5
    eps0 = 2 * l1 / scales[0]  # x against -x, both of L1 norm D1
    assert eps0 == pytest.approx(0.5, rel=1e-9)
    orders = [float(a) for a in range(2, 257)]
    rdp = [2 * min(eps0, a * eps0 * eps0 / 2) for a in orders]
    want = min(2 * eps0, compute_epsilon(orders, rdp, 1e-5)[0])
    assert printed == pytest.approx(want, abs=5e-4)
    assert "any two updates" in line and "at delta 1e-05, i.e. (" in line
    assert "delta_total = delta = 1e-05" in line


COMPARE_LAST = re.compile(
    r"^final test accuracy: masking (\d\.\d{3}), paillier (\d\.\d{3}), threshold-paillier "
    r"(\d\.\d{3}), multiserver (\d\.\d{3}), plain (\d\.\d{3})$"
)


def test_demo_compares_every_aggregator(tmp_path, capsys):
    """--aggregator all runs the four paths and the plain baseline on one seed: each
    path's audit says what its servers held and calls it private, the comparison table
    has a row per run, the plots are written and the last line lists every accuracy."""
    out = tmp_path / "cmp"
    argv = ["--clients", "5", "--rounds", "2", "--aggregator", "all", "--out", str(out)]
    code = main([*argv, "--paillier-bits", "512", "--insecure-test-keys", "--seed", "2"])
    text = capsys.readouterr().out
    assert code == 0
    for name in ("masking", "paillier", "threshold-paillier", "multiserver"):
        assert f"\n== {name} ==\n" in text
    assert "512-bit key" in text and "3-of-5 committee" in text and "S = 2 servers" in text
    assert "masked vectors received" in text  # the masking audit
    assert "ciphertexts are not uniform words" in text  # the Paillier audits
    assert "key holder: 2 (of 2 rounds)" in text
    assert "server 0: 2, server 1: 2 (of 2 rounds)" in text
    table = text.split("\nComparison (", 1)[1]
    rows = [line.split() for line in table.splitlines()[2:7]]
    assert [r[0] for r in rows] == [*AGGREGATORS, "plain"]
    assert [r[-1] for r in rows[:4]] == ["private"] * 4 and rows[4][-2:] == ["NOT", "private"]
    accuracies = COMPARE_LAST.match(text.strip().splitlines()[-1])
    assert accuracies, text.strip().splitlines()[-1]
    assert max(map(float, accuracies.groups())) - min(map(float, accuracies.groups())) < 0.02
    for name in ("accuracy.png", "round_time.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "argv, rule",
    [
        (["--aggregator", "paillier", "--paillier-bits", "1024"], "--insecure-test-keys"),
        (["--aggregator", "masking,secure"], "unknown aggregator 'secure'"),
        (["--aggregator", "multiserver", "--servers", "1"], "2..255 servers"),
        (["--aggregator", "all", "--committee-threshold", "2"], "w / 2 < t"),
    ],
)
def test_demo_refuses_bad_aggregator_settings(tmp_path, capsys, argv, rule):
    """Short Paillier keys without the testing flag, unknown paths, one server and a
    minority committee exit with code 2 and a sentence naming the rule."""
    code = main([*argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and rule in err and "Traceback" not in err

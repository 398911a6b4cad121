"""Smoke tests of the demo CLI (python -m fl) with tiny settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fl.cli import ProgressBar, main
from fl.paths import AGGREGATORS

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
    assert "secure" in captured.err  # the progress bar goes to stderr


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


def test_demo_rejects_bad_settings(tmp_path, capsys):
    """Impossible settings exit with code 2 and a sentence on stderr, no traceback."""
    code = main(["--clients", "2", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "error:" in err and "Traceback" not in err


def test_progress_bar_draws_on_its_stream(tmp_path):
    """The progress bar redraws one line in place and ends it."""
    import io

    buf = io.StringIO()
    bar = ProgressBar(4, "x", stream=buf, width=8)
    bar.update(2, "half")
    bar.close()
    s = buf.getvalue()
    assert s.startswith("\r") and "[####----]" in s and "2/4" in s and s.endswith("\n")


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

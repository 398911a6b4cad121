"""Tests for ``python -m secagg info`` (secagg.teach.info)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from secagg import __version__, _core, crypto, prg
from secagg.__main__ import main


def test_info_json_reports_what_the_modules_report(capsys: pytest.CaptureFixture[str]) -> None:
    """info --json names the version, core, keystream implementations (the one in use and
    why) and crypto backend."""
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {
        "version": __version__,
        "core": _core.version(),
        "implementations": list(prg.implementations()),
        "implementation": prg.selected_implementation(),
        "implementation_reason": prg.selection_reason(),
        "crypto_backend": crypto.backend_name(),
    }


def test_info_text_has_one_line_per_field(capsys: pytest.CaptureFixture[str]) -> None:
    """The plain form prints one aligned line per field, the crypto backend last."""
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "version",
        "core",
        "implementations",
        "implementation",
        "implementation_reason",
        "crypto_backend",
    ]
    assert lines[-1].endswith(crypto.backend_name())


def _info(env_impl: str, prelude: str = "") -> dict[str, object]:
    env = dict(os.environ, SECAGG_IMPL=env_impl)
    code = prelude + "from secagg.__main__ import main; main(['info', '--json'])"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_info_says_why_the_implementation_is_in_use() -> None:
    """info reports a forced implementation as forced by SECAGG_IMPL, and a CPU-chosen x86
    path by the cpuid features found; without pyca/cryptography openssl is not listed."""
    forced = _info("portable")
    assert forced["implementation"] == "portable"
    assert forced["implementation_reason"] == "forced by SECAGG_IMPL=portable"
    auto = _info("", "import sys; sys.modules['cryptography'] = None; ")
    assert "openssl" not in auto["implementations"]  # type: ignore[operator]
    if auto["implementation"] != "portable":
        assert str(auto["implementation_reason"]).startswith("cpuid reports")
    else:
        assert "no x86 AES path" in str(auto["implementation_reason"])

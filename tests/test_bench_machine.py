"""bench.machine: the CPU family and model that tell Zen 4 from Zen 5 behind a bare
"AMD EPYC" model name."""

from __future__ import annotations

import pytest

from bench.machine import cpu_info, microarchitecture, parse_cpuinfo

ZEN5 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
flags\t\t: fpu avx2 avx512f vaes

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 26
"""


def test_parse_reads_the_first_processor():
    """Model name, family, model number and flags come from the first processor block."""
    info = parse_cpuinfo(ZEN5)
    assert info["cpu"] == "AMD EPYC" and info["vendor"] == "AuthenticAMD"
    assert (info["cpu_family"], info["cpu_model_number"]) == (26, 2)
    assert {"avx512f", "vaes"} <= info["flags"]  # type: ignore[operator]


@pytest.mark.parametrize(
    "vendor,family,flags,expected",
    [
        ("AuthenticAMD", 26, {"avx512f"}, "Zen 5"),
        ("AuthenticAMD", 25, {"avx512f", "vaes"}, "Zen 4"),
        ("AuthenticAMD", 25, {"avx2", "vaes"}, "Zen 3"),
        ("AuthenticAMD", 23, set(), None),
        ("GenuineIntel", 6, {"avx512f"}, None),
        (None, None, set(), None),
    ],
)
def test_microarchitecture_names_zen_generations(vendor, family, flags, expected):
    """Family 26 is Zen 5; family 25 is Zen 4 with AVX-512, Zen 3 without; others unnamed."""
    assert microarchitecture(vendor, family, flags) == expected


def test_cpu_info_has_the_machine_line_fields():
    """cpu_info gives the fields the benchmarks' machine lines carry."""
    info = cpu_info()
    assert set(info) == {"cpu", "cpu_family", "cpu_model_number", "microarchitecture"}
    assert isinstance(info["cpu"], str) and info["cpu"]

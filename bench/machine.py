"""The processor a figure was measured on, as precisely as /proc/cpuinfo tells.

Virtual machines often report a bare "AMD EPYC" as the model name, which
hides what matters for the AES figures: on Zen 4 (family 25) 512-bit VAES
instructions run as two 256-bit halves, on Zen 5 (family 26) at full width,
so the same masking command gives about 2.3x OpenSSL on the first and about
4x on the second. The family and model numbers tell them apart.
"""

from __future__ import annotations

import platform

__all__ = ["cpu_info", "microarchitecture", "parse_cpuinfo"]


def parse_cpuinfo(text: str) -> dict[str, object]:
    """Model name, vendor, family, model number and flags of the first processor in ``text``."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())

    def number(key: str) -> int | None:
        value = fields.get(key, "")
        return int(value) if value.isdigit() else None

    return {
        "cpu": fields.get("model name") or platform.processor() or platform.machine(),
        "vendor": fields.get("vendor_id"),
        "cpu_family": number("cpu family"),
        "cpu_model_number": number("model"),
        "flags": set(fields.get("flags", "").split()),
    }


def microarchitecture(vendor: str | None, family: int | None, flags: set[str]) -> str | None:
    """ "Zen 5", "Zen 4", "Zen 3" for the AMD families this matters for, else None."""
    if vendor != "AuthenticAMD" or family is None:
        return None
    if family == 26:
        return "Zen 5"
    if family == 25:
        return "Zen 4" if "avx512f" in flags else "Zen 3"
    return None


def cpu_info() -> dict[str, object]:
    """The fields every benchmark's machine line carries: cpu, cpu_family,
    cpu_model_number and microarchitecture (None where unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            info = parse_cpuinfo(f.read())
    except OSError:
        info = parse_cpuinfo("")
    flags = info.pop("flags")
    vendor = info.pop("vendor")
    assert isinstance(flags, set)
    family = info["cpu_family"]
    info["microarchitecture"] = microarchitecture(
        vendor if isinstance(vendor, str) else None,
        family if isinstance(family, int) else None,
        flags,
    )
    return info

"""Shared test configuration: hypothesis profiles.

Profiles (HYPOTHESIS_PROFILE): ``dev`` (default, local loop), ``ci`` (no example
database, prints the seed so a failure can be replayed) and ``sanitize`` (fewer
examples: the ASan build is several times slower).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "sanitize",
    deadline=None,
    database=None,
    print_blob=True,
    max_examples=20,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_report_header(config):  # noqa: D103 - pytest hook
    from hypothesis import settings as s

    return f"hypothesis profile: {s._current_profile}"

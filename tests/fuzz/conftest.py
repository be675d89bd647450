"""Hypothesis profiles of the fuzz tests: the normal run uses each test's own example count
(a few thousand cases in all); `make fuzz` passes `--hypothesis-profile=fuzz`, which
multiplies every count by FUZZ_FACTOR (tests/fuzz/strategies.py `examples`)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.wire import runs_report

FUZZ_FACTOR = 25
BASE_EXAMPLES = 100  # hypothesis' own default max_examples

settings.register_profile(
    "fuzz",
    max_examples=BASE_EXAMPLES * FUZZ_FACTOR,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def fuzz_profile_active() -> bool:
    """Whether this run is `make fuzz` (the `fuzz` profile's example counts)."""
    active = settings.default
    return active is not None and active.max_examples >= BASE_EXAMPLES * FUZZ_FACTOR


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = runs_report()
    if lines:
        terminalreporter.section("wire fuzz")
        for line in lines:
            terminalreporter.write_line(line)

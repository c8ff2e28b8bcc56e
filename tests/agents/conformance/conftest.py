"""The conformance suite: real agent clients (pinned, cached) through guardsh.  Marker:
``conformance`` (deselect with ``-m 'not conformance'``)."""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: runs a real agent client (installed into a cache on first use)")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    from agentclients import TIMINGS

    if TIMINGS:
        terminalreporter.write_line("conformance timings (s): " + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(TIMINGS.items())))

"""Fixtures for the local server tests: a fresh in-memory server with a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from taskmanager.server import LocalServer, ManualClock

API_KEY = "test-key"
START = 1_795_414_708.5  # 2026-11-23 06:18:28 UTC, when the reference transcripts were recorded


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[LocalServer]:
    with LocalServer(api_key=API_KEY, clock=clock, claim_timeout=5, max_attempts=3) as srv:
        yield srv


@pytest.fixture
def client(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=10) as http:
        yield http


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report the conformance match rate (recorded real-server exchanges) after a run."""
    from .test_conformance import MATCH_RATES

    if MATCH_RATES:
        matched = sum(m for _, m, _ in MATCH_RATES)
        total = sum(t for _, _, t in MATCH_RATES)
        groups = ", ".join(f"{g} {m}/{t}" for g, m, t in MATCH_RATES)
        terminalreporter.write_line(f"local server conformance: {matched}/{total} cases match ({groups})")

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

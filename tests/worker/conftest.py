"""Fixtures for the worker tests: a local server on a manual clock and clients for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from taskmanager import AsyncTaskManagerClient, TaskManagerClient, TaskManagerConfig, set_testing
from taskmanager.server import LocalServer, ManualClock

CLAIM_TIMEOUT = 10


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def no_retry_waits() -> Iterator[None]:
    """The client's own retry waits return at once."""
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_795_414_708.0)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[LocalServer]:
    with LocalServer(
        api_key="worker-test-key", clock=clock, claim_timeout=CLAIM_TIMEOUT, max_attempts=3
    ) as srv:
        yield srv


def config_for(server: LocalServer) -> TaskManagerConfig:
    return TaskManagerConfig(api_url=server.url, api_key=server.api_key, retry_attempts=0)


@pytest.fixture
def client(server: LocalServer) -> Iterator[TaskManagerClient]:
    with TaskManagerClient(config_for(server)) as c:
        yield c


@pytest.fixture
async def async_client(server: LocalServer) -> AsyncIterator[AsyncTaskManagerClient]:
    async with AsyncTaskManagerClient(config_for(server)) as c:
        yield c


def sigterm_once_started(script: str, *, timeout: float = 30) -> tuple[int, str, str]:
    """Run ``script`` in a new Python process (these tests' helpers importable), send it SIGTERM
    once it printed ``started``, and return its exit code, stdout and stderr (killed after
    ``timeout`` seconds, which fails the caller's ``communicate`` with ``TimeoutExpired``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err

"""Fixtures for the compatibility tests: a local server, a client for it, no stray .env file."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from taskmanager import TaskManagerClient, TaskManagerConfig, set_testing
from taskmanager.server import LocalServer

KEY = "compat-test-key"


@pytest.fixture(autouse=True)
def no_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own .env or TASKMANAGER_* variables must not reach these tests."""
    for name in list(os.environ):
        if name.startswith("TASKMANAGER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TASKMANAGER_ENV_FILE", os.devnull)


@pytest.fixture
def no_sleep() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture
def client(server: LocalServer) -> Iterator[TaskManagerClient]:
    config = TaskManagerConfig(api_url=server.url, api_key=KEY, retry_attempts=0, worker_id="default-worker")
    with TaskManagerClient(config) as c:
        yield c

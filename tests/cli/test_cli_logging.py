"""What the command line prints on stderr when the API cannot be reached, with and without -v.

Run as a real process: Python's last-resort handler, which printed the client's retry warnings,
only acts in a program that configured no logging (pytest's own handlers would hide it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

# Retry waits off (set_testing), attempts unchanged: each retry still logs its warning.
RUN_CLI = "import taskmanager; taskmanager.set_testing(True); from taskmanager._cli import main; main()"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port bound but not listening: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def run_cli(closed_port: int) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMANAGER_")}
    url = f"http://127.0.0.1:{closed_port}/api"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", RUN_CLI, *args, "--api-url", url],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


def test_unreachable_server_is_one_stderr_line(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """Without -v the retries are silent: exit 1 and exactly the one-line error."""
    result = run_cli("health")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: GET /health: connection failed")


def test_verbose_shows_each_retry_then_the_error(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """With -v each retry is a WARNING line on stderr, then the error."""
    result = run_cli("tasks", "get", "1", "-v")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 4, result.stderr
    for number, line in enumerate(lines[:3], start=1):
        assert line.startswith("WARNING taskmanager: GET /tasks/1: connection failed"), line
        assert f"retry {number} of 3" in line
    assert lines[3].startswith("Error: GET /tasks/1: connection failed")

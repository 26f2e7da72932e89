"""pytest plugin: fixtures for testing code that uses the TaskManager API, and cassettes that replay.

Loaded by pytest whenever the package is installed (the ``pytest11`` entry point ``taskmanager``;
``-p no:taskmanager`` turns it off). Fixtures:

* ``taskmanager_server``: a fresh embedded :class:`~taskmanager.server.LocalServer` per test, on
  a :class:`~taskmanager.server.ManualClock` (``advance(seconds)`` expires claims at once). Its
  clock starts at a fixed time, so replies carry the same timestamps on every run. With
  ``TASKMANAGER_API_URL`` set, the tests talk to that API instead (``advance()`` then raises).
* ``taskmanager_client`` / ``async_taskmanager_client``: clients bound to it (no call retries,
  a fixed ``worker_id``), closed after the test.

With pytest-recording (``@pytest.mark.vcr``) the plugin works on every cassette, whichever
``vcr_config`` fixture is in force (pytest-recording's own, a conftest's or a module's), because
it acts on the VCR object itself:

* requests are recorded and matched against a fixed placeholder base
  (:data:`PLACEHOLDER_URL`), whatever host and port the server had, so a cassette recorded
  against the embedded server or against ``TASKMANAGER_API_URL`` replays anywhere;
* the ``X-API-Key`` header is replaced by :data:`REDACTED` before anything is written;
* the reply headers that change from run to run (``Date``, ``Server``) are not recorded.

When a test's cassette is replayed (record mode ``none``, or ``once`` with the cassette on disk),
``taskmanager_server`` starts no server: it stands in with the placeholder base and key, so
replay needs neither a server nor the network (``--block-network`` works).

For plain vcrpy without pytest-recording, :func:`vcr_config` returns the same filters as
``VCR(**vcr_config())`` keyword arguments.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

# The clients (httpx) and asyncio load with the first fixture that needs them: pytest loads this
# plugin in every session wherever the package is installed, most of which use no fixture here.
if TYPE_CHECKING:
    from ._async_client import AsyncTaskManagerClient
    from ._client import TaskManagerClient
    from ._config import TaskManagerConfig

__all__ = [
    "FIXED_START",
    "PLACEHOLDER_KEY",
    "PLACEHOLDER_URL",
    "REDACTED",
    "TEST_WORKER_ID",
    "TaskManagerTestServer",
    "vcr_config",
]

PLACEHOLDER_URL = "https://taskmanager.test/api"
"""The API base that cassettes hold, and that clients use when a cassette is replayed."""
PLACEHOLDER_KEY = "taskmanager-replay-key"
"""The key a client sends during replay (nothing checks it)."""
REDACTED = "<redacted>"
"""What cassettes hold in place of the ``X-API-Key`` header."""
FIXED_START = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: where the embedded server's clock starts in every test."""
TEST_WORKER_ID = "taskmanager-test-worker"

_KEY_HEADER = "x-api-key"
_VOLATILE_REPLY_HEADERS = ("date", "server")
_API_URL_ENV = "TASKMANAGER_API_URL"
_API_KEY_ENV = "TASKMANAGER_API_KEY"

# API bases seen in this process (embedded servers, TASKMANAGER_API_URL): rewritten to the
# placeholder in recorded and in matched requests.
_live_bases: set[str] = set()


class TaskManagerTestServer(Protocol):
    """What ``taskmanager_server`` yields: a LocalServer, or its stand-in during replay."""

    @property
    def url(self) -> str: ...

    api_key: str

    def advance(self, seconds: float) -> float: ...


class ReplayServer:
    """Stands in for the server while a cassette is replayed: placeholder base and key, no socket."""

    replaying = True

    def __init__(self) -> None:
        from .server import ManualClock

        self.url = PLACEHOLDER_URL
        self.api_key = PLACEHOLDER_KEY
        self.clock = ManualClock(FIXED_START)

    def advance(self, seconds: float) -> float:
        """Moves the stand-in clock only: the replies come from the cassette."""
        return self.clock.advance(seconds)

    def __repr__(self) -> str:
        return f"<ReplayServer {self.url}>"


class RemoteServer:
    """``TASKMANAGER_API_URL``: the tests run against that API."""

    replaying = False

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key

    def advance(self, seconds: float) -> float:
        raise TypeError(f"cannot move the clock of {self.url}: advance() needs the embedded server")

    def __repr__(self) -> str:
        return f"<RemoteServer {self.url}>"


# ------------------------------------------------------------------------------ cassette filters


def _placeholder_request(request: Any, extra_bases: tuple[str, ...] = ()) -> Any:
    """Rewrite a live API base to the placeholder and hide the key (recorded and matched requests)."""
    for base in (*extra_bases, *_live_bases):
        if request.uri.startswith(base):
            request.uri = PLACEHOLDER_URL + request.uri[len(base) :]
            break
    for name in list(request.headers):
        if name.lower() == _KEY_HEADER:
            request.headers[name] = REDACTED
        elif name.lower() == "host":
            del request.headers[name]
    return request


def _stable_response(response: Any) -> Any:
    headers = response.get("headers") if isinstance(response, dict) else None
    if isinstance(headers, dict):
        for name in list(headers):
            if name.lower() in _VOLATILE_REPLY_HEADERS:
                del headers[name]
    return response


def _chain(first: Callable[[Any], Any], second: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def both(value: Any) -> Any:
        value = first(value)
        return None if value is None else second(value)

    return both


def vcr_config(*api_urls: str) -> dict[str, Any]:
    """``VCR(**vcr_config(server.url))`` for plain vcrpy: the filters the plugin adds to pytest-recording.

    ``api_urls`` are the API bases to record as the placeholder (the fixtures' servers are known
    without being named).
    """
    bases = tuple(url.rstrip("/") for url in api_urls)
    return {
        "before_record_request": lambda request: _placeholder_request(request, bases),
        "before_record_response": _stable_response,
        "decode_compressed_response": True,
    }


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Put the plugin's filters around whatever the test's ``vcr_config`` says."""
    merged_config = vcr.get_merged_config

    def get_merged_config(**kwargs: Any) -> dict[str, Any]:
        merged: dict[str, Any] = merged_config(**kwargs)
        merged["before_record_request"] = _chain(_placeholder_request, merged["before_record_request"])
        merged["before_record_response"] = _chain(merged["before_record_response"], _stable_response)
        return merged

    vcr.get_merged_config = get_merged_config


# ------------------------------------------------------------------------------ fixtures


def _replaying(request: pytest.FixtureRequest) -> bool:
    """True when this test's requests are answered from a cassette that is not written to."""
    if not request.node.get_closest_marker("vcr"):
        return False
    try:
        cassette = request.getfixturevalue("vcr")
    except pytest.FixtureLookupError:  # pytest-recording is not installed
        return False
    return cassette is not None and bool(cassette.write_protected)


@pytest.fixture
def taskmanager_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh embedded server for this test (or its stand-in while a cassette replays)."""
    if _replaying(request):
        yield ReplayServer()
        return
    env_url = os.environ.get(_API_URL_ENV)
    if env_url:
        remote = RemoteServer(env_url, os.environ.get(_API_KEY_ENV, ""))
        _live_bases.add(remote.url)
        yield remote
        return
    from .server import LocalServer, ManualClock
    from .server._local import TIE_SEED_ENV

    # Same-second tasks come out in a varying order, as on the real server; a fixed seed (unless
    # $TASKMANAGER_TIE_SEED says otherwise) keeps recordings the same from run to run.
    tie_seed = int(os.environ.get(TIE_SEED_ENV) or 0)
    with LocalServer(
        api_key="recording-key-" + secrets.token_hex(8), clock=ManualClock(FIXED_START), tie_seed=tie_seed
    ) as srv:
        _live_bases.add(srv.url)
        try:
            yield srv
        finally:
            _live_bases.discard(srv.url)


def _config(server: Any) -> TaskManagerConfig:
    from ._config import TaskManagerConfig

    return TaskManagerConfig(
        api_url=server.url, api_key=server.api_key, retry_attempts=0, worker_id=TEST_WORKER_ID
    )


@pytest.fixture
def taskmanager_client(taskmanager_server: Any) -> Iterator[TaskManagerClient]:
    """A TaskManagerClient bound to ``taskmanager_server``."""
    from ._client import TaskManagerClient

    with TaskManagerClient(_config(taskmanager_server)) as client:
        yield client


@pytest.fixture
def async_taskmanager_client(taskmanager_server: Any) -> Iterator[AsyncTaskManagerClient]:
    """An AsyncTaskManagerClient bound to ``taskmanager_server`` (use it from any async test)."""
    import asyncio

    from ._async_client import AsyncTaskManagerClient
    from ._errors import TaskManagerError

    client = AsyncTaskManagerClient(_config(taskmanager_server))
    yield client
    with contextlib.suppress(TaskManagerError):  # its event loop may still be running elsewhere
        asyncio.run(client.aclose())

"""Suite-wide options.

``--http-backend=aiohttp`` runs every async client the tests make without a transport of their
own on httpx-over-aiohttp instead of httpx's own pool (``make test-aiohttp``), so the async
client's whole suite checks that both backends behave alike.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--http-backend",
        choices=("httpx", "aiohttp"),
        default=None,
        help="the http_backend of every async client built by the tests (default: as each test says)",
    )


@pytest.fixture(autouse=True)
def _forced_http_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = request.config.getoption("--http-backend")
    # Left alone: tests that choose the backend themselves, and cassette replays (recorded
    # through httpx's own transport, which is what vcrpy patches for them).
    if backend is None or getattr(request.module, "CHOOSES_HTTP_BACKEND", False):
        return
    if request.node.get_closest_marker("vcr") is not None:
        return
    from taskmanager import _async_client, _http_pool

    def new_pool(kind: Any, config: Any, headers: Any, transport: Any) -> Any:
        return _http_pool.new_pool(kind, attrs.evolve(config, http_backend=backend), headers, transport)

    monkeypatch.setattr(_async_client, "new_pool", new_pool)


def pytest_configure(config: pytest.Config) -> None:
    """The package's plugin comes from its pytest11 entry point; a venv installed before the
    entry point existed (``make dev`` not run since) gets it here, so the suite still runs."""
    if not config.pluginmanager.has_plugin("taskmanager"):
        from taskmanager import pytest_plugin

        config.pluginmanager.register(pytest_plugin, "taskmanager")

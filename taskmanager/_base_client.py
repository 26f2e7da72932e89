"""What the sync and the async client hold apart from their I/O: settings, state, local mode.

``TaskManagerClient`` and ``AsyncTaskManagerClient`` both derive from ``BaseClient``; each adds
its own connection pool, ``_send`` (one attempt) and ``_run`` (drives an operation), and the
public methods, which only hand an operation of ``_operations`` to ``_run``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Self

from . import _operations as ops
from ._config import TaskManagerConfig
from ._errors import TaskManagerValidationError
from ._http_setup import auth_headers, resolve_config, warn_if_plain_http
from ._local_mode import open_local, stop_local

if TYPE_CHECKING:
    from .server import LocalServer

__all__ = ["BaseClient"]


class BaseClient:
    """Settings, the operations' state, the headers and the local server of one client."""

    def __init__(
        self,
        config: TaskManagerConfig | None = None,
        api_url: str | None = None,
        api_key: str | None = None,
        *,
        own_pool: bool = True,
        transport: object = None,
    ) -> None:
        self._config = resolve_config(config, api_url, api_key)
        self._local_server: LocalServer | None = None  # set by local(); stopped by closing
        warn_if_plain_http(self._config, stacklevel=4)  # the caller of the client's __init__
        self._state = ops.ClientState(self._config)
        self._base = self._config.api_url
        if not own_pool and transport is not None:
            raise TaskManagerValidationError("pass http_client or transport, not both")
        # The client's own pool carries these headers; a pool passed in gets them on each request.
        self._pool_headers = auth_headers(self._config)
        self._headers: dict[str, str] | None = None if own_pool else self._pool_headers

    @property
    def config(self) -> TaskManagerConfig:
        return self._config

    @classmethod
    def local(
        cls,
        db: str | os.PathLike[str],
        *,
        config: TaskManagerConfig | None = None,
        claim_timeout: int = 300,
        max_attempts: int = 3,
    ) -> Self:
        """A client backed by the embedded server on the SQLite file ``db``, in this process.

        The server starts now on a free loopback port and stops when the client is closed
        (``close()`` or ``with``; for the async client ``aclose()`` or ``async with``). Tasks stay
        in the file across restarts; one process at a time per file. ``config`` gives the other
        settings (its URL and key are replaced). ``claim_timeout`` and ``max_attempts`` are the
        server's. Example::

            with TaskManagerClient.local("data/queue.db") as client:
                client.create_task("PrismQ.YouTube.Channel.Scrape", {"channel_url": "https://..."})
        """
        client, server = open_local(cls, db, config, claim_timeout, max_attempts)
        client._local_server = server
        return client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_url={self._base!r})"

    def _stop_local(self) -> None:
        """Stop the server of a ``local()`` client (a short join of its thread); once."""
        server, self._local_server = self._local_server, None
        stop_local(server)

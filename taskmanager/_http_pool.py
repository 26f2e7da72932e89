"""The connection pool a client makes for itself: httpx's own, or httpx on aiohttp's.

Both clients build their pool here, from the config, so the choice of transport is made in one
place: ``config.http_backend == "aiohttp"`` gives the async client httpx's API over aiohttp's
connection pool (``taskmanager[aiohttp]``); anything else, and any transport passed in, is used
as httpx would use it.
"""

from __future__ import annotations

from typing import TypeVar

import httpx

from ._config import AIOHTTP_MISSING, TaskManagerConfig
from ._errors import TaskManagerValidationError
from ._http_setup import tls_verify

__all__ = ["new_pool"]

Pool = TypeVar("Pool", httpx.Client, httpx.AsyncClient)


def new_pool(
    kind: type[Pool],
    config: TaskManagerConfig,
    headers: dict[str, str],
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
) -> Pool:
    """A new ``httpx.Client`` or ``httpx.AsyncClient`` (``kind``) for a client's own use."""
    timeout = httpx.Timeout(config.timeout)
    verify = tls_verify(config)
    if kind is httpx.AsyncClient and transport is None and config.http_backend == "aiohttp":
        try:
            from ._aiohttp import AiohttpPool
        except ImportError as err:
            raise TaskManagerValidationError(f"{AIOHTTP_MISSING} ({err})") from None
        pool: httpx.Client | httpx.AsyncClient = AiohttpPool(
            headers=headers, timeout=timeout, verify=verify, follow_redirects=False
        )
    else:
        factory: type[httpx.Client | httpx.AsyncClient] = kind
        if kind is httpx.Client:
            # The sync pool keeps the whole-request deadline at the socket. Imported here, not at
            # the top: it loads httpcore, which httpx itself loads only with a first pool.
            from ._sync_deadline import DeadlineClient

            factory = DeadlineClient
        pool = factory(
            headers=headers,
            timeout=timeout,
            transport=transport,  # type: ignore[arg-type]  # the caller passes the kind's transport
            verify=verify,
            follow_redirects=False,
        )
    return pool  # type: ignore[return-value]  # of ``kind``

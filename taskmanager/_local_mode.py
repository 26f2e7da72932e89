"""Local mode: a client backed by the embedded server on a SQLite file, inside this process.

``TaskManagerClient.local("data/queue.db")`` starts ``taskmanager.server.LocalServer`` on that
file (on a free loopback port, with a fresh random key) and returns a client for it; closing the
client stops the server. Tasks are in the file, so they survive restarts of the program. One
process at a time may serve a file: the server keeps task types in memory and serializes writes
in-process. To move to the API later, build the client from the configuration instead
(``TaskManagerClient()``); the rest of the code stays the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import attrs

from ._config import TaskManagerConfig
from ._errors import TaskManagerConnectionError, TaskManagerValidationError

if TYPE_CHECKING:
    from .server import LocalServer

__all__ = ["open_local", "stop_local"]

C = TypeVar("C")


def _start(db: str | os.PathLike[str], claim_timeout: int, max_attempts: int) -> LocalServer:
    # The server is imported only here: the clients must not load it otherwise.
    from .server import LocalServer, ServerStartError

    if not isinstance(db, str | os.PathLike) or not os.fspath(db):
        raise TaskManagerValidationError(f"local mode needs a database file path, got {db!r}")
    path = os.fspath(db)
    if path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise TaskManagerConnectionError(
                f"cannot start the local server on {path}: {err.strerror or err}", request_sent=False
            ) from None
    try:
        return LocalServer(db=path, claim_timeout=claim_timeout, max_attempts=max_attempts).start()
    except (ServerStartError, ValueError) as err:
        raise TaskManagerConnectionError(
            f"cannot start the local server on {path}: {err}", request_sent=False
        ) from None


def open_local(
    factory: Callable[[TaskManagerConfig], C],
    db: str | os.PathLike[str],
    config: TaskManagerConfig | None,
    claim_timeout: int,
    max_attempts: int,
) -> tuple[C, LocalServer]:
    """Start a server on ``db`` and make a client for it with ``factory``; stop it if that fails.

    ``config`` gives every other setting (timeouts, retries, worker id); its URL and key are
    replaced by the local server's.
    """
    server = _start(db, claim_timeout, max_attempts)
    try:
        base = config if config is not None else TaskManagerConfig()
        client = factory(attrs.evolve(base, api_url=server.url, api_key=server.api_key))
    except BaseException:
        server.close()
        raise
    return client, server


def stop_local(server: LocalServer | None) -> None:
    if server is not None:
        server.close()

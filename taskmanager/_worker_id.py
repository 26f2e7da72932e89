"""Default worker ids: unique per process, readable in ``claimed_by``.

The server decides who owns a claim by comparing ``worker_id`` strings, so two processes that
share an id can complete each other's tasks. The default therefore mixes the host name, the
process id and a random suffix (the pid alone repeats across containers).
"""

from __future__ import annotations

import os
import secrets
import socket

__all__ = ["default_worker_id"]

# Long container host names would crowd out the parts that make the id unique.
_MAX_HOST_CHARS = 40


def default_worker_id(*, host: str | None = None, pid: int | None = None, suffix: str | None = None) -> str:
    """Return ``"<host>-<pid>-<6 hex>"``, e.g. ``"build-7-4213-9f2c1a"``."""
    host = (host if host is not None else socket.gethostname()) or "worker"
    host = "".join(ch if ch.isalnum() or ch in ".-_" else "-" for ch in host)[:_MAX_HOST_CHARS]
    pid = os.getpid() if pid is None else pid
    suffix = secrets.token_hex(3) if suffix is None else suffix
    return f"{host}-{pid}-{suffix}"

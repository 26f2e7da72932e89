"""Request and reply logging at DEBUG on the ``taskmanager`` logger (never the headers: the key)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._protocol import Call

__all__ = ["log_reply", "log_request"]

logger = logging.getLogger("taskmanager")


def log_request(call: Call) -> float | None:
    """Log a request at DEBUG; the time it started when the reply is to be logged too, else None."""
    if not logger.isEnabledFor(logging.DEBUG):
        return None
    # Headers are left out on purpose: they carry the key. The body is the caller's data.
    logger.debug("request %s %s params=%s json=%s", call.method, call.path, call.params, call.json)
    return time.perf_counter()


def log_reply(call: Call, status_code: int, content: bytes, started: float) -> None:
    logger.debug(
        "reply %s %s -> %d in %.1f ms: %s",
        call.method,
        call.path,
        status_code,
        (time.perf_counter() - started) * 1000,
        content[:500],
    )

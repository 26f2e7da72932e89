"""When to retry a failed call, and how long to wait first. Pure functions, no I/O.

What is safe to retry depends on the operation:

- ``read`` (health, lookups, listings): every transient failure: no reply, 429, 5xx.
- ``create`` and ``register``: the same. The server deduplicates tasks (and registration is an
  upsert), so a repeat cannot make a second task; two identical creates racing make the server
  answer one with a 500 "Duplicate entry", which a retry resolves into the existing task.
- ``claim``: only when the request surely never reached the server (the connection was never
  made) or on 429/503. A claim whose reply was lost may have claimed a task; retrying would claim
  another while the first sits claimed until its timeout.
- ``complete`` and ``progress``: no reply, 429 and 5xx. A retried completion that finds the task
  no longer claimed is checked with a GET by the caller (``taskmanager._operations``).

A 3xx is no answer from this API (no endpoint redirects, and redirects are not followed): it
counts as a lost reply, retried as one and, for a completion, verified as one.

``send(config, call)`` is the retry loop itself, a pure generator like the operations that
``yield from`` it: it yields the call once per attempt and a ``Pause`` between attempts, so each
client's I/O is one attempt and one sleep.

``set_testing(True)`` turns every wait into a no-op, for test suites.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING

from ._errors import (
    TaskManagerAPIError,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    server_message,
)
from ._protocol import Call, Op, Operation, Pause, Reply
from ._retry_after import parse_retry_after

if TYPE_CHECKING:
    from ._config import TaskManagerConfig

__all__ = [
    "Operation",
    "asleep",
    "is_redirect",
    "may_have_acted",
    "parse_retry_after",
    "retry_delay",
    "send",
    "set_testing",
    "should_retry",
    "sleep",
]

logger = logging.getLogger("taskmanager")

_testing = False


def set_testing(enabled: bool) -> None:
    """Make retry and poll waits return at once (attempt counts are unchanged)."""
    global _testing
    _testing = enabled


def sleep(seconds: float) -> None:
    if not _testing and seconds > 0:
        time.sleep(seconds)


async def asleep(seconds: float) -> None:
    import asyncio  # here, not at the top: sync-only programs need not import asyncio

    await asyncio.sleep(0 if _testing else max(seconds, 0.0))


def is_redirect(error: TaskManagerError) -> bool:
    """A 3xx reply (``_wire.redirect_error``): treated as a lost reply."""
    status = error.status_code
    return isinstance(error, TaskManagerProtocolError) and status is not None and 300 <= status < 400


def should_retry(op: Operation, error: TaskManagerError) -> bool:
    """Whether a call of kind ``op`` that failed with ``error`` may be sent again."""
    if isinstance(error, TaskManagerConnectionError):
        return op != "claim" or not error.request_sent
    if is_redirect(error):
        return op != "claim"
    if isinstance(error, TaskManagerRateLimitError):
        return True
    if isinstance(error, TaskManagerServerError):
        if op == "claim":
            return error.status_code == 503
        return not server_message(error.status_code, error.message).permanent
    return False


def may_have_acted(error: TaskManagerError) -> bool:
    """Whether the failed attempt may have changed state on the server despite failing."""
    if isinstance(error, TaskManagerConnectionError):
        return error.request_sent
    if is_redirect(error):
        return True
    if isinstance(error, TaskManagerServerError):
        return not (error.response_data and server_message(error.status_code, error.message).rolled_back)
    return False


def send(config: TaskManagerConfig, call: Call) -> Op[Reply]:
    """Send ``call`` until it succeeds, fails for good, or the attempts run out.

    Each ``yield call`` is one attempt (the client answers with its Reply); between attempts it
    yields the backoff ``Pause`` and logs one WARNING. The Reply returned is the last attempt's,
    ``uncertain`` when any failed attempt may have acted on the server.
    """
    retries = config.retry_attempts
    attempt = 0
    uncertain = False
    while True:
        reply = yield call
        error = reply.error
        if error is None:
            return reply._replace(uncertain=uncertain)
        hint = error.retry_after if isinstance(error, TaskManagerAPIError) else None
        if (
            attempt >= retries
            or not should_retry(call.op, error)
            # A server asking for a longer pause than the config allows: the caller decides.
            or (hint is not None and hint > config.retry_max_delay)
        ):
            return reply._replace(uncertain=uncertain)
        uncertain = uncertain or may_have_acted(error)
        attempt += 1
        delay = retry_delay(attempt, hint, base=config.retry_backoff, cap=config.retry_max_delay)
        if call.deadline is not None and time.monotonic() + delay >= call.deadline:
            return reply._replace(uncertain=uncertain)  # no time left for another attempt
        logger.warning("%s; retry %d of %d in %.2f s", error, attempt, retries, delay)
        yield Pause(delay)


def retry_delay(
    attempt: int, retry_after: float | None = None, *, base: float = 0.5, cap: float = 30.0
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    The server's Retry-After wins when given. Otherwise exponential backoff
    (``base * 2**(attempt-1)``, at most ``cap``) with jitter: a random value in its upper half,
    so that clients failing together do not retry together.
    """
    if retry_after is not None:
        return max(retry_after, 0.0)
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return random.uniform(ceiling / 2, ceiling)

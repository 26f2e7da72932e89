"""Handler outcomes (a result or a failure) on their way to the server."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._errors import (
    TaskClaimedByAnotherWorkerError,
    TaskManagerError,
    TaskManagerValidationError,
    TaskNotClaimedError,
)
from ._worker_backoff import down_delay
from ._worker_client import TRANSIENT, WorkerClient
from ._worker_stats import Counters

__all__ = ["Outbox", "Outcome"]

logger = logging.getLogger("taskmanager.worker")

# Completion reports are retried this many times on transient errors before giving up; the
# task then runs again after its claim times out on the server.
_REPORT_ATTEMPTS = 5


@attrs.frozen
class Outcome:
    """What became of one claim, to be told to the server by the worker that claimed it."""

    task_id: int
    task_type: str
    worker_id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    counted: bool = True
    """False for outcomes not counted as completed/failed (the poison guard's)."""


class Outbox:
    """Delivers outcomes, retrying what the API did not answer."""

    def __init__(
        self,
        client: WorkerClient,
        *,
        counters: Counters,
        down_cap: float,
        claim_timeout: float,
        pause: Callable[[float], Awaitable[None]],
        rng: random.Random,
    ) -> None:
        self._client = client
        self._counters = counters
        self._down_cap = down_cap
        self._claim_timeout = claim_timeout
        self._pause = pause
        self._rng = rng

    async def deliver(self, outcome: Outcome) -> bool:
        """Report ``outcome``; False when the server said the claim is no longer this worker's."""
        transient_before = False
        ok, error = outcome.ok, outcome.error
        for attempt in range(1, _REPORT_ATTEMPTS + 1):
            try:
                if ok:
                    reply = await self._client.complete(
                        outcome.task_id, worker_id=outcome.worker_id, result=outcome.result
                    )
                else:
                    reply = await self._client.fail(
                        outcome.task_id, worker_id=outcome.worker_id, error=error or "failed"
                    )
            except (TaskClaimedByAnotherWorkerError, TaskNotClaimedError) as exc:
                if transient_before and isinstance(exc, TaskNotClaimedError):
                    # An earlier attempt reached the server although its answer was lost.
                    logger.info("task %d: the earlier report was recorded", outcome.task_id)
                    break
                self._counters.add("claim_lost")
                logger.warning(
                    "task %d (%s): claim lost, result discarded (%s); the claim timeout is %gs",
                    outcome.task_id,
                    outcome.task_type,
                    exc.message,
                    self._claim_timeout,
                )
                return False
            except TaskManagerValidationError as exc:
                if ok:  # the result itself was refused (not JSON, too big...): fail the task instead
                    ok, error = False, f"the handler's result was refused: {exc.message}"
                    continue
                logger.error("task %d: could not report the failure: %s", outcome.task_id, exc)
                return True
            except TRANSIENT as exc:
                transient_before = True
                if attempt == _REPORT_ATTEMPTS:
                    logger.error(
                        "task %d: could not report its outcome after %d attempts (%s); it will run again "
                        "after its claim times out",
                        outcome.task_id,
                        attempt,
                        exc,
                    )
                    return True
                await self._pause(down_delay(attempt, self._down_cap, rand=self._rng.random()))
                continue
            except TaskManagerError as exc:
                logger.error("task %d: could not report its outcome: %s", outcome.task_id, exc)
                return True
            else:
                status = getattr(reply, "status", None)
                logger.info(
                    "task %d (%s) -> %s", outcome.task_id, outcome.task_type, getattr(status, "value", status)
                )
                break
        if outcome.counted:
            if ok:
                self._counters.add("completed")
            else:
                self._counters.add("failed")
        return True

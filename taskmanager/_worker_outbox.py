"""Handler outcomes (a result or a failure) on their way to the server, kept until it answers.

An outcome is sent at once; when the API does not answer, it stays in the outbox and is sent
again with capped backoff until the server accepts it or answers for good (403: the claim is
another worker's now; 400: the task is not claimed; 404: no such task). It is never dropped on
a count of attempts: the server accepts a late completion from the claiming worker as long as
nobody else re-claimed the task. With a file store, outcomes also outlive the process and are
delivered by the next worker started on the same file, before it claims anything.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable

import attrs

from ._errors import (
    TaskClaimedByAnotherWorkerError,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerRateLimitError,
    TaskNotClaimedError,
)
from ._worker_backoff import down_delay
from ._worker_client import TRANSIENT, WorkerClient, refused_for_good
from ._worker_outbox_store import Outcome, Store, encode_result
from ._worker_stats import Counters
from ._worker_text import describe_error

__all__ = ["Outbox", "Outcome"]

logger = logging.getLogger("taskmanager.worker")

# What the client refuses to send, before sending: the outcome itself is at fault.
_REFUSED = (ValueError, TypeError, RecursionError)  # TaskManagerValidationError is a ValueError
_FALLBACK_ERROR = "the handler failed; its error text could not be sent"


class Outbox:
    """Delivers outcomes, keeping each in ``store`` until the server has answered it."""

    def __init__(
        self,
        client: WorkerClient,
        *,
        store: Store,
        counters: Counters,
        down_cap: float,
        claim_timeout: float,
        pause: Callable[[float], Awaitable[None]],
        rng: random.Random,
        parallel: int,
    ) -> None:
        self._client = client
        self._store = store
        self._counters = counters
        self._down_cap = down_cap
        self._claim_timeout = claim_timeout
        self._pause = pause
        self._rng = rng
        self._parallel = parallel
        self._pending: set[tuple[int, str]] = set()

    @property
    def where(self) -> str:
        path = getattr(self._store, "path", None)
        return f"outbox file {path}" if path else "memory"

    async def replay(self) -> None:
        """Deliver what an earlier process left in the file (all of it, a few at a time)."""
        saved = self._saved()
        if not saved:
            return
        logger.info("delivering %d outcome(s) saved in the %s before claiming", len(saved), self.where)
        self._mark_pending(*(outcome.key for outcome in saved))
        slots = asyncio.Semaphore(self._parallel)

        async def one(outcome: Outcome) -> None:
            async with slots:
                await self.deliver(outcome)

        await asyncio.gather(*(one(outcome) for outcome in saved))

    def _saved(self) -> list[Outcome]:
        """What the store holds; rows it had to set aside are counted as ``quarantined``."""
        before = self._store.set_aside
        try:
            return self._store.saved()
        finally:
            self._counters.add("quarantined", self._store.set_aside - before)

    async def deliver(self, outcome: Outcome) -> bool:
        """Report ``outcome``; False when the server said the claim is no longer this worker's."""
        outcome = self._storable(outcome)
        self._put(outcome)
        answered = False
        try:
            delivered = await self._send_until_answered(outcome)
            answered = True
            return delivered
        finally:
            if answered:  # else cancelled (the worker stopped): it stays in the store
                self._remove(outcome)
                self._pending.discard(outcome.key)
                self._counters.set("outbox_pending", len(self._pending))

    async def _send_until_answered(self, outcome: Outcome) -> bool:
        failures = 0
        uncertain = outcome.saved  # an earlier attempt may have reached the server
        while True:
            try:
                if outcome.ok:
                    reply = await self._client.complete(
                        outcome.task_id, worker_id=outcome.worker_id, result=outcome.result
                    )
                else:
                    reply = await self._client.fail(
                        outcome.task_id, worker_id=outcome.worker_id, error=outcome.error or "failed"
                    )
            except (TaskClaimedByAnotherWorkerError, TaskNotClaimedError, TaskManagerNotFoundError) as exc:
                if uncertain and isinstance(exc, TaskNotClaimedError):
                    # An earlier attempt reached the server although its answer was lost.
                    logger.info("task %d: the earlier report was recorded", outcome.task_id)
                    break
                self._counters.add("claim_lost")
                logger.warning(
                    "task %d (%s): claim lost, outcome discarded (%s); the claim timeout is %gs",
                    outcome.task_id,
                    outcome.task_type,
                    exc.message,
                    self._claim_timeout,
                )
                return False
            except TRANSIENT as exc:
                failures += 1
                if not (isinstance(exc, TaskManagerConnectionError) and not exc.request_sent):
                    uncertain = True
                await self._wait_to_retry(outcome, failures, exc)
                continue
            except TaskManagerError as exc:
                if isinstance(exc, _REFUSED) or refused_for_good(exc):
                    replacement = self._refused(outcome, exc)
                    if replacement is None:
                        return True
                    outcome = replacement
                    continue
                # Not an answer about this outcome (a wrong key, a client tied to another loop...):
                # keep it and try again, like an outage.
                failures += 1
                await self._wait_to_retry(outcome, failures, exc)
                continue
            except _REFUSED as exc:  # the client could not even encode it
                replacement = self._refused(outcome, exc)
                if replacement is None:
                    return True
                outcome = replacement
                continue
            else:
                status = getattr(reply, "status", None)
                logger.info(
                    "task %d (%s) -> %s", outcome.task_id, outcome.task_type, getattr(status, "value", status)
                )
                break
        if outcome.key in self._pending:
            self._counters.add("delivered_late")
        if outcome.counted:
            self._counters.add("completed" if outcome.ok else "failed")
        return True

    async def _wait_to_retry(self, outcome: Outcome, failures: int, exc: TaskManagerError) -> None:
        if outcome.key not in self._pending:
            self._mark_pending(outcome.key)
            logger.info(
                "task %d (%s): outcome not delivered (%s); kept in the %s and sent again",
                outcome.task_id,
                outcome.task_type,
                exc,
                self.where,
            )
        retry_after = exc.retry_after if isinstance(exc, TaskManagerRateLimitError) else None
        await self._pause(
            down_delay(failures, self._down_cap, rand=self._rng.random(), retry_after=retry_after)
        )

    def _mark_pending(self, *keys: tuple[int, str]) -> None:
        self._pending.update(keys)
        self._counters.set("outbox_pending", len(self._pending))

    def _refused(self, outcome: Outcome, exc: BaseException) -> Outcome | None:
        """What to send instead of an outcome the client refused to send (None: nothing)."""
        if outcome.ok:
            reason = exc.message if isinstance(exc, TaskManagerError) else describe_error(exc)
            error = f"the handler's result was refused: {reason}"
            if getattr(exc, "status_code", None) == 413:  # a proxy's or the server's body limit
                error = "the handler's result was too large for the server (HTTP 413)"
            replacement = attrs.evolve(outcome, ok=False, result=None, error=error)
        elif outcome.error != _FALLBACK_ERROR:
            replacement = attrs.evolve(outcome, error=_FALLBACK_ERROR)
        else:  # not even the plainest failure is taken: an answer, so say so rather than spin
            self._counters.add("refused")
            logger.error(
                "task %d (%s): every outcome was refused (last: %s); nothing more is sent, "
                "the server releases the task when its claim times out (%gs)",
                outcome.task_id,
                outcome.task_type,
                describe_error(exc),
                self._claim_timeout,
            )
            return None
        logger.warning("task %d (%s): %s", outcome.task_id, outcome.task_type, replacement.error)
        self._put(replacement)
        return replacement

    def _storable(self, outcome: Outcome) -> Outcome:
        if not self._store.durable or not outcome.ok:
            return outcome
        try:
            encode_result(outcome.result)
        except _REFUSED as exc:
            return self._refused(outcome, exc) or outcome
        return outcome

    def _put(self, outcome: Outcome) -> None:
        try:
            self._store.put(outcome)
        except sqlite3.Error as exc:  # a full disk must not cost the outcome: it is still sent
            logger.error(
                "task %d: could not save its outcome in the %s: %s", outcome.task_id, self.where, exc
            )

    def _remove(self, outcome: Outcome) -> None:
        try:
            self._store.remove(outcome)
        except sqlite3.Error as exc:  # answered already: a copy left in the file is only sent again
            logger.error(
                "task %d: could not remove its answered outcome from the %s: %s",
                outcome.task_id,
                self.where,
                exc,
            )

    def close(self) -> None:
        """The run is over: say what was not delivered (kept in the file, or lost with memory)."""
        try:
            left = self._saved() if self._store.durable else self._store.left()
            ids = ", ".join(str(outcome.task_id) for outcome in sorted(left, key=lambda o: o.task_id))
            if left and self._store.durable:
                self._counters.set("outbox_pending", len(left))
                logger.warning(
                    "%d outcome(s) not delivered yet, kept in the %s for the next start: task(s) %s",
                    len(left),
                    self.where,
                    ids,
                )
            elif left:
                self._counters.add("lost", len(left))
                self._counters.set("outbox_pending", 0)
                logger.error(
                    "%d outcome(s) lost (not delivered, no outbox file): task(s) %s; they run again after "
                    "their claim times out",
                    len(left),
                    ids,
                )
        finally:
            self._pending.clear()
            self._store.close()

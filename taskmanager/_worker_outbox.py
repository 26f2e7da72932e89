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
import os
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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
from ._worker_client import TRANSIENT, OutcomeUnsendable, WorkerClient, refused_for_good
from ._worker_outbox_store import Outcome, Store, encode_result
from ._worker_stats import Counters
from ._worker_text import describe_error

__all__ = ["Outbox", "Outcome"]

logger = logging.getLogger("taskmanager.worker")

# What the client refuses to send, before sending: the outcome itself is at fault.
_REFUSED = (ValueError, TypeError, RecursionError)  # TaskManagerValidationError is a ValueError
_FALLBACK_ERROR = "the handler failed; its error text could not be sent"
_T = TypeVar("_T")


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
        # Outcomes the file failed to take (full disk, read-only, locked past its busy timeout):
        # held here, saved again at the next attempt, lost at the stop unless delivered by then.
        self._unsaved: dict[tuple[int, str], Outcome] = {}
        # The file's reads and writes run on one thread of their own, in order: a file locked by
        # another process (or a slow disk) delays only the outcome concerned, never the loop.
        self._io = ThreadPoolExecutor(1, "taskmanager-outbox") if store.durable else None

    async def _in_io(self, job: Callable[[], _T]) -> _T:
        if self._io is None:
            return job()
        return await asyncio.get_running_loop().run_in_executor(self._io, job)

    @property
    def where(self) -> str:
        path = getattr(self._store, "path", None)
        return f"outbox file {path}" if path else "memory"

    async def replay(self) -> None:
        """Deliver what an earlier process left in the file (all of it, a few at a time)."""
        saved = await self._in_io(self._saved)
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
        await self._put(outcome)
        answered = False
        try:
            delivered = await self._send_until_answered(outcome)
            answered = True
            return delivered
        finally:
            if answered:  # else cancelled (the worker stopped): it stays in the store
                self._unsaved.pop(outcome.key, None)
                self._pending.discard(outcome.key)
                await self._remove(outcome)
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
                    await self._put(outcome)
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
                await self._put(outcome)
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
        if outcome.key in self._unsaved:  # the file may take it now
            await self._put(outcome)
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
            if isinstance(exc, OutcomeUnsendable):  # nobody refused it: the client call kept raising
                error = f"the handler's result could not be sent: {reason}"
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
        return replacement

    def _storable(self, outcome: Outcome) -> Outcome:
        if not self._store.durable or not outcome.ok:
            return outcome
        try:
            encode_result(outcome.result)
        except _REFUSED as exc:
            return self._refused(outcome, exc) or outcome
        return outcome

    async def _put(self, outcome: Outcome) -> None:
        try:
            await self._in_io(lambda: self._store.put(outcome))
        except self._store.errors as exc:  # a full disk must not cost the outcome: it is still sent
            again = outcome.key in self._unsaved
            self._unsaved[outcome.key] = outcome
            if again:  # said once per outcome; the retries go on quietly
                logger.debug("task %d: still not saved in the %s: %s", outcome.task_id, self.where, exc)
                return
            self._counters.add("unsaved")
            logger.error(
                "task %d: could not save its outcome in the %s (%s); held in memory and sent, "
                "saved again at the next attempt, lost if the worker stops before it is delivered",
                outcome.task_id,
                self.where,
                exc,
            )
        else:
            if self._unsaved.pop(outcome.key, None) is not None:
                logger.info("task %d: its outcome is saved in the %s now", outcome.task_id, self.where)

    async def _remove(self, outcome: Outcome) -> None:
        try:
            await self._in_io(lambda: self._store.remove(outcome))
        except self._store.errors as exc:  # answered already: a copy left in the file is only sent again
            logger.error(
                "task %d: could not remove its answered outcome from the %s: %s",
                outcome.task_id,
                self.where,
                exc,
            )

    def close(self) -> None:
        """The run is over: say what was not delivered (kept in the file, or lost)."""
        try:
            if self._io is not None:  # after the writes still queued, on the file's own thread
                self._io.submit(self._close_file).result()
            else:
                self._lose(self._store.left(), "not delivered, no outbox file")
        finally:
            self._pending.clear()
            self._unsaved.clear()
            if self._io is not None:
                try:
                    self._io.submit(self._store.close).result()
                finally:
                    self._io.shutdown()
            else:
                self._store.close()

    def _close_file(self) -> None:
        path = str(getattr(self._store, "path", ""))
        try:
            left = self._saved()
        except self._store.errors as exc:
            logger.error("the %s could not be read at the stop: %s", self.where, exc)
            left = []
        if left and path and not os.path.exists(path):  # deleted under the worker: rows went with it
            self._lose([*left, *self._unsaved.values()], f"the {self.where} was deleted while running")
            return
        kept = {outcome.key for outcome in left}
        self._lose(
            [outcome for key, outcome in self._unsaved.items() if key not in kept],
            f"not delivered, and the {self.where} did not take them",
        )
        self._counters.set("outbox_pending", len(left))
        if left:
            ids = _ids(left)
            logger.warning(
                "%d outcome(s) not delivered yet, kept in the %s for the next start: task(s) %s",
                len(left),
                self.where,
                ids,
            )

    def _lose(self, lost: list[Outcome], why: str) -> None:
        if not lost:
            return
        unique = list({outcome.key: outcome for outcome in lost}.values())
        self._counters.add("lost", len(unique))
        self._counters.set("outbox_pending", 0)
        logger.error(
            "%d outcome(s) lost (%s): task(s) %s; they run again after their claim times out",
            len(unique),
            why,
            _ids(unique),
        )


def _ids(outcomes: list[Outcome]) -> str:
    return ", ".join(str(outcome.task_id) for outcome in sorted(outcomes, key=lambda o: o.task_id))

"""Claims whose reply never came, and the lookup that finds the tasks they took.

A claim may be carried out by the server although the worker never reads its answer: the
reply is garbled, lost after the request went out, the client call raised something of its
own, or a stop cancelled the call in flight. The task then sits claimed under this worker's
id until the server's claim timeout. Only after such a claim (never after a normal one) the
worker lists the claimed tasks of its types, keeps those claimed under its id that it does
not hold, and fetches each (the listing has no params).

Each claim takes at most one task, so a lookup takes at most as many tasks as there were
claims with an unknown outcome since the last lookup that answered, the most recently
claimed first. Other tasks claimed under this id are left to the claim timeout (and never
taken up by a later lookup): with a worker id given by hand another live process may be
running them, and a second copy's report would be accepted too (same id). The default id is
unique per process, so there they do not occur. What the lookup cannot tell: a claim that in
fact took nothing, with such a task the only one listed; it is then taken up (the listing
holds no claim times to compare with the worker's clock), which is why live processes must
not share a worker id.

Everything is bounded: pages, rows read, tasks fetched, and the time of one lookup. A lookup
that fails is logged once and tried again (after the next claim) at most ``_TRIES`` times;
then the claim timeout is the fallback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from ._errors import (
    TaskManagerError,
    TaskManagerEventLoopError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerServerError,
)
from ._models import ClaimedTask, Task, TaskStatus, TaskSummary
from ._operations import task_pager
from ._retry import may_have_acted
from ._worker_client import WorkerClient
from ._worker_text import describe_error

__all__ = ["LostClaims", "claim_outcome_unknown"]

logger = logging.getLogger("taskmanager.worker")

_PAGE_SIZE = 100
_MAX_PAGES = 20  # per task type
_MAX_ROWS = 2000  # listing rows read per lookup, over all types
_MAX_FETCHED = 10  # tasks fetched per lookup (one get_task each)
_TRIES = 3  # lookups that fail before the claims they look for are left to the claim timeout
_GATEWAY_PAGES = (502, 503)  # answered by a front end that did not pass the claim on


def claim_outcome_unknown(exc: BaseException) -> bool:
    """Whether a claim that raised ``exc`` may have claimed a task all the same."""
    if isinstance(exc, TaskManagerEventLoopError):
        return False  # refused before sending
    if isinstance(exc, TaskManagerProtocolError):
        return True  # a reply that could not be read (or a redirect): the server may have acted
    if isinstance(exc, TaskManagerServerError) and exc.status_code in _GATEWAY_PAGES:
        return False
    if isinstance(exc, TaskManagerError):
        return may_have_acted(exc)
    return isinstance(exc, RecursionError)  # a reply too deep to decode


class LostClaims:
    """The claims of one run whose outcome is unknown, and the lookups for their tasks."""

    def __init__(self, client: WorkerClient, *, worker_id: str, types: Sequence[str]) -> None:
        self._client = client
        self._worker_id = worker_id
        self._types = list(dict.fromkeys(types))
        self.owed = 0
        """Claims with an unknown outcome whose task has not been looked up yet."""
        self.since: float | None = None
        """When the oldest of them was sent (on the worker's clock): the claim of a task found is
        taken to be that old, so its handler's ``time_left`` is not overstated."""
        self._failed = 0  # lookups failed in a row
        self._left_alone: set[int] = set()  # tasks already said to be left to the claim timeout

    def note(self, why: object, *, sent_at: float) -> None:
        """A claim sent at ``sent_at`` (the worker's clock) whose outcome is unknown: the next
        lookup looks for its task."""
        if not self.owed:
            self.since = sent_at
        self.owed += 1
        logger.info(
            "the claim's outcome is unknown (%s): looking for a task claimed under %s before the next claim",
            why,
            self._worker_id,
        )

    async def find(self, *, held: Callable[[int], bool], limit: int, timeout: float) -> list[ClaimedTask]:
        """The tasks the unknown claims took (at most ``limit``), ready to run; [] when the lookup
        fails or finds none. Takes ``timeout`` seconds at most."""
        if self.owed <= 0 or limit <= 0:
            return []
        try:
            async with asyncio.timeout(timeout):
                tasks, complete = await self._lookup(held)
        except Exception as exc:  # an outage, a garbled listing, the time bound: never the run's end
            self._lookup_failed(exc)
            return []
        self._failed = 0
        tasks.sort(key=_claimed_at, reverse=True)  # the latest claim is the likeliest to be ours
        chosen = tasks[: min(self.owed, limit)]
        self._leave_alone(tasks[self.owed :])
        # What the listing did not show was not claimed; a lookup cut short does not look again.
        self.owed = 0 if not complete else max(0, min(self.owed, len(tasks)) - len(chosen))
        if not self.owed:
            self.since = None
        for task in chosen:
            logger.warning(
                "task %d (%s) was claimed by %s although the claim's reply never came; taking it up "
                "(attempt %d)",
                task.id,
                task.type,
                self._worker_id,
                task.attempts,
            )
        return [_as_claimed(task, self._worker_id) for task in chosen]

    async def _lookup(self, held: Callable[[int], bool]) -> tuple[list[Task], bool]:
        """The tasks claimed under this id that ``held`` says this run does not hold, and whether
        the listing was read to its end."""
        rows, complete = await self._candidates(held)
        if len(rows) > _MAX_FETCHED:
            logger.warning(
                "%d tasks are claimed under %s and not held by this run; fetching the newest %d",
                len(rows),
                self._worker_id,
                _MAX_FETCHED,
            )
            rows, complete = rows[:_MAX_FETCHED], False
        tasks = []
        for row in rows:
            try:
                task = await self._client.get_task(row.id)
            except TaskManagerNotFoundError:
                continue  # gone meanwhile
            # Completed, failed or re-claimed since it was listed: not ours to run any more.
            if task.status is TaskStatus.CLAIMED and task.claimed_by == self._worker_id and not held(task.id):
                tasks.append(task)
        return tasks, complete

    async def _candidates(self, held: Callable[[int], bool]) -> tuple[list[TaskSummary], bool]:
        found: list[TaskSummary] = []
        read = 0
        complete = True
        for task_type in self._types:
            pager = task_pager(_PAGE_SIZE)
            pages = 0
            while not pager.done:
                limit, offset = pager.next_page()
                if pages >= _MAX_PAGES or read + limit > _MAX_ROWS:
                    complete = False
                    break
                page = await self._client.list_tasks(
                    status=TaskStatus.CLAIMED, task_type=task_type, limit=limit, offset=offset
                )
                pages += 1
                read += len(page)
                found.extend(
                    row
                    for row in pager.take(page)
                    if row.claimed_by == self._worker_id
                    and row.type in self._types
                    and row.id not in self._left_alone
                    and not held(row.id)
                )
        if not complete:
            logger.warning(
                "the lookup of tasks claimed under %s stopped after %d listed rows; a task it did not "
                "reach is released at the server's claim timeout",
                self._worker_id,
                read,
            )
        return found, complete

    def _lookup_failed(self, exc: Exception) -> None:
        self._failed += 1
        gave_up = self._failed >= _TRIES
        why = "it took too long" if isinstance(exc, TimeoutError) else describe_error(exc)
        if self._failed == 1 or gave_up:
            logger.warning(
                "could not look up the task an unanswered claim may have taken (%s); %s",
                why,
                "giving up: the server releases it at its claim timeout"
                if gave_up
                else "trying again after the next claim",
            )
        if gave_up:
            self.owed = 0
            self._failed = 0
            self.since = None

    def _leave_alone(self, tasks: list[Task]) -> None:
        fresh = [task.id for task in tasks if task.id not in self._left_alone]
        if not fresh:
            return
        self._left_alone.update(fresh)
        logger.warning(
            "task(s) %s claimed under %s but not by this run: left alone until the server's claim "
            "timeout (is another process using the same worker id?)",
            ", ".join(map(str, sorted(fresh))),
            self._worker_id,
        )


def _claimed_at(task: Task) -> dt.datetime:
    return task.claimed_at or dt.datetime.min.replace(tzinfo=dt.UTC)


def _as_claimed(task: Task, worker_id: str) -> ClaimedTask:
    return ClaimedTask(
        id=task.id,
        type=task.type,
        params=dict(task.params or {}),
        attempts=task.attempts,
        priority=task.priority,
        worker_id=worker_id,
        claimed_at=task.claimed_at or dt.datetime.now(dt.UTC),
    )

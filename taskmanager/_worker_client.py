"""One interface over the sync and the async client, for the worker's event loop.

An ``AsyncTaskManagerClient`` is awaited on the loop. A ``TaskManagerClient`` blocks, so its
calls run in the run's own bounded pool of daemon threads (never a thread per call). Every
call notes whether the API answered, in the run's ``ApiHealth``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._errors import (
    TaskManagerAPIError,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerEventLoopError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerValidationError,
)
from ._policies import ClaimPolicy
from ._worker_health import ApiHealth
from ._worker_text import describe_error
from ._worker_threads import DaemonPool

if TYPE_CHECKING:
    from ._models import ClaimedTask, CompletionOutcome, ProgressUpdate, Task, TaskStatus, TaskSummary

__all__ = ["TRANSIENT", "CallRaised", "WorkerClient", "is_async_client", "refused_for_good"]

logger = logging.getLogger("taskmanager.worker")

# Errors that mean "the API is not answering properly right now": keep going, back off.
TRANSIENT = (
    TaskManagerConnectionError,  # includes TaskManagerTimeoutError
    TaskManagerServerError,
    TaskManagerRateLimitError,
    TaskManagerProtocolError,
)


def refused_for_good(exc: BaseException) -> bool:
    """A 4xx the client has no error class for (405, 409, 410, 413, 418...): the server, or a
    proxy before it, answered the request itself, and the same request gets the same answer."""
    return type(exc) is TaskManagerAPIError and exc.status_code is not None and 400 <= exc.status_code < 500


# How many times in a row sending one task's outcome may raise an exception that is not the
# client's (a custom transport's or event hook's own) before that outcome counts as refused.
RAISED_LIMIT = 3


class CallRaised(TaskManagerConnectionError):
    """A client call raised an exception that is not a ``TaskManagerError`` (from a custom
    transport or an event hook): whether the request reached the server is unknown."""


class OutcomeUnsendable(TaskManagerValidationError):
    """Sending one outcome raised the same kind of foreign exception ``RAISED_LIMIT`` times in a
    row: the outbox treats it as refused (a plainer failure is tried, then nothing)."""


# How long the end of a run waits for an async client to let go of its connections.
_RELEASE_TIMEOUT = 2.0


def is_async_client(client: object) -> bool:
    """True for an ``AsyncTaskManagerClient``, False for a ``TaskManagerClient``.

    Any other object offering the same methods (a wrapper, a test double) is async when its
    ``claim_task`` is a coroutine function.
    """
    from ._async_client import AsyncTaskManagerClient
    from ._client import TaskManagerClient

    if isinstance(client, AsyncTaskManagerClient):
        return True
    if isinstance(client, TaskManagerClient):
        return False
    return inspect.iscoroutinefunction(getattr(client, "claim_task", None))


class WorkerClient:
    """The client calls one worker run makes, awaited the same way whatever the client."""

    def __init__(self, client: Any, *, health: ApiHealth, threads: int) -> None:
        self._client = client
        self._health = health
        self._async = is_async_client(client)
        self._pool = None if self._async else DaemonPool(threads, "taskmanager-api")
        self._raised: dict[int, int] = {}  # task id -> foreign exceptions in a row sending its outcome
        self._raising: dict[str, int] = {}  # other calls: method name -> foreign exceptions in a row

    @property
    def resting(self) -> bool:
        """The API is failing right now (see ``ApiHealth.resting``)."""
        return self._health.resting()

    async def claim(self, types: Sequence[str], *, worker_id: str, policy: ClaimPolicy) -> ClaimedTask | None:
        result: ClaimedTask | None = await self._call(
            "claim_task", types[0] if len(types) == 1 else list(types), worker_id=worker_id, policy=policy
        )
        return result

    async def progress(
        self, task_id: int, progress: int, *, worker_id: str, message: str | None
    ) -> ProgressUpdate:
        result: ProgressUpdate = await self._call(
            "update_progress", task_id, progress, worker_id=worker_id, message=message
        )
        return result

    async def complete(
        self, task_id: int, *, worker_id: str, result: dict[str, Any] | None
    ) -> CompletionOutcome:
        outcome: CompletionOutcome = await self._call(
            "complete_task", task_id, worker_id=worker_id, success=True, result=result, outcome_of=task_id
        )
        return outcome

    async def fail(self, task_id: int, *, worker_id: str, error: str) -> CompletionOutcome:
        outcome: CompletionOutcome = await self._call(
            "fail_task", task_id, worker_id=worker_id, error=error, outcome_of=task_id
        )
        return outcome

    async def list_tasks(
        self, *, status: TaskStatus, task_type: str, limit: int, offset: int
    ) -> list[TaskSummary]:
        rows: list[TaskSummary] = await self._call(
            "list_tasks", status=status, type=task_type, limit=limit, offset=offset
        )
        return rows

    async def get_task(self, task_id: int) -> Task:
        task: Task = await self._call("get_task", task_id)
        return task

    async def aclose(self) -> None:
        """End of the run: free the threads, and let an async client drop its pool on this loop."""
        if self._pool is not None:
            self._pool.close()
            return
        release = getattr(self._client, "release_connections", None)
        if release is None or not inspect.iscoroutinefunction(release):
            return
        try:
            await asyncio.wait_for(release(), _RELEASE_TIMEOUT)
        except Exception as exc:  # the run is over; a pool that will not close is only logged
            logger.warning("could not release the client's connections: %s: %s", type(exc).__name__, exc)

    async def _call(self, name: str, *args: Any, outcome_of: int | None = None, **kwargs: Any) -> Any:
        method = getattr(self._client, name)
        try:
            try:
                if self._pool is None:
                    result = await method(*args, **kwargs)
                else:
                    result = await self._pool.submit(method, *args, **kwargs)
            except TaskManagerError:
                raise
            except Exception as exc:  # a custom transport's or event hook's own exception
                raise self._foreign(name, exc, outcome_of) from exc
        except TaskManagerEventLoopError:
            raise  # not an outage: nothing was sent
        except TRANSIENT as exc:
            self._health.down(exc)
            raise
        except TaskManagerError:
            self._answered(name, outcome_of)
            raise
        self._answered(name, outcome_of)
        self._health.up()
        return result

    def _answered(self, name: str, outcome_of: int | None) -> None:
        """A call that answered (a result, or an error reply): an episode of raising ends."""
        if outcome_of is not None:
            self._raised.pop(outcome_of, None)
            return
        raised = self._raising.pop(name, 0)
        if raised:
            logger.warning("%s answers again, after %d call(s) in a row raised", name, raised)

    def _foreign(self, name: str, exc: Exception, outcome_of: int | None) -> TaskManagerError:
        """What the worker makes of an exception that is not the client's: a call whose request
        may have been sent (an outage, so a claim is not resent blindly and an outcome is kept
        and checked later), until one outcome's sends raised ``RAISED_LIMIT`` times in a row."""
        described = describe_error(exc)
        if outcome_of is not None:
            count = self._raised[outcome_of] = self._raised.get(outcome_of, 0) + 1
            logger.warning(
                "task %d: %s raised %s (not a client error: a custom transport or event hook?); "
                "whether it reached the server is unknown (%d of %d in a row)",
                outcome_of,
                name,
                described,
                count,
                RAISED_LIMIT,
            )
            if count >= RAISED_LIMIT:
                self._raised.pop(outcome_of, None)
                return OutcomeUnsendable(
                    f"{RAISED_LIMIT} sends in a row raised {described} (a custom transport or event hook?)"
                )
        else:
            # Once per episode (a transport raising on every progress report would say it per
            # report), and once when a call of that kind answers again.
            count = self._raising[name] = self._raising.get(name, 0) + 1
            logger.log(
                logging.WARNING if count == 1 else logging.DEBUG,
                "%s raised %s (not a client error: a custom transport or event hook?); "
                "treated as a call whose reply was lost%s",
                name,
                described,
                " (not logged again until one answers)" if count == 1 else f" ({count} in a row)",
            )
        return CallRaised(f"{name} raised {described}", request_sent=True)

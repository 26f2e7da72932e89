"""The synchronous client."""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from . import _models as models
from . import _operations as ops
from . import _wire
from ._base_client import BaseClient
from ._config import TaskManagerConfig
from ._exchange import exchange
from ._http_pool import new_pool
from ._http_setup import closed_client_error
from ._policies import ClaimPolicy
from ._protocol import RESUMED
from ._retry import sleep

__all__ = ["TaskManagerClient"]

T = TypeVar("T")


class TaskManagerClient(BaseClient):
    """Client for the TaskManager API.

    Example::

        with TaskManagerClient(api_url="http://127.0.0.1:8080/api", api_key="k") as client:
            task = client.create_task("PrismQ.Script.Generate", {"topic": "Hello"})

    Settings come from ``config``; ``api_url``/``api_key`` override it; with neither, from the
    ``TASKMANAGER_API_URL`` and ``TASKMANAGER_API_KEY`` environment variables. The client keeps
    one connection pool; close it (or use ``with``). Pass ``http_client`` to use your own
    ``httpx.Client`` (you close it; the key is added to each request), or ``transport`` for a
    custom ``httpx`` transport (``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        config: TaskManagerConfig | None = None,
        *,
        api_url: str | None = None,
        api_key: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(config, api_url, api_key, own_pool=http_client is None, transport=transport)
        if http_client is not None:
            self._http = http_client
            self._owns_http = False
        else:
            self._http = new_pool(httpx.Client, self._config, self._pool_headers, transport)
            self._owns_http = True

    def close(self) -> None:
        """Close the connection pool (not a pool passed in as ``http_client``); a local() server stops."""
        if self._owns_http:
            self._http.close()
        self._stop_local()

    def __enter__(self) -> TaskManagerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()

    # -------------------------------------------------------------------------- I/O

    def _send(self, call: _wire.Call) -> _wire.Reply:
        """One attempt: send ``call`` and read its reply (retries are ``_retry.send``'s)."""
        http = self._http
        if http.is_closed:
            raise closed_client_error(call)
        timeout = call.attempt_timeout(self._config.timeout)
        return exchange(http, call, self._base + call.path, self._headers, timeout)

    def _run(self, op: ops.Op[T]) -> T:
        """Drive an operation to its result, doing the I/O it asks for; close it whatever happens."""
        try:
            step = next(op)
            while True:
                if isinstance(step, ops.Pause):
                    sleep(step.seconds)
                    step = op.send(RESUMED)
                else:
                    try:
                        reply = self._send(step)
                    except StopIteration as exc:  # a transport's or hook's own, not the operation's end
                        raise RuntimeError("the HTTP transport raised StopIteration") from exc
                    step = op.send(reply)
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            op.close()

    # -------------------------------------------------------------------------- API

    def health_check(self) -> models.Health:
        """``GET /health`` (needs no key)."""
        return self._run(ops.health_check(self._state))

    def register_task_type(
        self,
        name: str,
        version: str,
        param_schema: Mapping[str, Any],
        *,
        max_attempts: int | None = None,
        timeout: float | None = None,
        priority: int | None = None,
    ) -> models.TaskType:
        """Register a task type, or update the one with this name (``created`` tells which).

        ``max_attempts``, ``timeout`` and ``priority`` exist only to say clearly that the API
        has no per-type settings: passing any raises TaskManagerUnsupportedError.
        """
        return self._run(
            ops.register_task_type(self._state, name, version, param_schema, max_attempts, timeout, priority)
        )

    def get_task_type(self, name: str) -> models.TaskType:
        """Look a task type up by name; TaskManagerNotFoundError when there is none."""
        return self._run(ops.get_task_type(self._state, name))

    def list_task_types(self, active_only: bool = False) -> list[models.TaskType]:
        """List task types. The current real server fails every listing (a TaskManagerServerError)."""
        return self._run(ops.list_task_types(self._state, active_only))

    def create_task(
        self,
        task_type: str,
        params: Mapping[str, Any],
        *,
        on_duplicate: ops.OnDuplicate = "return",
        priority: int | None = None,
    ) -> models.CreatedTask:
        """Create a task, or find the existing one with the same type and params.

        Params are sent with keys sorted at every level, so the same params in any order are
        one task; ``dedupe_key`` is computed locally and checked against the server's.
        ``created`` is True (created now), False (existed before) or None (cannot be known:
        a retry after a lost reply found it). ``is_new_work`` is False when the existing task
        already finished. ``on_duplicate="raise"`` raises DuplicateTaskError when ``created``
        is False. Params JSON cannot carry faithfully are refused with
        TaskManagerValidationError before sending.

        ``priority`` is not sent: the server accepts it but ignores it (every task has
        priority 0). Passing one emits a UserWarning saying so.
        """
        return self._run(ops.create_task(self._state, task_type, params, on_duplicate, priority))

    def claim_task(
        self,
        task_type: ops.TaskTypeRef | Sequence[ops.TaskTypeRef] | None = None,
        worker_id: str | None = None,
        policy: ClaimPolicy | str = ClaimPolicy.FIFO,
    ) -> models.ClaimedTask | None:
        """Claim the next task of a type (name or id, or a list of them); None when there is none.

        Names are resolved to ids once and cached. With several types the starting type
        rotates from call to call, so no type starves another. A name the server does not
        know raises TaskManagerNotFoundError when it is the only one asked for, or when no
        requested type is known; among known types it is skipped, with one WARNING on the
        ``taskmanager`` logger (repeated only after the name has resolved in between).
        ``worker_id`` defaults to the config's, else host name, process id and a random suffix.
        ``policy`` is a ClaimPolicy or its name in any case (``"LIFO"``). Without a type the call raises
        TaskManagerUnsupportedError: the API only claims by type.
        """
        return self._run(ops.claim_task(self._state, task_type, worker_id, policy))

    def update_progress(
        self, task_id: int, progress: int, *, worker_id: str | None = None, message: str | None = None
    ) -> models.ProgressUpdate:
        """Report progress (0..100) on a claimed task. It does not extend the claim.

        Without ``worker_id``: the id that claimed the task through this client, else the default.
        """
        return self._run(ops.update_progress(self._state, task_id, progress, worker_id, message))

    def complete_task(
        self,
        task_id: int,
        result: Mapping[str, Any] | None = None,
        status: str | None = None,
        *,
        worker_id: str | None = None,
        success: bool | None = None,
        error: str | None = None,
    ) -> models.CompletionOutcome:
        """Report a claimed task done; the outcome says completed, failed for good, or retry.

        ``success`` (default True) or, as older code spells it, ``status="completed"`` or
        ``"failed"``; giving both with different meanings is a TaskManagerValidationError.
        Without ``worker_id``: the id that claimed the task through this client, else the
        client's default worker id. A failure without ``error`` whose ``result`` has an
        ``"error"`` string uses that string as the task's error message.
        """
        return self._run(ops.complete_task(self._state, task_id, result, status, worker_id, success, error))

    def fail_task(
        self, task_id: int, *, worker_id: str | None = None, error: str
    ) -> models.CompletionOutcome:
        """Report a claimed task failed; it goes back to pending while attempts remain."""
        return self.complete_task(task_id, worker_id=worker_id, success=False, error=error)

    def get_task(self, task_id: int) -> models.Task:
        """One task; TaskManagerNotFoundError when there is none."""
        return self._run(ops.get_task(self._state, task_id))

    def get_task_status(self, task_id: int) -> models.Task:
        """The same as ``get_task`` (the name older code uses): status, params, result, error."""
        return self._run(ops.get_task(self._state, task_id))

    def cancel_task(self, task_id: int) -> None:
        """Always raises TaskManagerUnsupportedError: the API has no way to cancel a task."""
        self._run(ops.cancel_task(self._state, task_id))

    def list_tasks(
        self,
        status: models.TaskStatus | str | None = None,
        type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[models.TaskSummary]:
        """One page of tasks, newest first. ``type`` is exact, or a SQL LIKE pattern with ``%``."""
        return self._run(ops.list_tasks(self._state, status, type, limit, offset))

    def iter_tasks(
        self, status: models.TaskStatus | str | None = None, type: str | None = None, page_size: int = 100
    ) -> Iterator[models.TaskSummary]:
        """Every matching task exactly once, newest first, page by page.

        The server orders tasks by creation time in whole seconds and lists the tasks of one
        second in a different order from one query to the next, so no page ends inside a
        second: the next page starts again at the first task of the last second, and a page
        that one second fills is read again with twice the limit. Each task comes exactly once
        while the listing does not change; a task created during the walk, or leaving the
        ``status`` filter meanwhile, shifts the offsets, so it or a task after it may be missed.
        """
        pager = ops.task_pager(page_size)
        while not pager.done:
            limit, offset = pager.next_page()
            page = self.list_tasks(status=status, type=type, limit=limit, offset=offset)
            for row in pager.take(page):  # noqa: UP028 (the same loop as the async client's)
                yield row

    def wait_for_task(self, task_id: int, timeout: float = 300.0, poll_interval: float = 1.0) -> models.Task:
        """Poll until the task completes (returns it), fails (TaskFailedError) or time runs out
        (WaitTimeoutError). ``timeout`` bounds the polls too: a slow or stalled reply is not waited
        for past it (a last poll still gets at least a second), nor retried."""
        return self._run(ops.wait_for_task(self._state, task_id, timeout, poll_interval))

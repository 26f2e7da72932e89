"""An in-memory stand-in for the client methods the worker uses, with the real server's rules.

Claims increment ``attempts``; a claim older than ``claim_timeout`` (on ``clock``) can be taken
again without checking max attempts; a failure below ``max_attempts`` goes back to pending;
completing a task someone else holds is a 403, completing one that is not claimed a 400.
``claim_errors`` / ``complete_errors`` are queues of exceptions raised by the next calls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections import deque
from typing import Any

from taskmanager._errors import (
    TaskClaimedByAnotherWorkerError,
    TaskManagerNotFoundError,
    TaskManagerValidationError,
    TaskNotClaimedError,
)
from taskmanager._models import ClaimedTask, CompletionOutcome, CompletionStatus, ProgressUpdate
from taskmanager._policies import ClaimPolicy


class FakeTask:
    def __init__(self, id: int, type: str, params: dict[str, Any]) -> None:
        self.id = id
        self.type = type
        self.params = params
        self.status = "pending"
        self.attempts = 0
        self.priority = 0
        self.claimed_by: str | None = None
        self.claimed_at: float | None = None
        self.progress = 0
        self.progress_messages: list[str | None] = []
        self.result: dict[str, Any] | None = None
        self.error_message: str | None = None


class FakeClient:
    def __init__(self, *, claim_timeout: float = 300.0, max_attempts: int = 3, clock: Any = None) -> None:
        self.claim_timeout = claim_timeout
        self.max_attempts = max_attempts
        self.now = 0.0
        self._clock = clock
        self.tasks: dict[int, FakeTask] = {}
        self.claim_errors: deque[Exception] = deque()
        self.complete_errors: deque[Exception] = deque()
        self.progress_errors: deque[Exception] = deque()
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self._clock() if self._clock is not None else self.now

    def add(self, type: str, params: dict[str, Any], *, attempts: int = 0) -> FakeTask:
        with self._lock:
            task = FakeTask(len(self.tasks) + 1, type, params)
            task.attempts = attempts
            self.tasks[task.id] = task
            return task

    def claim_task(
        self, task_type: Any, worker_id: str | None = None, policy: ClaimPolicy = ClaimPolicy.FIFO
    ) -> ClaimedTask | None:
        with self._lock:
            self.calls.append("claim")
            if self.claim_errors:
                raise self.claim_errors.popleft()
            types = [task_type] if isinstance(task_type, str) else list(task_type)
            now = self.clock()
            ready = [
                t
                for t in self.tasks.values()
                if t.type in types
                and (
                    t.status == "pending"
                    or (t.status == "claimed" and now - (t.claimed_at or 0) >= self.claim_timeout)
                )
            ]
            if not ready:
                return None
            ready.sort(key=lambda t: t.id, reverse=policy is ClaimPolicy.LIFO)
            task = ready[0]
            task.status = "claimed"
            task.attempts += 1
            task.claimed_by = worker_id
            task.claimed_at = now
            return ClaimedTask(
                id=task.id,
                type=task.type,
                params=task.params,
                attempts=task.attempts,
                priority=task.priority,
                worker_id=worker_id or "",
                claimed_at=dt.datetime.now(dt.UTC),
            )

    def _owned(self, task_id: int, worker_id: str) -> FakeTask:
        task = self.tasks.get(task_id)
        if task is None:
            raise TaskManagerNotFoundError("Task not found", status_code=404)
        if task.status != "claimed":
            raise TaskNotClaimedError("Task is not in claimed state", status_code=400)
        if task.claimed_by != worker_id:
            raise TaskClaimedByAnotherWorkerError("Task is claimed by another worker", status_code=403)
        return task

    def update_progress(
        self, task_id: int, progress: int, *, worker_id: str, message: str | None = None
    ) -> ProgressUpdate:
        with self._lock:
            self.calls.append("progress")
            if self.progress_errors:
                raise self.progress_errors.popleft()
            task = self._owned(task_id, worker_id)
            task.progress = progress
            task.progress_messages.append(message)
            return ProgressUpdate(
                task_id=task_id, progress=progress, message="Task progress updated successfully"
            )

    def complete_task(
        self,
        task_id: int,
        *,
        worker_id: str,
        success: bool = True,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> CompletionOutcome:
        with self._lock:
            self.calls.append("complete" if success else "fail")
            if self.complete_errors:
                raise self.complete_errors.popleft()
            task = self._owned(task_id, worker_id)
            if result is not None:
                try:
                    json.dumps(result)
                except TypeError as exc:
                    raise TaskManagerValidationError(f"result is not JSON: {exc}") from exc
            if success:
                task.status, task.result = "completed", result
                status = CompletionStatus.COMPLETED
            else:
                task.error_message = error
                if task.attempts >= self.max_attempts:
                    task.status, status = "failed", CompletionStatus.FAILED
                else:
                    task.status, status = "pending", CompletionStatus.RETRY
                task.claimed_by = None
            return CompletionOutcome(task_id=task_id, status=status, message="Task completed")

    def fail_task(self, task_id: int, *, worker_id: str, error: str) -> CompletionOutcome:
        return self.complete_task(task_id, worker_id=worker_id, success=False, error=error)

    def steal(self, task_id: int, other: str) -> None:
        """Another worker re-claims the task (as after a claim timeout)."""
        with self._lock:
            task = self.tasks[task_id]
            task.claimed_by = other
            task.attempts += 1


class AsyncFakeClient:
    """The same, with ``async def`` methods (like ``AsyncTaskManagerClient``)."""

    def __init__(self, sync: FakeClient) -> None:
        self.sync = sync

    async def claim_task(self, *args: Any, **kwargs: Any) -> ClaimedTask | None:
        await asyncio.sleep(0)  # a real client yields to the loop while waiting for the reply
        return self.sync.claim_task(*args, **kwargs)

    async def update_progress(self, *args: Any, **kwargs: Any) -> ProgressUpdate:
        return self.sync.update_progress(*args, **kwargs)

    async def complete_task(self, *args: Any, **kwargs: Any) -> CompletionOutcome:
        return self.sync.complete_task(*args, **kwargs)

    async def fail_task(self, *args: Any, **kwargs: Any) -> CompletionOutcome:
        return self.sync.fail_task(*args, **kwargs)


class RecordingSleep:
    """An async sleep that returns at once, records the delays, and can act after N calls."""

    def __init__(self, actions: dict[int, Any] | None = None) -> None:
        self.delays: list[float] = []
        self.actions = actions or {}

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would
        action = self.actions.get(len(self.delays))
        if action is not None:
            action()

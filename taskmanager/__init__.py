"""Python client for the PrismQ TaskManager API.

>>> from taskmanager import TaskManagerClient  # doctest: +SKIP
>>> with TaskManagerClient() as client:  # TASKMANAGER_API_URL / TASKMANAGER_API_KEY  # doctest: +SKIP
...     task = client.claim_task("PrismQ.Script.Generate", worker_id="w1")
"""

from typing import TYPE_CHECKING, Any

from ._async_client import AsyncTaskManagerClient
from ._client import TaskManagerClient
from ._config import TaskManagerConfig
from ._errors import (
    DuplicateTaskError,
    TaskClaimedByAnotherWorkerError,
    TaskFailedError,
    TaskManagerAPIError,
    TaskManagerAuthError,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerTimeoutError,
    TaskManagerValidationError,
    TaskNotClaimedError,
    WaitTimeoutError,
)
from ._models import (
    ClaimedTask,
    CompletionOutcome,
    CompletionStatus,
    CreatedTask,
    Health,
    ProgressUpdate,
    Task,
    TaskStatus,
    TaskSummary,
    TaskType,
)
from ._policies import ClaimPolicy
from ._retry import set_testing

if TYPE_CHECKING:
    from ._worker import AsyncWorkerTask, Worker, WorkerStats, WorkerTask

__version__ = "0.1.0"

__all__ = [
    "AsyncTaskManagerClient",
    "AsyncWorkerTask",
    "ClaimPolicy",
    "ClaimedTask",
    "CompletionOutcome",
    "CompletionStatus",
    "CreatedTask",
    "DuplicateTaskError",
    "Health",
    "ProgressUpdate",
    "Task",
    "TaskClaimedByAnotherWorkerError",
    "TaskFailedError",
    "TaskManagerAPIError",
    "TaskManagerAuthError",
    "TaskManagerClient",
    "TaskManagerConfig",
    "TaskManagerConnectionError",
    "TaskManagerError",
    "TaskManagerNotFoundError",
    "TaskManagerProtocolError",
    "TaskManagerRateLimitError",
    "TaskManagerServerError",
    "TaskManagerTimeoutError",
    "TaskManagerValidationError",
    "TaskNotClaimedError",
    "TaskStatus",
    "TaskSummary",
    "TaskType",
    "WaitTimeoutError",
    "Worker",
    "WorkerStats",
    "WorkerTask",
    "set_testing",
]

_WORKER_NAMES = frozenset({"AsyncWorkerTask", "Worker", "WorkerStats", "WorkerTask"})


def __getattr__(name: str) -> Any:
    # The worker runtime is built on asyncio; loading it on first use keeps `import taskmanager`
    # light for code that only creates tasks.
    if name in _WORKER_NAMES:
        from . import _worker

        return getattr(_worker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

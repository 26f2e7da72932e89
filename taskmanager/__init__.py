"""Python client for the PrismQ TaskManager API.

>>> from taskmanager import TaskManagerClient  # doctest: +SKIP
>>> with TaskManagerClient() as client:  # TASKMANAGER_API_URL / TASKMANAGER_API_KEY  # doctest: +SKIP
...     task = client.claim_task("PrismQ.Script.Generate", worker_id="w1")
"""

import logging
from typing import TYPE_CHECKING, Any

from ._config import TaskManagerConfig
from ._errors import (
    DuplicateTaskError,
    TaskClaimedByAnotherWorkerError,
    TaskFailedError,
    TaskManagerAPIError,
    TaskManagerAuthError,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerEventLoopError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerTimeoutError,
    TaskManagerUnsupportedError,
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

# A library leaves output to the application: without this, Python's last-resort handler
# would print the client's warnings (retries) to stderr in programs that configure no logging.
logging.getLogger("taskmanager").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from ._async_client import AsyncTaskManagerClient
    from ._client import TaskManagerClient
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
    "TaskManagerEventLoopError",
    "TaskManagerNotFoundError",
    "TaskManagerProtocolError",
    "TaskManagerRateLimitError",
    "TaskManagerServerError",
    "TaskManagerTimeoutError",
    "TaskManagerUnsupportedError",
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

# Loaded on first use: the clients pull in httpx and the worker runtime asyncio, so that
# `import taskmanager` stays light (models, errors and config only) until one is needed.
_LAZY = {
    "AsyncTaskManagerClient": "._async_client",
    "AsyncWorkerTask": "._worker",
    "TaskManagerClient": "._client",
    "Worker": "._worker",
    "WorkerStats": "._worker",
    "WorkerTask": "._worker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Python client for the PrismQ TaskManager API.

>>> from taskmanager import TaskManagerClient  # doctest: +SKIP
>>> with TaskManagerClient() as client:  # TASKMANAGER_API_URL / TASKMANAGER_API_KEY  # doctest: +SKIP
...     task = client.claim_task("PrismQ.Script.Generate", worker_id="w1")
"""

import logging
from typing import TYPE_CHECKING, Any

# A library leaves output to the application: without this, Python's last-resort handler
# would print the client's warnings (retries) to stderr in programs that configure no logging.
logging.getLogger("taskmanager").addHandler(logging.NullHandler())

if TYPE_CHECKING:
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

# Every public name is loaded from its module on first use (PEP 562), so that `import taskmanager`
# costs almost nothing and a program pays only for what it touches: the errors alone, the
# settings and models (attrs), a client (httpx), the worker (asyncio). Type checkers read the
# imports above instead.
_LAZY = {
    "AsyncTaskManagerClient": "._async_client",
    "AsyncWorkerTask": "._worker",
    "ClaimPolicy": "._policies",
    "ClaimedTask": "._models",
    "CompletionOutcome": "._models",
    "CompletionStatus": "._models",
    "CreatedTask": "._models",
    "DuplicateTaskError": "._errors",
    "Health": "._models",
    "ProgressUpdate": "._models",
    "Task": "._models",
    "TaskClaimedByAnotherWorkerError": "._errors",
    "TaskFailedError": "._errors",
    "TaskManagerAPIError": "._errors",
    "TaskManagerAuthError": "._errors",
    "TaskManagerClient": "._client",
    "TaskManagerConfig": "._config",
    "TaskManagerConnectionError": "._errors",
    "TaskManagerError": "._errors",
    "TaskManagerEventLoopError": "._errors",
    "TaskManagerNotFoundError": "._errors",
    "TaskManagerProtocolError": "._errors",
    "TaskManagerRateLimitError": "._errors",
    "TaskManagerServerError": "._errors",
    "TaskManagerTimeoutError": "._errors",
    "TaskManagerUnsupportedError": "._errors",
    "TaskManagerValidationError": "._errors",
    "TaskNotClaimedError": "._errors",
    "TaskStatus": "._models",
    "TaskSummary": "._models",
    "TaskType": "._models",
    "WaitTimeoutError": "._errors",
    "Worker": "._worker",
    "WorkerStats": "._worker",
    "WorkerTask": "._worker",
    "set_testing": "._retry",
}


if not TYPE_CHECKING:  # hidden from type checkers: they would let any name through a module __getattr__

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

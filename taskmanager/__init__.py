"""Python client for the PrismQ TaskManager API.

>>> from taskmanager import TaskManagerClient  # doctest: +SKIP
>>> with TaskManagerClient() as client:  # TASKMANAGER_API_URL / TASKMANAGER_API_KEY  # doctest: +SKIP
...     task = client.claim_task("PrismQ.Script.Generate", worker_id="w1")
"""

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

__version__ = "0.1.0"

__all__ = [
    "AsyncTaskManagerClient",
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
    "set_testing",
]

"""The generated bindings the facade uses, imported by name so that mypy checks every use.

Only ``_wire`` reads this module, and it imports it when the first request is built (not on
``import taskmanager``): the generated package costs more to import than the rest of
``taskmanager`` together, so ``from taskmanager import TaskManagerClient`` does not pay for it.
(Its ``models`` package imports every model at once, so the first request pays for all of them.)
"""

from __future__ import annotations

from taskmanager_api.api.health import health_check
from taskmanager_api.api.task_types import get_task_type, list_task_types, register_task_type
from taskmanager_api.api.tasks import (
    claim_task,
    complete_task,
    create_task,
    get_task,
    list_tasks,
    update_task_progress,
)
from taskmanager_api.models import (
    ClaimSortBy,
    ClaimSortOrder,
    ClaimTaskRequest,
    CompleteTaskRequest,
    CreateTaskRequest,
    JsonObject,
    ListTasksStatus,
    RegisterTaskTypeRequest,
    UpdateTaskProgressRequest,
)
from taskmanager_api.types import UNSET

__all__ = [
    "UNSET",
    "ClaimSortBy",
    "ClaimSortOrder",
    "ClaimTaskRequest",
    "CompleteTaskRequest",
    "CreateTaskRequest",
    "JsonObject",
    "ListTasksStatus",
    "RegisterTaskTypeRequest",
    "UpdateTaskProgressRequest",
    "claim_task",
    "complete_task",
    "create_task",
    "get_task",
    "get_task_type",
    "health_check",
    "list_task_types",
    "list_tasks",
    "register_task_type",
    "update_task_progress",
]

"""Contains all the data models used in inputs/outputs"""

from .auth_error_body import AuthErrorBody
from .claim_sort_by import ClaimSortBy
from .claim_sort_order import ClaimSortOrder
from .claim_task_envelope import ClaimTaskEnvelope
from .claim_task_request import ClaimTaskRequest
from .complete_task_envelope import CompleteTaskEnvelope
from .complete_task_request import CompleteTaskRequest
from .create_task_envelope import CreateTaskEnvelope
from .create_task_request import CreateTaskRequest
from .error_envelope import ErrorEnvelope
from .get_task_envelope import GetTaskEnvelope
from .get_task_type_envelope import GetTaskTypeEnvelope
from .health_check_envelope import HealthCheckEnvelope
from .health_status import HealthStatus
from .json_object import JsonObject
from .list_task_types_envelope import ListTaskTypesEnvelope
from .list_tasks_envelope import ListTasksEnvelope
from .list_tasks_status import ListTasksStatus
from .register_task_type_envelope import RegisterTaskTypeEnvelope
from .register_task_type_request import RegisterTaskTypeRequest
from .task_claimed import TaskClaimed
from .task_completed import TaskCompleted
from .task_created import TaskCreated
from .task_items import TaskItems
from .task_list_entry import TaskListEntry
from .task_list_items import TaskListItems
from .task_progress_updated import TaskProgressUpdated
from .task_record import TaskRecord
from .task_type_items import TaskTypeItems
from .task_type_record import TaskTypeRecord
from .task_type_registered import TaskTypeRegistered
from .update_task_progress_envelope import UpdateTaskProgressEnvelope
from .update_task_progress_request import UpdateTaskProgressRequest

__all__ = (
    "AuthErrorBody",
    "ClaimSortBy",
    "ClaimSortOrder",
    "ClaimTaskEnvelope",
    "ClaimTaskRequest",
    "CompleteTaskEnvelope",
    "CompleteTaskRequest",
    "CreateTaskEnvelope",
    "CreateTaskRequest",
    "ErrorEnvelope",
    "GetTaskEnvelope",
    "GetTaskTypeEnvelope",
    "HealthCheckEnvelope",
    "HealthStatus",
    "JsonObject",
    "ListTaskTypesEnvelope",
    "ListTasksEnvelope",
    "ListTasksStatus",
    "RegisterTaskTypeEnvelope",
    "RegisterTaskTypeRequest",
    "TaskClaimed",
    "TaskCompleted",
    "TaskCreated",
    "TaskItems",
    "TaskListEntry",
    "TaskListItems",
    "TaskProgressUpdated",
    "TaskRecord",
    "TaskTypeItems",
    "TaskTypeRecord",
    "TaskTypeRegistered",
    "UpdateTaskProgressEnvelope",
    "UpdateTaskProgressRequest",
)

"""What each client method does, written once for both clients.

Every operation is a generator: it yields a ``Call`` (or a ``Pause``) and receives the
``Reply`` (or None); its return value is the method's result. The sync and async clients run
these generators with their own I/O, so argument checks, name resolution, claim rotation,
dedupe checks, completion verification and polling cannot drift apart between them.
"""

from __future__ import annotations

import collections
import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from . import _arguments as _args
from . import _models as models
from . import _retry, _wire
from ._config import TaskManagerConfig
from ._dedupe import prepare_params, walk
from ._errors import (
    DuplicateTaskError,
    TaskClaimedByAnotherWorkerError,
    TaskFailedError,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerNotFoundError,
    TaskManagerTimeoutError,
    TaskManagerUnsupportedError,
    TaskManagerValidationError,
    TaskNotClaimedError,
    WaitTimeoutError,
)
from ._paging import TiePager
from ._policies import PolicyArg, TypeRotation, to_policy
from ._protocol import Op, Pause, Reply
from ._shown import shown
from ._worker_id import default_worker_id

__all__ = ["ClientState", "Op", "Pause"]

logger = logging.getLogger("taskmanager")

TaskTypeRef = str | int
OnDuplicate = Literal["return", "raise"]


MAX_REMEMBERED_CLAIMS = 4096


class ClientState:
    """What a client remembers between calls: settings, type ids by name, claim rotation."""

    __slots__ = (
        "claims",
        "config",
        "key_mismatch_seen",
        "missing_types_warned",
        "rotation",
        "type_ids",
        "worker_id",
    )

    def __init__(self, config: TaskManagerConfig) -> None:
        self.config = config
        # task id -> the worker id that claimed it through this client, so that a completion
        # or progress report without a worker_id uses the claimer's (bounded, oldest dropped).
        self.claims: collections.OrderedDict[int, str] = collections.OrderedDict()
        self.type_ids: dict[str, int] = {}
        # Names a multi-type claim skipped as unknown and already warned about.
        self.missing_types_warned: set[str] = set()
        self.rotation = TypeRotation()
        self.worker_id = config.worker_id or default_worker_id()
        self.key_mismatch_seen = False

    def remember_claim(self, task_id: int, worker_id: str) -> None:
        self.claims[task_id] = worker_id
        self.claims.move_to_end(task_id)
        while len(self.claims) > MAX_REMEMBERED_CLAIMS:
            self.claims.popitem(last=False)

    def claimer(self, task_id: int, worker_id: str | None) -> str:
        """The worker id to report with: the one given, else the claimer's, else the default."""
        if worker_id is not None:
            return _text("worker_id", worker_id)
        return self.claims.get(task_id, self.worker_id)


_text = _args.text
_type_name = _args.type_name

# Bounds of wait_for_task's arguments: a wait of 30 days at most, polls at least hourly.
MAX_WAIT = 30 * 86400.0
MAX_POLL_INTERVAL = 3600.0


def _task_id(value: Any) -> int:
    return _args.positive_id("task_id", value)


def _json_mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TaskManagerValidationError(
            f"{name} must be a mapping (a JSON object), not {type(value).__name__}"
        )
    result: dict[str, Any] = walk(name, value)[0]  # keys sorted at every level, or refused
    return result


def _send(state: ClientState, call: _wire.Call) -> Op[Reply]:
    return _retry.send(state.config, call)


# ------------------------------------------------------------------------------ operations


def health_check(state: ClientState) -> Op[models.Health]:
    """A Health; unhealthy (falsy, with the reason) when the server cannot be reached or fails.

    Only what a call on a closed client or from the wrong event loop raises (a mistake in the
    program, nothing was sent) still propagates: the runners raise those before any reply.
    """
    call = _wire.health_check()
    reply = yield from _send(state, call)
    try:
        data = reply.unwrap()
        result: models.Health = _wire.convert(call, _wire.to_health, data)
    except TaskManagerError as exc:
        status = "unreachable" if isinstance(exc, TaskManagerConnectionError) else "error"
        return models.Health(
            ok=False, status=status, database="unknown", server_time=None, reason=str(exc), error=exc
        )
    return result


def register_task_type(
    state: ClientState,
    name: str,
    version: str,
    param_schema: Mapping[str, Any],
    max_attempts: int | None = None,
    timeout: float | None = None,
    priority: int | None = None,
) -> Op[models.TaskType]:
    check_type_settings({"max_attempts": max_attempts, "timeout": timeout, "priority": priority})
    name = _type_name("name", name)
    version = _text("version", version)
    schema = _json_mapping("param_schema", param_schema)
    if "type" not in schema:
        raise TaskManagerValidationError('param_schema must have a "type" key (the server requires one)')
    call = _wire.register_task_type(name, version, schema)
    data = (yield from _send(state, call)).unwrap()
    result: models.TaskType = _wire.convert(call, _wire.to_registered, data, schema)
    state.type_ids[result.name] = result.id
    return result


def get_task_type(state: ClientState, name: str) -> Op[models.TaskType]:
    name = _type_name("name", name)
    call = _wire.get_task_type(name)
    data = (yield from _send(state, call)).unwrap()
    try:
        item = _wire.single(call, data, f"task type {name!r}")
    except TaskManagerNotFoundError:
        # The server no longer knows the name: a cached id for it is stale, so claims by
        # this name look it up again instead of using the old id.
        state.type_ids.pop(name, None)
        raise
    result: models.TaskType = _wire.convert(call, _wire.to_task_type, item, state.config.server_timezone)
    state.type_ids[name] = result.id
    return result


def list_task_types(state: ClientState, active_only: bool) -> Op[list[models.TaskType]]:
    call = _wire.list_task_types(_args.flag("active_only", active_only))
    data = (yield from _send(state, call)).unwrap()
    result: list[models.TaskType] = _wire.convert(
        call, _wire.to_task_types, data, state.config.server_timezone
    )
    return result


def create_task(
    state: ClientState,
    task_type: str,
    params: Mapping[str, Any],
    on_duplicate: OnDuplicate,
    priority: int | None,
) -> Op[models.CreatedTask]:
    task_type = _type_name("task_type", task_type)
    if not isinstance(on_duplicate, str) or str.__str__(on_duplicate) not in ("return", "raise"):
        raise TaskManagerValidationError(
            f'on_duplicate must be "return" or "raise", got {shown(on_duplicate)}'
        )
    on_duplicate = "raise" if str.__str__(on_duplicate) == "raise" else "return"
    if priority is not None:
        warnings.warn(
            "priority is ignored: the TaskManager server accepts it but stores 0 for every task, "
            "so the client does not send it",
            UserWarning,
            stacklevel=4,
        )
    canonical, local_key = prepare_params(task_type, params)
    call = _wire.create_task(task_type, canonical)
    reply = yield from _send(state, call)
    data = reply.unwrap()
    task, server_key = _wire.convert(call, _wire.to_created, data, task_type, local_key, reply.uncertain)
    if server_key is not None and server_key != local_key:
        # A difference is systematic (an encoding rule), so say it loudly once per client.
        level = logging.DEBUG if state.key_mismatch_seen else logging.WARNING
        state.key_mismatch_seen = True
        logger.log(
            level,
            "task %s: the server's dedupe key %s differs from the one computed locally (%s)",
            task.id,
            server_key,
            local_key,
        )
    if task.created is False and on_duplicate == "raise":
        raise DuplicateTaskError(
            f"a task with these params already exists: id {task.id}, status {task.status.value}",
            task_id=task.id,
            status=task.status,
            method=call.method,
            path=call.path,
            status_code=200,
        )
    created: models.CreatedTask = task
    return created


def _type_refs(task_type: TaskTypeRef | Sequence[TaskTypeRef]) -> list[TaskTypeRef]:
    if isinstance(task_type, str | int):
        given: list[Any] = [task_type]
    elif isinstance(task_type, Sequence) and not isinstance(task_type, bytes | bytearray):
        try:
            given = list(task_type)
        except Exception as err:  # a Sequence of the caller's whose iteration fails
            raise TaskManagerValidationError(f"task_type could not be read: {shown(err)}") from err
    else:
        raise TaskManagerValidationError(
            f"task_type must be a name, an id or a list of them, got {shown(task_type)}"
        )
    if not given:
        raise TaskManagerValidationError("task_type must name at least one task type")
    refs: list[TaskTypeRef] = []
    for ref in given:
        if isinstance(ref, bool) or not isinstance(ref, str | int):
            raise TaskManagerValidationError(f"a task type is a name or an id, not {shown(ref)}")
        if isinstance(ref, int):
            refs.append(_args.positive_id("a task type id", ref))
        else:
            refs.append(_type_name("task_type", ref))
    return refs


def _skip_missing_types(
    state: ClientState, missing: dict[str, TaskManagerNotFoundError], *, have_others: bool
) -> None:
    """A multi-type claim goes on without the unknown names, unless none is known."""
    if not have_others:
        names = ", ".join(repr(name) for name in missing)
        last = list(missing.values())[-1]
        raise TaskManagerNotFoundError(
            f"none of the task types is registered: {names} not found",
            method=last.method,
            path=last.path,
            status_code=last.status_code,
            response_data=last.response_data,
        )
    # One worker often handles a type before it is registered: say so once per name (again
    # only after the name has resolved in between), not on every poll.
    new = [name for name in missing if name not in state.missing_types_warned]
    if new:
        state.missing_types_warned.update(new)
        logger.warning(
            "cannot claim: task type %s not found; claiming the other types only (register it first)",
            ", ".join(repr(name) for name in new),
        )


def claim_task(
    state: ClientState,
    task_type: TaskTypeRef | Sequence[TaskTypeRef] | None,
    worker_id: str | None,
    policy: PolicyArg,
) -> Op[models.ClaimedTask | None]:
    if task_type is None:
        raise no_type_claim()
    worker = state.worker_id if worker_id is None else _text("worker_id", worker_id)
    policy = to_policy(policy)
    refs = _type_refs(task_type)
    type_ids: list[int] = []
    missing: dict[str, TaskManagerNotFoundError] = {}
    for ref in refs:
        if isinstance(ref, int):
            type_ids.append(ref)
            continue
        type_id = state.type_ids.get(ref)
        if type_id is None:
            # Unknown (or not yet seen) name: look it up; the lookup refreshes the cache.
            try:
                found: models.TaskType = yield from get_task_type(state, ref)
            except TaskManagerNotFoundError as exc:
                if len(refs) == 1:
                    raise
                missing[ref] = exc
                continue
            type_id = found.id
        state.missing_types_warned.discard(ref)
        type_ids.append(type_id)
    if missing:
        _skip_missing_types(state, missing, have_others=bool(type_ids))
    for type_id in state.rotation.order(type_ids):
        call = _wire.claim_task(type_id, worker, policy)
        reply = yield from _send(state, call)
        if reply.error is not None:
            if _wire.is_nothing_to_claim(reply.error):
                continue
            raise reply.error
        claimed: models.ClaimedTask = _wire.convert(call, _wire.to_claimed, reply.data, worker, type_id)
        state.remember_claim(claimed.id, worker)
        return claimed
    return None


def update_progress(
    state: ClientState, task_id: int, progress: int, worker_id: str | None, message: str | None
) -> Op[models.ProgressUpdate]:
    task_id = _task_id(task_id)
    worker_id = state.claimer(task_id, worker_id)
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= int.__int__(progress) <= 100:
        raise TaskManagerValidationError(f"progress must be an int from 0 to 100, got {shown(progress)}")
    progress = int.__int__(progress)
    message = _args.optional_text("message", message)
    call = _wire.update_progress(task_id, progress, worker_id, message)
    data = (yield from _send(state, call)).unwrap()
    result: models.ProgressUpdate = _wire.convert(call, _wire.to_progress, data)
    return result


def _verified_outcome(
    task: models.Task, worker_id: str, success: bool, error: str | None
) -> models.CompletionOutcome | None:
    # After a lost reply the first attempt may have done the job. Only what the task shows
    # counts: finished by this worker (or, for a failure, back to pending with our error).
    if success:
        if task.status is models.TaskStatus.COMPLETED and task.claimed_by == worker_id:
            return models.CompletionOutcome(
                task.id, models.CompletionStatus.COMPLETED, "Task completed (verified)"
            )
        return None
    if task.status is models.TaskStatus.FAILED and task.claimed_by == worker_id:
        return models.CompletionOutcome(task.id, models.CompletionStatus.FAILED, "Task completed (verified)")
    if task.status is models.TaskStatus.PENDING and task.claimed_by is None and task.error_message == error:
        return models.CompletionOutcome(task.id, models.CompletionStatus.RETRY, "Task completed (verified)")
    return None


_COMPLETION_STATUSES = {"completed": True, "failed": False}


def completion_success(status: Any, success: bool | None) -> bool:
    """``success`` from the seed spelling ``status="completed" | "failed"`` and/or ``success``."""
    if status is None:
        return True if success is None else success
    name = status.value if isinstance(status, models.TaskStatus | models.CompletionStatus) else status
    if not isinstance(name, str) or name.strip().lower() not in _COMPLETION_STATUSES:
        raise TaskManagerValidationError(f'status must be "completed" or "failed", got {shown(status)}')
    from_status = _COMPLETION_STATUSES[name.strip().lower()]
    if success is not None and success is not from_status:
        raise TaskManagerValidationError(f"status={name!r} contradicts success={success!r}: pass one of them")
    return from_status


def complete_task(
    state: ClientState,
    task_id: int,
    result: Mapping[str, Any] | None,
    status: str | None,
    worker_id: str | None,
    success: bool | None,
    error: str | None,
) -> Op[models.CompletionOutcome]:
    """The client's ``complete_task``, its arguments in the same order."""
    success = completion_success(status, success)
    task_id = _task_id(task_id)
    worker_id = state.claimer(task_id, worker_id)
    # The server reads "success" with PHP truthiness ("false" is true): insist on a bool.
    success = _args.flag("success", success)
    body_result = None if result is None else _json_mapping("result", result)
    error = _args.optional_text("error", error)
    if (
        not success
        and error is None
        and body_result is not None
        and isinstance(body_result.get("error"), str)
    ):
        # Code written for dict clients puts the failure text in the result: keep it visible
        # as the task's error message too.
        error = body_result["error"]
    call = _wire.complete_task(task_id, worker_id, success, body_result, error)
    reply = yield from _send(state, call)
    if reply.error is None:
        outcome: models.CompletionOutcome = _wire.convert(call, _wire.to_outcome, reply.data)
        state.claims.pop(task_id, None)
        return outcome
    if isinstance(reply.error, TaskNotClaimedError | TaskClaimedByAnotherWorkerError):
        state.claims.pop(task_id, None)  # whatever happens next, this client's claim is gone
    if reply.uncertain and isinstance(reply.error, TaskNotClaimedError | TaskClaimedByAnotherWorkerError):
        try:
            task: models.Task = yield from get_task(state, task_id)
        except TaskManagerError:
            raise reply.error from None
        verified = _verified_outcome(task, worker_id, success, error)
        if verified is not None:
            logger.info("task %s: an earlier completion attempt had already succeeded", task_id)
            return verified
    raise reply.error


def get_task(state: ClientState, task_id: int, deadline: float | None = None) -> Op[models.Task]:
    task_id = _task_id(task_id)
    call = _wire.get_task(task_id)
    if deadline is not None:
        call = call._replace(deadline=deadline)
    data = (yield from _send(state, call)).unwrap()
    item = _wire.single(call, data, f"task {task_id}")
    task: models.Task = _wire.convert(call, _wire.to_task, item, state.config.server_timezone)
    if task.id != task_id:  # the server selects by id: another task is not an answer (a cache?)
        raise _wire.protocol_error(call, 200, f"the reply to a read of task {task_id} holds task {task.id}")
    return task


def _status_arg(status: models.TaskStatus | str | None) -> models.TaskStatus | None:
    if status is None:
        return None
    if isinstance(status, models.TaskStatus):
        return status
    if isinstance(status, str):
        try:
            return models.TaskStatus(str.__str__(status))
        except ValueError:
            pass
    raise TaskManagerValidationError(
        f"status must be one of {[s.value for s in models.TaskStatus]}, got {shown(status)}"
    )


def list_tasks(
    state: ClientState, status: models.TaskStatus | str | None, task_type: str | None, limit: int, offset: int
) -> Op[list[models.TaskSummary]]:
    limit = _args.count("limit", limit)
    offset = _args.count("offset", offset)
    if task_type is not None:
        # A filter (exact, or a LIKE pattern with %) travels in the query string, which the
        # server does decode: any name can be listed, unlike fetched.
        task_type = _text("type", task_type)
    call = _wire.list_tasks(_status_arg(status), task_type, limit, offset)
    data = (yield from _send(state, call)).unwrap()
    rows: list[models.TaskSummary] = _wire.convert(
        call, _wire.to_summaries, data, state.config.server_timezone
    )
    return rows


def task_pager(page_size: int) -> TiePager[models.TaskSummary]:
    """The pager of ``iter_tasks``: a checked page size; tasks dated by second, known by id."""
    _args.count("page_size", page_size, minimum=1)
    return TiePager(page_size, second=lambda row: row.created_at, identity=lambda row: row.id)


def wait_for_task(state: ClientState, task_id: int, timeout: float, poll_interval: float) -> Op[models.Task]:
    task_id = _task_id(task_id)
    timeout = _args.seconds("timeout", timeout, maximum=MAX_WAIT, zero_ok=True)
    poll_interval = _args.seconds("poll_interval", poll_interval, maximum=MAX_POLL_INTERVAL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            # Each poll within the wait's time: a slow or stalled reply is not waited for longer.
            task: models.Task = yield from get_task(state, task_id, deadline)
        except TaskManagerTimeoutError as err:
            if time.monotonic() < deadline:
                raise
            raise WaitTimeoutError(
                f"task {task_id}: no reply to its last poll within the {timeout:g} s wait ({err.message})",
                task_id=task_id,
                method="GET",
                path=f"/tasks/{task_id}",
            ) from err
        if task.status is models.TaskStatus.COMPLETED:
            return task
        if task.status is models.TaskStatus.FAILED:
            raise TaskFailedError(
                f"task {task_id} failed: {task.error_message or 'no error message'}",
                task=task,
                method="GET",
                path=f"/tasks/{task_id}",
                status_code=200,
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeoutError(
                f"task {task_id} still {task.status.value} after {timeout:g} s",
                task_id=task_id,
                method="GET",
                path=f"/tasks/{task_id}",
            )
        yield Pause(min(poll_interval, remaining))


# ------------------------------------------------------------------ calls the API cannot do


def unsupported(what: str, instead: str) -> TaskManagerUnsupportedError:
    return TaskManagerUnsupportedError(f"the TaskManager API does not support {what}: {instead}")


def no_type_claim() -> TaskManagerUnsupportedError:
    return unsupported(
        "claiming without a task type",
        'every claim names its task type(s): claim_task("PrismQ.YouTube.Channel.Scrape") or a list of names',
    )


def cancel_task(state: ClientState, task_id: int) -> Op[None]:
    _task_id(task_id)
    raise unsupported(
        "cancelling a task",
        "a pending task stays until it is claimed; have its handler check your own flag and "
        "complete it with success=False, or stop creating it",
    )
    yield Pause(0)  # pragma: no cover  # a generator like every operation


def check_type_settings(settings: Mapping[str, Any]) -> None:
    """Per-type retry settings (max_attempts, timeout, priority...) do not exist on the server."""
    given = sorted(name for name, value in settings.items() if value is not None)
    if given:
        raise unsupported(
            f"per-task-type settings ({', '.join(given)})",
            "attempts (3) and the claim timeout (300 s) are the server's own settings, the same "
            "for every type; register the type with name, version and param_schema only",
        )

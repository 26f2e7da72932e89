"""One claim's lifecycle: the task object a handler sees, and the run that calls the handler,
turns whatever it did into an outcome (a result or a failure) and hands that to the outbox.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._arguments import optional_text
from ._dedupe import walk
from ._errors import (
    TaskClaimedByAnotherWorkerError,
    TaskManagerError,
    TaskManagerValidationError,
    TaskNotClaimedError,
)
from ._shown import shown
from ._worker_client import TRANSIENT, WorkerClient
from ._worker_outbox import Outbox, Outcome
from ._worker_stats import Counters
from ._worker_text import describe_error
from ._worker_threads import DaemonPool

if TYPE_CHECKING:
    from ._models import ClaimedTask

__all__ = ["AsyncWorkerTask", "HandlerCall", "RunSettings", "TaskRun", "WorkerTask"]

logger = logging.getLogger("taskmanager.worker")

# The share of the claim timeout after which a still-running handler is warned about.
_LEASE_WARN_SHARE = 0.8
# How long an async handler may take to end once cancelled (after the grace period, or as its
# loop shuts down) before it is abandoned as one that ignores its cancellation.
HANDLER_CANCEL_WAIT = 1.0


@attrs.frozen
class RunSettings:
    """What a task run needs to know of its worker's settings."""

    worker_id: str
    claim_timeout: float
    max_attempts: int
    grace_period: float


class _UnreadableResult(Exception):
    """A handler returned a result that cannot be read or sent; ``reason`` fails its task."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _as_result(value: Any) -> dict[str, Any] | None:
    """A handler's return value as a task result of plain JSON values (a dict, ``{"value": ...}``
    or None), read whole here, where the handler ran (its thread, for a sync handler), so that
    whatever reading it raises is the handler's failure. A ``KeyboardInterrupt`` passes through
    (it stops the worker as in a handler); anything else becomes ``_UnreadableResult``.
    """
    if value is None:
        return None
    if inspect.iscoroutine(value):  # an async handler's ``return other(task)``, an await left out
        value.close()  # never run: closed, so Python does not warn of it at exit
        raise _UnreadableResult("the handler returned a coroutine, never awaited (is an 'await' missing?)")
    try:
        result: dict[str, Any] = walk("result", value if isinstance(value, Mapping) else {"value": value})[0]
    except KeyboardInterrupt:
        raise
    except TaskManagerValidationError as exc:
        if exc.__cause__ is None:  # refused: it has no JSON form the server could give back
            raise _UnreadableResult(f"the handler's result was refused: {exc.message}") from None
        raise _UnreadableResult(
            f"the handler's result could not be read: {describe_error(exc.__cause__)}"
        ) from None
    except BaseException as exc:  # a Mapping raising a BaseException of its own while read
        raise _UnreadableResult(f"the handler's result could not be read: {describe_error(exc)}") from None
    return result


@attrs.frozen
class _Raised:
    """A KeyboardInterrupt or SystemExit out of an async handler, carried to its run as a value
    (raised in an asyncio task of its own, asyncio would let it out of the event loop)."""

    exc: BaseException


class HandlerCall:
    """An async handler's awaitable, awaited by an asyncio task of its own (``job``), which the
    worker can close when it gave up on it."""

    def __init__(self, awaitable: Any) -> None:
        self._awaitable = awaitable
        self._closed = False
        self.job: asyncio.Task[Any] = asyncio.ensure_future(self._run())

    async def _run(self) -> Any:
        try:
            return await self._awaitable
        except (KeyboardInterrupt, SystemExit) as exc:
            return _Raised(exc)
        except RuntimeError:
            if self._closed:  # a step into the handler's closed coroutine: it ends as cancelled
                raise asyncio.CancelledError from None
            raise

    def close(self) -> None:
        """End the handler where it waits (``GeneratorExit``), then its task (cancelled)."""
        self._closed = True
        for target in (self._awaitable, self.job.get_coro()):  # the handler, else its wrapper
            close = getattr(target, "close", None)
            if close is None:
                continue
            for _attempt in range(3):  # a handler may await again on GeneratorExit
                try:
                    close()
                    break
                except (Exception, asyncio.CancelledError):  # it awaited again, or its finally raised
                    continue
            if not inspect.iscoroutine(target) or inspect.getcoroutinestate(target) == inspect.CORO_CLOSED:
                break
        self.job.cancel()


def _discard_outcome(job: asyncio.Future[Any]) -> None:
    """Read what an abandoned handler's task ended with (so asyncio does not log it), and drop it."""
    if not job.cancelled():
        job.exception()


def _handle(fn: Callable[..., Any], task: _BaseWorkerTask) -> Any:
    """A sync handler's call and the reading of its result, both in the handler thread."""
    result = fn(task)
    if inspect.isawaitable(result):  # a plain function that returned a coroutine: read on the loop
        return result
    return _as_result(result)


def _progress_value(progress: object, message: object) -> int:
    """The 0-100 integer a progress report sends (out-of-range numbers are clamped)."""
    if isinstance(progress, bool) or not isinstance(progress, numbers.Real):
        raise TaskManagerValidationError(f"progress must be a number from 0 to 100, got {shown(progress)}")
    if isinstance(progress, int):  # exact, however large (float() of 10**400 overflows)
        value = float(min(100, max(0, int.__int__(progress))))
    else:
        try:
            value = float(progress)
        except Exception as exc:  # a Real whose __float__ raises or overflows
            raise TaskManagerValidationError(f"progress could not be read: {shown(exc)}") from None
        if not math.isfinite(value):
            raise TaskManagerValidationError(f"progress must be a finite number, got {shown(progress)}")
    optional_text("message", message)  # a string UTF-8 can carry, or None: refused here, not logged
    return min(100, max(0, round(value)))


class _BaseWorkerTask:
    """What a handler sees: the claimed task plus its claim deadline."""

    def __init__(self, run: TaskRun, claimed: ClaimedTask, started: float) -> None:
        self._run = run
        self.id: int = claimed.id
        self.type: str = claimed.type
        self.params: dict[str, Any] = claimed.params
        self.attempts: int = claimed.attempts
        self.priority: int = claimed.priority
        self.worker_id: str = run.settings.worker_id
        self.started: float = started
        self.deadline: float = started + run.settings.claim_timeout

    @property
    def claim_lost(self) -> bool:
        """True once the server said another worker holds this task; stop working on it."""
        return self._run.claim_lost

    @property
    def time_left(self) -> float:
        """Seconds until the server may hand this task to another worker (never negative).

        Measured from when the claim answered, on the worker's clock; progress reports do not
        extend it.
        """
        return max(0.0, self.deadline - self._run.clock())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id} type={self.type!r} attempts={self.attempts}>"


class WorkerTask(_BaseWorkerTask):
    """The task object a sync handler receives."""

    def report_progress(self, progress: float, message: str | None = None) -> bool:
        """Record progress (0-100) on the server; True if it was recorded.

        Never raises for API trouble (it is logged): progress is informative only. A progress
        that is not a finite number raises ``TaskManagerValidationError``.
        """
        run = self._run
        _progress_value(progress, message)
        if run.abandoned:  # the worker stopped without this handler
            return False
        loop = run.loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # the usual case: a handler thread has no loop
            running = None
        if running is loop:
            raise RuntimeError("in an async handler, use: await task.report_progress(...)")
        try:
            future = asyncio.run_coroutine_threadsafe(run.progress(progress, message), loop)
            return future.result()
        except (RuntimeError, concurrent.futures.CancelledError):
            # The worker stopped without this handler (its loop is closed or closing).
            return False


class AsyncWorkerTask(_BaseWorkerTask):
    """The task object an async handler receives."""

    async def report_progress(self, progress: float, message: str | None = None) -> bool:
        """Record progress (0-100) on the server; True if it was recorded. Never raises for API trouble.

        A progress that is not a finite number raises ``TaskManagerValidationError``.
        """
        _progress_value(progress, message)
        return await self._run.progress(progress, message)


class TaskRun:
    """One claimed task, from its claim to the outcome the server accepted (or refused)."""

    def __init__(
        self,
        claimed: ClaimedTask,
        handler: Callable[..., Any] | None,
        *,
        settings: RunSettings,
        client: WorkerClient,
        outbox: Outbox,
        counters: Counters,
        clock: Callable[[], float],
        handler_threads: DaemonPool,
        stop_reason: Callable[[], str],
        interrupt: Callable[[str], None],
        claimed_since: float | None = None,
        ignored_cancel: set[HandlerCall] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self._handler = handler
        self._client = client
        self._outbox = outbox
        self._counters = counters
        self._threads = handler_threads
        self._stop_reason = stop_reason
        self._interrupt = interrupt
        self._ignored_cancel = set() if ignored_cancel is None else ignored_cancel
        self.handler_job: asyncio.Task[Any] | None = None
        """The asyncio task an async handler runs in (None for a sync handler's thread)."""
        self.abandoned = False
        """True once the worker gave up on the handler (it stopped without it)."""
        self._abandoned_why: str | None = None
        self.reporting = False
        """True once the handler is done and its outcome is being reported."""
        self.claim_lost = False
        self._lease_warned = False
        is_async = handler is not None and inspect.iscoroutinefunction(handler)
        self.is_async = is_async
        try:
            self.handler_name = str.__str__(getattr(handler, "__qualname__", None) or type(handler).__name__)
        except Exception:  # a callable whose name cannot be read
            self.handler_name = "the handler"
        task_cls = AsyncWorkerTask if is_async else WorkerTask
        # A task found after a claim whose reply never came: its claim is as old as that claim.
        started = clock() if claimed_since is None else claimed_since
        self.task: _BaseWorkerTask = task_cls(self, claimed, started)
        self.id = claimed.id
        self.type = claimed.type

    def abandon(self, why: str | None = None) -> bool:
        """Give up on a handler still running; False when it already finished (leave it be).

        ``why`` (what ended the run) replaces the grace period in the failure reported for it.
        """
        if self.reporting or self.abandoned:
            return False
        self.abandoned = True
        self._abandoned_why = why
        return True

    async def run(self) -> None:
        task, settings = self.task, self.settings
        if task.attempts > settings.max_attempts:
            self._counters.add("poisoned")
            error = (
                f"poison guard: claimed for attempt {task.attempts}, "
                f"more than max_attempts={settings.max_attempts}; the handler was not run "
                "(the server re-releases timed-out claims without counting attempts)"
            )
            logger.warning("task %d (%s) %s", self.id, self.type, error)
            await self._report(ok=False, error=error, count=False)
            return
        if self._handler is None:
            await self._report(
                ok=False, error=f"worker {settings.worker_id} has no handler for {self.type!r}"
            )
            return
        lease_timer = self.loop.call_later(settings.claim_timeout * _LEASE_WARN_SHARE, self.check_lease)
        try:
            try:
                result = await self._call_handler(self._handler)
            except asyncio.CancelledError as exc:
                current = asyncio.current_task()
                if not self.abandoned and current is not None and current.cancelling():
                    # This run itself is cancelled (the event loop is shutting down): the task
                    # is failed back all the same, never left claimed.
                    self.abandon("its event loop is shutting down")
                if self.abandoned:
                    error = self._abandoned_error()
                    logger.warning("task %d (%s): %s", self.id, self.type, error)
                    await self._report(ok=False, error=error)
                    return
                await self._handler_failed(exc)  # the handler raised CancelledError of its own
                return
            except KeyboardInterrupt as exc:
                # Ctrl+C landing in a handler thread: stop the worker as SIGINT would.
                self._interrupt("KeyboardInterrupt in a handler")
                await self._handler_failed(exc)
                return
            except _UnreadableResult as exc:  # e.g. a Mapping whose iteration raises
                self.reporting = True
                logger.warning("task %d (%s): %s", self.id, self.type, exc.reason)
                self.check_lease()
                await self._report(ok=False, error=exc.reason)
                return
            except BaseException as exc:  # anything a handler raises ends its task, not the worker
                await self._handler_failed(exc)
                return
        finally:
            lease_timer.cancel()
        self.reporting = True
        self.check_lease()
        await self._report(ok=True, result=result)

    def _abandoned_error(self) -> str:
        settings = self.settings
        if self._abandoned_why is not None:
            return f"worker {settings.worker_id} stopped ({self._abandoned_why}) before the handler finished"
        return (
            f"worker {settings.worker_id} stopped ({self._stop_reason()}) before the handler "
            f"finished within the {settings.grace_period:g}s grace period"
        )

    async def _handler_failed(self, exc: BaseException) -> None:
        self.reporting = True
        error = describe_error(exc)
        logger.info("task %d (%s) handler raised %s", self.id, self.type, error)
        self.check_lease()
        await self._report(ok=False, error=error)

    async def _call_handler(self, fn: Callable[..., Any]) -> dict[str, Any] | None:
        """The handler's result, read (``_as_result``); raises what the handler raised."""
        if inspect.iscoroutinefunction(fn):
            return _as_result(await self._await_handler(fn(self.task)))
        result = await self._threads.submit(_handle, fn, self.task)
        if inspect.isawaitable(result):  # a plain function that returned a coroutine
            return _as_result(await self._await_handler(result))
        read: dict[str, Any] | None = result
        return read

    async def _await_handler(self, awaitable: Any) -> Any:
        """What an async handler returns, run as an asyncio task of its own, so that a handler
        ignoring its cancellation cannot hold this run: cancelled (the run is abandoning it),
        it gets ``HANDLER_CANCEL_WAIT`` seconds to end; if it ends by then, what it did counts,
        else it is left alone (closed when the run ends) and the cancellation goes on here.
        """
        call = HandlerCall(awaitable)
        job = self.handler_job = call.job
        try:
            await asyncio.wait({job})  # a cancellation of this run lands here, not in the handler
        except asyncio.CancelledError:
            job.cancel()
            try:
                await asyncio.wait({job}, timeout=HANDLER_CANCEL_WAIT)
            finally:
                if not job.done():
                    self._ignored(call)
            if not job.done() or job.cancelled():
                raise
        result = job.result()
        if isinstance(result, _Raised):
            raise result.exc
        return result

    def _ignored(self, call: HandlerCall) -> None:
        """The handler did not end when cancelled: whatever it does from now on is ignored."""
        call.job.add_done_callback(_discard_outcome)
        self._ignored_cancel.add(call)
        call.job.add_done_callback(lambda _job: self._ignored_cancel.discard(call))
        logger.warning(
            "task %d (%s): the handler %s ignored its cancellation for %gs; abandoned (whatever it "
            "returns from now on is not sent; it is closed when the run ends)",
            self.id,
            self.type,
            self.handler_name,
            HANDLER_CANCEL_WAIT,
        )

    def check_lease(self) -> None:
        """Warn once when a task has used 80 % of its claim (the server may then re-release it)."""
        if self._lease_warned or self.abandoned:
            return
        claim_timeout = self.settings.claim_timeout
        used = self.clock() - self.task.started
        if used >= claim_timeout * _LEASE_WARN_SHARE:
            self._lease_warned = True
            logger.warning(
                "task %d (%s) has run %.0fs, %.0f%% of its %gs claim: past the claim timeout the server "
                "gives it to another worker",
                self.id,
                self.type,
                used,
                100 * used / claim_timeout,
                claim_timeout,
            )

    async def _report(
        self, *, ok: bool, result: dict[str, Any] | None = None, error: str | None = None, count: bool = True
    ) -> None:
        outcome = Outcome(
            task_id=self.id,
            task_type=self.type,
            worker_id=self.settings.worker_id,
            ok=ok,
            result=result,
            error=error,
            counted=count,
        )
        if not await self._outbox.deliver(outcome):
            self.claim_lost = True

    async def progress(self, progress: float, message: str | None) -> bool:
        if self.abandoned or self.claim_lost:
            return False
        value = _progress_value(progress, message)
        self.check_lease()
        if self._client.resting:  # informative only: not worth a handler's wait through retries
            logger.debug("task %d: progress not sent, the API is failing", self.id)
            return False
        try:
            await self._client.progress(self.id, value, worker_id=self.settings.worker_id, message=message)
        except (TaskClaimedByAnotherWorkerError, TaskNotClaimedError) as exc:
            self.claim_lost = True
            logger.warning(
                "task %d (%s): claim lost while reporting progress (%s)", self.id, self.type, exc.message
            )
            return False
        except TRANSIENT as exc:
            # An outage is logged once when it starts (by the client adapter), not once per report.
            logger.debug("task %d: progress not recorded: %s", self.id, exc)
            return False
        except TaskManagerError as exc:
            logger.warning("task %d: progress not recorded: %s", self.id, exc)
            return False
        return True

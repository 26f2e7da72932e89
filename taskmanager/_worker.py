"""The worker runtime: claim, run a handler, report, repeat; back off when idle; stop cleanly.

::

    from taskmanager import TaskManagerClient, Worker

    worker = Worker(TaskManagerClient(), concurrency=4)

    @worker.handler("PrismQ.YouTube.Channel.Scrape")
    def scrape(task):
        task.report_progress(50, "half way")
        return {"videos": 12}

    worker.run()  # or run(burst=True) / run(max_tasks=10)

One asyncio loop drives everything. Sync handlers (and a sync client's HTTP calls) run in
daemon threads, so a handler that never returns cannot keep the process alive after a
shutdown; async handlers (and an ``AsyncTaskManagerClient``) run on the loop itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import logging
import random
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._errors import (
    TaskClaimedByAnotherWorkerError,
    TaskManagerAuthError,
    TaskManagerConnectionError,
    TaskManagerError,
    TaskManagerEventLoopError,
    TaskManagerNotFoundError,
    TaskManagerProtocolError,
    TaskManagerRateLimitError,
    TaskManagerServerError,
    TaskManagerValidationError,
    TaskNotClaimedError,
)
from ._policies import ClaimPolicy, to_policy
from ._worker_backoff import down_delay, idle_delay
from ._worker_id import default_worker_id

if TYPE_CHECKING:
    from ._async_client import AsyncTaskManagerClient
    from ._client import TaskManagerClient
    from ._models import ClaimedTask

__all__ = ["AsyncWorkerTask", "Worker", "WorkerStats", "WorkerTask"]

logger = logging.getLogger("taskmanager.worker")

F = TypeVar("F", bound=Callable[..., Any])

# Errors that mean "the API is not answering properly right now": keep going, back off.
_TRANSIENT = (
    TaskManagerConnectionError,  # includes TaskManagerTimeoutError
    TaskManagerServerError,
    TaskManagerRateLimitError,
    TaskManagerProtocolError,
)
# Completion reports are retried this many times on transient errors before giving up; the
# task then runs again after its claim times out on the server.
_REPORT_ATTEMPTS = 5
# The share of the claim timeout after which a still-running handler is warned about.
_LEASE_WARN_SHARE = 0.8


@attrs.frozen
class WorkerStats:
    """A snapshot of a worker's counters (``Worker.stats``; also what ``run()`` returns)."""

    claimed: int = 0
    completed: int = 0
    failed: int = 0
    claim_lost: int = 0
    poisoned: int = 0
    idle_polls: int = 0


class _BaseWorkerTask:
    """What a handler sees: the claimed task plus its claim deadline."""

    def __init__(self, worker: Worker, claimed: ClaimedTask, started: float) -> None:
        self._worker = worker
        self._claimed = claimed
        self.id: int = claimed.id
        self.type: str = claimed.type
        self.params: dict[str, Any] = claimed.params
        self.attempts: int = claimed.attempts
        self.priority: int = claimed.priority
        self.worker_id: str = worker.worker_id
        self.started: float = started
        self.deadline: float = started + worker.claim_timeout
        self.claim_lost = False
        """True once the server said another worker holds this task; stop working on it."""
        self._abandoned = False
        self._reporting = False
        self._lease_warned = False

    @property
    def time_left(self) -> float:
        """Seconds until the server may hand this task to another worker (never negative).

        Measured from when the claim answered, on the worker's clock; progress reports do not
        extend it.
        """
        return max(0.0, self.deadline - self._worker._clock())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id} type={self.type!r} attempts={self.attempts}>"


class WorkerTask(_BaseWorkerTask):
    """The task object a sync handler receives."""

    def report_progress(self, progress: float, message: str | None = None) -> bool:
        """Record progress (0-100) on the server; True if it was recorded.

        Never raises for API trouble (it is logged): progress is informative only.
        """
        if self._abandoned:  # the worker stopped without this handler
            return False
        loop = self._worker._loop
        if loop is None:
            raise RuntimeError("report_progress() called outside a running worker")
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # the usual case: a handler thread has no loop
            running = None
        if running is loop:
            raise RuntimeError("in an async handler, use: await task.report_progress(...)")
        try:
            future = asyncio.run_coroutine_threadsafe(self._worker._progress(self, progress, message), loop)
            return future.result()
        except (RuntimeError, concurrent.futures.CancelledError):
            # The worker stopped without this handler (its loop is closed or closing).
            return False


class AsyncWorkerTask(_BaseWorkerTask):
    """The task object an async handler receives."""

    async def report_progress(self, progress: float, message: str | None = None) -> bool:
        """Record progress (0-100) on the server; True if it was recorded. Never raises for API trouble."""
        return await self._worker._progress(self, progress, message)


def _run_in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
    """Run ``fn`` in a new daemon thread; a future on the running loop gets its outcome.

    Daemon threads (not the loop's executor) because ``asyncio.run`` joins the executor at
    exit, so one stuck handler would keep a stopped worker from exiting.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if future.done():  # cancelled at shutdown: nobody is waiting any more
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def target() -> None:
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            outcome: tuple[bool, Any] = (False, exc)
        else:
            outcome = (True, value)
        # The loop may be closed by now (the worker stopped without this thread).
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(
        target=target, name=f"taskmanager-{getattr(fn, '__name__', 'call')}", daemon=True
    ).start()
    return future


class Worker:
    """Claims tasks of the types it has handlers for and runs them.

    ``client`` is a ``TaskManagerClient`` or an ``AsyncTaskManagerClient``. ``claim_timeout``
    must match the server's (300 s by default there): it is when the server releases a claim.
    ``sleep`` (an async callable taking seconds) and ``clock`` (seconds, monotonic) are there for
    tests; ``sleep`` replaces every wait between polls and retries.
    """

    def __init__(
        self,
        client: TaskManagerClient | AsyncTaskManagerClient,
        *,
        policy: ClaimPolicy | str = ClaimPolicy.FIFO,
        concurrency: int = 4,
        worker_id: str | None = None,
        poll_interval: float = 5.0,
        claim_timeout: float = 300.0,
        max_attempts: int = 3,
        grace_period: float = 30.0,
        down_cap: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if poll_interval <= 0 or claim_timeout <= 0:
            raise ValueError("poll_interval and claim_timeout must be positive")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if grace_period < 0:
            raise ValueError(f"grace_period must not be negative, got {grace_period}")
        self.client = client
        self.policy = to_policy(policy)
        self.concurrency = concurrency
        self.worker_id = worker_id or default_worker_id()
        self.poll_interval = float(poll_interval)
        self.claim_timeout = float(claim_timeout)
        self.max_attempts = max_attempts
        self.grace_period = float(grace_period)
        self.down_cap = max(float(down_cap), self.poll_interval)
        self._sleep = sleep
        self._clock = clock
        self._async_client = inspect.iscoroutinefunction(getattr(client, "claim_task", None))
        self._handlers: dict[str, Callable[..., Any]] = {}

        self.claimed = 0
        self.completed = 0
        self.failed = 0
        self.claim_lost = 0
        self.poisoned = 0
        self.idle_polls = 0

        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._stop_event: asyncio.Event | None = None
        self._force_event: asyncio.Event | None = None
        self._stop_requested = False
        self._stop_reason = ""
        self._running = False
        self._inflight: dict[asyncio.Task[None], _BaseWorkerTask] = {}
        self._api_down_since: float | None = None
        self._failures = 0
        self._type_missing = False
        self._rng = random.Random()

    # -- registration ------------------------------------------------------------------------

    def handler(self, task_type: str) -> Callable[[F], F]:
        """Register the decorated function as the handler of ``task_type``.

        It receives a ``WorkerTask`` (``AsyncWorkerTask`` for ``async def``); its return value
        becomes the task's result (a dict; any other JSON value is stored as ``{"value": ...}``)
        and an exception fails the task with ``"<ExceptionType>: <message>"``.
        """

        def register(fn: F) -> F:
            self.add_handler(task_type, fn)
            return fn

        return register

    def add_handler(self, task_type: str, fn: Callable[..., Any]) -> None:
        """Register ``fn`` as the handler of ``task_type`` (the non-decorator form)."""
        if not isinstance(task_type, str) or not task_type.strip():
            raise ValueError("task_type must be a non-empty string")
        if not callable(fn):
            raise TypeError(f"the handler for {task_type!r} is not callable")
        self._handlers[task_type] = fn

    @property
    def task_types(self) -> list[str]:
        """The task types this worker claims, in registration order."""
        return list(self._handlers)

    # -- state -------------------------------------------------------------------------------

    @property
    def stats(self) -> WorkerStats:
        """The counters now."""
        return WorkerStats(
            claimed=self.claimed,
            completed=self.completed,
            failed=self.failed,
            claim_lost=self.claim_lost,
            poisoned=self.poisoned,
            idle_polls=self.idle_polls,
        )

    @property
    def in_flight(self) -> int:
        """Tasks currently held by this worker."""
        return len(self._inflight)

    def __repr__(self) -> str:
        state = "stopping" if self._stop_requested else ("running" if self._running else "idle")
        return (
            f"<Worker {self.worker_id!r} {state} types={self.task_types!r} in_flight={self.in_flight} "
            f"claimed={self.claimed} completed={self.completed} failed={self.failed} "
            f"claim_lost={self.claim_lost} poisoned={self.poisoned} idle_polls={self.idle_polls}>"
        )

    # -- stopping ----------------------------------------------------------------------------

    def stop(self, reason: str = "stop requested") -> None:
        """Stop claiming, let running handlers finish within ``grace_period``, fail the rest.

        Safe from any thread and from signal handlers. A second call ends the grace period at once.
        """
        again = self._stop_requested
        self._stop_requested = True
        if not again:
            self._stop_reason = reason
        loop = self._loop
        if loop is None:
            return
        event = self._force_event if again else self._stop_event
        if event is None:
            return
        if threading.get_ident() == self._loop_thread:
            event.set()  # on the loop itself (a handler, a signal): effective before the next claim
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to wake
            loop.call_soon_threadsafe(event.set)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._stop_requested:
            logger.warning("%s again: failing the tasks still running now", name)
        else:
            logger.info(
                "%s received: no new claims; waiting up to %gs for %d running task(s)",
                name,
                self.grace_period,
                self.in_flight,
            )
        self.stop(f"{name} received")

    # -- running -----------------------------------------------------------------------------

    def run(
        self, *, burst: bool = False, max_tasks: int | None = None, handle_signals: bool = True
    ) -> WorkerStats:
        """Run until stopped (SIGTERM/SIGINT or ``stop()``); returns the counters.

        ``burst=True`` returns once nothing is left to claim and nothing is running;
        ``max_tasks=N`` stops claiming after N claims and returns when they are done.
        """
        return asyncio.run(self.arun(burst=burst, max_tasks=max_tasks, handle_signals=handle_signals))

    async def arun(
        self, *, burst: bool = False, max_tasks: int | None = None, handle_signals: bool = False
    ) -> WorkerStats:
        """``run()`` for code already inside an event loop (signals are left alone by default)."""
        if not self._handlers:
            raise RuntimeError("no handlers registered: use @worker.handler('Task.Type') first")
        if self._running:
            raise RuntimeError("this worker is already running")
        if max_tasks is not None and max_tasks < 1:
            raise ValueError(f"max_tasks must be at least 1, got {max_tasks}")
        loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._loop = loop
        self._stop_event = asyncio.Event()
        self._force_event = asyncio.Event()
        if self._stop_requested:  # stop() came before run(): honour it
            self._stop_event.set()
        self._running = True
        restore_signals = self._install_signal_handlers(loop) if handle_signals else (lambda: None)
        stop_waiter = asyncio.ensure_future(self._stop_event.wait())
        logger.info(
            "worker %s started: types=%s policy=%s concurrency=%d",
            self.worker_id,
            ",".join(self.task_types),
            self.policy.name,
            self.concurrency,
        )
        try:
            await self._claim_loop(burst=burst, max_tasks=max_tasks, stop_waiter=stop_waiter)
            await self._drain()
        finally:
            stop_waiter.cancel()
            restore_signals()
            self._running = False
            self._loop = None
            self._stop_requested = False
            logger.info("worker %s stopped: %r", self.worker_id, self)
        return self.stats

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """Route SIGTERM/SIGINT to ``stop()``; returns the function that puts things back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        undo: list[Callable[[], object]] = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
                undo.append(functools.partial(loop.remove_signal_handler, signum))
            except NotImplementedError:  # Windows' event loops: a plain handler that wakes the loop
                previous = signal.signal(
                    signum, lambda num, _frame: loop.call_soon_threadsafe(self._on_signal, num)
                )
                undo.append(functools.partial(signal.signal, signum, previous or signal.SIG_DFL))

        def restore() -> None:
            for step in undo:
                step()

        return restore

    async def _claim_loop(
        self, *, burst: bool, max_tasks: int | None, stop_waiter: asyncio.Future[Any]
    ) -> None:
        idle: float | None = None
        claimed_before = self.claimed  # the counters span runs; max_tasks counts this run's claims
        assert self._stop_event is not None
        while not self._stop_event.is_set():
            if max_tasks is not None and self.claimed - claimed_before >= max_tasks:
                return
            if len(self._inflight) >= self.concurrency:
                await asyncio.wait({*self._inflight, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
                continue
            # Only a claim sent while nothing ran proves the queue empty: a task finishing during
            # the claim may have gone back to pending for a retry.
            busy = bool(self._inflight)
            try:
                claimed = await self._claim()
            except (TaskManagerAuthError, TaskManagerEventLoopError):
                raise  # a wrong key, or a client tied to another event loop, does not heal by waiting
            except TaskManagerNotFoundError as exc:
                # A handled type is not registered (yet): the API answered, nothing is claimable.
                self._mark_up()
                if not self._type_missing:
                    self._type_missing = True
                    logger.warning(
                        "cannot claim: %s; register the task type first (waiting for it)", exc.message
                    )
                claimed = None
            except TaskManagerError as exc:
                if not isinstance(exc, _TRANSIENT):  # _call() already noted the transient ones
                    self._mark_down(exc)
                retry_after = exc.retry_after if isinstance(exc, TaskManagerRateLimitError) else None
                await self._pause(
                    down_delay(
                        self._failures, self.down_cap, rand=self._rng.random(), retry_after=retry_after
                    )
                )
                continue
            else:
                self._type_missing = False
            if claimed is None:
                self.idle_polls += 1
                if burst:
                    if not busy:
                        return
                    if self._inflight:  # look again once one ends: it may come back for a retry
                        await asyncio.wait(
                            {*self._inflight, stop_waiter}, return_when=asyncio.FIRST_COMPLETED
                        )
                    continue
                idle = idle_delay(idle, self.poll_interval)
                await self._pause(idle)
                continue
            idle = None
            self.claimed += 1
            self._start(claimed)

    async def _claim(self) -> ClaimedTask | None:
        types = self.task_types
        result: ClaimedTask | None = await self._call(
            self.client.claim_task,
            types[0] if len(types) == 1 else types,
            worker_id=self.worker_id,
            policy=self.policy,
        )
        return result

    def _start(self, claimed: ClaimedTask) -> None:
        if any(ctx.id == claimed.id and not ctx._reporting for ctx in self._inflight.values()):
            # Our own claim expired while the handler runs and the server gave the task back to
            # us: same worker id, so the running handler's report will still be accepted. (A copy
            # that is already reporting is different: its failure made the task pending again.)
            logger.warning(
                "task %d (%s) came back to this worker while still running (its claim expired); "
                "not running it twice",
                claimed.id,
                claimed.type,
            )
            return
        fn = self._handlers.get(claimed.type)
        is_async = fn is not None and inspect.iscoroutinefunction(fn)
        task_cls = AsyncWorkerTask if is_async else WorkerTask
        ctx = task_cls(self, claimed, self._clock())
        job = asyncio.ensure_future(self._process(ctx, fn))
        self._inflight[job] = ctx
        job.add_done_callback(self._forget)

    def _forget(self, job: asyncio.Task[None]) -> None:
        self._inflight.pop(job, None)
        if not job.cancelled() and job.exception() is not None:
            logger.error("internal error while processing a task", exc_info=job.exception())

    async def _drain(self) -> None:
        """Wait for running tasks; after a stop, only for ``grace_period``, then fail the rest."""
        assert self._stop_event is not None and self._force_event is not None
        stop_waiter = asyncio.ensure_future(self._stop_event.wait())
        try:
            while self._inflight and not self._stop_event.is_set():
                await asyncio.wait({*self._inflight, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_waiter.cancel()
        if not self._inflight:
            return
        force_waiter = asyncio.ensure_future(self._force_event.wait())
        try:
            deadline = time.monotonic() + self.grace_period
            while self._inflight and not self._force_event.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await asyncio.wait(
                    {*self._inflight, force_waiter}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            force_waiter.cancel()
        # Handlers still running are abandoned; ones already reporting are left to finish.
        for job, ctx in list(self._inflight.items()):
            if not ctx._reporting and not ctx._abandoned:
                ctx._abandoned = True
                job.cancel()
        if self._inflight:
            await asyncio.wait(set(self._inflight))

    # -- one task ----------------------------------------------------------------------------

    async def _process(self, ctx: _BaseWorkerTask, fn: Callable[..., Any] | None) -> None:
        if ctx.attempts > self.max_attempts:
            self.poisoned += 1
            error = (
                f"poison guard: claimed for attempt {ctx.attempts}, "
                f"more than max_attempts={self.max_attempts}; the handler was not run "
                "(the server re-releases timed-out claims without counting attempts)"
            )
            logger.warning("task %d (%s) %s", ctx.id, ctx.type, error)
            await self._finish(ctx, ok=False, error=error, count=False)
            return
        if fn is None:
            await self._finish(
                ctx, ok=False, error=f"worker {self.worker_id} has no handler for {ctx.type!r}"
            )
            return
        lease_timer = self._loop.call_later(  # type: ignore[union-attr]
            self.claim_timeout * _LEASE_WARN_SHARE, self._check_lease, ctx
        )
        try:
            try:
                result = await self._call_handler(fn, ctx)
            except asyncio.CancelledError:
                if not ctx._abandoned:
                    raise
                error = (
                    f"worker {self.worker_id} stopped ({self._stop_reason}) before the handler finished "
                    f"within the {self.grace_period:g}s grace period"
                )
                logger.warning("task %d (%s): %s", ctx.id, ctx.type, error)
                await self._finish(ctx, ok=False, error=error)
                return
            except (Exception, SystemExit) as exc:  # sys.exit() in a handler ends its task, not the worker
                ctx._reporting = True
                logger.info("task %d (%s) handler raised %s: %s", ctx.id, ctx.type, type(exc).__name__, exc)
                self._check_lease(ctx)
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                await self._finish(ctx, ok=False, error=error)
                return
        finally:
            lease_timer.cancel()
        ctx._reporting = True
        self._check_lease(ctx)
        if result is not None and not isinstance(result, Mapping):
            result = {"value": result}
        await self._finish(ctx, ok=True, result=dict(result) if result is not None else None)

    async def _call_handler(self, fn: Callable[..., Any], ctx: _BaseWorkerTask) -> Any:
        if inspect.iscoroutinefunction(fn):
            return await fn(ctx)
        result = await _run_in_thread(fn, ctx)
        if inspect.isawaitable(result):  # a plain function that returned a coroutine
            result = await result
        return result

    def _check_lease(self, ctx: _BaseWorkerTask) -> None:
        """Warn once when a task has used 80 % of its claim (the server may then re-release it)."""
        if ctx._lease_warned or ctx._abandoned:
            return
        used = self._clock() - ctx.started
        if used >= self.claim_timeout * _LEASE_WARN_SHARE:
            ctx._lease_warned = True
            logger.warning(
                "task %d (%s) has run %.0fs, %.0f%% of its %gs claim: past the claim timeout the server "
                "gives it to another worker",
                ctx.id,
                ctx.type,
                used,
                100 * used / self.claim_timeout,
                self.claim_timeout,
            )

    async def _finish(
        self,
        ctx: _BaseWorkerTask,
        *,
        ok: bool,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        count: bool = True,
    ) -> None:
        """Report the outcome, retrying transient errors a few times."""
        transient_before = False
        for attempt in range(1, _REPORT_ATTEMPTS + 1):
            try:
                if ok:
                    outcome = await self._call(
                        self.client.complete_task,
                        ctx.id,
                        worker_id=self.worker_id,
                        success=True,
                        result=result,
                    )
                else:
                    outcome = await self._call(
                        self.client.fail_task, ctx.id, worker_id=self.worker_id, error=error or "failed"
                    )
            except (TaskClaimedByAnotherWorkerError, TaskNotClaimedError) as exc:
                if transient_before and isinstance(exc, TaskNotClaimedError):
                    # An earlier attempt reached the server although its answer was lost.
                    logger.info("task %d: the earlier report was recorded", ctx.id)
                    break
                self.claim_lost += 1
                ctx.claim_lost = True
                logger.warning(
                    "task %d (%s): claim lost, result discarded (%s); the claim timeout is %gs",
                    ctx.id,
                    ctx.type,
                    exc.message,
                    self.claim_timeout,
                )
                return
            except TaskManagerValidationError as exc:
                if ok:  # the result itself was refused (not JSON, too big...): fail the task instead
                    ok, error = False, f"the handler's result was refused: {exc.message}"
                    continue
                logger.error("task %d: could not report the failure: %s", ctx.id, exc)
                return
            except _TRANSIENT as exc:
                transient_before = True
                if attempt == _REPORT_ATTEMPTS:
                    logger.error(
                        "task %d: could not report its outcome after %d attempts (%s); it will run again "
                        "after its claim times out",
                        ctx.id,
                        attempt,
                        exc,
                    )
                    return
                await self._pause(
                    down_delay(attempt, self.down_cap, rand=self._rng.random()), interruptible=False
                )
                continue
            except TaskManagerError as exc:
                logger.error("task %d: could not report its outcome: %s", ctx.id, exc)
                return
            else:
                status = getattr(outcome, "status", None)
                logger.info("task %d (%s) -> %s", ctx.id, ctx.type, getattr(status, "value", status))
                break
        if count:
            if ok:
                self.completed += 1
            else:
                self.failed += 1

    async def _progress(self, ctx: _BaseWorkerTask, progress: float, message: str | None) -> bool:
        if ctx._abandoned or ctx.claim_lost:
            return False
        self._check_lease(ctx)
        value = min(100, max(0, round(float(progress))))
        try:
            await self._call(
                self.client.update_progress, ctx.id, value, worker_id=self.worker_id, message=message
            )
        except (TaskClaimedByAnotherWorkerError, TaskNotClaimedError) as exc:
            ctx.claim_lost = True
            logger.warning(
                "task %d (%s): claim lost while reporting progress (%s)", ctx.id, ctx.type, exc.message
            )
            return False
        except _TRANSIENT as exc:
            # An outage is logged once when it starts (by _call), not once per report.
            logger.debug("task %d: progress not recorded: %s", ctx.id, exc)
            return False
        except TaskManagerError as exc:
            logger.warning("task %d: progress not recorded: %s", ctx.id, exc)
            return False
        return True

    # -- I/O plumbing ------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a client method (on the loop or in a thread) and track whether the API is up."""
        try:
            if self._async_client:
                result = await fn(*args, **kwargs)
            else:
                result = await _run_in_thread(fn, *args, **kwargs)
        except TaskManagerEventLoopError:
            raise  # not an outage: nothing was sent
        except _TRANSIENT as exc:
            self._mark_down(exc)
            raise
        self._mark_up()
        return result

    def _mark_down(self, exc: TaskManagerError) -> None:
        self._failures += 1
        if self._api_down_since is None:
            self._api_down_since = self._clock()
            logger.warning("TaskManager API calls failing, backing off (up to %gs): %s", self.down_cap, exc)

    def _mark_up(self) -> None:
        if self._api_down_since is not None:
            logger.warning(
                "TaskManager API answering again after %.1fs (%d failed calls)",
                self._clock() - self._api_down_since,
                self._failures,
            )
            self._api_down_since = None
        self._failures = 0

    async def _pause(self, seconds: float, *, interruptible: bool = True) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        if not interruptible or self._stop_event is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)

"""The worker runtime: claim, run a handler, report, repeat; back off when idle; stop cleanly.

::

    from taskmanager import TaskManagerClient, Worker

    worker = Worker(TaskManagerClient(), concurrency=4)

    @worker.handler("PrismQ.YouTube.Channel.Scrape")
    def scrape(task):
        task.report_progress(50, "half way")
        return {"videos": 12}

    worker.run()  # or run(burst=True) / run(max_tasks=10)

One asyncio loop drives everything. This module holds the claim loop and stopping; one
claim's lifecycle is in ``_worker_task``, outcome delivery in ``_worker_outbox``, the client
calls in ``_worker_client``. Sync handlers (and a sync client's HTTP calls) run in bounded
pools of daemon threads, so a handler that never returns cannot keep the process alive after
a shutdown; async handlers (and an ``AsyncTaskManagerClient``) run on the loop itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _worker_settings as _settings
from ._arguments import type_name
from ._errors import (
    TaskManagerAuthError,
    TaskManagerError,
    TaskManagerEventLoopError,
    TaskManagerNotFoundError,
    TaskManagerRateLimitError,
)
from ._policies import ClaimPolicy, to_policy
from ._worker_backoff import down_delay, idle_delay
from ._worker_client import TRANSIENT, WorkerClient
from ._worker_health import ApiHealth
from ._worker_id import default_worker_id
from ._worker_lost_claims import LostClaims, claim_outcome_unknown
from ._worker_outbox import Outbox, Outcome
from ._worker_outbox_store import open_store
from ._worker_stats import Counters, WorkerStats
from ._worker_stop import Interrupted, StopControl
from ._worker_task import (
    HANDLER_CANCEL_WAIT,
    AsyncWorkerTask,
    HandlerCall,
    RunSettings,
    TaskRun,
    WorkerTask,
)
from ._worker_text import describe_error
from ._worker_threads import DaemonPool
from ._worker_watchdog import LoopWatchdog

if TYPE_CHECKING:
    from ._async_client import AsyncTaskManagerClient
    from ._client import TaskManagerClient
    from ._models import ClaimedTask

__all__ = ["AsyncWorkerTask", "Worker", "WorkerStats", "WorkerTask"]

logger = logging.getLogger("taskmanager.worker")

F = TypeVar("F", bound=Callable[..., Any])

# After the grace period (or a second stop), how long the reports still under way (the
# failures of abandoned handlers among them) may take before the worker leaves them in the
# outbox and ends: a hung API must not hold a stopping process.
_FINAL_REPORT_WINDOW = 2.0
# How long one lookup of the task a claim with an unknown outcome took may last, at most (and at
# most a quarter of the claim timeout): it holds the claim loop meanwhile.
_LOST_CLAIM_LOOKUP = 10.0
# How long the event loop may be blocked (an async handler running blocking code) before a warning.
_BLOCKED_LOOP_WARNING = 2.0


class _Run:
    """The collaborators of one run (one event loop), built at its start."""

    def __init__(self, worker: Worker) -> None:
        store = open_store(worker.outbox)  # first: a file that cannot be the outbox fails here
        self.health = ApiHealth(clock=worker._clock, down_cap=worker.down_cap)
        # One thread per handler slot, plus the claim loop's: enough that no call waits for a thread.
        self.client = WorkerClient(worker.client, health=self.health, threads=worker.concurrency + 1)
        self.handler_threads = DaemonPool(worker.concurrency, "taskmanager-handler")
        self.outbox = Outbox(
            self.client,
            store=store,
            parallel=worker.concurrency,
            counters=worker._counters,
            down_cap=worker.down_cap,
            claim_timeout=worker.claim_timeout,
            pause=functools.partial(worker._stop.pause, until=None, sleep=worker._sleep),
            rng=worker._rng,
        )
        # Async handlers abandoned because they did not end when cancelled: closed at the end.
        self.ignored_cancel: set[HandlerCall] = set()
        self.lost_claims = LostClaims(self.client, worker_id=worker.worker_id, types=worker.task_types)
        self.settings = RunSettings(
            worker_id=worker.worker_id,
            claim_timeout=worker.claim_timeout,
            max_attempts=worker.max_attempts,
            grace_period=worker.grace_period,
        )

    async def aclose(self) -> None:
        self.health.close()
        self.outbox.close()
        self.handler_threads.close()
        await self.client.aclose()


class Worker:
    """Claims tasks of the types it has handlers for and runs them.

    ``client`` is a ``TaskManagerClient`` or an ``AsyncTaskManagerClient``. ``claim_timeout``
    must match the server's (300 s by default there): it is when the server releases a claim.
    ``sleep`` (an async callable taking seconds) and ``clock`` (seconds, monotonic) are there for
    tests; ``sleep`` replaces every wait between polls and retries.

    Outcomes the API did not take are kept and sent again until the server answers them. By
    default they are kept in memory: they survive any outage the process lives through. With
    ``outbox="worker-outbox.db"`` (an SQLite file) they also survive the process: the next
    worker started on that file delivers them (under the worker id each claim was made with)
    before claiming anything. One running worker per file: another one started on a file in use
    is refused at start.
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
        outbox: str | os.PathLike[str] | None = None,
    ) -> None:
        # Every argument is checked here, so a bad one fails now, not in the middle of a run.
        _settings.check_client(client)
        self.client = client
        self.policy = to_policy(policy)
        self.concurrency = _settings.concurrency(concurrency)
        self.worker_id = _settings.worker_id(worker_id, default_worker_id)
        self.poll_interval = _settings.seconds("poll_interval", poll_interval)
        self.claim_timeout = _settings.seconds("claim_timeout", claim_timeout)
        self.max_attempts = _settings.max_attempts(max_attempts)
        self.grace_period = _settings.seconds("grace_period", grace_period)
        self.down_cap = max(_settings.seconds("down_cap", down_cap), self.poll_interval)
        self.outbox = _settings.check_outbox(outbox)
        _settings.check_callable("sleep", sleep, optional=True)
        _settings.check_callable("clock", clock)
        self._clock = clock
        self._counters = Counters()
        self._stop = StopControl(grace_period=self.grace_period)
        self._sleep = sleep
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._running = False
        self._inflight: dict[asyncio.Task[None], TaskRun] = {}
        self._type_missing = False
        self._rng = random.Random()
        self._blocked_loop_warning = _BLOCKED_LOOP_WARNING

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
        # A name the server cannot serve would never be claimed: refused now, not on every poll.
        task_type = type_name("task_type", task_type)
        _settings.check_callable(f"the handler for {task_type!r}", fn)
        self._handlers[task_type] = fn

    @property
    def task_types(self) -> list[str]:
        """The task types this worker claims, in registration order."""
        return list(self._handlers)

    # -- state -------------------------------------------------------------------------------

    @property
    def stats(self) -> WorkerStats:
        """The counters now."""
        return self._counters.snapshot()

    @property
    def claimed(self) -> int:
        """Tasks claimed, over all runs."""
        return self._counters["claimed"]

    @property
    def completed(self) -> int:
        """Tasks completed."""
        return self._counters["completed"]

    @property
    def failed(self) -> int:
        """Tasks failed (handler errors, stops)."""
        return self._counters["failed"]

    @property
    def claim_lost(self) -> int:
        """Outcomes the server refused because the claim was lost."""
        return self._counters["claim_lost"]

    @property
    def poisoned(self) -> int:
        """Tasks failed by the poison guard."""
        return self._counters["poisoned"]

    @property
    def idle_polls(self) -> int:
        """Claims that found nothing."""
        return self._counters["idle_polls"]

    @property
    def in_flight(self) -> int:
        """Tasks currently held by this worker."""
        return len(self._inflight)

    def __repr__(self) -> str:
        state = "stopping" if self._stop.requested else ("running" if self._running else "idle")
        return (
            f"<Worker {self.worker_id!r} {state} types={self.task_types!r} in_flight={self.in_flight} "
            f"{self._counters.describe()}>"
        )

    # -- stopping ----------------------------------------------------------------------------

    def stop(self, reason: str = "stop requested") -> None:
        """Stop claiming, let running handlers finish within ``grace_period``, fail the rest.

        Safe from any thread and from signal handlers. A second call ends the grace period at once.
        """
        self._stop.request(reason)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._stop.requested:
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
            raise _settings.RunRefusedError("no handlers registered: use @worker.handler('Task.Type') first")
        if self._running:
            raise _settings.RunRefusedError("this worker is already running")
        max_tasks = _settings.max_tasks(max_tasks)
        loop = asyncio.get_running_loop()
        self._stop.grace_period = self.grace_period
        self._stop.bind()
        run = _Run(self)
        self._running = True
        restore_signals = self._install_signal_handlers(loop) if handle_signals else (lambda: None)
        watchdog = LoopWatchdog(loop, self._blocked_loop_warning, functools.partial(self._on_loop_now, loop))
        watchdog.start()
        logger.info(
            "worker %s started: types=%s policy=%s concurrency=%d",
            self.worker_id,
            ",".join(self.task_types),
            self.policy.name,
            self.concurrency,
        )
        try:
            with contextlib.suppress(Interrupted):  # a stop: what is saved stays saved
                # What an earlier process left comes before new work.
                await self._stop.unless(self._stop.stopping, run.outbox.replay())
            await self._claim_loop(run, burst=burst, max_tasks=max_tasks)
            await self._release_lost_claims(run)
            await self._drain()
        except BaseException as exc:  # a wrong key, a cancelled arun(), Ctrl+C...: nothing stranded
            await self._fail_back(f"the run ended by {describe_error(exc)}")
            raise
        finally:
            watchdog.stop()
            restore_signals()
            await self._abandon_all()  # only left when even the fail-back was cut short
            await self._close_ignored(run)
            await run.aclose()
            self._running = False
            self._stop.unbind()
            logger.info("worker %s stopped: %r", self.worker_id, self)
        return self.stats

    def _on_loop_now(self, loop: asyncio.AbstractEventLoop) -> str:
        """What runs on the loop now (read from the watchdog thread): a task's handler, if any."""
        current = asyncio.current_task(loop)
        task_run = next(
            (run for job, run in list(self._inflight.items()) if current in (job, run.handler_job)), None
        )
        if task_run is not None:
            return f"the handler of task {task_run.id} ({task_run.type}): {task_run.handler_name}"
        handlers = sorted(
            f"task {run.id} ({run.type}): {run.handler_name}"
            for run in list(self._inflight.values())
            if run.is_async
        )
        return "code on the loop; async handlers running: " + (", ".join(handlers) or "none")

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

    async def _wait_for_a_task(self, event: asyncio.Event) -> None:
        """Until one task in flight ends, or ``event`` is set."""
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({*self._inflight, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def _claim_loop(self, run: _Run, *, burst: bool, max_tasks: int | None) -> None:
        stopping = self._stop.stopping
        idle: float | None = None
        claimed_before = self.claimed  # the counters span runs; max_tasks counts this run's claims
        while not stopping.is_set():
            if max_tasks is not None and self.claimed - claimed_before >= max_tasks:
                return
            if len(self._inflight) >= self.concurrency:
                await self._wait_for_a_task(stopping)
                continue
            if run.lost_claims.owed:
                left = None if max_tasks is None else max_tasks - (self.claimed - claimed_before)
                try:
                    if await self._stop.unless(self._stop.forced, self._recover(run, left)):
                        continue  # slots and max_tasks are looked at again before the next claim
                except Interrupted:
                    return  # the task, if found, is failed back at the end of the claim loop
                if stopping.is_set():
                    return
            # Only a claim sent while nothing ran proves the queue empty: a task finishing during
            # the claim may have gone back to pending for a retry.
            busy = bool(self._inflight)
            sent_at = self._clock()
            try:
                claimed = await self._stop.unless(
                    self._stop.forced,
                    run.client.claim(self.task_types, worker_id=self.worker_id, policy=self.policy),
                )
            except Interrupted:
                # The grace period ended with the API still not answering this claim: it may have
                # taken a task all the same, which the end of the claim loop looks for.
                run.lost_claims.note("cancelled by the stop", sent_at=sent_at)
                return
            except (TaskManagerAuthError, TaskManagerEventLoopError):
                raise  # a wrong key, or a client tied to another event loop, does not heal by waiting
            except TaskManagerNotFoundError as exc:
                # A handled type is not registered (yet): the API answered, nothing is claimable.
                run.health.up()
                if not self._type_missing:
                    self._type_missing = True
                    logger.warning(
                        "cannot claim: %s; register the task type first (waiting for it)", exc.message
                    )
                claimed = None
            except TaskManagerError as exc:
                if not isinstance(exc, TRANSIENT):  # the client adapter already noted the transient ones
                    run.health.down(exc)
                if claim_outcome_unknown(exc):
                    run.lost_claims.note(exc, sent_at=sent_at)
                retry_after = exc.retry_after if isinstance(exc, TaskManagerRateLimitError) else None
                await self._pause(
                    down_delay(
                        run.health.failures, self.down_cap, rand=self._rng.random(), retry_after=retry_after
                    )
                )
                continue
            except RecursionError as exc:  # a reply too deep to decode, from a client that lets it out
                run.health.down(f"undecodable claim reply ({type(exc).__name__})")
                run.lost_claims.note(f"undecodable claim reply ({type(exc).__name__})", sent_at=sent_at)
                await self._pause(down_delay(run.health.failures, self.down_cap, rand=self._rng.random()))
                continue
            else:
                self._type_missing = False
            if claimed is None:
                self._counters.add("idle_polls")
                if burst:
                    if not busy and not run.lost_claims.owed:  # else look for that task first
                        return
                    if self._inflight:  # look again once one ends: it may come back for a retry
                        await self._wait_for_a_task(stopping)
                    continue
                idle = idle_delay(idle, self.poll_interval)
                await self._pause(idle)
                continue
            idle = None
            self._counters.add("claimed")
            self._start(run, claimed)

    def _holds(self, task_id: int) -> bool:
        return any(task_run.id == task_id for task_run in self._inflight.values())

    async def _recover(self, run: _Run, left: int | None) -> bool:
        """Look for the tasks claims with an unknown outcome took; run them (or, if a stop came
        meanwhile, fail them back so that they are retried at once). True when one was started.

        At most one lookup per claim: a lookup that found nothing is followed by a claim."""
        limit = self.concurrency - len(self._inflight)
        since = run.lost_claims.since
        found = await run.lost_claims.find(
            held=self._holds,
            limit=limit if left is None else min(limit, left),
            timeout=min(_LOST_CLAIM_LOOKUP, self.claim_timeout / 4),
        )
        if self._stop.stopping.is_set():
            await self._fail_lost(run, found)
            return False
        for claimed in found:
            self._counters.add("recovered")
            self._counters.add("claimed")
            self._start(run, claimed, claimed_since=since)
        return bool(found)

    async def _release_lost_claims(self, run: _Run) -> None:
        """The claim loop ended with claims whose outcome is unknown: the tasks they took are
        failed back (the run is ending), within the short last window."""
        if not run.lost_claims.owed:
            return
        found = await run.lost_claims.find(
            held=self._holds, limit=self.concurrency, timeout=_FINAL_REPORT_WINDOW
        )
        await self._fail_lost(run, found)

    async def _fail_lost(self, run: _Run, found: list[ClaimedTask]) -> None:
        if not found:
            return
        why = self._stop.reason or "its run ended"
        error = (
            f"worker {self.worker_id} stopped ({why}) before running this task "
            "(its claim's reply never came); released for a retry"
        )
        outcomes = [
            Outcome(
                task_id=claimed.id,
                task_type=claimed.type,
                worker_id=self.worker_id,
                ok=False,
                result=None,
                error=error,
                counted=False,
            )
            for claimed in found
        ]
        self._counters.add("recovered", len(outcomes))
        jobs = [asyncio.ensure_future(run.outbox.deliver(outcome)) for outcome in outcomes]
        # Bounded: what is not delivered in time stays in the outbox (a file), as at any stop.
        _done, pending = await asyncio.wait(jobs, timeout=_FINAL_REPORT_WINDOW)
        for job in pending:
            job.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _pause(self, seconds: float) -> None:
        await self._stop.pause(seconds, until=self._stop.stopping, sleep=self._sleep)

    def _start(self, run: _Run, claimed: ClaimedTask, *, claimed_since: float | None = None) -> None:
        if any(other.id == claimed.id and not other.reporting for other in self._inflight.values()):
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
        task_run = TaskRun(
            claimed,
            self._handlers.get(claimed.type),
            settings=run.settings,
            client=run.client,
            outbox=run.outbox,
            counters=self._counters,
            clock=self._clock,
            handler_threads=run.handler_threads,
            stop_reason=lambda: self._stop.reason,
            interrupt=self.stop,
            claimed_since=claimed_since,
            ignored_cancel=run.ignored_cancel,
        )
        job = asyncio.ensure_future(task_run.run())
        self._inflight[job] = task_run
        job.add_done_callback(self._forget)

    def _forget(self, job: asyncio.Task[None]) -> None:
        self._inflight.pop(job, None)
        if not job.cancelled() and job.exception() is not None:
            logger.error("internal error while processing a task", exc_info=job.exception())

    async def _drain(self) -> None:
        """Wait for running tasks; after a stop, only for ``grace_period``, then fail the rest."""
        stopping, forced = self._stop.stopping, self._stop.forced
        while self._inflight and not stopping.is_set():
            await self._wait_for_a_task(stopping)
        while self._inflight and not forced.is_set():
            await self._wait_for_a_task(forced)
        await self._give_up_running()

    async def _give_up_running(self, why: str | None = None) -> None:
        """Abandon the handlers still running (their failure is reported); the reports under way
        get a last short window, then stay in the outbox (a file), or are logged lost (memory)."""
        window = _FINAL_REPORT_WINDOW
        for job, task_run in list(self._inflight.items()):
            if task_run.abandon(why):
                job.cancel()
                if task_run.handler_job is not None:  # an async handler: it may take its time to end
                    window = _FINAL_REPORT_WINDOW + HANDLER_CANCEL_WAIT
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=window)
        await self._abandon_all()

    async def _fail_back(self, why: str) -> None:
        """The run ends by an exception: report every task in flight within the short window."""
        self._stop.request(why)  # nothing more is claimed, whatever still runs
        if not self._inflight:
            return
        ids = sorted(task_run.id for task_run in self._inflight.values())
        logger.error(
            "worker %s: %s; failing back the %d task(s) in flight: %s",
            self.worker_id,
            why,
            len(ids),
            ", ".join(map(str, ids)),
        )
        await self._give_up_running(why)

    async def _abandon_all(self) -> None:
        """Cancel every task run still going (its outcome, if any, stays in the outbox)."""
        for job in list(self._inflight):
            job.cancel()
        if self._inflight:
            # Bounded: a handler that swallows its cancellation must not hold the end of the run.
            await asyncio.wait(set(self._inflight), timeout=_FINAL_REPORT_WINDOW)

    async def _close_ignored(self, run: _Run) -> None:
        """Close the async handlers abandoned because they ignored their cancellation (they get a
        ``GeneratorExit`` where they wait), so that nothing of the run is left on the loop: the
        shutdown of an ``asyncio.run()`` waits for every task left, for ever for such a handler."""
        calls = [call for call in run.ignored_cancel if not call.job.done()]
        for call in calls:
            call.close()
        jobs = [call.job for call in calls]
        if not jobs:
            return
        _done, left = await asyncio.wait(jobs, timeout=HANDLER_CANCEL_WAIT)
        for job in left:
            logger.error(
                "worker %s: an abandoned async handler could not be closed (it awaits again when "
                "closed): %r; the event loop's shutdown will wait for it",
                self.worker_id,
                job,
            )

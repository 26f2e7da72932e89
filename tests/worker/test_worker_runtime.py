"""The worker loop against an in-memory client: no network, no sleeping (sleep is injected)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from taskmanager._errors import (
    TaskManagerAuthError,
    TaskManagerConnectionError,
    TaskManagerNotFoundError,
    TaskManagerServerError,
)
from taskmanager._worker import AsyncWorkerTask, Worker, WorkerStats, WorkerTask

from .worker_fakes import AsyncFakeClient, FakeClient, RecordingSleep

T = "Test.Echo"
WAIT = 10  # upper bound for threading waits; none is expected to take more than milliseconds


def make_worker(client: Any, **kwargs: Any) -> Worker:
    kwargs.setdefault("sleep", RecordingSleep())
    kwargs.setdefault("worker_id", "w1")
    return Worker(client, **kwargs)


def test_burst_runs_every_task_and_stores_results() -> None:
    """A burst run completes every pending task with the handler's return value, then returns."""
    fake = FakeClient()
    for n in range(5):
        fake.add(T, {"n": n})
    worker = make_worker(fake, concurrency=1)  # one at a time: exactly one empty claim at the end
    seen: list[WorkerTask] = []

    @worker.handler(T)
    def echo(task: WorkerTask) -> dict[str, Any]:
        seen.append(task)
        return {"double": task.params["n"] * 2}

    stats = worker.run(burst=True, handle_signals=False)
    assert stats == WorkerStats(claimed=5, completed=5, idle_polls=1)
    assert [t.result for t in fake.tasks.values()] == [{"double": 2 * n} for n in range(5)]
    assert {t.status for t in fake.tasks.values()} == {"completed"}
    assert all(isinstance(t, WorkerTask) and t.attempts == 1 and t.worker_id == "w1" for t in seen)
    assert "claimed=5 completed=5 failed=0 claim_lost=0 poisoned=0 idle_polls=1" in repr(worker)


def test_exception_fails_task_with_its_message_and_retries() -> None:
    """A handler exception fails the task with its message; the server's retries are run too."""
    fake = FakeClient(max_attempts=3)
    fake.add(T, {"url": "x"})
    worker = make_worker(fake)

    @worker.handler(T)
    def broken(task: WorkerTask) -> None:
        raise ValueError(f"bad url on attempt {task.attempts}")

    stats = worker.run(burst=True, handle_signals=False)
    task = fake.tasks[1]
    assert (task.status, task.attempts, task.error_message) == (
        "failed",
        3,
        "ValueError: bad url on attempt 3",
    )
    assert (stats.claimed, stats.failed, stats.completed) == (3, 3, 0)


def test_non_dict_result_is_wrapped() -> None:
    """A return value that is not a dict is stored as {"value": ...}; None stays None."""
    fake = FakeClient()
    fake.add(T, {"n": 1})
    fake.add(T, {"n": 2})
    worker = make_worker(fake)
    worker.add_handler(T, lambda task: [1, 2] if task.params["n"] == 1 else None)
    worker.run(burst=True, handle_signals=False)
    assert [t.result for t in fake.tasks.values()] == [{"value": [1, 2]}, None]


def test_concurrency_bounds_tasks_in_flight() -> None:
    """With concurrency=2 exactly two sync handlers run at once (they meet at a barrier)."""
    fake = FakeClient()
    for n in range(6):
        fake.add(T, {"n": n})
    worker = make_worker(fake, concurrency=2)
    barrier = threading.Barrier(2, timeout=WAIT)
    lock = threading.Lock()
    active = peak = 0

    @worker.handler(T)
    def meet(task: WorkerTask) -> dict[str, int]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        barrier.wait()  # raises BrokenBarrierError if only one handler were running
        with lock:
            active -= 1
        return {"ok": 1}

    stats = worker.run(burst=True, handle_signals=False)
    assert (stats.completed, peak) == (6, 2)


@pytest.mark.anyio
async def test_async_handlers_and_async_client() -> None:
    """Async handlers get an AsyncWorkerTask and run on the loop with an async client."""
    fake = FakeClient()
    fake.add(T, {"n": 3})
    worker = make_worker(AsyncFakeClient(fake))
    got: list[Any] = []

    @worker.handler(T)
    async def echo(task: AsyncWorkerTask) -> dict[str, int]:
        got.append(type(task))
        assert await task.report_progress(40, "reading") is True
        return {"n": task.params["n"]}

    stats = await worker.arun(burst=True)
    assert got == [AsyncWorkerTask]
    assert (stats.completed, fake.tasks[1].result, fake.tasks[1].progress) == (1, {"n": 3}, 40)


def test_sync_handler_reports_progress_clamped() -> None:
    """report_progress from a sync handler records an int 0-100 (out-of-range values clamped)."""
    fake = FakeClient()
    fake.add(T, {})
    worker = make_worker(fake)
    answers: list[bool] = []

    @worker.handler(T)
    def progress(task: WorkerTask) -> None:
        answers.append(task.report_progress(33.4, "a third"))
        answers.append(task.report_progress(150))

    worker.run(burst=True, handle_signals=False)
    task = fake.tasks[1]
    assert answers == [True, True]
    assert (task.progress, task.progress_messages) == (100, ["a third", None])


def test_poison_guard_fails_without_running_handler() -> None:
    """A task claimed for an attempt above max_attempts is failed and its handler never runs."""
    fake = FakeClient(max_attempts=3)
    fake.add(T, {"hangs": True}, attempts=3)  # next claim is attempt 4
    fake.add(T, {"hangs": False})
    worker = make_worker(fake, max_attempts=3)
    ran: list[int] = []
    worker.add_handler(T, lambda task: ran.append(task.id))

    stats = worker.run(burst=True, handle_signals=False)
    assert ran == [2]
    assert (stats.poisoned, stats.failed, stats.completed) == (1, 0, 1)
    assert fake.tasks[1].status == "failed"
    assert "poison guard" in (fake.tasks[1].error_message or "")


def test_claim_lost_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    """When completion answers 403 (another worker re-claimed), the worker counts claim_lost."""
    fake = FakeClient()
    fake.add(T, {})
    worker = make_worker(fake)

    @worker.handler(T)
    def slow(task: WorkerTask) -> dict[str, int]:
        fake.steal(task.id, "someone-else")
        return {"late": 1}

    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        stats = worker.run(burst=True, handle_signals=False)
    assert (stats.claim_lost, stats.completed, stats.failed) == (1, 0, 0)
    assert fake.tasks[1].result is None
    assert any("claim lost" in r.getMessage() for r in caplog.records)


def test_lease_time_left_and_warning_past_80_percent(caplog: pytest.LogCaptureFixture) -> None:
    """time_left counts down from claim_timeout; passing 80 % of it logs one warning."""
    fake = FakeClient(claim_timeout=100)
    fake.add(T, {})
    worker = make_worker(fake, claim_timeout=100, clock=fake.clock)
    left: list[float] = []

    @worker.handler(T)
    def slow(task: WorkerTask) -> None:
        left.append(task.time_left)
        fake.now += 85
        left.append(task.time_left)
        task.report_progress(90)  # the check runs here, and again at the end: still one warning

    with caplog.at_level(logging.WARNING, logger="taskmanager.worker"):
        worker.run(burst=True, handle_signals=False)
    assert left == [100, 15]
    warnings = [r.getMessage() for r in caplog.records if "of its 100s claim" in r.getMessage()]
    assert len(warnings) == 1 and "85%" in warnings[0]


def test_api_down_backs_off_and_logs_once_per_change(caplog: pytest.LogCaptureFixture) -> None:
    """Failing claims back off exponentially; one log line when it goes down, one when back."""
    fake = FakeClient()
    fake.add(T, {})
    fake.claim_errors.extend(
        [TaskManagerConnectionError("connection refused")] * 3
        + [TaskManagerServerError("boom", status_code=500)]
    )
    sleep = RecordingSleep()
    worker = make_worker(fake, sleep=sleep, down_cap=5.0, poll_interval=1.0)
    worker._rng.random = lambda: 0.0  # type: ignore[method-assign]  # no jitter: exact delays
    worker.add_handler(T, lambda task: {"ok": True})

    with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
        stats = worker.run(burst=True, handle_signals=False)
    assert stats.completed == 1
    assert sleep.delays == [1.0, 2.0, 4.0, 5.0]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("API calls failing" in m for m in messages) == 1
    assert sum("answering again" in m for m in messages) == 1


def test_progress_during_an_outage_logs_the_outage_once(caplog: pytest.LogCaptureFixture) -> None:
    """Progress reports failing in an outage return False; the log says "down" once, not per report."""
    fake = FakeClient()
    fake.add(T, {})

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise TaskManagerConnectionError("connection refused")

    fake.update_progress = unreachable  # type: ignore[method-assign]
    worker = make_worker(fake, concurrency=1)  # no claim while the handler runs: only its calls count
    recorded: list[bool] = []

    @worker.handler(T)
    def chatty(task: WorkerTask) -> dict[str, int]:
        recorded.extend(task.report_progress(pct) for pct in (20, 40, 60, 80, 100))
        return {"ok": 1}

    with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
        stats = worker.run(burst=True, handle_signals=False)
    assert recorded == [False] * 5 and stats.completed == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("API calls failing" in m for m in warnings) == 1
    assert sum("answering again" in m for m in warnings) == 1  # the completion got through
    assert not any("progress not recorded" in m for m in warnings)


def test_completion_retried_through_an_outage() -> None:
    """A transient error while completing is retried; the task ends completed."""
    fake = FakeClient()
    fake.add(T, {})
    fake.complete_errors.append(TaskManagerConnectionError("connection reset"))
    worker = make_worker(fake)
    worker.add_handler(T, lambda task: {"ok": True})
    stats = worker.run(burst=True, handle_signals=False)
    assert (stats.completed, fake.tasks[1].status, fake.calls.count("complete")) == (1, "completed", 2)


def test_refused_result_fails_the_task() -> None:
    """A result the client refuses (not JSON) fails the task with a clear error instead."""
    fake = FakeClient(max_attempts=1)
    fake.add(T, {})
    worker = make_worker(fake)
    worker.add_handler(T, lambda task: {"when": object()})
    stats = worker.run(burst=True, handle_signals=False)
    assert (stats.failed, fake.tasks[1].status) == (1, "failed")
    assert "result was refused" in (fake.tasks[1].error_message or "")


def test_auth_error_stops_the_worker() -> None:
    """A 401 on claim is not an outage: it is raised out of run()."""
    fake = FakeClient()
    fake.claim_errors.append(TaskManagerAuthError("Unauthorized", status_code=401))
    worker = make_worker(fake)
    worker.add_handler(T, lambda task: None)
    with pytest.raises(TaskManagerAuthError):
        worker.run(burst=True, handle_signals=False)


def test_handler_calling_sys_exit_fails_only_its_task() -> None:
    """sys.exit() in a handler fails that task like an exception; the worker runs the others."""
    fake = FakeClient(max_attempts=1)
    fake.add(T, {"exit": True})
    fake.add(T, {"exit": False})
    worker = make_worker(fake, concurrency=2)

    @worker.handler(T)
    def quits(task: WorkerTask) -> dict[str, bool]:
        if task.params["exit"]:
            raise SystemExit(3)
        return {"ok": True}

    stats = worker.run(burst=True, handle_signals=False)
    assert (stats.completed, stats.failed) == (1, 1)
    assert [(t.status, t.error_message) for t in fake.tasks.values()] == [
        ("failed", "SystemExit: 3"),
        ("completed", None),
    ]


def test_unregistered_type_is_an_empty_queue_not_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    """A handled type missing on the server: one clear warning, idle polling, burst ends."""
    fake = FakeClient()
    fake.claim_errors.extend([TaskManagerNotFoundError("task type 'Test.Echo' not found")] * 3)
    sleep = RecordingSleep({2: lambda: fake.add(T, {})})
    worker = make_worker(fake, sleep=sleep, poll_interval=1.0)
    worker.add_handler(T, lambda task: {"ok": True})

    with caplog.at_level(logging.INFO, logger="taskmanager.worker"):
        stats = worker.run(handle_signals=False, max_tasks=1)
    assert (stats.claimed, stats.completed, stats.idle_polls) == (1, 1, 3)
    assert sleep.delays == [0.25, 0.5, 1.0]  # idle backoff, not the outage backoff
    messages = [r.getMessage() for r in caplog.records]
    assert sum("register the task type" in m for m in messages) == 1
    assert not any("API calls failing" in m for m in messages)

    fake.claim_errors.append(TaskManagerNotFoundError("task type 'Test.Echo' not found"))
    assert worker.run(burst=True, handle_signals=False).claimed == 1  # burst: nothing to claim, ends


def test_idle_backoff_doubles_to_poll_interval_and_resets_on_work() -> None:
    """Empty claims wait 0.25, 0.5, 1... up to poll_interval; work resets the wait."""
    fake = FakeClient()
    worker = make_worker(fake, poll_interval=2.0)
    sleep = RecordingSleep({5: lambda: fake.add(T, {}), 8: lambda: worker.stop()})
    worker._sleep = sleep
    worker.add_handler(T, lambda task: None)
    stats = worker.run(handle_signals=False)
    assert sleep.delays == [0.25, 0.5, 1.0, 2.0, 2.0, 0.25, 0.5, 1.0]
    assert (stats.completed, stats.idle_polls) == (1, 8)


def test_max_tasks_stops_after_n_claims() -> None:
    """max_tasks=2 claims two tasks, finishes them and returns; the rest stay pending."""
    fake = FakeClient()
    for n in range(5):
        fake.add(T, {"n": n})
    worker = make_worker(fake)
    worker.add_handler(T, lambda task: None)
    stats = worker.run(max_tasks=2, handle_signals=False)
    assert (stats.claimed, stats.completed) == (2, 2)
    assert [t.status for t in fake.tasks.values()] == ["completed"] * 2 + ["pending"] * 3
    again = worker.run(max_tasks=2, handle_signals=False)  # counts this run's claims, not the total
    assert (again.claimed, again.completed) == (4, 4)
    assert [t.status for t in fake.tasks.values()] == ["completed"] * 4 + ["pending"]


def _run_in_thread(worker: Worker) -> tuple[threading.Thread, list[WorkerStats]]:
    out: list[WorkerStats] = []
    thread = threading.Thread(target=lambda: out.append(worker.run(handle_signals=False)))
    thread.start()
    return thread, out


def test_stop_lets_running_handler_finish_and_claims_no_more() -> None:
    """stop(): the running handler finishes within the grace period; nothing new is claimed."""
    fake = FakeClient()
    for n in range(3):
        fake.add(T, {"n": n})
    worker = make_worker(fake, concurrency=1, grace_period=WAIT)
    started, release = threading.Event(), threading.Event()

    @worker.handler(T)
    def blocking(task: WorkerTask) -> dict[str, int]:
        started.set()
        assert release.wait(WAIT)
        return {"n": task.params["n"]}

    thread, out = _run_in_thread(worker)
    assert started.wait(WAIT)
    worker.stop()
    release.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert out == [WorkerStats(claimed=1, completed=1)]
    assert [t.status for t in fake.tasks.values()] == ["completed", "pending", "pending"]


def test_stop_fails_handlers_still_running_after_grace_period() -> None:
    """A handler still running when the grace period ends is failed with a clear error."""
    fake = FakeClient(max_attempts=3)
    fake.add(T, {})
    worker = make_worker(fake, concurrency=1, grace_period=0)
    started, release = threading.Event(), threading.Event()

    late: list[bool] = []
    finished = threading.Event()

    @worker.handler(T)
    def stuck(task: WorkerTask) -> None:
        started.set()
        release.wait(WAIT)
        late.append(task.report_progress(99))  # after the worker gave up on it: ignored
        finished.set()

    thread, out = _run_in_thread(worker)
    try:
        assert started.wait(WAIT)
        worker.stop("test stop")
        thread.join(WAIT)
        assert not thread.is_alive()
    finally:
        release.set()
    assert finished.wait(WAIT) and late == [False]
    assert out == [WorkerStats(claimed=1, failed=1)]
    task = fake.tasks[1]
    assert task.status == "pending"  # attempts left: another worker will pick it up
    assert "stopped (test stop) before the handler finished within the 0s grace period" in (
        task.error_message or ""
    )


@pytest.mark.anyio
async def test_stop_cancels_async_handler_after_grace_period() -> None:
    """An async handler still running after the grace period is cancelled and failed."""
    import anyio

    fake = FakeClient()
    fake.add(T, {})
    worker = make_worker(AsyncFakeClient(fake), grace_period=0)
    cancelled: list[bool] = []

    @worker.handler(T)
    async def forever(task: AsyncWorkerTask) -> None:
        worker.stop()
        try:
            await anyio.Event().wait()
        except BaseException:
            cancelled.append(True)
            raise

    stats = await worker.arun()
    assert (stats.failed, cancelled) == (1, [True])
    assert "grace period" in (fake.tasks[1].error_message or "")


def test_worker_ids_are_unique_per_worker() -> None:
    """Default worker ids differ between workers and carry host and pid."""
    import os

    a, b = Worker(FakeClient()), Worker(FakeClient())
    assert a.worker_id != b.worker_id
    assert f"-{os.getpid()}-" in a.worker_id


def test_bad_settings_are_refused() -> None:
    """Nonsense settings raise ValueError at construction, and run() needs a handler."""
    with pytest.raises(ValueError, match="concurrency"):
        Worker(FakeClient(), concurrency=0)
    with pytest.raises(RuntimeError, match="no handlers"):
        Worker(FakeClient()).run(handle_signals=False)


def test_own_expired_claim_coming_back_is_not_run_twice() -> None:
    """A task whose claim expired while running here and that this worker re-claims runs once."""
    fake = FakeClient(claim_timeout=300)
    fake.add(T, {})
    reclaimed = threading.Event()
    polls = 0

    async def sleep(seconds: float) -> None:
        nonlocal polls
        polls += 1
        assert polls < 100_000, "the task never came back"
        await asyncio.sleep(0)
        if fake.tasks[1].attempts == 2 and not reclaimed.is_set():
            reclaimed.set()
            worker.stop()

    worker = make_worker(fake, concurrency=2, sleep=sleep)
    runs: list[int] = []

    @worker.handler(T)
    def slow(task: WorkerTask) -> dict[str, int]:
        runs.append(task.attempts)
        fake.now += 301  # the claim expires while the handler still runs
        assert reclaimed.wait(WAIT)
        return {"runs": len(runs)}

    stats = worker.run(handle_signals=False)
    task = fake.tasks[1]
    assert runs == [1]
    assert (task.status, task.attempts, task.result) == ("completed", 2, {"runs": 1})
    assert (stats.claimed, stats.completed) == (2, 1)


def test_sync_client_calls_share_a_bounded_set_of_threads() -> None:
    """A sync client's calls run in the run's own few threads, not one new thread per call."""
    fake = FakeClient()
    for n in range(30):
        fake.add(T, {"n": n})
    threads: set[threading.Thread] = set()
    claim = fake.claim_task

    def tracked_claim(*args: Any, **kwargs: Any) -> Any:
        threads.add(threading.current_thread())
        return claim(*args, **kwargs)

    fake.claim_task = tracked_claim  # type: ignore[method-assign]
    worker = make_worker(fake, concurrency=2)
    worker.add_handler(T, lambda task: None)
    stats = worker.run(burst=True, handle_signals=False)
    assert stats.completed == 30 and fake.calls.count("claim") > 30
    assert 1 <= len(threads) <= worker.concurrency + 1


def test_claim_errors_back_off_within_down_cap() -> None:
    """An undecodable claim reply and a 429 asking for a day: backed off within down_cap, then work."""
    from taskmanager._errors import TaskManagerProtocolError, TaskManagerRateLimitError

    fake = FakeClient()
    fake.add(T, {})
    fake.claim_errors.extend(
        [
            RecursionError("maximum recursion depth exceeded"),
            TaskManagerProtocolError("reply nested too deep"),
            TaskManagerRateLimitError("Too Many Requests", status_code=429, retry_after=86_400),
        ]
    )
    sleep = RecordingSleep()
    worker = make_worker(fake, sleep=sleep, down_cap=5.0, poll_interval=1.0)
    worker.add_handler(T, lambda task: {"ok": True})
    stats = worker.run(burst=True, handle_signals=False)
    assert (stats.completed, fake.tasks[1].status) == (1, "completed")
    assert len(sleep.delays) == 3 and max(sleep.delays) <= 5.0

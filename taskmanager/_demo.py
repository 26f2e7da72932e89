"""``taskmanager demo``: the whole cycle in a few seconds, against an embedded server by default.

Registers a task type, creates a batch of tasks (and some of them twice, to show the dedupe),
runs a Worker in burst mode behind a progress bar (one task fails once and is retried), then
prints what happened to every task.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from ._cli_output import format_table, worker_stats_table
from ._client import TaskManagerClient
from ._config import TaskManagerConfig
from ._worker import Worker, WorkerStats, WorkerTask

__all__ = ["DEMO_SCHEMA", "DEMO_TYPE", "demo_client", "run_demo"]

DEMO_TYPE = "TaskManager.Demo.Thumbnail"
DEMO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "width": {"type": "integer", "minimum": 16, "maximum": 4096},
        "batch": {"type": "string"},
    },
    "required": ["image", "width"],
}
# The demo's flaky task: its first attempt fails, the retry succeeds.
_FLAKY_INDEX = 2


@contextlib.contextmanager
def demo_client(
    api_url: str | None = None, api_key: str | None = None, *, echo: Callable[[str], None] | None = None
) -> Iterator[TaskManagerClient]:
    """A client for ``api_url`` or, when it is None, for an embedded local server started here."""
    if api_url:
        if echo:
            echo(f"Server: {api_url}")
        with TaskManagerClient(TaskManagerConfig.from_env(api_url=api_url, api_key=api_key)) as client:
            yield client
        return
    from .server import LocalServer  # only the embedded case needs it

    with (
        LocalServer() as server,
        TaskManagerClient(TaskManagerConfig(api_url=server.url, api_key=server.api_key)) as client,
    ):
        if echo:
            echo(
                f"Server: embedded local server at {server.url} "
                "(in memory; set TASKMANAGER_API_URL to use your own)"
            )
        yield client


def _thumbnail(work_seconds: float) -> Callable[[WorkerTask], dict[str, Any]]:
    def thumbnail(task: WorkerTask) -> dict[str, Any]:
        image, width = task.params["image"], task.params["width"]
        if task.params.get("flaky") and task.attempts == 1:
            raise TimeoutError("the image service did not answer (simulated; the retry will work)")
        for step in (1, 2, 3):
            time.sleep(work_seconds / 3)  # stands in for real work
            task.report_progress(round(step * 100 / 3), f"step {step} of 3")
        stem = image.rsplit(".", 1)[0]
        return {"thumbnail": f"{stem}.{width}w.jpg", "bytes": 1000 + 37 * len(image) * width % 9000}

    return thumbnail


def run_demo(
    *,
    api_url: str | None = None,
    api_key: str | None = None,
    count: int = 12,
    concurrency: int = 4,
    work_seconds: float = 0.3,
    echo: Callable[[str], None] = click.echo,
) -> WorkerStats:
    """Run the demo; returns the worker's counters."""
    with demo_client(api_url, api_key, echo=echo) as client:
        health = client.health_check()
        echo(f"Health: {health.status}, database {health.database}")

        registered = client.register_task_type(DEMO_TYPE, "1.0.0", DEMO_SCHEMA)
        verb = "Registered" if registered.created else "Updated"
        echo(f"{verb} task type {registered.name} {registered.version} (id {registered.id})\n")

        # A fresh batch id per run, so that a second run against the same server has new work.
        batch = secrets.token_hex(3)
        all_params = [
            {
                "image": f"photo-{n:02d}.jpg",
                "width": 320,
                "batch": batch,
                **({"flaky": True} if n == _FLAKY_INDEX else {}),
            }
            for n in range(1, count + 1)
        ]
        ids = [client.create_task(DEMO_TYPE, params).id for params in all_params]
        echo(f"Created {len(ids)} tasks (batch {batch}). Creating the first three again:")
        rows = []
        for params, first_id in zip(all_params[:3], ids, strict=False):
            again = client.create_task(DEMO_TYPE, params)
            rows.append(
                [params["image"], first_id, again.id, "same task" if again.id == first_id else "NEW TASK"]
            )
        echo(format_table(["params.image", "first id", "again id", "dedupe"], rows))
        echo("Same type + same params = same task: the server keeps one, by a hash of both.\n")

        worker = Worker(client, concurrency=concurrency, poll_interval=0.2, claim_timeout=300)
        worker.add_handler(DEMO_TYPE, _thumbnail(work_seconds))
        stats = _run_with_progress_bar(worker, len(ids))

        echo("")
        summary = []
        for task_id in ids:
            task = client.get_task(task_id)
            assert task.params is not None
            outcome = task.result.get("thumbnail") if task.result else task.error_message
            summary.append([task.id, task.params["image"], task.status, task.attempts, outcome])
        echo(format_table(["id", "image", "status", "attempts", "result"], summary))
        echo("")
        echo(worker_stats_table(stats))
        flaky = client.get_task(ids[_FLAKY_INDEX - 1]) if len(ids) >= _FLAKY_INDEX else None
        if flaky is not None:
            echo(
                f"Task {flaky.id} failed on its first attempt and was retried by the server: "
                f"{flaky.status} after {flaky.attempts} attempts."
            )
        again = client.create_task(DEMO_TYPE, all_params[0])
        echo(
            f"Creating task {ids[0]}'s params once more returns task {again.id} ({again.status}); "
            f"a finished task is never run again (is_new_work={again.is_new_work})."
        )
        return stats


def _run_with_progress_bar(worker: Worker, total: int) -> WorkerStats:
    """Run the worker (burst) in a thread and draw its progress here; Ctrl+C stops it cleanly."""
    result: list[WorkerStats] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(worker.run(burst=True, handle_signals=False))
        except BaseException as exc:  # shown in the main thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="taskmanager-demo-worker", daemon=True)
    thread.start()
    label = f"Worker {worker.worker_id} ({worker.concurrency} at a time)"
    try:
        with click.progressbar(length=total, label=label, show_pos=True) as bar:
            shown = 0
            while thread.is_alive():
                thread.join(0.05)
                done = min(worker.completed, total)
                bar.update(done - shown)
                shown = done
    except KeyboardInterrupt:
        worker.stop("Ctrl+C")
        thread.join()
    if errors:
        raise errors[0]
    return result[0] if result else worker.stats

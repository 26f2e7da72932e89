"""Real outages: the server process (file database, real 300 s claim timeout) stops and comes
back on the same port while workers hold results. Nothing may be lost or left claimed.

Both scenarios take real wall time (the outage is real) and are marked slow.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from taskmanager import TaskManagerClient, TaskManagerConfig, TaskManagerError, TaskStatus, Worker

from ._proxy import wait_until

KEY = "outage-scenario-key"
TYPE = "Faults.Outage"
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
CLAIM_TIMEOUT = 300  # the real server's default: no claim expires during these runs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m taskmanager.server`` on a fixed port and database file, stopped and restarted."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taskmanager.server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--db",
                str(self.db),
                "--api-key",
                KEY,
                "--claim-timeout",
                str(CLAIM_TIMEOUT),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with TaskManagerClient(config(self.url)) as probe:
            assert wait_until(lambda: _healthy(probe), timeout=30, interval=0.05), "server did not start"

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=15)
        self._proc = None


def _healthy(client: TaskManagerClient) -> bool:
    try:
        return bool(client.health_check())  # unhealthy (unreachable too) is falsy
    except TaskManagerError:
        return False


def config(url: str) -> TaskManagerConfig:
    return TaskManagerConfig(api_url=url, api_key=KEY, timeout=5, retry_attempts=1, retry_backoff=0.05)


def _statuses(client: TaskManagerClient) -> Counter[TaskStatus]:
    return Counter(t.status for t in client.iter_tasks(type=TYPE, page_size=100))


@pytest.fixture
def server(tmp_path: Path) -> Any:
    srv = ServerProcess(tmp_path / "server.db")
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.slow
def test_45_second_outage_in_a_200_task_run(
    server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server stops for 45 s mid-run: every task ends completed, none claimed, nothing lost."""
    tasks, outage = 200, 45.0
    with TaskManagerClient(config(server.url)) as direct:
        direct.register_task_type(TYPE, "1.0.0", SCHEMA)
        for n in range(tasks):
            direct.create_task(TYPE, {"n": n})

    out: list[Any] = []
    with TaskManagerClient(config(server.url)) as client:
        worker = Worker(
            client,
            worker_id="outage-worker",
            concurrency=4,
            poll_interval=0.2,
            down_cap=2.0,
            claim_timeout=CLAIM_TIMEOUT,
        )

        @worker.handler(TYPE)
        def handle(task: Any) -> dict[str, int]:
            time.sleep(0.2)  # work that is under way when the server goes
            return {"n": task.params["n"]}

        thread = threading.Thread(target=lambda: out.append(worker.run(burst=True, handle_signals=False)))
        thread.start()
        try:
            assert wait_until(lambda: worker.completed >= 60, timeout=60), "the run did not get going"
            server.stop()
            down_at = time.monotonic()
            assert wait_until(lambda: worker.stats.outbox_pending > 0, timeout=10), "no result was held"
            time.sleep(max(0.0, outage - (time.monotonic() - down_at)))  # the outage itself
            held = worker.stats.outbox_pending
            server.start()
            thread.join(timeout=90)
        finally:
            if thread.is_alive():
                worker.stop()
                worker.stop()
                thread.join(timeout=30)
    assert not thread.is_alive() and len(out) == 1
    stats = out[0]
    with TaskManagerClient(config(server.url)) as direct:
        statuses = _statuses(direct)
    with capsys.disabled():
        print(
            f"\n45 s outage, {tasks} tasks: {stats.delivered_late} outcome(s) delivered late "
            f"({held} held in the outbox at the end of the outage), lost={stats.lost}, "
            f"claim_lost={stats.claim_lost}; server: {dict(statuses)}"
        )
    assert statuses == {TaskStatus.COMPLETED: tasks}
    assert (stats.lost, stats.claim_lost, stats.outbox_pending) == (0, 0, 0)
    assert stats.completed == tasks and stats.delivered_late >= held >= 1


_OUTBOX_WORKER = textwrap.dedent(
    """
    import json, sys, threading, time
    from taskmanager import TaskManagerClient, TaskManagerConfig, Worker

    url, key, task_type, outbox, worker_id = sys.argv[1:6]
    config = TaskManagerConfig(api_url=url, api_key=key, timeout=5, retry_attempts=1, retry_backoff=0.05)
    client = TaskManagerClient(config)
    worker = Worker(client, worker_id=worker_id, concurrency=2, poll_interval=0.2, down_cap=1.0,
                    claim_timeout=300, outbox=outbox)

    @worker.handler(task_type)
    def handle(task):  # one write per line: print() writes the newline apart, and two handlers run at once
        sys.stdout.write(f"start {task.id}\\n")
        time.sleep(0.1)
        sys.stdout.write(f"done {task.id}\\n")
        return {"n": task.params["n"], "by": worker_id}

    stats = worker.run(burst=True, handle_signals=False)
    print("stats " + json.dumps({"delivered_late": stats.delivered_late, "claimed": stats.claimed,
                                 "completed": stats.completed, "lost": stats.lost,
                                 "outbox_pending": stats.outbox_pending}), flush=True)
    """
)


class WorkerProcess:
    def __init__(self, server: ServerProcess, outbox: Path, worker_id: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _OUTBOX_WORKER, server.url, KEY, TYPE, str(outbox), worker_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def ids(self, word: str) -> set[int]:
        return {int(line.split()[1]) for line in list(self.lines) if line.startswith(word + " ")}

    def stats(self) -> dict[str, int]:
        found = [line for line in self.lines if line.startswith("stats ")]
        assert found, f"no stats from the worker: {self.lines[-5:]}"
        result: dict[str, int] = json.loads(found[-1][len("stats ") :])
        return result

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=15)
        self._reader.join(timeout=15)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _saved(outbox: Path) -> list[tuple[int, str]]:
    # closing(): a connection's own context manager only commits, and Python 3.13 warns of one left open
    with contextlib.closing(sqlite3.connect(outbox)) as db:
        return sorted(db.execute("SELECT task_id, worker_id FROM outcomes").fetchall())


@pytest.mark.slow
def test_worker_killed_in_an_outage_leaves_outcomes_for_the_next(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGKILL during an outage: the next worker process on the same outbox file delivers the
    saved outcomes under the first worker's id; every task ends completed, none claimed."""
    tasks = 40
    outbox = tmp_path / "worker-outbox.db"
    with TaskManagerClient(config(server.url)) as direct:
        direct.register_task_type(TYPE, "1.0.0", SCHEMA)
        for n in range(tasks):
            direct.create_task(TYPE, {"n": n})
        first = WorkerProcess(server, outbox, "first-worker")
        try:
            assert wait_until(lambda: len(first.ids("done")) >= 10, timeout=60), first.lines[-5:]
            server.stop()
            # Once the server is gone nothing new starts; wait for what runs to finish, its
            # outcome saved in the file (written before it is sent).
            assert wait_until(
                lambda: first.ids("start") == first.ids("done") and len(_saved(outbox)) >= 1, timeout=30
            )
            first.proc.send_signal(signal.SIGKILL)
        finally:
            first.end()
        saved = _saved(outbox)
        assert saved and {worker_id for _, worker_id in saved} == {"first-worker"}

        second = WorkerProcess(server, outbox, "second-worker")  # started while the server is down
        try:
            server.start()
            second.proc.wait(timeout=90)
        finally:
            second.end()
        stats = second.stats()
        final = {t.id: t for t in direct.iter_tasks(type=TYPE, page_size=100)}
        with capsys.disabled():
            print(
                f"\nworker killed in an outage: {len(saved)} outcome(s) saved, second worker: {stats}; "
                f"server: {dict(Counter(t.status for t in final.values()))}"
            )
        assert Counter(t.status for t in final.values()) == {TaskStatus.COMPLETED: tasks}
        for task_id, worker_id in saved:
            assert final[task_id].claimed_by == worker_id  # delivered under the id that claimed it
            full = direct.get_task(task_id)
            assert full.result == {"n": full.params["n"], "by": worker_id}
        assert stats["delivered_late"] >= len(saved) and stats["lost"] == 0 and stats["outbox_pending"] == 0
        assert _saved(outbox) == []

"""SIGTERM in a real process: stop claiming, fail what does not finish in the grace period, exit 0."""

from __future__ import annotations

import json
import textwrap

from .conftest import sigterm_once_started

SCRIPT = textwrap.dedent(
    """
    import json, threading
    from worker_fakes import FakeClient
    from taskmanager._worker import Worker

    fake = FakeClient()
    fake.add("Test.Stuck", {"n": 1})
    fake.add("Test.Stuck", {"n": 2})
    worker = Worker(fake, worker_id="w-sig", concurrency=1, grace_period=0.2)

    @worker.handler("Test.Stuck")
    def stuck(task):
        print("started", flush=True)
        threading.Event().wait()  # never returns: the worker must give up on it

    stats = worker.run()
    print(json.dumps({"failed": stats.failed, "claimed": stats.claimed,
                      "tasks": [[t.status, t.error_message] for t in fake.tasks.values()]}), flush=True)
    """
)


def test_sigterm_fails_stuck_handler_and_exits_zero() -> None:
    """SIGTERM: the stuck task is failed with a clear error, nothing else is claimed, exit code 0."""
    returncode, out, err = sigterm_once_started(SCRIPT)
    assert returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert (report["claimed"], report["failed"]) == (1, 1)
    (status1, error1), (status2, error2) = report["tasks"]
    assert status1 == "pending" and "SIGTERM received" in error1 and "grace period" in error1
    assert (status2, error2) == ("pending", None)

"""Claim a task, report progress, complete it; claim another and fail it (it is retried).

This is the loop ``Worker`` runs for you (see 04_worker.py); use it by hand when you need full
control. Claims expire after the server's claim timeout (300 s by default) and progress
reports do not extend them. Each run puts a fresh run id into the params: the server never
runs the same (type, params) twice, so a second run against the same server needs new params.

    python examples/03_claim_and_complete.py
"""

import secrets

from _connect import SCRAPE_SCHEMA, connect

from taskmanager import ClaimPolicy

# A type of its own, so that tasks other examples leave on a shared server are not claimed here.
TASK_TYPE = "Example.YouTube.Channel.ScrapeByHand"
WORKER_ID = "example-worker-1"


def main() -> None:
    with connect() as client:
        client.register_task_type(TASK_TYPE, "1.0.0", SCRAPE_SCHEMA)
        run = secrets.token_hex(4)
        for name in ("first", "second"):
            client.create_task(TASK_TYPE, {"channel_url": f"https://youtube.com/@{name}", "run": run})

        task = client.claim_task(TASK_TYPE, worker_id=WORKER_ID, policy=ClaimPolicy.FIFO)
        assert task is not None, "nothing to claim"
        print(f"claimed task {task.id} (attempt {task.attempts}): {task.params}")
        client.update_progress(task.id, 50, worker_id=WORKER_ID, message="half way")
        outcome = client.complete_task(task.id, worker_id=WORKER_ID, result={"videos": 12})
        print(f"completed -> {outcome.status}")

        task = client.claim_task(TASK_TYPE, worker_id=WORKER_ID)
        assert task is not None
        outcome = client.fail_task(task.id, worker_id=WORKER_ID, error="channel not reachable")
        print(f"failed task {task.id} -> {outcome.status} (attempts are left, so it is pending again)")

        retried = client.claim_task(TASK_TYPE, worker_id=WORKER_ID)
        assert retried is not None and retried.id == task.id
        print(f"claimed task {retried.id} again: attempt {retried.attempts}")
        client.complete_task(retried.id, worker_id=WORKER_ID, result={"videos": 3})
        print(f"task {retried.id} is now {client.get_task(retried.id).status}")

        print(f"nothing left: claim_task returns {client.claim_task(TASK_TYPE, worker_id=WORKER_ID)}")


if __name__ == "__main__":
    main()

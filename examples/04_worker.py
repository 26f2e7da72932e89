"""A complete worker: handlers, progress, errors, concurrency and a clean stop.

    python examples/04_worker.py            # with TASKMANAGER_API_URL: runs until Ctrl+C / SIGTERM
    python examples/04_worker.py --burst    # stop once the queue is empty

With no TASKMANAGER_API_URL it starts an embedded server, creates a few tasks and runs in burst
mode, since nothing else would ever create work there.
"""

from __future__ import annotations

import argparse
import logging
import time

from _connect import SCRAPE_SCHEMA, SCRAPE_TYPE, connect, embedded

from taskmanager import ClaimPolicy, Worker, WorkerTask


def scrape(task: WorkerTask) -> dict[str, object]:
    """Runs in a thread; returns the result; raising fails the task (the server retries it)."""
    url = task.params["channel_url"]
    if "broken" in url:
        raise ValueError(f"cannot parse {url}")
    top_n = task.params.get("top_n", 5)
    for done in range(1, 4):
        time.sleep(0.05)  # the real work would be here
        task.report_progress(done * 33, f"page {done} of 3")
        if task.time_left < 30:  # close to the claim timeout: stop early rather than lose the claim
            break
    return {"videos": top_n, "channel": url}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too much here

    with connect() as client:
        client.register_task_type(SCRAPE_TYPE, "1.0.0", SCRAPE_SCHEMA)
        if embedded():
            for name in ("alpha", "beta", "gamma", "delta", "broken"):
                client.create_task(SCRAPE_TYPE, {"channel_url": f"https://youtube.com/@{name}"})

        worker = Worker(
            client,
            policy=ClaimPolicy.FIFO,
            concurrency=args.concurrency,
            poll_interval=5.0,  # the longest wait between claims when the queue is empty
            claim_timeout=300.0,  # must match the server's claim timeout
            max_attempts=3,  # poison guard: a task claimed for a 4th time is failed unrun
            grace_period=30.0,  # on SIGTERM/SIGINT: how long running handlers may finish
        )
        worker.add_handler(SCRAPE_TYPE, scrape)

        stats = worker.run(burst=args.burst or embedded())
        print(f"done: {stats}")


if __name__ == "__main__":
    main()

"""Section 4: memory of one worker process handling 10,000 tasks from the local server.

The tasks are created by this process (plain httpx, 4 threads) while a fresh child process runs a
``Worker`` over them in chunks of 1,000 claims and records, after each chunk, its resident set size
and the number of live Python objects. Peak is ``ru_maxrss``. "Growth after warm-up" compares the
last chunk with the first: a leak of even a few hundred bytes per task would show as megabytes.
"""

from __future__ import annotations

import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench_common import API_KEY, ROOT, TASK_TYPE, Row, create_tasks, register_type, server_process


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _child(url: str, tasks: int, chunk: int) -> dict[str, object]:
    """Run in the measured process: a worker over ``tasks`` tasks, sampled every ``chunk``."""
    import logging

    from taskmanager import TaskManagerClient, Worker

    logging.getLogger("taskmanager").setLevel(logging.WARNING)
    samples = []
    with TaskManagerClient(api_url=url, api_key=API_KEY) as client:
        worker = Worker(client, concurrency=4, poll_interval=0.05, worker_id="bench-memory")

        @worker.handler(TASK_TYPE)
        def handle(task: object) -> dict[str, object]:
            return {"n": task.params["n"], "echo": "x" * 64}  # type: ignore[attr-defined]

        started = time.perf_counter()
        # One worker object across all chunks (a leak in it would accumulate); max_tasks counts
        # the claims of one run, the worker's counters span runs.
        while worker.claimed < tasks:
            before = worker.claimed
            worker.run(max_tasks=min(chunk, tasks - before), handle_signals=False)
            if worker.claimed == before:
                raise RuntimeError(f"the worker stopped claiming after {before} tasks")
            gc.collect()
            samples.append({"tasks": worker.claimed, "rss_kib": _rss_kib(), "objects": len(gc.get_objects())})
        elapsed = time.perf_counter() - started
        stats = worker.stats
    return {
        "samples": samples,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "seconds": elapsed,
        "completed": stats.completed,
        "failed": stats.failed,
    }


def run(quick: bool = False) -> list[Row]:
    tasks, chunk = (2_000, 500) if quick else (10_000, 1_000)
    with server_process() as url:
        register_type(url)
        # The worker starts at once and takes tasks as they are created: the run then lasts about
        # as long as the slower of the two instead of both in turn.
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", url, str(tasks), str(chunk)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            started = time.perf_counter()
            create_tasks(url, TASK_TYPE, tasks)
            create_seconds = time.perf_counter() - started
            stdout, stderr = child.communicate(timeout=600)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    samples = result["samples"]
    first, last = samples[0], samples[-1]
    growth_mib = (last["rss_kib"] - first["rss_kib"]) / 1024
    per_task_bytes = (last["rss_kib"] - first["rss_kib"]) * 1024 / max(1, last["tasks"] - first["tasks"])
    note = (
        f"{result['completed']} completed in {result['seconds']:.0f}s "
        f"({result['completed'] / result['seconds']:.0f}/s; tasks created in {create_seconds:.0f}s); "
        f"RSS MiB every {chunk:,} tasks: " + " ".join(f"{s['rss_kib'] / 1024:.1f}" for s in samples)
    )
    return [
        Row("4 memory", f"worker peak RSS, {tasks:,} tasks", result["peak_rss_kib"] / 1024, "MiB", note=note),
        Row(
            "4 memory",
            f"RSS growth after first {first['tasks']:,} tasks",
            growth_mib,
            "MiB",
            note=f"{per_task_bytes:.0f} bytes/task; RSS samples in JSON",
            samples=[s["rss_kib"] / 1024 for s in samples],
        ),
        Row(
            "4 memory",
            "live objects growth after warm-up",
            float(last["objects"] - first["objects"]),
            "objects",
            note=f"{first['objects']} -> {last['objects']}",
            samples=[float(s["objects"]) for s in samples],
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        sys.exit("usage: bench_memory.py --child URL TASKS CHUNK (run by scripts/bench.py)")

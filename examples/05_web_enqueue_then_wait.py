"""Enqueue instead of executing in the request: a web handler that creates a task and answers.

``POST /cleanup`` creates a task and answers 202 with its id at once; ``GET /tasks/<id>`` reports
its status; ``GET /tasks/<id>?wait=5`` waits up to 5 s for the result (``wait_for_task``) and
still answers 202 if the task is not done by then. A worker elsewhere does the work; here it
runs in a background thread so that the example is self-contained. Stdlib ``wsgiref`` only:
the same three calls fit any framework.

    python examples/05_web_enqueue_then_wait.py
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
from _connect import connect

from taskmanager import TaskFailedError, TaskManagerClient, TaskManagerError, WaitTimeoutError, Worker

CLEANUP_TYPE = "Example.Maintenance.CleanupRuns"
CLEANUP_SCHEMA = {
    "type": "object",
    "properties": {"max_age_hours": {"type": "integer", "minimum": 1}},
    "required": ["max_age_hours"],
}


def make_app(client: TaskManagerClient) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            if method == "POST" and path == "/cleanup":
                body = json.loads(
                    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}"
                )
                task = client.create_task(CLEANUP_TYPE, {"max_age_hours": int(body.get("max_age_hours", 24))})
                status, payload = "202 Accepted", {"task_id": task.id, "status": task.status.value}
            elif method == "GET" and path.startswith("/tasks/"):
                task_id = int(path.rsplit("/", 1)[1])
                wait = float(query.get("wait", ["0"])[0])
                try:
                    task = client.wait_for_task(task_id, timeout=wait, poll_interval=0.1) if wait else None
                except WaitTimeoutError:
                    task = None
                task = task or client.get_task(task_id)
                done = task.status.is_finished
                status = "200 OK" if done else "202 Accepted"
                payload = {"task_id": task.id, "status": task.status.value, "result": task.result}
            else:
                status, payload = "404 Not Found", {"error": "no such route"}
        except TaskFailedError as exc:
            status, payload = (
                "200 OK",
                {"task_id": exc.task.id, "status": "failed", "error": exc.task.error_message},
            )
        except TaskManagerError as exc:
            status, payload = "502 Bad Gateway", {"error": exc.message}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]

    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    with connect() as client:
        client.register_task_type(CLEANUP_TYPE, "1.0.0", CLEANUP_SCHEMA)

        worker = Worker(client, concurrency=2, poll_interval=0.2)

        @worker.handler(CLEANUP_TYPE)
        def cleanup(task: Any) -> dict[str, int]:
            return {"deleted_runs": task.params["max_age_hours"] * 2}

        worker_thread = threading.Thread(target=worker.run, kwargs={"handle_signals": False}, daemon=True)
        worker_thread.start()

        web = make_server("127.0.0.1", 0, make_app(client), handler_class=QuietHandler)
        threading.Thread(target=web.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{web.server_port}"
        try:
            with httpx.Client(base_url=base, timeout=30) as http:
                accepted = http.post("/cleanup", json={"max_age_hours": 48})
                print(f"POST /cleanup -> {accepted.status_code} {accepted.json()}")
                task_id = accepted.json()["task_id"]
                done = http.get(f"/tasks/{task_id}", params={"wait": 10})
                print(f"GET /tasks/{task_id}?wait=10 -> {done.status_code} {done.json()}")
        finally:
            web.shutdown()
            web.server_close()
            worker.stop()
            worker_thread.join(timeout=10)


if __name__ == "__main__":
    main()

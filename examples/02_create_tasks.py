"""Create tasks, and see the server's dedupe: same type + same params = the same task.

The server keeps one task per (type, params) forever, whatever its status: creating the params
of a task that already completed returns that task and nothing runs again. Put something that
changes (a date, a run id) in the params when you do want a new run.

    python examples/02_create_tasks.py
"""

from _connect import SCRAPE_SCHEMA, SCRAPE_TYPE, connect

from taskmanager import DuplicateTaskError, TaskManagerValidationError


def main() -> None:
    with connect() as client:
        client.register_task_type(SCRAPE_TYPE, "1.0.0", SCRAPE_SCHEMA)

        channels = ["https://youtube.com/@a", "https://youtube.com/@b", "https://youtube.com/@c"]
        for url in channels:
            task = client.create_task(SCRAPE_TYPE, {"channel_url": url, "top_n": 10})
            print(f"task {task.id}: {url} created={task.created} status={task.status}")

        # Key order does not matter: the client sends params with sorted keys.
        same = client.create_task(SCRAPE_TYPE, {"top_n": 10, "channel_url": channels[0]})
        print(f"same params again -> task {same.id}, created={same.created}, is_new_work={same.is_new_work}")

        try:
            client.create_task(SCRAPE_TYPE, {"channel_url": channels[0], "top_n": 10}, on_duplicate="raise")
        except DuplicateTaskError as exc:
            print(f"on_duplicate='raise' -> DuplicateTaskError for task {exc.task_id} ({exc.status})")

        try:
            client.create_task(SCRAPE_TYPE, {"channel_url": "ftp://nope"})
        except TaskManagerValidationError as exc:
            print(f"params the schema rejects -> TaskManagerValidationError: {exc.message}")


if __name__ == "__main__":
    main()

"""Register a task type: a name, a version and a JSON Schema for its params.

Registering an existing name updates it (``created`` is False then), so workers can register
their types at start-up without coordination.

    python examples/01_register_task_type.py
"""

from _connect import SCRAPE_SCHEMA, SCRAPE_TYPE, connect

from taskmanager import TaskManagerNotFoundError


def main() -> None:
    with connect() as client:
        task_type = client.register_task_type(SCRAPE_TYPE, "1.0.0", SCRAPE_SCHEMA)
        print(f"{'registered' if task_type.created else 'updated'}: {task_type.name} (id {task_type.id})")

        again = client.register_task_type(SCRAPE_TYPE, "1.1.0", SCRAPE_SCHEMA)
        print(f"registering again updates it: created={again.created}, same id: {again.id == task_type.id}")

        fetched = client.get_task_type(SCRAPE_TYPE)
        print(
            f"fetched: {fetched.name} {fetched.version}, required params: {fetched.param_schema['required']}"
        )

        try:
            client.get_task_type("Example.Does.Not.Exist")
        except TaskManagerNotFoundError as exc:
            print(f"an unknown type raises TaskManagerNotFoundError: {exc.message}")


if __name__ == "__main__":
    main()

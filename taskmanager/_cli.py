"""The ``taskmanager`` command line.

Exit codes: 0 success; 1 the API answered with an error, or could not be reached (the message
is printed on one line); 2 a usage error (bad option, unreadable file, input refused before
sending). Human tables by default; ``--json`` prints JSON for scripts.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._cli_output import format_table, to_json, worker_stats_table
from ._config import TaskManagerConfig
from ._errors import TaskManagerError, TaskManagerValidationError
from ._policies import ClaimPolicy

if TYPE_CHECKING:
    from ._client import TaskManagerClient

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

# Replaced in tests of `stats --watch`.
_watch_sleep = time.sleep

_POLICY = click.Choice([p.name.lower() for p in ClaimPolicy], case_sensitive=False)


class _APIFailure(click.ClickException):
    """Exit 1 with the error on one line."""

    exit_code = 1

    def format_message(self) -> str:
        return " ".join(self.message.split())


class _BadInput(_APIFailure):
    """Input refused before anything was sent: a usage error (exit 2)."""

    exit_code = 2


def _fail(exc: TaskManagerError) -> click.ClickException:
    if isinstance(exc, TaskManagerValidationError) and exc.status_code is None:
        return _BadInput(str(exc))
    return _APIFailure(str(exc))


def _make_client(api_url: str | None, api_key: str | None) -> TaskManagerClient:
    from ._client import TaskManagerClient

    config = TaskManagerConfig.from_env(api_url=api_url, api_key=api_key)
    return TaskManagerClient(config)


@contextlib.contextmanager
def _warnings_to_stderr(enabled: bool) -> Iterator[None]:
    """With -v, the client's warnings (each retry, with its reason) go to stderr, then the error."""
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("taskmanager")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _api_command(fn: F) -> F:
    """Add --api-url/--api-key/--json/-v; pass ``client`` and ``as_json``; map errors to exit codes."""

    @click.option(
        "--api-url",
        envvar="TASKMANAGER_API_URL",
        show_envvar=True,
        help="API base, e.g. http://127.0.0.1:8080/api (default: the PrismQ API).",
    )
    @click.option("--api-key", envvar="TASKMANAGER_API_KEY", show_envvar=True, help="API key.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    @click.option("-v", "--verbose", is_flag=True, help="Show the client's warnings (retries) on stderr.")
    @functools.wraps(fn)
    def wrapper(api_url: str | None, api_key: str | None, verbose: bool, **kwargs: Any) -> Any:
        try:
            with _warnings_to_stderr(verbose), _make_client(api_url, api_key) as client:
                return fn(client=client, **kwargs)
        except TaskManagerError as exc:
            raise _fail(exc) from exc

    return wrapper  # type: ignore[return-value]


def _read_json(value: str, what: str) -> Any:
    """``value`` is JSON text, ``@path`` (a file) or ``@-`` (stdin)."""
    source = what
    if value.startswith("@"):
        name = value[1:]
        try:
            value = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {name}: {exc.strerror}", param_hint=what) from exc
        source = f"{what} ({name})"
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=source) from exc


def _read_object(value: str, what: str) -> dict[str, Any]:
    data = _read_json(value, what)
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object", param_hint=what)
    return data


@click.group()
@click.version_option(package_name="taskmanager")
def main() -> None:
    """PrismQ TaskManager client tools.

    Settings come from TASKMANAGER_API_URL and TASKMANAGER_API_KEY (or --api-url/--api-key).
    Try `taskmanager demo` first: it needs no server.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0 picks a free one).",
)
@click.option(
    "--db",
    default="taskmanager.db",
    show_default=True,
    help="SQLite database file (':memory:' keeps nothing).",
)
@click.option("--api-key", default=None, help="Default: $TASKMANAGER_API_KEY, else a generated key.")
@click.option("--claim-timeout", default=300, show_default=True, type=click.IntRange(1), help="Seconds.")
@click.option("--max-attempts", default=3, show_default=True, type=click.IntRange(1))
def serve(host: str, port: int, db: str, api_key: str | None, claim_timeout: int, max_attempts: int) -> None:
    """Run the local TaskManager server in the foreground (Ctrl+C stops it)."""
    # Imported here: the server is not needed by any other command.
    from taskmanager.server import ServerStartError
    from taskmanager.server import serve as run_server

    try:
        run_server(
            host=host,
            port=port,
            db=db,
            api_key=api_key,
            claim_timeout=claim_timeout,
            max_attempts=max_attempts,
            announce=click.echo,
        )
    except ServerStartError as exc:
        raise _APIFailure(str(exc)) from exc


# -- health and types --------------------------------------------------------------------------


@main.command()
@_api_command
def health(client: TaskManagerClient, as_json: bool) -> None:
    """Check that the API and its database answer (exit 1 if not healthy)."""
    h = client.health_check()
    if h.reason is not None:  # not reached, or an error reply: the reason is the whole message
        raise _APIFailure(h.reason)
    if as_json:
        click.echo(to_json(h))
    else:
        click.echo(
            format_table(["status", "database", "server time"], [[h.status, h.database, h.server_time]])
        )
    if not h.ok:
        raise _APIFailure(f"the API is not healthy: status {h.status}, database {h.database}")


@main.group()
def types() -> None:
    """Task types: list, show, register."""


_TYPE_HEADERS = ["id", "name", "version", "active", "created at"]


def _type_row(t: Any) -> list[Any]:
    active = None if t.is_active is None else ("yes" if t.is_active else "no")
    return [t.id, t.name, t.version, active, t.created_at]


@types.command("list")
@click.option("--active-only", is_flag=True, help="Only active types.")
@_api_command
def types_list(client: TaskManagerClient, as_json: bool, active_only: bool) -> None:
    """List task types."""
    found = client.list_task_types(active_only=active_only)
    click.echo(to_json(found) if as_json else format_table(_TYPE_HEADERS, [_type_row(t) for t in found]))


@types.command("get")
@click.argument("name")
@_api_command
def types_get(client: TaskManagerClient, as_json: bool, name: str) -> None:
    """Show one task type and its parameter schema."""
    t = client.get_task_type(name)
    if as_json:
        click.echo(to_json(t))
        return
    click.echo(format_table(_TYPE_HEADERS, [_type_row(t)]))
    click.echo("\nparam_schema:\n" + json.dumps(t.param_schema, indent=2, ensure_ascii=False))


@types.command("register")
@click.argument("name")
@click.option("--version", "version", default="1.0.0", show_default=True, help="Type version.")
@click.option(
    "--schema",
    "schema_file",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON Schema file for the params ('-' reads stdin).",
)
@_api_command
def types_register(
    client: TaskManagerClient, as_json: bool, name: str, version: str, schema_file: str
) -> None:
    """Register a task type, or update the one with this name."""
    schema = _read_object("@" + schema_file, "--schema")
    t = client.register_task_type(name, version, schema)
    if as_json:
        click.echo(to_json(t))
    else:
        click.echo(f"{'registered' if t.created else 'updated'} task type {t.name} {t.version} (id {t.id})")


# -- tasks ---------------------------------------------------------------------------------------


@main.group()
def tasks() -> None:
    """Tasks: create, show, list, claim, complete, fail."""


@tasks.command("create")
@click.argument("task_type")
@click.option("--params", required=True, help="Params as JSON, or @file, or @- for stdin.")
@_api_command
def tasks_create(client: TaskManagerClient, as_json: bool, task_type: str, params: str) -> None:
    """Create a task (an identical one already there is returned instead)."""
    created = client.create_task(task_type, _read_object(params, "--params"))
    if as_json:
        click.echo(to_json(created))
        return
    if created.created is False:
        note = f"already exists ({created.status}); " + (
            "it will run" if created.is_new_work else "finished tasks never run again"
        )
    elif created.created is None:
        note = f"found after a retry ({created.status})"
    else:
        note = "created"
    click.echo(f"task {created.id} {task_type}: {note}")


_TASK_FIELDS = [
    "id",
    "type",
    "status",
    "attempts",
    "progress",
    "priority",
    "claimed_by",
    "claimed_at",
    "created_at",
    "completed_at",
    "params",
    "result",
    "error_message",
]


@tasks.command("get")
@click.argument("task_id", type=int)
@_api_command
def tasks_get(client: TaskManagerClient, as_json: bool, task_id: int) -> None:
    """Show one task."""
    task = client.get_task(task_id)
    if as_json:
        click.echo(to_json(task))
        return
    click.echo(format_table(["field", "value"], [[f, getattr(task, f)] for f in _TASK_FIELDS]))


_SUMMARY_HEADERS = ["id", "type", "status", "attempts", "progress", "claimed by", "created at"]


@tasks.command("list")
@click.option(
    "--status", type=click.Choice(["pending", "claimed", "completed", "failed"]), help="Only this status."
)
@click.option("--type", "task_type", help="Only this type (a SQL LIKE pattern when it contains %).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@_api_command
def tasks_list(
    client: TaskManagerClient,
    as_json: bool,
    status: str | None,
    task_type: str | None,
    limit: int,
    offset: int,
) -> None:
    """List tasks, newest first."""
    rows = client.list_tasks(status=status, type=task_type, limit=limit, offset=offset)
    if as_json:
        click.echo(to_json(rows))
        return
    click.echo(
        format_table(
            _SUMMARY_HEADERS,
            [[t.id, t.type, t.status, t.attempts, t.progress, t.claimed_by, t.created_at] for t in rows],
        )
    )


def _worker_id_option(fn: F) -> F:
    return click.option("--worker-id", required=True, help="The worker id the task was claimed with.")(fn)


@tasks.command("claim")
@click.argument("task_types", nargs=-1, required=True)
@click.option("--worker-id", help="Worker id to claim as (default: host-pid-random).")
@click.option("--policy", type=_POLICY, default="fifo", show_default=True)
@_api_command
def tasks_claim(
    client: TaskManagerClient, as_json: bool, task_types: tuple[str, ...], worker_id: str | None, policy: str
) -> None:
    """Claim the next task of TASK_TYPES (prints nothing-to-claim and exits 0 when empty)."""
    from ._worker_id import default_worker_id

    worker_id = worker_id or default_worker_id()
    claimed = client.claim_task(
        task_types[0] if len(task_types) == 1 else list(task_types),
        worker_id=worker_id,
        policy=ClaimPolicy[policy.upper()],
    )
    if as_json:
        click.echo(to_json(claimed))
    elif claimed is None:
        click.echo("nothing to claim")
    else:
        click.echo(
            format_table(
                ["id", "type", "attempts", "worker id", "params"],
                [[claimed.id, claimed.type, claimed.attempts, claimed.worker_id, claimed.params]],
            )
        )


@tasks.command("complete")
@click.argument("task_id", type=int)
@_worker_id_option
@click.option("--result", "result_text", help="Result as a JSON object, or @file, or @-.")
@_api_command
def tasks_complete(
    client: TaskManagerClient, as_json: bool, task_id: int, worker_id: str, result_text: str | None
) -> None:
    """Report a claimed task completed."""
    result = _read_object(result_text, "--result") if result_text is not None else None
    outcome = client.complete_task(task_id, worker_id=worker_id, success=True, result=result)
    click.echo(to_json(outcome) if as_json else f"task {outcome.task_id}: {outcome.status}")


@tasks.command("fail")
@click.argument("task_id", type=int)
@_worker_id_option
@click.option("--error", "error", required=True, help="What went wrong.")
@_api_command
def tasks_fail(client: TaskManagerClient, as_json: bool, task_id: int, worker_id: str, error: str) -> None:
    """Report a claimed task failed (it goes back to pending while attempts remain)."""
    outcome = client.fail_task(task_id, worker_id=worker_id, error=error)
    click.echo(to_json(outcome) if as_json else f"task {outcome.task_id}: {outcome.status}")


# -- stats -------------------------------------------------------------------------------------


def _render_stats(client: TaskManagerClient, as_json: bool) -> str:
    from ._queue_stats import STATUSES, queue_stats

    stats = queue_stats(client.iter_tasks())
    if as_json:
        return json.dumps(
            {
                "total": stats.total,
                "by_status": stats.by_status,
                "by_type": stats.by_type,
                "workers": stats.workers,
            }
        )
    parts = [
        format_table([*STATUSES, "total"], [[*(stats.by_status[s] for s in STATUSES), stats.total]]),
        format_table(["type", *STATUSES, "total"], stats.type_rows()) if stats.by_type else "no tasks",
        format_table(["active worker", "claimed tasks"], list(stats.workers.items()))
        if stats.workers
        else "no active workers (no claimed tasks)",
    ]
    return "\n\n".join(parts)


@main.command()
@click.option("--watch", is_flag=True, help="Refresh until Ctrl+C.")
@click.option("--interval", type=click.FloatRange(0.2), default=2.0, show_default=True, help="Seconds.")
@_api_command
def stats(client: TaskManagerClient, as_json: bool, watch: bool, interval: float) -> None:
    """Counts by status and type, and the workers holding claimed tasks."""
    if not watch:
        click.echo(_render_stats(client, as_json))
        return
    try:
        while True:
            text = _render_stats(client, as_json)
            if not as_json:  # JSON: one line per refresh, for piping
                click.clear()
                text = f"{time.strftime('%H:%M:%S')}  every {interval:g}s, Ctrl+C to stop\n\n{text}"
            click.echo(text)
            _watch_sleep(interval)
    except KeyboardInterrupt:
        pass


# -- worker ------------------------------------------------------------------------------------


@main.group()
def worker() -> None:
    """Run a worker."""


def _load_target(target: str) -> Any:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter("expected MODULE:ATTR, e.g. myapp.workers:worker", param_hint="TARGET")
    if os.getcwd() not in sys.path:  # like `python -m`: modules in the current directory load
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name}: {exc}", param_hint="TARGET") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise click.BadParameter(f"{module_name} has no attribute {attr}", param_hint="TARGET") from exc
    return obj


@worker.command("run")
@click.argument("target")
@click.option("--concurrency", type=click.IntRange(1), help="Tasks in flight at once.")
@click.option("--burst", is_flag=True, help="Exit once nothing is left to claim.")
@click.option("--max-tasks", type=click.IntRange(1), help="Exit after this many tasks.")
@click.option("--policy", type=_POLICY, help="Claim order (default: the worker's, FIFO).")
@click.option("--worker-id", help="Worker id (default: host-pid-random).")
@click.option(
    "--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING"])
)
@click.option(
    "--api-url", envvar="TASKMANAGER_API_URL", show_envvar=True, help="Used when TARGET is a mapping."
)
@click.option(
    "--api-key", envvar="TASKMANAGER_API_KEY", show_envvar=True, help="Used when TARGET is a mapping."
)
def worker_run(
    target: str,
    concurrency: int | None,
    burst: bool,
    max_tasks: int | None,
    policy: str | None,
    worker_id: str | None,
    log_level: str,
    api_url: str | None,
    api_key: str | None,
) -> None:
    """Run the worker at TARGET (MODULE:ATTR) until SIGTERM/SIGINT (or --burst/--max-tasks).

    TARGET is a Worker, a function returning one, or a dict of task type -> handler (a worker
    is then built from TASKMANAGER_API_URL/KEY).
    """
    from ._worker import Worker

    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if log_level != "DEBUG":  # httpx logs every request at INFO: too much for a worker's log
        logging.getLogger("httpx").setLevel(logging.WARNING)
    obj = _load_target(target)
    with contextlib.ExitStack() as cleanup:
        if isinstance(obj, dict):
            try:
                client = cleanup.enter_context(_make_client(api_url, api_key))
            except TaskManagerError as exc:
                raise _fail(exc) from exc
            built = Worker(client, worker_id=worker_id)
            try:
                for task_type, fn in obj.items():
                    built.add_handler(task_type, fn)
            except (TypeError, ValueError) as exc:
                raise click.BadParameter(str(exc), param_hint="TARGET") from exc
            obj = built
        elif callable(obj) and not isinstance(obj, Worker):
            obj = obj()
        if not isinstance(obj, Worker):
            raise click.BadParameter(
                f"{target} is not a Worker (got {type(obj).__name__})", param_hint="TARGET"
            )
        if concurrency is not None:
            obj.concurrency = concurrency
        if policy is not None:
            obj.policy = ClaimPolicy[policy.upper()]
        if worker_id is not None:
            obj.worker_id = worker_id
        try:
            stats = obj.run(burst=burst, max_tasks=max_tasks)
        except TaskManagerError as exc:
            raise _fail(exc) from exc
        except RuntimeError as exc:  # e.g. no handlers registered
            raise click.UsageError(str(exc)) from exc
    click.echo(worker_stats_table(stats))


# -- demo ----------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--tasks", "count", type=click.IntRange(2, 200), default=12, show_default=True, help="Tasks to create."
)
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True)
@click.option(
    "--api-url",
    envvar="TASKMANAGER_API_URL",
    show_envvar=True,
    help="Run against this server (default: start an embedded local server).",
)
@click.option("--api-key", envvar="TASKMANAGER_API_KEY", show_envvar=True)
def demo(count: int, concurrency: int, api_url: str | None, api_key: str | None) -> None:
    """Show the whole cycle: register a type, create tasks (with dedupe), run a worker, summarise."""
    from ._demo import run_demo

    try:
        run_demo(api_url=api_url, api_key=api_key, count=count, concurrency=concurrency, echo=click.echo)
    except TaskManagerError as exc:
        raise _fail(exc) from exc

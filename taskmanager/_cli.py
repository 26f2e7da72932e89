"""The ``taskmanager`` command line.

Exit codes: 0 success; 1 the API answered with an error, or could not be reached (the message
is printed on one line); 2 a usage error (bad option, unreadable file, input refused before
sending). Human tables by default; ``--json`` prints JSON for scripts.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import itertools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from . import _json_input as json_input
from ._cli_output import format_table, to_json, worker_stats_table
from ._config import TaskManagerConfig
from ._env_file import env_file_values
from ._errors import TaskManagerError, TaskManagerValidationError
from ._policies import ClaimPolicy

if TYPE_CHECKING:
    from ._client import TaskManagerClient

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

_log = logging.getLogger("taskmanager.cli")

# Replaced in tests of `stats --watch`.
_watch_sleep = time.sleep

_POLICY = click.Choice([p.name.lower() for p in ClaimPolicy], case_sensitive=False)


class _APIFailure(click.ClickException):
    """Exit 1 with the error on one line (``{"error": ..., "status_code": ...}`` on stderr with --json)."""

    exit_code = 1

    def __init__(self, message: str, *, status_code: int | None = None, as_json: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.as_json = as_json

    def format_message(self) -> str:
        return " ".join(self.message.split())

    def show(self, file: Any = None) -> None:
        if not self.as_json:
            super().show(file)
            return
        record = {"error": self.format_message(), "status_code": self.status_code}
        click.echo(json.dumps(record, ensure_ascii=False), err=True)


class _BadInput(_APIFailure):
    """Input refused before anything was sent, or a bad configuration: a usage error (exit 2)."""

    exit_code = 2


def _error_text(exc: TaskManagerError) -> str:
    """The error for a person: no ``-> 200`` when the failure was not an HTTP error status."""
    if exc.status_code is not None and exc.status_code < 400:
        return exc.message + (" (" + "; ".join(exc.details) + ")" if exc.details else "")
    return str(exc)


def _fail(exc: TaskManagerError, as_json: bool = False) -> click.ClickException:
    """Exit 2 for what was refused before sending (bad input or configuration), else exit 1."""
    usage = isinstance(exc, TaskManagerValidationError) and exc.status_code is None
    error_class = _BadInput if usage else _APIFailure
    return error_class(_error_text(exc), status_code=exc.status_code, as_json=as_json)


def _as_json_failure(exc: click.ClickException, as_json: bool) -> click.ClickException:
    """A usage error raised inside a --json command, as a JSON error with the same exit code."""
    if not as_json or isinstance(exc, _APIFailure):
        return exc
    error_class = _BadInput if exc.exit_code == _BadInput.exit_code else _APIFailure
    return error_class(exc.format_message(), as_json=True)


_KEY_VARIABLE = "TASKMANAGER_API_KEY"
_REDACTED = "<redacted>"
_SHORTEST_REDACTED = 8  # characters
_ARGS_META = "taskmanager.args"  # the command line as given, in the context's shared meta


def _json_requested(args: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options (an argument after ``--`` is not an option)."""
    return "--json" in args[: args.index("--") if "--" in args else len(args)]


def _keys_in_play(args: Sequence[str]) -> list[str]:
    """Every API key this run may hold: from the command line, the environment, the .env file."""
    keys = [value for name, value in itertools.pairwise(args) if name == "--api-key"]
    keys += [arg.split("=", 1)[1] for arg in args if arg.startswith("--api-key=")]
    keys.append(os.environ.get(_KEY_VARIABLE, ""))
    with contextlib.suppress(TaskManagerError, OSError):  # an unreadable file holds no key to hide
        keys.append(env_file_values(None, os.environ, default=True).get(_KEY_VARIABLE, ""))
    # A key too short to be a real one is left alone: replacing every "ab" would garble the text.
    return sorted({key for key in keys if len(key) >= _SHORTEST_REDACTED}, key=len, reverse=True)


def _without_keys(text: str, args: Sequence[str]) -> str:
    for key in _keys_in_play(args):
        text = text.replace(key, _REDACTED)
    return text


@contextlib.contextmanager
def _usage_errors_like_the_others(args: Sequence[str]) -> Iterator[None]:
    """Click's usage errors (unknown option or command, missing argument, bad value): JSON on
    stderr with --json, as every other error is; no error quotes the API key."""
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # the help text, not an error
    except click.UsageError as exc:
        message = _without_keys(exc.format_message(), args)
        if _json_requested(args):
            raise _BadInput(message, as_json=True) from exc
        if message != exc.format_message():
            raise click.UsageError(message, ctx=exc.ctx) from exc  # the same usage text, no key
        raise
    except click.ClickException as exc:  # an API error, a server that cannot start: one line
        message = _without_keys(exc.format_message(), args)
        if message == exc.format_message():
            raise
        if isinstance(exc, _APIFailure):
            raise type(exc)(message, status_code=exc.status_code, as_json=exc.as_json) from exc
        raise (_BadInput if exc.exit_code == _BadInput.exit_code else _APIFailure)(message) from exc


class _MainGroup(click.Group):
    """The ``taskmanager`` group: usage errors of every command below it as above."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = ctx.meta[_ARGS_META] = tuple(args)  # a copy: click's parser consumes the list
        with _usage_errors_like_the_others(given):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_errors_like_the_others(ctx.meta.get(_ARGS_META, ())):
            return super().invoke(ctx)


def _make_client(api_url: str | None, api_key: str | None) -> TaskManagerClient:
    from ._client import TaskManagerClient

    config = TaskManagerConfig.from_env(api_url=api_url, api_key=api_key)
    return TaskManagerClient(config)


class _KeylessFormatter(logging.Formatter):
    """Log lines on stderr without the API key (a type name typed as the key shows in them)."""

    def __init__(self, fmt: str, args: Sequence[str]) -> None:
        super().__init__(fmt)
        self._args = args

    def format(self, record: logging.LogRecord) -> str:
        return _without_keys(super().format(record), self._args)


def _keyless_handler(fmt: str) -> logging.Handler:
    context = click.get_current_context(silent=True)
    args = context.meta.get(_ARGS_META, ()) if context is not None else ()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_KeylessFormatter(fmt, args))
    return handler


@contextlib.contextmanager
def _warnings_to_stderr(enabled: bool) -> Iterator[None]:
    """With -v, the client's warnings (each retry, with its reason) go to stderr, then the error."""
    if not enabled:
        yield
        return
    handler = _keyless_handler("%(levelname)s %(name)s: %(message)s")
    handler.setLevel(logging.WARNING)
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
        as_json = bool(kwargs.get("as_json"))
        try:
            with _warnings_to_stderr(verbose), _make_client(api_url, api_key) as client:
                return fn(client=client, **kwargs)
        except TaskManagerError as exc:
            raise _fail(exc, as_json) from exc
        except click.ClickException as exc:
            raise _as_json_failure(exc, as_json) from exc

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
        except UnicodeDecodeError as exc:
            why = f"not UTF-8 text (byte {exc.start})"
            raise click.BadParameter(why, param_hint=f"{what} ({name})") from None
        source = f"{what} ({name})"
    try:
        return json_input.loads(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=source) from None


def _read_object(value: str, what: str) -> dict[str, Any]:
    data = _read_json(value, what)
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object", param_hint=what)
    return data


@click.group(cls=_MainGroup)
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
@click.option(
    "--tie-seed", type=int, default=None, help="Seed of the order of same-second tasks in listings."
)
@click.option("--access-log", is_flag=True, help="Log each request to stderr (never the key).")
@click.option("--show-key", is_flag=True, help="Print the API key even when it was kept from before.")
def serve(
    host: str,
    port: int,
    db: str,
    api_key: str | None,
    claim_timeout: int,
    max_attempts: int,
    tie_seed: int | None,
    access_log: bool,
    show_key: bool,
) -> None:
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
            tie_seed=tie_seed,
            access_log=access_log,
            show_key=show_key,
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
        raise _APIFailure(h.reason, as_json=as_json)
    if as_json:
        click.echo(to_json(h))
    else:
        click.echo(
            format_table(["status", "database", "server time"], [[h.status, h.database, h.server_time]])
        )
    if not h.ok:
        raise _APIFailure(
            f"the API is not healthy: status {h.status}, database {h.database}", as_json=as_json
        )


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
    rows = [[f, getattr(task, f)] for f in _TASK_FIELDS]
    rows += [[name, value] for name, value in task.extra.items()]  # fields of a newer server
    click.echo(format_table(["field", "value"], rows))


@tasks.command("wait")
@click.argument("task_id", type=int)
@click.option(
    "--timeout", type=click.FloatRange(0, min_open=True), default=300.0, show_default=True, help="Seconds."
)
@click.option(
    "--interval", type=click.FloatRange(0.05), default=1.0, show_default=True, help="Seconds between polls."
)
@_api_command
def tasks_wait(
    client: TaskManagerClient, as_json: bool, task_id: int, timeout: float, interval: float
) -> None:
    """Wait until a task completes and print its result (exit 1 if it fails or time runs out)."""
    from ._errors import TaskFailedError

    try:
        task = client.wait_for_task(task_id, timeout=timeout, poll_interval=interval)
    except TaskFailedError as exc:
        message = f"task {task_id} failed after {exc.task.attempts} attempts: {exc.task.error_message}"
        raise _APIFailure(message, as_json=as_json) from exc
    click.echo(to_json(task) if as_json else to_json(task.result))


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
        return to_json(
            {
                "total": stats.total,
                "by_status": {s: stats.by_status.get(s, 0) for s in STATUSES},
                "by_type": {
                    name: {s: counts.get(s, 0) for s in STATUSES}
                    for name, counts in sorted(stats.by_type.items())
                },
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
            if not as_json:  # JSON: one document per refresh
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
    except TaskManagerError as exc:  # e.g. a worker built at import time with a bad TASKMANAGER_API_URL
        raise _fail(exc) from exc
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name}: {exc}", param_hint="TARGET") from exc
    except Exception as exc:  # the user's module failed: say where, in one line
        raise click.BadParameter(
            f"importing {module_name} raised {type(exc).__name__}: {exc} "
            f"(python -c 'import {module_name}' shows the traceback)",
            param_hint="TARGET",
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise click.BadParameter(f"{module_name} has no attribute {attr}", param_hint="TARGET") from exc
    return obj


def _takes_arguments(fn: Callable[..., Any]) -> bool:
    """True for a function that needs an argument (a handler), False for a factory."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return any(
        p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in signature.parameters.values()
    )


def _wait_for_api(client: Any, seconds: float) -> None:
    """Burst mode: return once the API answers; exit 1 if it never does within ``seconds``."""
    from ._client import TaskManagerClient

    url = client.config.api_url
    deadline = time.monotonic() + seconds
    delay = 0.25
    logged = False
    # A server that accepts but never answers must not hold the probe past the wait either.
    timeout = min(client.config.timeout, max(seconds, 1.0))
    with TaskManagerClient(attrs.evolve(client.config, retry_attempts=0, timeout=timeout)) as probe:
        while True:
            health = probe.health_check()
            if health.status != "unreachable":  # it answered (even with an error): the worker copes
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise _APIFailure(f"the API at {url} did not answer within {seconds:g}s: {health.reason}")
            if not logged:
                _log.warning(
                    "the API at %s does not answer (%s); trying for up to %gs", url, health.reason, seconds
                )
                logged = True
            _watch_sleep(min(delay, left))
            delay = min(delay * 2, 5.0)


def _build_worker(
    obj: Any, target: str, task_types: tuple[str, ...], make_client: Callable[[], Any], worker_id: str | None
) -> tuple[Any, bool]:
    """The Worker that TARGET names, and whether this command built it (so --api-url applies)."""
    from ._worker import Worker

    if isinstance(obj, Worker):
        if task_types:
            raise click.UsageError(
                f"--type binds a handler function; {target} is a Worker with its own handlers"
            )
        return obj, False
    handlers: dict[Any, Any]
    if isinstance(obj, dict):
        if task_types:
            raise click.UsageError(
                f"--type binds a handler function; {target} is a mapping of types to handlers"
            )
        handlers = obj
    elif callable(obj) and (task_types or _takes_arguments(obj)):
        if not task_types:
            raise click.UsageError(
                f"{target} takes arguments, so it looks like a handler: bind it to a task type with --type "
                "NAME (or make TARGET a Worker, a function returning one, or a dict of type -> handler)"
            )
        handlers = dict.fromkeys(task_types, obj)
    elif callable(obj):
        built = obj()
        if not isinstance(built, Worker):
            raise click.UsageError(f"{target}() returned {type(built).__name__}, not a Worker")
        return built, False
    else:
        raise click.UsageError(
            f"{target} is not a Worker (got {type(obj).__name__}): expected a Worker, a function "
            "returning one, a handler with --type NAME, or a dict of task type -> handler"
        )
    worker = Worker(make_client(), worker_id=worker_id)
    try:
        for task_type, fn in handlers.items():
            worker.add_handler(task_type, fn)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="TARGET") from exc
    return worker, True


def _local_client(ctx: click.Context, path: str) -> TaskManagerClient:
    """Local mode (``--local PATH``): refuses --api-url/--api-key given beside it."""
    from ._client import TaskManagerClient

    both = _from_command_line(ctx, "api_url", "api_key")
    if both:
        raise click.UsageError(f"--local runs without an API: drop {' and '.join(both)}")
    return TaskManagerClient.local(path)


def _from_command_line(ctx: click.Context, *names: str) -> list[str]:
    return [
        "--" + name.removesuffix("_db").replace("_", "-")
        for name in names
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    ]


@worker.command("run")
@click.argument("target")
@click.option(
    "--type",
    "task_types",
    multiple=True,
    metavar="NAME",
    help="Run TARGET, a plain handler function, for this task type (repeatable).",
)
@click.option("--concurrency", type=click.IntRange(1), help="Tasks in flight at once.")
@click.option("--burst", is_flag=True, help="Exit once nothing is left to claim.")
@click.option(
    "--api-wait",
    type=click.FloatRange(0),
    default=30.0,
    show_default=True,
    help="With --burst: exit 1 if the API does not answer within this many seconds.",
)
@click.option("--max-tasks", type=click.IntRange(1), help="Exit after this many tasks.")
@click.option("--policy", type=_POLICY, help="Claim order (default: the worker's, FIFO).")
@click.option("--worker-id", help="Worker id (default: host-pid-random).")
@click.option(
    "--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING"])
)
@click.option(
    "--api-url",
    envvar="TASKMANAGER_API_URL",
    show_envvar=True,
    help="For a worker built here (handler or mapping); a Worker TARGET has its own client.",
)
@click.option(
    "--api-key",
    envvar="TASKMANAGER_API_KEY",
    show_envvar=True,
    help="For a worker built here (handler or mapping).",
)
@click.option(
    "--local",
    "local_db",
    metavar="PATH",
    help="Local mode: run on the embedded server over this SQLite file (no API, no key).",
)
@click.pass_context
def worker_run(
    ctx: click.Context,
    target: str,
    task_types: tuple[str, ...],
    concurrency: int | None,
    burst: bool,
    api_wait: float,
    max_tasks: int | None,
    policy: str | None,
    worker_id: str | None,
    log_level: str,
    api_url: str | None,
    api_key: str | None,
    local_db: str | None,
) -> None:
    """Run the worker at TARGET (MODULE:ATTR) until SIGTERM/SIGINT (or --burst/--max-tasks).

    TARGET is a Worker, a function returning one, a dict of task type -> handler, or a handler
    function with --type NAME (a worker is then built from --api-url/--api-key, which default
    to TASKMANAGER_API_URL/KEY).
    """
    logging.basicConfig(
        level=log_level, handlers=[_keyless_handler("%(asctime)s %(levelname)s %(name)s: %(message)s")]
    )
    if log_level != "DEBUG":  # httpx logs every request at INFO: too much for a worker's log
        logging.getLogger("httpx").setLevel(logging.WARNING)
    obj = _load_target(target)
    with contextlib.ExitStack() as cleanup:

        def make_client() -> Any:
            try:
                if local_db is not None:
                    return cleanup.enter_context(_local_client(ctx, local_db))
                return cleanup.enter_context(_make_client(api_url, api_key))
            except TaskManagerError as exc:
                raise _fail(exc) from exc

        try:
            built, ours = _build_worker(obj, target, task_types, make_client, worker_id)
        except TaskManagerError as exc:  # a factory that failed to make its worker
            raise _fail(exc) from exc
        ignored = [] if ours else _from_command_line(ctx, "api_url", "api_key", "local_db")
        if ignored:
            raise click.UsageError(
                f"{' and '.join(ignored)} cannot apply: {target} is a Worker with its own client "
                f"({built.client.config.api_url}); set the URL where that client is made, or pass a "
                "handler (--type) or a mapping instead"
            )
        if concurrency is not None:
            built.concurrency = concurrency
        if policy is not None:
            built.policy = ClaimPolicy[policy.upper()]
        if worker_id is not None:
            built.worker_id = worker_id
        try:
            if burst:
                _wait_for_api(built.client, api_wait)
            stats = built.run(burst=burst, max_tasks=max_tasks)
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


# -- migrate (its own module) --------------------------------------------------------------------

from ._migrate_cli import migrate as _migrate_command  # noqa: E402  # after main: it uses this module's helpers

main.add_command(_migrate_command)

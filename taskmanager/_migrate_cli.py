"""``taskmanager migrate``: move a legacy queue's pending rows to a TaskManager (see ``_migrate``)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from ._cli_output import format_table, to_json
from ._errors import TaskManagerError
from ._migrate import (
    DEFAULT_STATUSES,
    LegacyRow,
    MigrationReport,
    migrate_rows,
    parse_map_option,
    read_legacy_queue,
    read_mapping,
    read_schema_file,
)

if TYPE_CHECKING:
    from ._client import TaskManagerClient

__all__ = ["migrate"]


def _summary(report: MigrationReport) -> str:
    would = "would be " if report.dry_run else ""
    lines = [
        format_table(
            ["rows", "created" if not report.dry_run else "to create", "already there", "skipped by status",
             "refused", "duplicates in old queue"],
            [[
                report.rows,
                report.to_create if report.dry_run else report.created,
                "-" if report.dry_run else report.already_there,
                report.skipped_by_status,
                len(report.refused),
                report.duplicates_in_old_queue,
            ]],
        )
    ]  # fmt: skip
    if report.registered:
        lines.append(f"task types {would}registered: {', '.join(report.registered)}")
    if report.refused:
        lines.append("refused:")  # whole reasons, one row a line (a table would cut them)
        lines += [f"  row {row}, {name}: {why}" for row, name, why in report.refused]
    if report.dry_run:
        lines.append("dry run: nothing was registered or created (the server's dedupe is not checked)")
    return "\n".join(lines)


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A progress bar on an interactive terminal; nothing otherwise (logs and pipes stay clean)."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label="migrating", file=sys.stderr) as bar:
        yield bar


@click.command("migrate")
@click.argument("legacy_db", type=click.Path(exists=True, dir_okay=False))
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW", help="Old type name to new (repeatable).")
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False),
    help="File of old=new lines, or a .json object of old name to new name.",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file of task types to register first (name, version, param_schema).",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    help=f"Move rows with this status (repeatable; default: {', '.join(DEFAULT_STATUSES)}).",
)
@click.option("--all-statuses", is_flag=True, help="Move rows whatever their status.")
@click.option("--dry-run", is_flag=True, help="Read and check everything; register and create nothing.")
@click.option(
    "--local", "local_db", metavar="PATH", help="Move into local mode's SQLite file instead of the API."
)
@click.option("--api-url", envvar="TASKMANAGER_API_URL", show_envvar=True, help="API base.")
@click.option("--api-key", envvar="TASKMANAGER_API_KEY", show_envvar=True, help="API key.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def migrate(
    legacy_db: str,
    maps: tuple[str, ...],
    mapping_file: str | None,
    schema_file: str | None,
    statuses: tuple[str, ...],
    all_statuses: bool,
    dry_run: bool,
    local_db: str | None,
    api_url: str | None,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Move the pending rows of LEGACY_DB's task_queue table to the TaskManager.

    The old file is opened read-only and never changed. Each row becomes a task of its mapped
    type; the server's dedupe makes a second run create nothing. Exit 1 when a row was refused
    or the API failed (run again once fixed), 2 for unusable input.
    """
    from ._cli import _APIFailure, _BadInput, _fail, _make_client

    if statuses and all_statuses:
        raise click.UsageError("--status and --all-statuses exclude each other")
    if local_db is not None and (api_url or api_key) and not dry_run:
        ctx = click.get_current_context()
        given = [
            f"--{n.replace('_', '-')}"
            for n in ("api_url", "api_key")
            if ctx.get_parameter_source(n) is click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            raise click.UsageError(f"--local moves into a file, not an API: drop {' and '.join(given)}")
    try:
        rows, _columns = read_legacy_queue(legacy_db)
        mapping: dict[str, str] = {}
        definitions: list[Any] = []
        if schema_file is not None:
            definitions, implied = read_schema_file(schema_file)
            mapping.update(implied)
        if mapping_file is not None:
            mapping.update(read_mapping(mapping_file))
        mapping.update(parse_map_option(maps))
    except TaskManagerError as exc:
        raise _BadInput(str(exc), as_json=as_json) from exc
    wanted = None if all_statuses else (statuses or DEFAULT_STATUSES)
    with contextlib.ExitStack() as stack:
        client: TaskManagerClient | None = None
        try:
            if not dry_run:
                if local_db is not None:
                    from ._client import TaskManagerClient

                    client = stack.enter_context(TaskManagerClient.local(local_db))
                else:
                    client = stack.enter_context(_make_client(api_url, api_key))
            bar = stack.enter_context(_progress(len(rows)))

            def step(_row: LegacyRow) -> None:
                if bar is not None:
                    bar.update(1)

            report = migrate_rows(
                client,
                rows,
                mapping=mapping,
                statuses=wanted,
                definitions=definitions,
                dry_run=dry_run,
                progress=step,
            )
        except TaskManagerError as exc:
            raise _fail(exc, as_json) from exc
    click.echo(to_json(report.as_dict()) if as_json else _summary(report))
    if report.refused:
        done = "nothing was moved (dry run)" if report.dry_run else "the other rows were moved"
        raise _APIFailure(f"{len(report.refused)} row(s) refused (listed above); {done}", as_json=as_json)

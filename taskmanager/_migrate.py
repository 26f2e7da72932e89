"""Moving a legacy per-module SQLite queue (``task_queue``) to a TaskManager.

The old file is opened read-only (``file:...?mode=ro``) and never written. Columns are found
by name: the task type (``task_type`` or ``type``), the params (``parameters``, ``params`` or
``payload``: JSON, or the ``str(dict)`` text some old code wrote), and, when present, ``id``,
``priority``, ``status``, ``created_at`` and ``updated_at``. Rows are read oldest first. With a
``status`` column only rows whose status is one of ``statuses`` (queued/pending by default)
move; the others are counted as skipped.

Each row becomes ``create_task(new_type, params)``. The server's dedupe makes the move safe to
repeat: a second run finds every task already there and creates nothing. Priorities are not
carried over (the server ignores them).
"""

from __future__ import annotations

import ast
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from . import _json_input as json_input
from ._dedupe import prepare_params
from ._errors import (
    TaskManagerAPIError,
    TaskManagerError,
    TaskManagerValidationError,
)

if TYPE_CHECKING:
    from ._client import TaskManagerClient

__all__ = [
    "DEFAULT_STATUSES",
    "LegacyRow",
    "MigrationReport",
    "TypeDefinition",
    "migrate_rows",
    "read_legacy_queue",
    "read_mapping",
    "read_schema_file",
]

DEFAULT_STATUSES = ("queued", "pending")
TABLE = "task_queue"
_TYPE_COLUMNS = ("task_type", "type")
_PARAM_COLUMNS = ("parameters", "params", "payload")


class MigrationInputError(TaskManagerValidationError):
    """The legacy file, the mapping or the schema file cannot be used (nothing was sent)."""


@attrs.frozen
class LegacyRow:
    """One row of the old queue. ``problem`` says why it cannot move (bad params), else None."""

    row_id: int | None
    task_type: str
    params: dict[str, Any] | None
    status: str | None
    priority: Any = None
    problem: str | None = None


@attrs.frozen
class TypeDefinition:
    name: str
    version: str
    param_schema: dict[str, Any]


@attrs.define
class MigrationReport:
    """What a run did (or, with ``dry_run``, would do), row by row."""

    dry_run: bool = False
    rows: int = 0
    created: int = 0
    already_there: int = 0
    skipped_by_status: int = 0
    duplicates_in_old_queue: int = 0
    registered: list[str] = attrs.field(factory=list)
    refused: list[tuple[int | None, str, str]] = attrs.field(factory=list)  # row id, type, reason

    @property
    def to_create(self) -> int:
        """Rows a run would send (a dry run's estimate: the server may already have some)."""
        return self.rows - self.skipped_by_status - len(self.refused) - self.duplicates_in_old_queue

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "already_there": self.already_there,
            "skipped_by_status": self.skipped_by_status,
            "duplicates_in_old_queue": self.duplicates_in_old_queue,
            "registered": list(self.registered),
            "refused": [{"row": row, "type": name, "reason": why} for row, name, why in self.refused],
        }


# ------------------------------------------------------------------------------ reading


def _read_only_uri(path: str | os.PathLike[str]) -> str:
    absolute = Path(path).resolve()
    return "file:" + urllib.parse.quote(str(absolute)) + "?mode=ro"


def _parse_params(text: Any) -> tuple[dict[str, Any] | None, str | None]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None, "parameters are not UTF-8 text"
    if not isinstance(text, str):
        return None, f"parameters are not text ({type(text).__name__})"
    try:
        value = json_input.loads(text)
    except json_input.NotJSONError:
        try:
            # Some old code stored str(dict): a Python literal, read safely (no code runs).
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None, "parameters are neither JSON nor a Python dict literal"
    except ValueError as err:  # JSON, but nested too deeply or holding an integer too long
        return None, f"parameters cannot be read: {err}"
    if not isinstance(value, dict):
        return None, f"parameters are a JSON {type(value).__name__}, not an object"
    return value, None


def _pick(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def read_legacy_queue(path: str | os.PathLike[str]) -> tuple[list[LegacyRow], list[str]]:
    """Every row of ``task_queue`` (oldest first) and the table's columns; the file is not written."""
    if not Path(path).is_file():
        raise MigrationInputError(f"no legacy queue at {os.fspath(path)!r}")
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
    except sqlite3.Error as err:
        raise MigrationInputError(f"cannot open {os.fspath(path)!r} read-only: {err}") from None
    try:
        columns = [str(row[1]) for row in conn.execute(f"PRAGMA table_info({TABLE})")]
        if not columns:
            raise MigrationInputError(f"{os.fspath(path)!r} has no {TABLE} table")
        type_col, param_col = _pick(columns, _TYPE_COLUMNS), _pick(columns, _PARAM_COLUMNS)
        if type_col is None or param_col is None:
            raise MigrationInputError(
                f"{TABLE} needs a task type column ({' or '.join(_TYPE_COLUMNS)}) and a params column "
                f"({' or '.join(_PARAM_COLUMNS)}); it has {', '.join(columns)}"
            )
        optional = {name: _pick(columns, (name,)) for name in ("id", "status", "priority", "created_at")}
        selected = [type_col, param_col, optional["id"] or "rowid", optional["status"], optional["priority"]]
        select = ", ".join(_quoted(c) if c != "rowid" else c for c in selected if c is not None)
        order = ", ".join(_quoted(c) for c in (optional["created_at"], optional["id"]) if c) or "rowid"
        cursor = conn.execute(f"SELECT {select} FROM {TABLE} ORDER BY {order}")  # names come from PRAGMA
        rows = []
        for record in cursor:
            values = dict(zip([c for c in selected if c is not None], record, strict=True))
            params, problem = _parse_params(values[param_col])
            raw_type = values[type_col]
            status = values.get(optional["status"]) if optional["status"] else None
            rows.append(
                LegacyRow(
                    row_id=values.get(optional["id"] or "rowid"),
                    task_type=str(raw_type) if raw_type is not None else "",
                    params=params,
                    status=None if status is None else str(status),
                    priority=values.get(optional["priority"]) if optional["priority"] else None,
                    problem=problem if raw_type else "no task type",
                )
            )
    except sqlite3.Error as err:
        raise MigrationInputError(f"cannot read {TABLE} from {os.fspath(path)!r}: {err}") from None
    finally:
        conn.close()
    return rows, columns


def _load_json(path: str | os.PathLike[str], what: str) -> Any:
    try:
        return json_input.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise MigrationInputError(f"cannot read the {what} {os.fspath(path)!r}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise MigrationInputError(
            f"the {what} {os.fspath(path)!r} is not UTF-8 text (byte {err.start})"
        ) from None
    except ValueError as err:
        raise MigrationInputError(f"the {what} {os.fspath(path)!r} cannot be read: {err}") from None


def parse_map_option(items: Iterable[str]) -> dict[str, str]:
    """``old=new`` pairs (``--map``)."""
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise MigrationInputError(f"a type mapping is OLD=NEW, got {item!r}")
        mapping[old.strip()] = new.strip()
    return mapping


def read_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """A mapping file: a JSON object ``{"old_name": "PrismQ.New.Name"}``, or ``old=new`` lines."""
    text_path = Path(path)
    if text_path.suffix.lower() != ".json":
        try:
            lines = text_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise MigrationInputError(f"cannot read the mapping file {os.fspath(path)!r}: {err}") from None
        return parse_map_option(
            ln for ln in (line.strip() for line in lines) if ln and not ln.startswith("#")
        )
    data = _load_json(path, "mapping file")
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise MigrationInputError(f"the mapping file {os.fspath(path)!r} must be an object of names to names")
    return dict(data)


def read_schema_file(path: str | os.PathLike[str]) -> tuple[list[TypeDefinition], dict[str, str]]:
    """Type definitions to register, and the old-name mapping the file implies.

    Accepted shapes: a list of ``{"name", "version", "param_schema"}``; an object of new name to
    ``{"version", "param_schema"}``; or, as the old guides wrote it, an object of *old* name to
    ``{"name", "version", "param_schema"}`` (which also maps old to new).
    """
    data = _load_json(path, "schema file")
    entries: list[tuple[str | None, Any]]
    if isinstance(data, list):
        entries = [(None, item) for item in data]
    elif isinstance(data, dict):
        entries = list(data.items())
    else:
        raise MigrationInputError(f"the schema file {os.fspath(path)!r} must be a list or an object")
    definitions: list[TypeDefinition] = []
    implied: dict[str, str] = {}
    for key, item in entries:
        if not isinstance(item, dict):
            raise MigrationInputError(f"schema file entry {key or item!r} is not an object")
        name = item.get("name", key)
        version, schema = item.get("version", "1.0.0"), item.get("param_schema")
        if not isinstance(name, str) or not isinstance(version, str) or not isinstance(schema, dict):
            raise MigrationInputError(
                f"schema file entry {key or name!r} needs a name, a version and a param_schema object"
            )
        definitions.append(TypeDefinition(name, version, schema))
        if key is not None and "name" in item and key != name:
            implied[key] = name
    return definitions, implied


# ------------------------------------------------------------------------------ moving


def _reason(err: TaskManagerError) -> str:
    text = err.message
    if err.details:
        text += " (" + "; ".join(err.details) + ")"
    return " ".join(text.split())


def migrate_rows(
    client: TaskManagerClient | None,
    rows: Sequence[LegacyRow],
    *,
    mapping: Mapping[str, str],
    statuses: Sequence[str] | None = DEFAULT_STATUSES,
    definitions: Sequence[TypeDefinition] = (),
    dry_run: bool = False,
    progress: Callable[[LegacyRow], None] | None = None,
) -> MigrationReport:
    """Create a task for each row that may move; ``client`` may be None only for a dry run.

    ``statuses`` None moves rows whatever their status. A refusal (unknown type, params the
    schema rejects) is recorded with the server's reason and the run goes on; an error that is
    not about the row (no connection, a wrong key) stops the run: run it again once fixed,
    dedupe makes that safe.
    """
    if client is None and not dry_run:
        raise MigrationInputError("a client is needed unless dry_run is set")
    wanted = None if statuses is None else {s.strip().lower() for s in statuses}
    report = MigrationReport(dry_run=dry_run, rows=len(rows))
    for definition in definitions:
        if not dry_run and client is not None:
            client.register_task_type(definition.name, definition.version, definition.param_schema)
        report.registered.append(definition.name)
    seen_keys: set[str] = set()
    for row in rows:
        if progress is not None:
            progress(row)
        if wanted is not None and row.status is not None and row.status.strip().lower() not in wanted:
            report.skipped_by_status += 1
            continue
        new_type = mapping.get(row.task_type, row.task_type)
        if row.problem is not None or row.params is None:
            report.refused.append((row.row_id, new_type, row.problem or "no parameters"))
            continue
        try:
            _, key = prepare_params(new_type, row.params)
        except TaskManagerValidationError as err:
            report.refused.append((row.row_id, new_type, _reason(err)))
            continue
        duplicate = key in seen_keys
        seen_keys.add(key)
        if duplicate:
            report.duplicates_in_old_queue += 1
        if dry_run or client is None:
            continue
        try:
            created = client.create_task(new_type, row.params)
        except TaskManagerAPIError as err:
            if err.status_code is None or err.status_code in (400, 404, 422):
                report.refused.append((row.row_id, new_type, _reason(err)))
                continue
            raise
        if created.created is False:
            report.already_there += 1
        else:
            report.created += 1
    return report

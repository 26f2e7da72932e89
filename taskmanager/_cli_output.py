"""Plain-text tables and JSON for the command line (no third-party formatting library)."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["cell", "format_table", "jsonable", "to_json", "worker_stats_table"]

# Wider values (params, results) are cut so that a row stays on one line.
_MAX_CELL = 60


def jsonable(value: Any) -> Any:
    """Turn results (attrs classes, enums, datetimes) into plain JSON values."""
    if attrs.has(type(value)):
        return {f.name: jsonable(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value, str) else value.name
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False)


def cell(value: Any) -> str:
    """One table cell: ``-`` for nothing, compact JSON for structures, cut to fit."""
    if value is None:
        text = "-"
    elif isinstance(value, enum.Enum):
        text = str(jsonable(value))
    elif isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(value, dict | list):
        text = json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    text = " ".join(text.split())  # one line, whatever the value held
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns under a header and a rule; numbers right-aligned."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    numeric = [
        all(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in rows) and bool(rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def worker_stats_table(stats: Any) -> str:
    """A worker's counters (a ``WorkerStats``) as a one-row table."""
    names = ["claimed", "completed", "failed", "claim_lost", "poisoned", "idle_polls"]
    return format_table([n.replace("_", " ") for n in names], [[getattr(stats, n) for n in names]])

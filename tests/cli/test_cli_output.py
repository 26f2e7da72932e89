"""Table and JSON formatting, and queue statistics: pure functions."""

from __future__ import annotations

import datetime as dt
import json

from taskmanager import TaskStatus, TaskSummary, WorkerStats
from taskmanager._cli_output import cell, format_table, to_json, worker_stats_table
from taskmanager._queue_stats import queue_stats


def _summary(id: int, type: str, status: TaskStatus, claimed_by: str | None = None) -> TaskSummary:
    return TaskSummary(
        id=id,
        type=type,
        status=status,
        priority=0,
        progress=0,
        attempts=1,
        claimed_by=claimed_by,
        created_at=None,
        completed_at=None,
    )


def test_format_table_aligns_and_right_aligns_numbers() -> None:
    """Columns are padded to the widest cell; numeric columns are right-aligned."""
    table = format_table(["id", "name"], [[1, "alpha"], [100, None]])
    assert table.splitlines() == [" id  name", "---  -----", "  1  alpha", "100  -"]


def test_cell_is_one_line_and_cut() -> None:
    """Structures become compact JSON on one line, long text is cut with an ellipsis."""
    assert cell({"a": [1, 2]}) == '{"a":[1,2]}'
    assert cell("two\nlines") == "two lines"
    assert cell("x" * 100) == "x" * 59 + "…"
    assert cell(dt.datetime(2026, 11, 23, 6, 18, 28, tzinfo=dt.UTC)) == "2026-11-23 06:18:28"
    assert cell(TaskStatus.PENDING) == "pending"


def test_to_json_turns_results_into_plain_values() -> None:
    """attrs results, enums and datetimes become JSON."""
    data = json.loads(to_json([_summary(1, "T", TaskStatus.CLAIMED, "w1")]))
    assert data[0]["status"] == "claimed" and data[0]["claimed_by"] == "w1"


def test_worker_stats_table() -> None:
    """The counters table has one header per counter and one row."""
    lines = worker_stats_table(WorkerStats(claimed=3, completed=2, failed=1)).splitlines()
    assert lines[0].split() == [
        "claimed",
        "completed",
        "failed",
        "claim",
        "lost",
        "poisoned",
        "idle",
        "polls",
    ]
    assert lines[2].split() == ["3", "2", "1", "0", "0", "0"]


def test_queue_stats_counts_by_status_type_and_worker() -> None:
    """Counts per status and type; active workers are the holders of claimed tasks."""
    stats = queue_stats(
        [
            _summary(1, "A", TaskStatus.PENDING),
            _summary(2, "A", TaskStatus.CLAIMED, "w1"),
            _summary(3, "B", TaskStatus.CLAIMED, "w1"),
            _summary(4, "B", TaskStatus.COMPLETED, "w2"),  # finished: w2 holds nothing now
        ]
    )
    assert stats.total == 4
    assert stats.by_status == {"pending": 1, "claimed": 2, "completed": 1, "failed": 0}
    assert stats.by_type == {"A": {"pending": 1, "claimed": 1}, "B": {"claimed": 1, "completed": 1}}
    assert stats.workers == {"w1": 2}
    assert stats.type_rows() == [["A", 1, 1, 0, 0, 2], ["B", 0, 1, 1, 0, 2]]

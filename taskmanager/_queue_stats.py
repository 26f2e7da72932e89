"""Queue statistics from task listings: counts by status and type, active workers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

from ._models import TaskStatus, TaskSummary

__all__ = ["QueueStats", "queue_stats"]

STATUSES = [s.value for s in TaskStatus]


@attrs.frozen
class QueueStats:
    """``by_status``: status -> count; ``by_type``: type -> status -> count; ``workers``: worker
    id -> tasks it holds now (workers are known only through the tasks they have claimed)."""

    total: int
    by_status: dict[str, int]
    by_type: dict[str, dict[str, int]]
    workers: dict[str, int]

    def type_rows(self) -> list[list[Any]]:
        return [
            [name, *(counts.get(s, 0) for s in STATUSES), sum(counts.values())]
            for name, counts in sorted(self.by_type.items())
        ]


def queue_stats(tasks: Iterable[TaskSummary]) -> QueueStats:
    by_status: Counter[str] = Counter({s: 0 for s in STATUSES})
    by_type: dict[str, Counter[str]] = {}
    workers: Counter[str] = Counter()
    total = 0
    for task in tasks:
        status = task.status.value if isinstance(task.status, TaskStatus) else str(task.status)
        total += 1
        by_status[status] += 1
        by_type.setdefault(task.type, Counter())[status] += 1
        if status == TaskStatus.CLAIMED.value and task.claimed_by:
            workers[task.claimed_by] += 1
    return QueueStats(
        total=total,
        by_status=dict(by_status),
        by_type={name: dict(counts) for name, counts in by_type.items()},
        workers=dict(workers.most_common()),
    )

"""Offset paging over a listing whose order within one second varies from query to query.

The server sorts tasks by their creation time in whole seconds with no tie-breaker, so two
queries may list the tasks of one second in different orders: a page that ends inside a second
can skip some of that second's tasks and repeat others on the next page. :class:`TiePager`
never ends a page inside a second. Each page is read from the offset where a second starts;
the tasks of the page's last second are not yielded from it, and the next page starts at that
second again. A page holding a single second is read again with twice the limit until the
second fits, so one busy second costs a larger page, not a lost task.

Pure logic (no I/O), shared by the sync and the async client: ask :meth:`TiePager.next_page`
for (limit, offset), fetch it, hand the rows to :meth:`TiePager.take`, yield what it returns.

A reply no real listing gives ends the walk with a ``TaskManagerProtocolError`` rather than a
loop: a page longer than its limit, or full pages that, ``_STALE_PAGES`` times in a row, hold
only tasks already yielded (a server or a cache that ignores the offset would otherwise be asked
for ever larger offsets for ever).

What it cannot see: a task created during the walk shifts every later offset by one (a task
may then come twice, which the id check drops, or never, if it sorts before the current page),
and a task that leaves the filter (e.g. a status filter) shifts them the other way (a task
of a later page may be skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from ._errors import TaskManagerProtocolError

__all__ = ["TiePager"]

Row = TypeVar("Row")

# Full pages in a row with no task not yielded before. On a real listing only tasks created
# during the walk repeat rows (each shifts the offsets by one), so a whole page of repeats needs
# a page's worth of new tasks between two queries; three in a row means the offset is ignored.
_STALE_PAGES = 3


class TiePager(Generic[Row]):
    """Offsets and limits for pages that never end inside one second; see the module docstring."""

    def __init__(
        self, page_size: int, *, second: Callable[[Row], Hashable], identity: Callable[[Row], Hashable]
    ) -> None:
        self._page_size = page_size
        self._limit = page_size
        self._offset = 0
        self._second = second
        self._identity = identity
        self._seen: set[Hashable] = set()
        self._stale = 0
        self.done = False

    def next_page(self) -> tuple[int, int]:
        """(limit, offset) of the page to fetch next."""
        return self._limit, self._offset

    def take(self, page: Sequence[Row]) -> list[Row]:
        """The rows of a fetched page to yield now (each id once); sets ``done`` after the last."""
        if len(page) > self._limit:
            raise _not_a_listing(f"a page of {len(page)} tasks was listed for limit={self._limit}")
        if len(page) < self._limit:  # the end of the listing: every second in it is whole
            self.done = True
            return self._fresh(page)
        last = self._second(page[-1])
        whole = len(page)
        while whole and self._second(page[whole - 1]) == last:
            whole -= 1
        if whole == 0:  # one second fills the page: read it again, larger
            self._limit *= 2
            return []
        self._offset += whole
        self._limit = self._page_size
        fresh = self._fresh(page[:whole])
        self._stale = 0 if fresh else self._stale + 1
        if self._stale >= _STALE_PAGES:
            raise _not_a_listing(
                f"{self._stale} full pages in a row, up to offset={self._offset - whole}, listed only "
                "tasks listed before: the listing does not apply its offset"
            )
        return fresh

    def _fresh(self, rows: Sequence[Row]) -> list[Row]:
        fresh = []
        for row in rows:
            key = self._identity(row)
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(row)
        return fresh


def _not_a_listing(what: str) -> TaskManagerProtocolError:
    return TaskManagerProtocolError(what, method="GET", path="/tasks", status_code=200)

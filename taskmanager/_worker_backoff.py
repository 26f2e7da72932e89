"""How long the worker waits: two pure functions, tested without sleeping.

* idle: an empty claim doubles the wait, from ``IDLE_START`` up to ``poll_interval``; work
  arriving resets it (the caller forgets the previous delay);
* API down: a failed call doubles the wait from ``DOWN_START`` up to ``down_cap``, shortened a
  little at random so that many workers do not come back in lockstep, and never shorter than
  the server's own ``Retry-After`` hint, as far as ``down_cap``: a hint of a day (or ``inf``)
  must not stall a worker that is meant to look again within ``down_cap``.
"""

from __future__ import annotations

__all__ = ["DOWN_START", "IDLE_START", "down_delay", "idle_delay"]

IDLE_START = 0.25
DOWN_START = 1.0
# Up to this share of a down delay is taken off at random.
_JITTER = 0.2


def idle_delay(previous: float | None, poll_interval: float) -> float:
    """The wait after an empty claim, given the wait after the previous one (None: first)."""
    if previous is None:
        return min(IDLE_START, poll_interval)
    return min(previous * 2, poll_interval)


def down_delay(
    failures: int, down_cap: float, *, rand: float = 0.0, retry_after: float | None = None
) -> float:
    """The wait after the ``failures``-th failed call in a row (1 for the first).

    ``rand`` is a number in [0, 1) (``random.random()``); 0 gives the full delay.
    """
    # The exponent is capped so that a long outage cannot overflow the float.
    base = min(DOWN_START * float(2 ** min(max(failures - 1, 0), 32)), down_cap)
    delay = base * (1 - _JITTER * rand)
    if retry_after is not None and retry_after > 0:  # False for nan too
        delay = max(delay, min(retry_after, down_cap))
    return delay

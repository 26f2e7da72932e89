"""The Retry-After header, read by its grammar (RFC 9110, section 10.2.3) and capped.

``Retry-After = HTTP-date / delay-seconds``, where ``delay-seconds = 1*DIGIT`` (ASCII digits
only: no sign, point, exponent, ``inf`` or ``nan``) and an HTTP-date is the IMF-fixdate
(``Sun, 06 Nov 1994 08:49:37 GMT``) or one of the two obsolete forms every recipient must
still read (``Sunday, 06-Nov-94 08:49:37 GMT``, ``Sun Nov  6 08:49:37 1994``). Anything else
is treated as if the header were absent.

A valid value is capped at ``RETRY_AFTER_CAP`` seconds: one reply asking for a day must not
stall a caller (or a worker holding claims) for a day. The cap is what the error's
``retry_after`` shows; the client itself waits only for values up to its ``retry_max_delay``.
"""

from __future__ import annotations

import datetime as dt
import re
import time

__all__ = ["RETRY_AFTER_CAP", "parse_retry_after"]

# Five minutes: the server's default claim timeout. A longer wait would let the claims of a
# worker that obeyed it run out.
RETRY_AFTER_CAP = 300.0

_DIGITS = re.compile(r"[0-9]+")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "(" + "|".join(_MONTHS) + ")"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
_IMF = re.compile(rf"{_DAY}, ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME} GMT")
_RFC850 = re.compile(rf"{_LONG_DAY}, ([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME} GMT")
_ASCTIME = re.compile(rf"{_DAY} {_MONTH} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})")


def _http_date(text: str, now: float) -> float | None:
    """Seconds since the epoch of an HTTP-date, or None when ``text`` is not one."""
    if match := _IMF.fullmatch(text):
        day, month, year, hour, minute, second = match.groups()
        full_year = int(year)
    elif match := _RFC850.fullmatch(text):
        day, month, year, hour, minute, second = match.groups()
        # A two-digit year more than 50 years ahead is the latest past year with those digits.
        this_year = dt.datetime.fromtimestamp(now, dt.UTC).year
        full_year = this_year - this_year % 100 + int(year)
        if full_year > this_year + 50:
            full_year -= 100
    elif match := _ASCTIME.fullmatch(text):
        month, day, hour, minute, second, year = match.groups()
        full_year = int(year)
    else:
        return None
    try:
        when = dt.datetime(
            full_year,
            _MONTHS[month],
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),  # the grammar allows a leap second, 60
            tzinfo=dt.UTC,
        )
    except ValueError:  # 31 Feb, hour 25 and the like
        return None
    return when.timestamp()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, at most ``RETRY_AFTER_CAP``; None when absent
    or not what the grammar allows. ``now`` (seconds since the epoch) dates an HTTP-date."""
    if not value:
        return None
    text = value.strip(" \t")
    if _DIGITS.fullmatch(text):
        # Compared as text first: int() of thousands of digits is slow, and refused beyond 4,300.
        digits = text.lstrip("0") or "0"
        if len(digits) > 9:
            return RETRY_AFTER_CAP
        return min(float(digits), RETRY_AFTER_CAP)
    current = time.time() if now is None else now
    when = _http_date(text, current)
    if when is None:
        return None
    return min(max(when - current, 0.0), RETRY_AFTER_CAP)

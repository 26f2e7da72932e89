"""Checks of the arguments the client methods take, shared by every operation.

Each check returns the value as a plain built-in (a ``str`` or ``int`` subclass's own
``__str__``, ``__eq__`` or ``__hash__`` play no further part) or raises
TaskManagerValidationError before anything is sent; messages quote the value through
``shown()``, so they stay short whatever it is.

Task type names are limited to what the server can serve: it matches the path of
``GET /task-types/{name}`` literally, without URL decoding, and removes every ``/api`` from it
before routing. A name is sent in the path percent-encoded unless it holds only ASCII letters,
digits and ``. _ - ~``, so any other character makes a name the server can store (and fill
with tasks) but never find again: such names are refused everywhere a name is taken.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ._errors import TaskManagerValidationError
from ._shown import shown

__all__ = ["count", "flag", "optional_text", "positive_id", "seconds", "text", "type_name"]

INT64_MAX = 2**63 - 1
# The characters urllib's quote(safe="") leaves alone: a name made of these reaches the server as is.
_PATH_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


def _refuse(message: str) -> TaskManagerValidationError:
    return TaskManagerValidationError(message)


def _plain_str(name: str, value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _refuse(f"{name} must be {what}, got {shown(value)}")
    plain = str.__str__(value)
    if not plain.isascii():
        try:
            plain.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse(
                f"{name} contains a lone surrogate ({shown(plain)}), which is not valid UTF-8"
            ) from None
    return plain


def text(name: str, value: Any) -> str:
    """A non-empty string (not only spaces) that UTF-8 can carry."""
    plain = _plain_str(name, value, "a non-empty string")
    if not plain.strip():
        raise _refuse(f"{name} must be a non-empty string, got {shown(plain)}")
    return plain


def optional_text(name: str, value: Any) -> str | None:
    """None, or any string UTF-8 can carry (empty allowed): a progress message, an error text."""
    return None if value is None else _plain_str(name, value, "a string")


def type_name(name: str, value: Any) -> str:
    """A task type name the server can both store and serve back (see the module docstring)."""
    plain = text(name, value)
    if _PATH_SAFE.fullmatch(plain) is None:
        bad = sorted({c for c in plain if _PATH_SAFE.fullmatch(c) is None})
        raise _refuse(
            f"{name} {shown(plain)} has characters the server cannot look up ({shown(''.join(bad))}): "
            "it matches names in the URL path without decoding them, so a type with such a name could "
            "be registered and given tasks, but never fetched or claimed. Use ASCII letters, digits "
            'and . _ - ~ only (like "PrismQ.YouTube.Video.Scrape")'
        )
    if plain in (".", ".."):
        raise _refuse(f"{name} cannot be {plain!r}: as a URL path segment it means a directory")
    if plain.startswith("api"):
        raise _refuse(
            f"{name} {shown(plain)} starts with 'api': the server removes every '/api' from the path, "
            "so it could never be fetched or claimed by name"
        )
    return plain


def _integer(name: str, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(f"{name} must be {what}, got {shown(value)}")
    return int.__int__(value)


def positive_id(name: str, value: Any) -> int:
    """A task or task type id: an int from 1 to 2**63 - 1 (the server's ids are signed 64-bit)."""
    number = _integer(name, value, "a positive int")
    if not 0 < number <= INT64_MAX:
        raise _refuse(f"{name} must be a positive int up to 2**63 - 1, got {shown(number)}")
    return number


def count(name: str, value: Any, minimum: int = 0) -> int:
    """A limit, offset or page size: an int from ``minimum`` to 2**63 - 1."""
    number = _integer(name, value, f"an int >= {minimum}")
    if not minimum <= number <= INT64_MAX:
        raise _refuse(f"{name} must be an int from {minimum} to 2**63 - 1, got {shown(number)}")
    return number


def seconds(name: str, value: Any, *, maximum: float, zero_ok: bool = False) -> float:
    """A finite number of seconds, above 0 (or at least 0) and at most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(f"{name} must be a number of seconds, got {shown(value)}")
    try:
        number = float(int.__int__(value) if isinstance(value, int) else float.__float__(value))
    except OverflowError:
        number = math.inf
    low_ok = number >= 0 if zero_ok else number > 0
    if not (low_ok and number <= maximum):
        low = ">= 0" if zero_ok else "> 0"
        raise _refuse(
            f"{name} must be a finite number of seconds {low} and <= {maximum:g}, got {shown(value)}"
        )
    return number


def flag(name: str, value: Any) -> bool:
    """True or False, nothing else: truthiness of other values is too easy to get wrong."""
    if not isinstance(value, bool):
        raise _refuse(f"{name} must be True or False, got {shown(value)}")
    return value

"""The real server's parameter validator: a small subset of JSON Schema with its own quirks.

It is not a JSON Schema implementation and must not become one: clients learn from this
server what the real one accepts. What it does:

* ``type`` is compared with the value's PHP type name, exactly: an integer is not a ``number``,
  a float is not an ``integer``, an empty object or an object keyed "0".."n-1" is an ``array``.
  A mismatch stops the checks for that value. A list of types never matches ("expected Array").
* objects: ``required`` (a null value counts as missing), then ``properties`` in schema order for
  the keys present, then ``additionalProperties: false``;
* strings: ``minLength`` / ``maxLength`` counted in UTF-8 bytes, ``pattern`` (unanchored search
  by the bounded matcher in ``_regex``: where PCRE would give up, the string does not match);
* numbers: ``minimum`` / ``maximum``; arrays: ``minItems`` / ``maxItems`` and ``items``;
* ``enum`` with PHP's loose comparison;
* item paths are built the way the PHP code does it, ``"$path[$i]"``, which PHP reads as the
  i-th byte of the path: the first item of ``tags`` is reported at ``t``.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from ._phpjson import as_php_array, php_string, php_truthy, php_type
from ._regex import BACKTRACK_LIMIT, DEPTH_LIMIT, MAX_PROGRAM, Budget, GaveUp, search

__all__ = ["PATTERN_LIMITS", "ValidationTooLong", "validate"]

_QUICK_STEPS = 10_000  # a match that needs more waits for one of the slow-match slots
_LONG_MATCHES = 2  # long matches at once, all requests together
_SLOW_MATCHES = threading.BoundedSemaphore(_LONG_MATCHES)
_REQUEST_STEPS = 5 * BACKTRACK_LIMIT  # backtrack steps of all matches of one request

PATTERN_LIMITS = {
    "backtrack steps per match": BACKTRACK_LIMIT,
    "pending backtrack points per match": DEPTH_LIMIT,
    "backtrack steps per request": _REQUEST_STEPS,
    "steps before a match waits for a long-match slot": _QUICK_STEPS,
    "long matches at once": _LONG_MATCHES,
    "compiled pattern instructions": MAX_PROGRAM,
}


class ValidationTooLong(Exception):
    """One request's pattern matches used up its budget (where PHP would hit its time limit)."""


class _Work:
    """Backtrack steps left for one request's matches."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = _REQUEST_STEPS


def _run(pattern: str, value: str, work: _Work, steps: int) -> bool | None:
    """The match within ``steps`` (capped by the request's budget); None when it gave up."""
    allowed = min(steps, work.left)
    budget = Budget(allowed)
    try:
        return search(pattern, value, budget)
    except GaveUp:
        if allowed < steps:
            raise ValidationTooLong from None
        return None
    finally:
        work.left -= allowed - max(budget.left, 0)


@lru_cache(maxsize=256)
def _delimited(pattern: str) -> bool:
    """Whether ``'/' + pattern + '/'`` ends at its last slash, as preg_match reads delimiters.

    PHP finds the closing ``/`` by skipping backslash-escaped characters only (character
    classes are not special), so an unescaped ``/`` inside the pattern, or a trailing
    backslash, leaves an unknown modifier or no end: preg_match warns and returns false.
    """
    text = pattern + "/"
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == "/":
            return index == len(text) - 1
        else:
            index += 1
    return False


def _matches(pattern: str, value: str, work: _Work) -> bool:
    if not _delimited(pattern):
        return False  # preg_match's false: "does not match" to the validator
    found = _run(pattern, value, work, _QUICK_STEPS)
    if found is None:
        with _SLOW_MATCHES:
            found = _run(pattern, value, work, BACKTRACK_LIMIT)
    # preg_match's false (limit reached) reads as "does not match" in the real validator.
    return bool(found)


_NUMERIC = re.compile(r"^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$")


def _item_path(path: str, index: int) -> str:
    # PHP's "$path[$i]" is a string offset, not "tags[0]"; past the end it is "".
    raw = path.encode("utf-8")
    return raw[index : index + 1].decode("utf-8", "replace") if index < len(raw) else ""


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMERIC.match(value):
        return float(value)
    return None


def _loose_equal(a: Any, b: Any) -> bool:
    """PHP 8 ``==`` for the scalar cases an enum can hold."""
    if isinstance(a, bool) or isinstance(b, bool):
        return php_truthy(a) == php_truthy(b)
    if a is None or b is None:
        other = b if a is None else a
        if other is None:
            return True
        if isinstance(other, str):
            return other == ""
        return not php_truthy(other)
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return as_php_array(a) == as_php_array(b)
    if isinstance(a, str) and isinstance(b, str):
        na, nb = _numeric(a), _numeric(b)
        if na is not None and nb is not None:
            return na == nb
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        text, number = (a, b) if isinstance(a, str) else (b, a)
        parsed = _numeric(text)
        if parsed is not None:
            return parsed == float(number)
        return text == php_string(number)
    return bool(a == b)


def _less(value: Any, bound: Any) -> bool:
    bound_number = _numeric(bound)
    return bound_number is not None and value < bound_number


def _greater(value: Any, bound: Any) -> bool:
    bound_number = _numeric(bound)
    return bound_number is not None and value > bound_number


def _validate(value: Any, schema: dict[str, Any], path: str, errors: list[str], work: _Work) -> None:
    expected = schema.get("type")
    if "type" in schema:
        actual = php_type(value)
        if not isinstance(expected, str) or expected != actual:
            errors.append(f"Type mismatch at {path}: expected {php_string(expected)}, got {actual}")
            return
    if expected == "object":
        _validate_object(value, schema, path, errors, work)
    elif expected == "array":
        items = list(value.values()) if isinstance(value, dict) else value
        if "minItems" in schema and _less(len(items), schema["minItems"]):
            errors.append(f"Array too short at {path}: minimum items is {php_string(schema['minItems'])}")
        if "maxItems" in schema and _greater(len(items), schema["maxItems"]):
            errors.append(f"Array too long at {path}: maximum items is {php_string(schema['maxItems'])}")
        item_schema = schema.get("items")
        if isinstance(item_schema, dict):
            for index, item in enumerate(items):
                _validate(item, item_schema, _item_path(path, index), errors, work)
    elif expected == "string":
        length = len(value.encode("utf-8"))
        if "minLength" in schema and _less(length, schema["minLength"]):
            errors.append(f"String too short at {path}: minimum length is {php_string(schema['minLength'])}")
        if "maxLength" in schema and _greater(length, schema["maxLength"]):
            errors.append(f"String too long at {path}: maximum length is {php_string(schema['maxLength'])}")
        if "pattern" in schema and not _matches(php_string(schema["pattern"]), value, work):
            errors.append(f"String does not match pattern at {path}")
    elif expected in ("integer", "number"):
        if "minimum" in schema and _less(value, schema["minimum"]):
            errors.append(f"Number too small at {path}: minimum is {php_string(schema['minimum'])}")
        if "maximum" in schema and _greater(value, schema["maximum"]):
            errors.append(f"Number too large at {path}: maximum is {php_string(schema['maximum'])}")
    enum = as_php_array(schema.get("enum"))
    if enum is not None and not any(_loose_equal(value, option) for option in enum.values()):
        allowed = ", ".join(php_string(option) for option in enum.values())
        errors.append(f"Value at {path} must be one of: {allowed}")


def _validate_object(value: Any, schema: dict[str, Any], path: str, errors: list[str], work: _Work) -> None:
    fields = as_php_array(value) or {}
    required = as_php_array(schema.get("required"))
    if required is not None:
        for name in required.values():
            key = php_string(name)
            if fields.get(key) is None:
                errors.append(f"Missing required property: {path}.{key}")
    properties = as_php_array(schema.get("properties")) or {}
    for name, sub_schema in properties.items():
        if name in fields and isinstance(sub_schema, dict):
            _validate(fields[name], sub_schema, f"{path}.{name}" if path else name, errors, work)
    if schema.get("additionalProperties") is False:
        for name in fields:
            if name not in properties:
                errors.append(f"Additional property not allowed: {name}")


def validate(params: Any, schema: Any) -> list[str]:
    """The validator's messages for ``params`` against a stored ``schema`` (empty when valid).

    Raises :class:`ValidationTooLong` when the request's pattern matches used up their budget.
    """
    errors: list[str] = []
    if isinstance(schema, dict):
        _validate(params, schema, "", errors, _Work())
    return errors

"""Canonical task params and the server's dedupe key, computed locally.

The server deduplicates tasks by ``sha256(type + "\\0" + json_encode(params))`` where ``params``
is PHP's decoding of the request body and ``json_encode`` is PHP's, with unicode and slashes
left unescaped. Key order therefore matters, so the client sends params with keys sorted at
every level: the same params in any order become one task. ``dedupe_key`` reproduces PHP's
encoding byte for byte (float formatting, ``{}`` as ``[]``, objects keyed "0".."n-1" as lists).

Values JSON cannot carry faithfully are refused before anything is sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ._errors import TaskManagerValidationError
from ._shown import shown

__all__ = ["canonical_params", "dedupe_key", "php_json_encode"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_PHP_TRIM = " \t\n\r\0\x0b"  # what PHP trim() strips from the type name

# PHP escapes these even with JSON_UNESCAPED_UNICODE (unless JSON_UNESCAPED_LINE_TERMINATORS).
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES = {chr(c): f"\\u{c:04x}" for c in range(0x20)} | _SHORT_ESCAPES
_ESCAPES |= {"\u2028": "\\u2028", "\u2029": "\\u2029"}
_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")


def _escape(match: re.Match[str]) -> str:
    return _ESCAPES[match.group()]


# Levels of objects/arrays a value may have (the value itself is level 1). The server decodes
# and encodes JSON with PHP's default limit of 512 levels, and its deepest reply holding a
# value (GET /tasks/{id} for params and result, GET /task-types/{name} for a schema) wraps it
# in 4 levels: anything deeper could be stored but never read back.
MAX_DEPTH = 508


class _Refused(Exception):
    """A value that cannot be sent; ``where`` collects the keys/indexes while unwinding."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why
        self.where: list[str] = []

    def error(self, name: str = "params") -> TaskManagerValidationError:
        parts = self.where[::-1]
        if len(parts) > 8:  # a value nested hundreds deep: where it starts and where it ends
            parts = [*parts[:4], f"...({len(parts) - 6} more)...", *parts[-2:]]
        return TaskManagerValidationError(f"{name}{''.join(parts)}: {self.why}")


def _too_deep() -> _Refused:
    return _Refused(
        f"nested more than {MAX_DEPTH} levels deep (or it contains itself); the server could store "
        "it but never send it back"
    )


def _plain_items(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """A mapping that is not a plain dict of plain strings, as one: keys plain ``str``, sorted."""
    items: dict[str, Any] = {}
    for key, item in mapping.items():
        if type(key) is not str:
            if not isinstance(key, str):
                raise _Refused(f"key {shown(key)} is not a string; JSON object keys are strings")
            key = str.__str__(key)  # a str subclass's own __str__/__eq__/__hash__ play no part
        if not key.isascii():
            _check_text(key, "")
        if key in items:
            raise _Refused(f"key {shown(key)} appears twice")
        items[key] = item
    return dict(sorted(items.items()))  # keys are unique, so the values are never compared


def _walk(value: Any, depth: int = 1) -> tuple[Any, str]:
    """Canonicalise ``value`` (keys sorted) and encode it as PHP would, in one pass.

    Returns (canonical value, PHP json_encode text). One walk serves both the request body and
    the dedupe key, which keeps a create cheap. Raises _Refused for what cannot be sent.
    ``depth`` is the level of ``value`` (1 for the top mapping).
    """
    kind = type(value)
    if kind is str:
        if not value.isascii():
            _check_text(value, "")
        return value, _php_string(value)
    if kind is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return value, int.__repr__(value)
        raise _Refused(
            f"integer {shown(value)} is outside signed 64-bit; the server would turn it into a float"
        )
    if kind is float:
        if value - value != 0.0:  # NaN or an infinity
            raise _Refused(f"{value!r} cannot be sent as JSON")
        text = float.__repr__(value)
        if "e" not in text and "n" not in text:
            return value, text[:-2] if text.endswith(".0") else text
        return value, _php_float(value)
    if kind is bool:
        return value, "true" if value else "false"
    if value is None:
        return None, "null"
    if kind is dict or isinstance(value, Mapping):
        if depth > MAX_DEPTH:
            raise _too_deep()
        source: Mapping[str, Any] = value
        if kind is dict:
            for key in value:
                if type(key) is not str:
                    source = _plain_items(value)
                    break
                if not key.isascii():
                    _check_text(key, "")
            else:
                keys = sorted(value)
        else:
            source = _plain_items(value)
        if source is not value:
            keys = list(source)
        out: dict[str, Any] = {}
        parts: list[str] = []
        is_list = True
        for index, key in enumerate(keys):
            item = source[key]
            # Plain ASCII strings and 64-bit ints (most values) are handled inline: a create's
            # whole client overhead budget is a few tens of microseconds.
            kind = type(item)
            if kind is str and item.isascii() and _NEEDS_ESCAPE.search(item) is None:
                text = '"' + item + '"'
            elif kind is int and _INT64_MIN <= item <= _INT64_MAX:
                text = int.__repr__(item)
            else:
                try:
                    item, text = _walk(item, depth + 1)
                except _Refused as refused:
                    refused.where.append(f"[{shown(key)}]")
                    raise
            out[key] = item
            parts.append(text)
            if is_list and key != str(index):
                is_list = False
        if is_list:
            return out, "[" + ",".join(parts) + "]"
        if _NEEDS_ESCAPE.search("".join(keys)) is None:
            return out, "{" + ",".join(['"' + k + '":' + t for k, t in zip(keys, parts, strict=True)]) + "}"
        return out, "{" + ",".join([_php_string(k) + ":" + t for k, t in zip(keys, parts, strict=True)]) + "}"
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        if depth > MAX_DEPTH:
            raise _too_deep()
        items: list[Any] = []
        parts = []
        for index, element in enumerate(value):
            kind = type(element)
            if kind is str and element.isascii() and _NEEDS_ESCAPE.search(element) is None:
                item, text = element, '"' + element + '"'
            elif kind is int and _INT64_MIN <= element <= _INT64_MAX:
                item, text = element, int.__repr__(element)
            else:
                try:
                    item, text = _walk(element, depth + 1)
                except _Refused as refused:
                    refused.where.append(f"[{index}]")
                    raise
            items.append(item)
            parts.append(text)
        return items, "[" + ",".join(parts) + "]"
    # Subclasses of the JSON types (enums, str/int subclasses) are sent as their plain value,
    # read through the base type: their own __str__/__int__/__float__ play no part.
    if isinstance(value, bool):
        return _walk(bool(value), depth)
    if isinstance(value, int):
        return _walk(int.__int__(value), depth)
    if isinstance(value, float):
        return _walk(float.__float__(value), depth)
    if isinstance(value, str):
        return _walk(str.__str__(value), depth)
    if isinstance(value, bytes | bytearray | memoryview):
        raise _Refused("bytes cannot be sent as JSON; decode or base64-encode them first")
    if isinstance(value, set | frozenset):
        raise _Refused("a set has no JSON form (and no order); pass a sorted list")
    raise _Refused(
        f"{type(value).__name__} cannot be sent as JSON; convert it to a str, int, float, bool, "
        "None, list or mapping first"
    )


def walk(name: str, value: Any) -> tuple[Any, str]:
    """``_walk`` for a caller's value named ``name``: every failure a TaskManagerValidationError.

    A mapping whose iteration or item access raises, a ``__len__`` that lies, a stack too
    short for the nesting: whatever reading the caller's value raises is reported, not leaked.
    """
    try:
        return _walk(value)
    except _Refused as refused:
        raise refused.error(name) from None
    except Exception as err:  # raised by the caller's own objects while they were read
        raise TaskManagerValidationError(f"{name} could not be read: {shown(err)}") from err


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise _Refused("string contains a lone surrogate, which is not valid UTF-8") from err


def _is_php_list(obj: Mapping[str, Any]) -> bool:
    # PHP decodes objects into arrays; an array keyed 0..n-1 in order (or empty) is a list.
    return all(key == str(i) for i, key in enumerate(obj))


def prepare_params(task_type: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Canonical params and their dedupe key, in one walk (see ``canonical_params``)."""
    if not isinstance(params, Mapping):
        raise TaskManagerValidationError(
            f"params must be a mapping (a JSON object), not {type(params).__name__}"
        )
    out, text = walk("params", params)
    if not out:
        raise TaskManagerValidationError(
            "params must not be empty: the server decodes {} as a list and refuses it "
            "('params' must be of type object); send at least one key"
        )
    if text[0] == "[":
        raise TaskManagerValidationError(
            'params keyed "0".."n-1" are decoded by the server as a list and refused '
            "('params' must be of type object); use other key names"
        )
    payload = task_type.strip(_PHP_TRIM) + "\0" + text
    return out, hashlib.sha256(payload.encode("utf-8")).hexdigest()


def canonical_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` with keys sorted at every level, refusing what the server cannot take.

    Raises TaskManagerValidationError for sets, bytes, NaN, infinities, integers outside signed
    64-bit, non-string keys, lone surrogates, and for params the server reads as a list (``{}``
    or keys "0".."n-1" in order): it answers those with "Field 'params' must be of type object".
    """
    return prepare_params("", params)[0]


def _php_float(value: float) -> str:
    # PHP (serialize_precision=-1) prints the shortest round-trip digits, like repr(), but lays
    # them out its own way: plain notation for 1e-4 <= |x| < 1e17, else d.ddde+X with at least
    # one fraction digit; a zero fraction is dropped ("1.0" -> "1", "-0.0" -> "-0").
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exp_text = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + (int(exp_text) if exp_text else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        return sign + "0"
    if point > 17 or point < -3:
        exponent = point - 1
        fraction = digits[1:] or "0"
        exp_sign = "-" if exponent < 0 else "+"
        return f"{sign}{digits[0]}.{fraction}e{exp_sign}{abs(exponent)}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if len(digits) <= point:
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _php_string(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return '"' + text + '"'
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def php_json_encode(value: Any) -> str:
    """Encode like PHP ``json_encode(..., JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)``
    applied to PHP's own decoding of ``value``.

    Integers beyond signed 64-bit are encoded as the floats PHP turns them into.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _php_string(value)
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return str(value)
        return _php_float(float(value))
    if isinstance(value, float):
        return _php_float(value)
    if isinstance(value, Mapping):
        if _is_php_list(value):
            return "[" + ",".join(php_json_encode(v) for v in value.values()) + "]"
        return "{" + ",".join(f"{_php_string(k)}:{php_json_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(php_json_encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")


def dedupe_key(task_type: str, params: Mapping[str, Any]) -> str:
    """The server's dedupe key for ``params`` sent as given (call on canonical params)."""
    payload = task_type.strip(_PHP_TRIM) + "\0" + php_json_encode(params)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()

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
import math
from collections.abc import Mapping
from typing import Any

from ._errors import TaskManagerValidationError

__all__ = ["canonical_params", "dedupe_key", "php_json_encode"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_PHP_TRIM = " \t\n\r\0\x0b"  # what PHP trim() strips from the type name

# PHP escapes these even with JSON_UNESCAPED_UNICODE (unless JSON_UNESCAPED_LINE_TERMINATORS).
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES = {chr(c): f"\\u{c:04x}" for c in range(0x20)} | _SHORT_ESCAPES
_ESCAPES |= {"\u2028": "\\u2028", "\u2029": "\\u2029"}
_NEEDS_ESCAPE = frozenset(_ESCAPES)


def _refuse(path: str, why: str) -> TaskManagerValidationError:
    return TaskManagerValidationError(f"params{path}: {why}")


def _canonical(value: Any, path: str) -> Any:
    # bool before int: bool is an int subclass.
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            _check_text(value, path)
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _refuse(
                path, f"integer {value} is outside signed 64-bit; the server would turn it into a float"
            )
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _refuse(path, f"{value!r} cannot be sent as JSON")
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            if not isinstance(key, str):
                raise _refuse(path, f"key {key!r} is not a string; JSON object keys are strings")
            _check_text(key, path)
        for key in sorted(value):
            out[key] = _canonical(value[key], f"{path}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [_canonical(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, bytes | bytearray | memoryview):
        raise _refuse(path, "bytes cannot be sent as JSON; decode or base64-encode them first")
    if isinstance(value, set | frozenset):
        raise _refuse(path, "a set has no JSON form (and no order); pass a sorted list")
    raise _refuse(path, f"{type(value).__name__} cannot be sent as JSON")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise _refuse(path, "string contains a lone surrogate, which is not valid UTF-8") from err


def _is_php_list(obj: Mapping[str, Any]) -> bool:
    # PHP decodes objects into arrays; an array keyed 0..n-1 in order (or empty) is a list.
    return all(key == str(i) for i, key in enumerate(obj))


def canonical_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` with keys sorted at every level, refusing what the server cannot take.

    Raises TaskManagerValidationError for sets, bytes, NaN, infinities, integers outside signed
    64-bit, non-string keys, lone surrogates, and for params the server reads as a list (``{}``
    or keys "0".."n-1" in order): it answers those with "Field 'params' must be of type object".
    """
    if not isinstance(params, Mapping):
        raise TaskManagerValidationError(
            f"params must be a mapping (a JSON object), not {type(params).__name__}"
        )
    out: dict[str, Any] = _canonical(params, "")
    if not out:
        raise TaskManagerValidationError(
            "params must not be empty: the server decodes {} as a list and refuses it "
            "('params' must be of type object); send at least one key"
        )
    if _is_php_list(out):
        raise TaskManagerValidationError(
            'params keyed "0".."n-1" are decoded by the server as a list and refused '
            "('params' must be of type object); use other key names"
        )
    return out


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
    if _NEEDS_ESCAPE.isdisjoint(text):
        return f'"{text}"'
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


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

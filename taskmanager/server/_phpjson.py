"""JSON the way the PHP server reads and writes it.

The real server decodes request bodies with ``json_decode($body, true)`` and encodes everything
with ``json_encode(..., JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)``. Python's ``json``
module differs in a handful of places that matter on the wire and for the dedupe key:

* PHP has one "array" type: a dict whose keys are ``"0" .. "n-1"`` in order (and the empty dict)
  is a list to PHP and is written as ``[...]``;
* floats are written in the shortest round-trip form with PHP's layout rules (``1.0`` -> ``1``,
  ``1e100`` -> ``1.0e+100``, exponent only below 1e-4 or from 1e17 up);
* integers outside signed 64 bits decode as floats;
* ``NaN`` / ``Infinity`` literals and unpaired UTF-16 surrogates are errors, nesting deeper than
  512 levels is an error;
* U+2028 and U+2029 are still escaped even with unescaped unicode.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = [
    "NUMBER_PREFIX",
    "InvalidJSON",
    "Raw",
    "as_php_array",
    "decode",
    "encode",
    "encoded_too_deep",
    "is_php_list",
    "php_float",
    "php_string",
    "php_truthy",
    "php_type",
    "quote",
    "reencode",
]

# A decimal number at the start of a string, as PHP's (int) cast and MySQL's string-to-number
# conversion read it (leading whitespace allowed, the rest of the string ignored).
NUMBER_PREFIX = re.compile(r"[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_MAX_DEPTH = 512
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_OPENING = bytes.maketrans(b"{}", b"[]")
_STRIDE = 256  # brackets per step of the depth check
_LONG_DIGITS = re.compile(r"\d{19}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\u2028\u2029]')
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


class InvalidJSON(ValueError):
    """The body is not something PHP's ``json_decode`` accepts."""


def _reject_constant(name: str) -> Any:
    raise InvalidJSON(f"invalid literal {name}")


def _parse_int(text: str) -> int | float:
    # PHP turns integers that do not fit a signed 64-bit long into floats.
    if len(text.lstrip("-")) < 19:
        return int(text)
    if len(text) > 21:
        return float(text)
    value = int(text)
    if _INT64_MIN <= value <= _INT64_MAX:
        return value
    return float(text)


def _depth(value: Any) -> int:
    """Nesting depth of arrays/objects (iterative: the input may be deep)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _has_surrogate(value: Any) -> bool:
    """Whether any string (key or value) holds an unpaired surrogate."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_BIGINT_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_constant=_reject_constant)


def decode(body: bytes | str) -> Any:
    """Decode a request body as ``json_decode($body, true)`` would; raise :class:`InvalidJSON`."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as err:
        raise InvalidJSON("malformed UTF-8") from err
    decoder = _BIGINT_DECODER if _LONG_DIGITS.search(text) else _DECODER
    try:
        value = decoder.decode(text)
    except (ValueError, RecursionError) as err:
        raise InvalidJSON(str(err)) from err
    if len(text) > 2 * _MAX_DEPTH and _depth(value) > _MAX_DEPTH:
        raise InvalidJSON("maximum nesting depth exceeded")
    if _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
        raise InvalidJSON("single unpaired UTF-16 surrogate")
    return value


def is_php_list(value: dict[str, Any]) -> bool:
    """Whether PHP sees this decoded object as a list (empty, or keys "0".."n-1" in order)."""
    if not value:
        return True
    if next(iter(value)) != "0":  # the common case, answered without a scan
        return False
    return all(key == str(index) for index, key in enumerate(value))


def php_type(value: Any) -> str:
    """The type name the server's validator gives a decoded value."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "array" if is_php_list(value) else "object"
    return "unknown"


def as_php_array(value: Any) -> dict[str, Any] | None:
    """A decoded array (list or dict) as an ordered key -> value mapping; None for scalars."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return None


def php_truthy(value: Any) -> bool:
    """PHP's boolean conversion: "0", "", 0, 0.0, [] and null are false; "false" is true."""
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, (list, dict)):
        return len(value) > 0
    return bool(value)


def _digits(value: float, significant: int | None) -> tuple[str, int]:
    """Decimal digits and exponent such that ``abs(value) == 0.<digits> * 10**decpt``."""
    if value == 0:
        return "0", 1
    text = repr(abs(value)) if significant is None else f"{abs(value):.{significant - 1}e}"
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    stripped = digits.lstrip("0")
    decpt = len(whole) - (len(digits) - len(stripped)) + (int(exponent) if exponent else 0)
    return stripped.rstrip("0") or "0", decpt


def _gcvt(value: float, precision: int, exp_char: str, significant: int | None) -> str:
    # A port of php_gcvt(): the layout PHP uses for every float it prints.
    digits, decpt = _digits(value, significant)
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if (decpt < -3) if decpt < 0 else (decpt > precision):
        exponent = decpt - 1
        tail = digits[1:] or "0"
        exp_sign = "-" if exponent < 0 else "+"
        return f"{sign}{digits[0]}.{tail}{exp_char}{exp_sign}{abs(exponent)}"
    if decpt < 0:
        return f"{sign}0.{'0' * -decpt}{digits}"
    if len(digits) <= decpt:
        return sign + digits + "0" * (decpt - len(digits))
    whole = digits[:decpt] or "0"
    return f"{sign}{whole}.{digits[decpt:]}"


def php_float(value: float) -> str:
    """A float as ``json_encode`` writes it (serialize_precision -1)."""
    return _gcvt(value, 17, "e", None)


def php_string(value: Any) -> str:
    """A scalar converted to a string the way PHP interpolates it into a message."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        if math.isinf(value):
            return "-INF" if value < 0 else "INF"
        if math.isnan(value):
            return "NAN"
        return _gcvt(value, 14, "E", 14)
    if isinstance(value, (list, dict)):
        return "Array"
    return str(value)


def quote(text: str) -> str:
    """A string as a JSON string literal, the way ``json_encode`` writes it."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def reencode(stored: str) -> str:
    """``json_encode(json_decode($stored))`` for text this module encoded.

    The encoding is a fixed point except for ``-0``, which PHP decodes as the integer 0.
    """
    if "-0" not in stored:
        return stored
    return encode(decode(stored)) or "null"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


class Raw(str):
    """Text that is already PHP-encoded JSON; the encoder splices it in as is."""

    __slots__ = ()


def _encode(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(quote(value))
    elif kind is int:
        out.append(str(value))
    elif value is None:
        out.append("null")
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is float:
        if math.isinf(value) or math.isnan(value):
            raise ValueError("Inf and NaN cannot be JSON encoded")
        out.append(php_float(value))
    elif kind is dict and not is_php_list(value):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(quote(str(key)) + ":")
            _encode(item, out)
        out.append("}")
    elif kind is dict or kind is list:
        out.append("[")
        for index, item in enumerate(value.values() if kind is dict else value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif kind is Raw:
        out.append(value)
    else:
        raise TypeError(f"cannot encode {kind.__name__}")


def encode(value: Any) -> str | None:
    """``json_encode($value, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)``; None when PHP fails."""
    out: list[str] = []
    try:
        _encode(value, out)
    except ValueError:
        return None
    return "".join(out)


def encoded_too_deep(text: str) -> bool:
    """Whether JSON ``text`` nests arrays/objects deeper than ``json_encode`` allows (512).

    PHP's ``json_encode`` returns false for such a value. Mostly C-speed steps: strings are
    dropped, then the depth is followed a stride of brackets at a time; only a stride that could
    reach past the limit is read bracket by bracket.
    """
    if text.count("[") + text.count("{") <= _MAX_DEPTH:
        return False
    skeleton = _STRING.sub(b"", text.encode("utf-8")).translate(_OPENING, _NOT_BRACKETS)
    depth = 0
    for start in range(0, len(skeleton), _STRIDE):
        stride = skeleton[start : start + _STRIDE]
        opening = stride.count(b"[")
        if depth + opening > _MAX_DEPTH:
            for bracket in stride:
                depth += 1 if bracket == 0x5B else -1
                if depth > _MAX_DEPTH:
                    return True
        else:
            depth += 2 * opening - len(stride)
    return False

"""JSON typed by a person (command-line values, files, legacy rows): every failure is a
``ValueError`` with a short reason, never a RecursionError or Python's advice to raise its
integer digit limit."""

from __future__ import annotations

import json
import sys
from typing import Any

from ._dedupe import MAX_DEPTH

__all__ = ["NotJSONError", "integer_too_long", "loads"]


class NotJSONError(ValueError):
    """The text is not JSON at all (other failures are readable JSON refused as too deep or long)."""


def integer_too_long(err: ValueError) -> str | None:
    """The reason for Python's refusal of an integer literal over its digit limit; None for any
    other error (its own message advises raising the limit, which is not for the reader to do)."""
    if "integer string conversion" not in str(err):
        return None
    return f"an integer of more than {sys.get_int_max_str_digits()} digits"


def loads(text: str) -> Any:
    """``json.loads(text)``; NotJSONError("not valid JSON: ..."), or ValueError("nested more than
    ... levels deep", "an integer of more than ... digits") for what cannot be read."""
    try:
        return json.loads(text)
    except RecursionError:
        # Python's recursion limit is hit far beyond the deepest value the server sends back.
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as err:
        raise NotJSONError(f"not valid JSON: {err}") from None
    except ValueError as err:
        reason = integer_too_long(err)
        if reason is None:
            raise
        raise ValueError(reason) from None

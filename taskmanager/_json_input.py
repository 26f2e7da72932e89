"""JSON typed by a person (command-line values, files, legacy rows): every failure is a
``ValueError`` with a short reason, never a RecursionError or Python's advice to raise its
integer digit limit."""

from __future__ import annotations

import json
import sys
from typing import Any

from ._dedupe import MAX_DEPTH


def loads(text: str) -> Any:
    """``json.loads(text)``; ValueError("not valid JSON: ...", "nested more than ... levels
    deep", "an integer of more than ... digits") for what cannot be read."""
    try:
        return json.loads(text)
    except RecursionError:
        # Python's recursion limit is hit far beyond the deepest value the server sends back.
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err}") from None
    except ValueError as err:
        if "integer string conversion" not in str(err):
            raise
        limit = sys.get_int_max_str_digits()
        raise ValueError(f"an integer of more than {limit} digits") from None

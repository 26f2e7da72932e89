"""A caller's value as an error message shows it: short, and never raising.

Refusal messages quote the value they refuse. ``repr()`` of a caller's object can be huge (a
string of megabytes), can fail (an integer of 5,000 digits, a ``__repr__`` that raises) or can
recurse without end, so messages use ``shown()`` instead: at most about 80 characters.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

__all__ = ["shown"]


class _Short(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 2
        self.maxstring = self.maxother = self.maxlong = 60
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 4

    def repr_int(self, x: int, level: int) -> str:
        # repr() of an int beyond 4,300 digits raises ValueError (and is slow well before).
        if x.bit_length() > 128:
            digits = int(x.bit_length() * math.log10(2)) + 1
            return f"<an integer of about {digits} digits>"
        return super().repr_int(x, level)


_SHORT = _Short()
_LIMIT = 80


def shown(value: Any) -> str:
    """``repr(value)`` cut to about 80 characters; a placeholder when repr() itself fails."""
    try:
        text = _SHORT.repr(value)
    except Exception:  # a broken __repr__, __len__ or __iter__ of the caller's object
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= _LIMIT else text[: _LIMIT - 3] + "..."

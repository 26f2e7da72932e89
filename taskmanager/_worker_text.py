"""Text about a handler's exception that can always be made and always be sent."""

from __future__ import annotations

__all__ = ["describe_error"]

# A failure reason longer than this is cut (the server stores it; a log line quotes it).
MAX_ERROR_CHARS = 4000


def _safe_str(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException as err:  # an exception whose __str__ raises still fails its task
        return f"<str() raised {type(err).__name__}>"
    return text if isinstance(text, str) else ""


def describe_error(exc: BaseException) -> str:
    """``"ValueError: bad url"`` (or just the type name), cut and encodable as UTF-8."""
    name = type(exc).__name__
    text = _safe_str(exc)
    message = f"{name}: {text}" if text else name
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 1] + "…"
    # Lone surrogates cannot be encoded in a request: replace them rather than lose the reason.
    return message.encode("utf-8", "replace").decode("utf-8")

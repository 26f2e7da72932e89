"""Text about a handler's exception that can always be made and always be sent."""

from __future__ import annotations

__all__ = ["describe_error"]

# A failure reason longer than this is cut (the server stores it; a log line quotes it).
MAX_ERROR_CHARS = 4000
# The reason sent when nothing about the exception can be read (its type's name raises too).
FALLBACK_ERROR = "the handler failed; its error could not be described"


def _safe_str(exc: BaseException) -> str:
    try:
        text = str(exc)
        # A str subclass may override anything (formatting, truthiness): keep only its characters.
        return str.__str__(text) if isinstance(text, str) else ""
    except BaseException as err:  # an exception whose __str__ raises still fails its task
        return f"<str() raised {str.__str__(type(err).__name__)}>"


def describe_error(exc: BaseException) -> str:
    """``"ValueError: bad url"`` (or just the type name), cut and encodable as UTF-8.

    Total: whatever the exception does when read, some text comes back.
    """
    try:
        name = str.__str__(type(exc).__name__)
        text = _safe_str(exc)
        message = f"{name}: {text}" if text else name
        if len(message) > MAX_ERROR_CHARS:
            message = message[: MAX_ERROR_CHARS - 1] + "…"
        # Lone surrogates cannot be encoded in a request: replace them rather than lose the reason.
        return message.encode("utf-8", "replace").decode("utf-8")
    except BaseException:  # a metaclass whose __name__ raises, an error type raising in its own name
        return FALLBACK_ERROR

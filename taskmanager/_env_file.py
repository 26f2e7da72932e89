"""Settings from a ``.env`` file, for projects that keep ``TASKMANAGER_API_URL``/``_KEY`` there.

Which file: ``env_file`` when given, else the one named by ``TASKMANAGER_ENV_FILE``, else
``.env`` in the current working directory (not searched for in parent folders);
``TASKMANAGER_ENV_FILE=/dev/null`` (``os.devnull``) reads none. Only the
``TASKMANAGER_*`` entries are used, taken literally (no ``${VAR}`` expansion), and the process
environment is never changed: a variable that is set in the real environment wins over the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ._errors import TaskManagerValidationError

__all__ = ["ENV_FILE_VARIABLE", "env_file_values"]

ENV_FILE_VARIABLE = "TASKMANAGER_ENV_FILE"
_DEFAULT_NAME = ".env"


def _chosen_file(
    env_file: str | os.PathLike[str] | None, environ: Mapping[str, str], default: bool
) -> Path | None:
    if env_file is not None:
        return Path(env_file)
    named = environ.get(ENV_FILE_VARIABLE)
    if named:
        return Path(named)
    if default:
        candidate = Path.cwd() / _DEFAULT_NAME
        return candidate if candidate.is_file() else None
    return None


def env_file_values(
    env_file: str | os.PathLike[str] | None, environ: Mapping[str, str], *, default: bool
) -> dict[str, str]:
    """The ``TASKMANAGER_*`` entries of the chosen file (``{}`` when there is none).

    ``default`` says whether ``./.env`` is looked for when no file is named. A named file that
    cannot be read is a TaskManagerValidationError (its content, which may hold the key, is
    never quoted).
    """
    path = _chosen_file(env_file, environ, default)
    if path is None:
        return {}
    if not path.exists() or path.is_dir():  # os.devnull is fine: a way to say "no file"
        raise TaskManagerValidationError(f"settings file {os.fspath(path)!r} does not exist or is not a file")
    # Imported only when there is a file to read: most programs never need it.
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path, interpolate=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TaskManagerValidationError(
            f"cannot read settings file {os.fspath(path)!r}: {type(err).__name__}"
        ) from None
    return {name: value for name, value in values.items() if name.startswith("TASKMANAGER_") and value}

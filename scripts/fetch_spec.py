"""Download the published OpenAPI document.

Usage: python scripts/fetch_spec.py URL OUT   (``make spec`` passes $(SPEC_URL) and openapi.json)

The document is checked to be an OpenAPI description, reduced to its structure (paths,
operations, parameters, schemas: the facts) and written with stable formatting (two-space indent,
keys in the order served). Prose (``description``, ``summary``, ``example``, ``examples``) is
dropped: the project's own descriptions live in openapi.overlay.yaml, so fetching an unchanged
API leaves OUT byte-for-byte as it was, and a change of the API shows up as a small structural
diff of OUT. Any failure is reported as one line on stderr with exit status 1, and OUT is left
as it was.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

TIMEOUT_SECONDS = 30.0


PROSE_KEYS = frozenset({"description", "summary", "example", "examples"})
# Objects whose keys are names (of properties, paths, status codes, media types, ...), not
# keywords: a property called "description" is structure, not prose.
NAME_MAPS = frozenset(
    {
        "properties",
        "patternProperties",
        "paths",
        "responses",
        "schemas",
        "content",
        "headers",
        "securitySchemes",
        "requestBodies",
        "parameters",
        "callbacks",
        "links",
        "encoding",
        "$defs",
        "definitions",
        "mapping",
    }
)


def structure_only(value: object, names: bool = False) -> object:
    """A copy of ``value`` without its prose keywords (``names``: the keys of value are names)."""
    if isinstance(value, dict):
        return {
            key: structure_only(item, names=not names and key in NAME_MAPS and isinstance(item, dict))
            for key, item in value.items()
            if names or key not in PROSE_KEYS
        }
    if isinstance(value, list):
        return [structure_only(item) for item in value]
    return value


class FetchError(Exception):
    """Reported to the user as one line."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "no detail"


def fetch(url: str) -> dict[str, object]:
    try:
        response = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=True)
    except httpx.InvalidURL as err:
        raise FetchError(f"invalid URL {url!r}: {_one_line(err)}") from err
    except httpx.UnsupportedProtocol as err:
        raise FetchError(f"unsupported URL {url!r}: {_one_line(err)}") from err
    except httpx.TimeoutException as err:
        raise FetchError(f"timed out after {TIMEOUT_SECONDS:g} s fetching {url}") from err
    except httpx.TransportError as err:
        host = httpx.URL(url).host
        raise FetchError(f"cannot reach {host} ({_one_line(err)})") from err
    if response.status_code != 200:
        raise FetchError(f"{url} answered HTTP {response.status_code}, expected 200")
    try:
        document = response.json()
    except ValueError as err:
        raise FetchError(f"{url} did not return JSON ({_one_line(err)})") from err
    if not isinstance(document, dict) or "openapi" not in document or "paths" not in document:
        raise FetchError(f"{url} did not return an OpenAPI document (no 'openapi' and 'paths' keys)")
    return document


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: fetch_spec.py URL OUT", file=sys.stderr)
        return 2
    url, out = args[0], Path(args[1])
    try:
        document = fetch(url)
    except FetchError as err:
        print(f"fetch_spec: {err}", file=sys.stderr)
        return 1
    # Write next to the target and rename, so an interrupted run never leaves half a file.
    partial = out.with_name(out.name + ".partial")
    text = json.dumps(structure_only(document), indent=2, ensure_ascii=False) + "\n"
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
    paths = document["paths"]
    print(f"fetch_spec: wrote {out} ({len(paths) if isinstance(paths, dict) else 0} paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

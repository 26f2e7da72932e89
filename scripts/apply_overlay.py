"""Apply an OpenAPI Overlay 1.0 document to an OpenAPI description.

Usage: python scripts/apply_overlay.py SPEC.json OVERLAY.yaml OUT.json

A deliberately thin applier on jsonpath-rfc9535. It differs from lenient tools in three ways
that matter for generated code:

* an action whose target matches nothing is an error (a typo must not silently drop a correction);
* every update value is deep-copied per target, so no object is shared between two places
  (a later action that changes one of them must not change the others);
* ``remove`` deletes the matched nodes deepest-first and, inside one array, highest index first,
  so earlier deletions never shift or orphan later ones.

``update`` merges: objects merge key by key (recursively), anything else replaces the old value;
an update aimed at an array appends the value. To swap a subtree for something else, remove it
first, then update its parent.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import jsonpath_rfc9535
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type information

__all__ = ["OverlayError", "apply_overlay", "load_overlay", "main"]


class OverlayError(Exception):
    """The overlay is malformed, or one of its actions cannot be applied."""


def load_overlay(path: Path) -> dict[str, Any]:
    overlay = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(overlay, dict) or not str(overlay.get("overlay", "")).startswith("1."):
        raise OverlayError(f"{path}: not an OpenAPI Overlay 1.x document")
    if not isinstance(overlay.get("actions"), list) or not overlay["actions"]:
        raise OverlayError(f"{path}: the overlay has no actions")
    return overlay


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _describe(index: int, action: dict[str, Any]) -> str:
    return f"action {index} (target {action.get('target')!r})"


def _remove(nodes: list[jsonpath_rfc9535.JSONPathNode], where: str) -> None:
    # Deepest first; among siblings in an array the highest index first.
    ordered = sorted(
        nodes,
        key=lambda node: (
            len(node.location),
            node.location[-1] if node.location and isinstance(node.location[-1], int) else -1,
        ),
        reverse=True,
    )
    for node in ordered:
        if node.parent is None:
            raise OverlayError(f"{where}: cannot remove the document root")
        container = node.parent.value
        key = node.location[-1]
        if not isinstance(container, dict | list):  # pragma: no cover - jsonpath yields only these
            raise OverlayError(f"{where}: cannot remove {node.path()}")
        del container[key]  # type: ignore[arg-type]


def _update(nodes: list[jsonpath_rfc9535.JSONPathNode], value: Any, where: str) -> None:
    for node in nodes:
        target = node.value
        if isinstance(target, dict) and isinstance(value, dict):
            _merge(target, value)
        elif isinstance(target, list):
            target.append(copy.deepcopy(value))
        else:
            raise OverlayError(f"{where}: cannot merge a {type(value).__name__} into {node.path()}")


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Return a new document with every action of ``overlay`` applied in order."""
    result = copy.deepcopy(document)
    for index, action in enumerate(overlay["actions"]):
        where = _describe(index, action)
        if not isinstance(action, dict) or not isinstance(action.get("target"), str):
            raise OverlayError(f"{where}: an action needs a string target")
        has_update = "update" in action
        remove = action.get("remove", False) is True
        if has_update == remove:
            raise OverlayError(f"{where}: an action needs exactly one of update or remove: true")
        try:
            found = jsonpath_rfc9535.find(action["target"], result)
            # A query may name one node twice (e.g. a union ['a','a']): act on it once.
            nodes = list({node.location: node for node in found}.values())
        except jsonpath_rfc9535.JSONPathError as err:
            raise OverlayError(f"{where}: invalid JSONPath: {err}") from err
        if not nodes:
            raise OverlayError(f"{where}: the target matches nothing")
        if remove:
            _remove(nodes, where)
        else:
            _update(nodes, action["update"], where)
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: apply_overlay.py SPEC.json OVERLAY.yaml OUT.json", file=sys.stderr)
        return 2
    spec_path, overlay_path, out_path = map(Path, args)
    document = json.loads(spec_path.read_text(encoding="utf-8"))
    try:
        effective = apply_overlay(document, load_overlay(overlay_path))
    except OverlayError as err:
        print(f"apply_overlay: {err}", file=sys.stderr)
        return 1
    out_path.write_text(json.dumps(effective, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

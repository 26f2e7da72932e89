"""The overlay applier: merge, remove, loud failures, no shared objects."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


overlay_mod = _load_script("apply_overlay")
apply_overlay = overlay_mod.apply_overlay
OverlayError = overlay_mod.OverlayError


def _doc() -> dict[str, Any]:
    return {
        "openapi": "3.1.1",
        "paths": {
            "/a": {
                "get": {
                    "operationId": "getA",
                    "responses": {"200": {"description": "ok", "content": {"x": 1}}},
                }
            },
            "/b": {"post": {"operationId": "postB", "responses": {"200": {"description": "ok"}}}},
        },
        "tags": ["one", "two", "three"],
    }


def _overlay(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)}


def test_update_deep_merges_into_every_target() -> None:
    """An update adds new keys and merges nested objects without dropping existing ones."""
    update = {
        "401": {"description": "no key", "content": {"application/json": {"schema": {"type": "object"}}}}
    }
    result = apply_overlay(_doc(), _overlay({"target": "$.paths.*.*.responses", "update": update}))
    for path, method in (("/a", "get"), ("/b", "post")):
        responses = result["paths"][path][method]["responses"]
        assert responses["401"] == update["401"]
        assert responses["200"]["description"] == "ok"
    # A nested merge keeps sibling keys of the target.
    merged = apply_overlay(
        _doc(),
        _overlay({"target": "$.paths['/a'].get.responses['200']", "update": {"content": {"y": 2}}}),
    )
    assert merged["paths"]["/a"]["get"]["responses"]["200"] == {
        "description": "ok",
        "content": {"x": 1, "y": 2},
    }


def test_update_values_are_not_shared_between_targets() -> None:
    """Each target gets its own copy, so a later action on one target leaves the others alone."""
    overlay = _overlay(
        {"target": "$.paths.*.*", "update": {"x-extra": {"list": [1], "nested": {"k": "v"}}}},
        {"target": "$.paths['/a'].get['x-extra']", "update": {"nested": {"k": "changed"}}},
        {"target": "$.paths['/a'].get['x-extra'].list", "update": 2},
    )
    result = apply_overlay(_doc(), overlay)
    assert result["paths"]["/a"]["get"]["x-extra"] == {"list": [1, 2], "nested": {"k": "changed"}}
    assert result["paths"]["/b"]["post"]["x-extra"] == {"list": [1], "nested": {"k": "v"}}
    a, b = result["paths"]["/a"]["get"]["x-extra"], result["paths"]["/b"]["post"]["x-extra"]
    assert a is not b and a["nested"] is not b["nested"]


def test_update_does_not_share_with_the_overlay_or_mutate_the_input() -> None:
    """The input document and the overlay's own values stay untouched."""
    document = _doc()
    before = json.dumps(document, sort_keys=True)
    value = {"nested": {"k": "v"}}
    result = apply_overlay(document, _overlay({"target": "$.paths['/b'].post", "update": {"x-v": value}}))
    assert json.dumps(document, sort_keys=True) == before
    assert result["paths"]["/b"]["post"]["x-v"] == value
    assert result["paths"]["/b"]["post"]["x-v"]["nested"] is not value["nested"]


def test_remove_deletes_every_match_deepest_first() -> None:
    """Removing a node and its ancestor in one action works; array items go highest index first."""
    result = apply_overlay(
        _doc(),
        _overlay(
            {"target": "$.paths['/a'].get.responses['200'].content", "remove": True},
            {"target": "$.tags[0,2]", "remove": True},
        ),
    )
    assert result["paths"]["/a"]["get"]["responses"]["200"] == {"description": "ok"}
    assert result["tags"] == ["two"]
    nested = apply_overlay(_doc(), _overlay({"target": "$.paths..responses", "remove": True}))
    assert nested["paths"] == {
        "/a": {"get": {"operationId": "getA"}},
        "/b": {"post": {"operationId": "postB"}},
    }


def test_remove_then_update_replaces_a_subtree() -> None:
    """Removing a subtree first lets an update put a different one in its place."""
    ref = {"schema": {"$ref": "#/components/schemas/X"}}
    result = apply_overlay(
        _doc(),
        _overlay(
            {"target": "$.paths['/a'].get.responses['200'].content", "remove": True},
            {"target": "$.paths['/a'].get.responses['200']", "update": {"content": ref}},
        ),
    )
    assert result["paths"]["/a"]["get"]["responses"]["200"]["content"] == ref


def test_filter_targets_select_by_value() -> None:
    """Filter expressions select operations by their fields."""
    result = apply_overlay(
        _doc(),
        _overlay({"target": "$.paths.*[?@.operationId=='postB']", "update": {"summary": "B"}}),
    )
    assert result["paths"]["/b"]["post"]["summary"] == "B"
    assert "summary" not in result["paths"]["/a"]["get"]


@pytest.mark.parametrize(
    "action",
    [
        {"target": "$.paths['/nope']", "update": {"x": 1}},
        {"target": "$.paths.*.*[?@.operationId=='missing']", "remove": True},
        {"target": "$.components.schemas", "update": {"X": {}}},
    ],
    ids=["update-missing-key", "remove-empty-filter", "update-missing-parent"],
)
def test_a_target_that_matches_nothing_fails(action: dict[str, Any]) -> None:
    """A typo in a target is an error, never a silently skipped correction."""
    with pytest.raises(OverlayError, match="matches nothing"):
        apply_overlay(_doc(), _overlay({"target": "$.tags", "update": "four"}, action))


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"target": "$.paths", "update": {}, "remove": True}, "exactly one of"),
        ({"target": "$.paths"}, "exactly one of"),
        ({"target": "$.paths[", "remove": True}, "invalid JSONPath"),
        ({"target": "$.openapi", "update": {"x": 1}}, "cannot merge"),
        ({"target": "$", "remove": True}, "root"),
        ({"update": {}}, "string target"),
    ],
    ids=["both", "neither", "syntax", "merge-into-scalar", "remove-root", "no-target"],
)
def test_malformed_actions_fail(action: dict[str, Any], message: str) -> None:
    """Malformed actions are refused with a message naming the action."""
    with pytest.raises(OverlayError, match=message):
        apply_overlay(_doc(), _overlay(action))


def test_cli_reports_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command line reports a failing action on one line and writes nothing."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(_doc()), encoding="utf-8")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("overlay: 1.0.0\nactions:\n  - target: $.nope\n    remove: true\n", encoding="utf-8")
    out = tmp_path / "out.json"
    assert overlay_mod.main([str(spec), str(overlay), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matches nothing" in err and "$.nope" in err
    assert not out.exists()


def test_project_overlay_applies_and_describes_every_error_body() -> None:
    """The project's overlay applies cleanly and gives every response of every operation a JSON body."""
    document = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    effective = apply_overlay(document, overlay_mod.load_overlay(ROOT / "openapi.overlay.yaml"))
    operations = {op["operationId"]: op for item in effective["paths"].values() for op in item.values()}
    assert "updateTaskProgress" in operations
    assert len(operations) == 10
    for operation_id, operation in operations.items():
        statuses = set(operation["responses"])
        assert {"200", "400", "404", "413", "429", "500"} <= statuses, operation_id
        if operation.get("security") != []:
            assert "401" in statuses, operation_id
        for status, response in operation["responses"].items():
            schema = response["content"]["application/json"]["schema"]
            assert schema["$ref"].startswith("#/components/schemas/"), (operation_id, status)

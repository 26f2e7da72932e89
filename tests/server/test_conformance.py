"""Replay the recorded exchanges with the real server against the local server.

Each group of ``tests/fixtures/transcripts.jsonl`` starts from an empty server (claim timeout 5 s,
max attempts 3, as when it was recorded). The manual clock follows the recording: before each
request it is set to the second the real server answered in (its ``Date`` header), so waits such
as the claim timeout happen exactly where the recording waited.

Compared: status, content type, envelope and payload keys (in order), value types, messages and
every other value exactly; ids by rule (same JSON type, positive; the set of ids of a listing must
match, their order within one second is unspecified on the real server and varies on the local
one, so items are paired by id, and a page cut inside one second is compared by shape and
seconds only); timestamps by format
and value; dedupe keys exactly (the PHP encoding is reproduced). Run this file as a script for
the per-case report: ``python -m tests.server.test_conformance``.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskmanager.server import LocalServer, ManualClock

HERE = Path(__file__).resolve().parent
TRANSCRIPTS = HERE.parent / "fixtures" / "transcripts.jsonl"
GROUPS = ("basics", "types", "create", "claim", "lifecycle", "timeout")
KEY = "conformance-key"
KEY_MARKERS = {"<redacted>": KEY, "<wrong>": "not-the-key"}
TIMESTAMP_FIELDS = {"created_at", "updated_at", "claimed_at", "completed_at"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
# GET /task-types answers 500 on the real server; the local one lists (a deliberate difference).
LIST_TYPES_CASES = {
    "basics.list_types_empty",
    "types.list_types",
    "types.list_types_active",
    "types.list_types_sorted",
    "types.list_types_bad_sort",
}


def load_cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in TRANSCRIPTS.read_text(encoding="utf-8").splitlines() if line]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return type(value).__name__


def _tie_slice(expected: list[Any], actual: list[Any]) -> bool:
    """Whether two listings differ in ids but hold tasks of the same seconds (a page cut in a tie)."""
    ids = [sorted(int(item.get("id", 0)) for item in items) for items in (expected, actual)]
    seconds = [sorted(str(item.get("created_at")) for item in items) for items in (expected, actual)]
    return ids[0] != ids[1] and seconds[0] == seconds[1]


def compare(expected: Any, actual: Any, where: str = "$") -> Iterator[str]:
    """Differences between a recorded JSON value and ours, by the rules in the module docstring."""
    key = where.rsplit(".", 1)[-1]
    if key == "id":
        if _json_type(expected) != _json_type(actual):
            yield f"{where}: id type {_json_type(actual)} != recorded {_json_type(expected)}"
        elif int(actual) < 1:
            yield f"{where}: implausible id {actual!r}"
        return
    if key in TIMESTAMP_FIELDS and isinstance(expected, str):
        if not (isinstance(actual, str) and DATETIME.match(actual)):
            yield f"{where}: timestamp {actual!r} is not YYYY-MM-DD HH:MM:SS"
        elif actual != expected:
            yield f"{where}: {actual!r} != recorded {expected!r}"
        return
    if _json_type(expected) != _json_type(actual):
        yield f"{where}: type {_json_type(actual)} ({actual!r}) != recorded {_json_type(expected)}"
        return
    if isinstance(expected, dict):
        if list(expected) != list(actual):
            yield f"{where}: keys {list(actual)} != recorded {list(expected)}"
            return
        for name, value in expected.items():
            yield from compare(value, actual[name], f"{where}.{name}")
        if "items" in expected and isinstance(expected["items"], list):
            want = sorted(item.get("id", 0) for item in expected["items"])
            got = sorted(item.get("id", 0) for item in actual["items"])
            if want != got and not _tie_slice(expected["items"], actual["items"]):
                yield f"{where}.items: ids {got} != recorded {want}"
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            yield f"{where}: {len(actual)} items != recorded {len(expected)}"
            return
        if key == "items" and all(isinstance(item, dict) and "id" in item for item in expected + actual):
            # A listing's order within one second varies (on both servers): pair items by id.
            expected = sorted(expected, key=lambda item: int(item["id"]))
            actual = sorted(actual, key=lambda item: int(item["id"]))
            if _tie_slice(expected, actual):
                # A page cut inside one second holds any of that second's tasks, here as there:
                # only the shape of each item can be compared.
                for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
                    if list(want) != list(got):
                        yield f"{where}[{index}]: keys {list(got)} != recorded {list(want)}"
                return
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            yield from compare(want, got, f"{where}[{index}]")
    elif key == "dedupe_key":
        if not re.fullmatch(r"[0-9a-f]{64}", actual) or actual != expected:
            yield f"{where}: {actual!r} != recorded {expected!r}"
    elif expected != actual:
        yield f"{where}: {actual!r} != recorded {expected!r}"


def _list_types_difference(case: dict[str, Any], response: httpx.Response) -> list[str]:
    """The intended behaviour where the local server deliberately differs: it lists the types."""
    problems = []
    body = response.json()
    if case["request"]["query"].get("sort_by") == "nope":
        if response.status_code != 400 or not body["error"].startswith("Invalid sort_by field."):
            problems.append(f"bad sort_by: {response.status_code} {body}")
        return problems
    data = body.get("data") or {}
    if response.status_code != 200 or list(data) != ["items", "count"]:
        return [f"listing: {response.status_code} {body}"]
    if data["count"] != len(data["items"]):
        problems.append("count does not match items")
    names = [item["name"] for item in data["items"]]
    if names != sorted(names):
        problems.append(f"not sorted by name: {names}")
    for item in data["items"]:
        expected_keys = [
            "id",
            "name",
            "version",
            "param_schema",
            "is_active",
            "created_at",
            "updated_at",
            "usage_count",
        ]
        if list(item) != expected_keys or not isinstance(item["usage_count"], int):
            problems.append(f"item shape {item}")
    if case["case"] == "basics.list_types_empty" and data["count"] != 0:
        problems.append("expected no types")
    if case["case"].startswith("types.") and data["count"] != 4:
        problems.append(f"expected the 4 registered types, got {names}")
    return problems


def check_case(case: dict[str, Any], response: httpx.Response, ties: _Ties | None = None) -> list[str]:
    """Everything that differs between the recorded reply and ours (empty: the case matches)."""
    if case["case"] in LIST_TYPES_CASES:
        return _list_types_difference(case, response)
    recorded = case["response"]
    problems = []
    if response.status_code != recorded["status"]:
        problems.append(f"status {response.status_code} != recorded {recorded['status']}")
    want_type = recorded["headers"].get("content-type")
    if response.headers.get("content-type") != want_type:
        problems.append(f"content-type {response.headers.get('content-type')!r} != {want_type!r}")
    for header in ("cache-control", "access-control-allow-origin", "access-control-allow-methods"):
        if response.headers.get(header) != recorded["headers"].get(header):
            problems.append(f"header {header}: {response.headers.get(header)!r}")
    if case["case"] == "basics.openapi":
        # The recording stores a placeholder; the local server serves the project's document.
        if "openapi" not in response.json():
            problems.append("not an OpenAPI document")
        return problems
    if recorded["json"] is None:
        if response.content.decode() != recorded["body"]:
            problems.append(f"body {response.text!r} != recorded {recorded['body']!r}")
        return problems
    try:
        ours = response.json()
    except ValueError:
        return [*problems, f"body is not JSON: {response.text[:200]!r}"]
    expected = recorded["json"]
    if ties is not None and response.status_code == recorded["status"] == 200:
        problems.extend(ties.observe(case, ours))
    problems.extend(compare(expected, ours))
    stamp = expected.get("timestamp")
    if isinstance(stamp, str) and not ISO.match(str(ours.get("timestamp"))):
        problems.append(f"401 timestamp {ours.get('timestamp')!r} is not ISO-8601")
    return problems


class _Ties:
    """Claims among tasks with the same sort key (one second, one priority): the real server has
    no tie-breaker, and the local one takes any of them in a seeded order, so a replay may take
    a different task than the recording did. From then on the two queues hold different tasks:
    claims are compared with the recorded task swapped in when ours is one the rule allows (a
    tie claim: any unclaimed task of the type; ``sort_by: id``: the lowest or highest unclaimed
    id; a retried or expired task taken again is not checked), and listings compare each status
    count instead of each task's status."""

    def __init__(self) -> None:
        self.type_ids: dict[str, int] = {}
        self.unclaimed: dict[int, set[int]] = {}
        self.diverged = False

    def observe(self, case: dict[str, Any], ours: Any) -> list[str]:
        """Track the local queue; make ``ours`` comparable to the recording. Problems found."""
        request, recorded = case["request"], case["response"]["json"]
        sent = json.loads(request["body"]) if request["body"] else None
        data = ours.get("data") if isinstance(ours, dict) else None
        if not isinstance(data, dict) or not isinstance(sent, dict) or request["method"] != "POST":
            return self._listing(request, recorded, data) if isinstance(data, dict) else []
        if request["path"] == "/task-types/register":
            self.type_ids[data["name"]] = int(data["id"])
        elif request["path"] == "/tasks" and data.get("status") == "pending" and "dedupe_key" in data:
            self.unclaimed.setdefault(self.type_ids[data["type"]], set()).add(int(data["id"]))
        elif request["path"] == "/tasks/claim" and "attempts" in data:
            left = self.unclaimed.get(int(sent["task_type_id"]), set())
            taken = int(data["id"])
            by_id = sent.get("sort_by") == "id"
            if data["attempts"] > 1:
                pass  # a retry or an expired claim taken again: not in the first-claim queue
            elif taken not in left:
                return [f"claimed task {taken} is not an unclaimed task of the type"]
            elif by_id and taken != (
                max(left) if str(sent.get("sort_order")).upper() == "DESC" else min(left)
            ):
                return [f"claimed task {taken} is not the first unclaimed by id"]
            left.discard(taken)
            want = recorded["data"]
            if data["params"] != want["params"] and (self.diverged or not by_id):
                self.diverged = True
                data["params"] = want["params"]
        return []

    def _listing(self, request: dict[str, Any], recorded: Any, data: dict[str, Any]) -> list[str]:
        if not (self.diverged and request["path"] == "/tasks" and isinstance(data.get("items"), list)):
            return []
        fields = ("status", "attempts", "claimed_by")

        def counts(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            return sorted(tuple(str(item[name]) for name in fields) for item in items)

        want = recorded["data"]["items"]
        if counts(data["items"]) != counts(want):
            return [f"status counts {counts(data['items'])} != recorded {counts(want)}"]
        by_id = {item["id"]: item for item in want}
        for item in data["items"]:
            item.update({name: by_id[item["id"]][name] for name in fields if item["id"] in by_id})
        return []


def replay(group: str) -> list[tuple[str, list[str]]]:
    """Replay one group on a fresh server; (case, problems) per case in recorded order."""
    cases = [case for case in load_cases() if case["group"] == group]
    first = email.utils.parsedate_to_datetime(cases[0]["response"]["headers"]["date"]).timestamp()
    clock = ManualClock(first)
    results = []
    ties = _Ties()
    with (
        LocalServer(api_key=KEY, clock=clock, claim_timeout=5, max_attempts=3) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        for case in cases:
            answered = email.utils.parsedate_to_datetime(case["response"]["headers"]["date"])
            clock.set(max(clock(), answered.timestamp() + 0.5))
            request = case["request"]
            headers = {k: KEY_MARKERS.get(v, v) for k, v in request["headers"].items() if v != "<missing>"}
            body = request["body"]
            response = http.request(
                request["method"],
                request["path"],
                params=request["query"] or None,
                headers=headers,
                content=None if body is None else body.encode("utf-8"),
            )
            results.append((case["case"], check_case(case, response, ties)))
    return results


# (group, matched, total) of every replayed group, for the summary line at the end of the run.
MATCH_RATES: list[tuple[str, int, int]] = []


def test_every_group_is_recorded() -> None:
    """The fixture holds the six groups this test replays."""
    assert sorted({case["group"] for case in load_cases()}) == sorted(GROUPS)


@pytest.mark.parametrize("group", GROUPS)
def test_group_matches_recording(group: str) -> None:
    """Every recorded exchange of the group gets the same reply from the local server."""
    results = replay(group)
    failures = {case: problems for case, problems in results if problems}
    matched = len(results) - len(failures)
    MATCH_RATES.append((group, matched, len(results)))
    assert not failures, json.dumps(failures, indent=2, ensure_ascii=False)


def main() -> None:
    total = matched = 0
    for group in GROUPS:
        for case, problems in replay(group):
            total += 1
            matched += not problems
            print(("ok   " if not problems else "DIFF ") + case)
            for problem in problems:
                print("       " + problem)
    print(f"conformance: {matched}/{total} cases match")


if __name__ == "__main__":
    main()

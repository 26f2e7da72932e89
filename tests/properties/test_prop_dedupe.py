"""The client's local dedupe key agrees with the local server's, and both with the real server's."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from taskmanager import _dedupe
from taskmanager.server import _phpjson

from ._strategies import json_values, params, php_round_trip, same_json, sorted_keys

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts.jsonl"


def _server_key(task_type: str, body: bytes) -> str:
    """The key the local server derives from a request body: its own decode, its own encode."""
    decoded = _phpjson.decode(body)
    encoded = _phpjson.encode(decoded["params"])
    assert encoded is not None
    return hashlib.sha256((task_type.strip() + "\0" + encoded).encode()).hexdigest()


def _real_creates() -> list[tuple[str, bytes, str]]:
    cases = []
    for line in TRANSCRIPTS.read_text().splitlines():
        record = json.loads(line)
        data = (record["response"].get("json") or {}).get("data")
        if isinstance(data, dict) and "dedupe_key" in data:
            body = record["request"]["body"]
            cases.append(
                (record["case"], body.encode() if isinstance(body, str) else body, data["dedupe_key"])
            )
    return cases


@pytest.mark.parametrize(
    ("case", "body", "real_key"), _real_creates(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_both_encoders_match_the_real_servers_keys(case: str, body: bytes, real_key: str) -> None:
    """On every create the real server answered, both encoders give the real key."""
    sent = json.loads(body)
    assert _server_key(sent["type"], body) == real_key
    assert _dedupe.dedupe_key(sent["type"], sent["params"]) == real_key


@settings(max_examples=200, deadline=None)
@given(task_type=st.sampled_from(["PrismQ.Test", " padded.type\t", "Café/ü"]), value=params)
@example(task_type="t", value={"a": 1.0, "b": -0.0, "c": {}, "d": {"0": 1, "1": 2}})
@example(task_type="t", value={"x": 1e17, "y": 1e-5, "z": 2**63 - 1, "w": "\u2028/\x01é"})
def test_local_key_equals_local_servers_key(task_type: str, value: dict[str, Any]) -> None:
    """For any sendable params, the client's key equals the one the server derives from the request."""
    canonical = _dedupe.canonical_params(value)
    body = json.dumps({"type": task_type, "params": canonical}).encode()
    assert _dedupe.dedupe_key(task_type, canonical) == _server_key(task_type, body)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_encoders_agree_on_any_json_value(value: Any) -> None:
    """Both PHP encoders print any JSON value (in its given key order) identically."""
    decoded = _phpjson.decode(json.dumps(value))
    assert _dedupe.php_json_encode(value) == _phpjson.encode(decoded)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_encoding_decodes_to_the_php_round_trip_model(value: Any) -> None:
    """Decoding PHP's encoding gives back exactly the documented quirks, nothing else."""
    assert same_json(json.loads(_dedupe.php_json_encode(value)), php_round_trip(value))


@settings(max_examples=100, deadline=None)
@given(value=params)
def test_canonical_params_sorts_keys_and_keeps_values(value: dict[str, Any]) -> None:
    """Canonical params are the same values with keys sorted at every level."""
    assert same_json(_dedupe.canonical_params(value), sorted_keys(value))

"""scripts/fetch_spec.py: download, normalise, and fail on one line."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fetch_spec.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_spec", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch_spec = _load()

DOCUMENT = {"openapi": "3.1.1", "info": {"title": "T", "version": "1"}, "paths": {"/b": {}, "/a": {}}}
# path -> (status, content type, body)
REPLIES: dict[str, tuple[int, str, bytes]] = {
    "/openapi.json": (200, "application/json", json.dumps(DOCUMENT, separators=(",", ":")).encode()),
    "/html": (200, "text/html", b"<html>maintenance</html>"),
    "/missing": (404, "application/json", b'{"success":false,"error":"Endpoint not found"}'),
    "/not-openapi": (200, "application/json", b'{"success":true,"data":[]}'),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, content_type, body = REPLIES[self.path]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port that refuses connections (bound, never listening, so nobody else takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_unreachable_host_is_one_line_and_exit_1(closed_port: int, tmp_path: Path) -> None:
    """A host that cannot be reached gives one line on stderr, no traceback, exit 1, OUT untouched."""
    out = tmp_path / "openapi.json"
    out.write_text("previous\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), f"http://127.0.0.1:{closed_port}/api/openapi.json", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("fetch_spec: cannot reach 127.0.0.1")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "previous\n"


def test_downloads_and_writes_stable_formatting(server_url: str, tmp_path: Path) -> None:
    """The document is written indented, keys in the order served, ending in a newline."""
    out = tmp_path / "openapi.json"
    assert fetch_spec.main([f"{server_url}/openapi.json", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text == json.dumps(DOCUMENT, indent=2) + "\n"
    assert list(json.loads(text)["paths"]) == ["/b", "/a"]
    assert not (tmp_path / "openapi.json.partial").exists()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/html", "did not return JSON"),
        ("/missing", "answered HTTP 404"),
        ("/not-openapi", "did not return an OpenAPI document"),
    ],
)
def test_wrong_replies_fail_on_one_line(
    server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, message: str
) -> None:
    """A reply that is not an OpenAPI document is refused on one line and OUT is not written."""
    out = tmp_path / "openapi.json"
    assert fetch_spec.main([f"{server_url}{path}", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fetch_spec: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Wrong arguments print the usage and exit 2."""
    assert fetch_spec.main(["only-one"]) == 2
    assert "usage" in capsys.readouterr().err


# ------------------------------------------------------------------------------ structure only

ROOT = SCRIPT.parents[1]


def _decorated(value: object, names: bool = False) -> object:
    """``value`` dressed like a published document: prose on every object (but not on name maps)."""
    if isinstance(value, dict):
        out = {
            k: _decorated(v, names=not names and k in fetch_spec.NAME_MAPS and isinstance(v, dict))
            for k, v in value.items()
        }
        if not names:
            out = {
                "summary": "Published summary.",
                **out,
                "description": "Published words, reworded upstream.",
            }
            if "type" in value:
                out["example"] = "an example"
                out["examples"] = ["another"]
        return out
    if isinstance(value, list):
        return [_decorated(v) for v in value]
    return value


def _serve(path: str, document: object) -> None:
    REPLIES[path] = (200, "application/json", json.dumps(document).encode())


def test_unchanged_api_leaves_openapi_json_as_it_is(server_url: str, tmp_path: Path) -> None:
    """The published document (our structure, someone else's prose) gives our openapi.json byte for byte."""
    ours = (ROOT / "openapi.json").read_text(encoding="utf-8")
    published = _decorated(json.loads(ours))
    assert "Published words" in json.dumps(published)
    _serve("/decorated.json", published)
    out = tmp_path / "openapi.json"
    assert fetch_spec.main([f"{server_url}/decorated.json", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == ours


def test_prose_dropped_structure_kept(server_url: str, tmp_path: Path) -> None:
    """Descriptions, summaries and examples go; paths, parameters, schemas (even a property named
    "description") stay."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1", "description": "prose"},
        "paths": {
            "/notes": {
                "get": {
                    "summary": "prose",
                    "description": "prose",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "description": "prose",
                            "schema": {"type": "string", "example": "x"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "prose",
                            "content": {
                                "application/json": {
                                    "examples": {"a": {}},
                                    "schema": {"$ref": "#/components/schemas/Note"},
                                }
                            },
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Note": {
                    "type": "object",
                    "description": "prose",
                    "required": ["description"],
                    "properties": {"description": {"type": "string", "description": "prose"}},
                }
            }
        },
    }
    _serve("/notes.json", document)
    out = tmp_path / "openapi.json"
    assert fetch_spec.main([f"{server_url}/notes.json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": {
            "/notes": {
                "get": {
                    "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}}
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Note": {
                    "type": "object",
                    "required": ["description"],
                    "properties": {"description": {"type": "string"}},
                }
            }
        },
    }


def test_a_real_change_is_a_small_structural_diff(server_url: str, tmp_path: Path) -> None:
    """A new query parameter upstream shows as a few added lines of openapi.json, nothing else."""
    import difflib

    ours = (ROOT / "openapi.json").read_text(encoding="utf-8")
    changed = json.loads(ours)
    changed["paths"]["/tasks"]["get"]["parameters"].append(
        {"name": "claimed_by", "in": "query", "schema": {"type": "string"}}
    )
    _serve("/changed.json", _decorated(changed))
    out = tmp_path / "openapi.json"
    assert fetch_spec.main([f"{server_url}/changed.json", str(out)]) == 0
    diff = [
        line
        for line in difflib.unified_diff(ours.splitlines(), out.read_text(encoding="utf-8").splitlines(), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(diff) <= 10 and any('"claimed_by"' in line for line in diff)
    assert all(line.startswith("+") or line[1:].strip() == "}" for line in diff)  # "}" became "},"

"""The pytest plugin, tested as a user's project would use it (``pytester``).

Each test writes a user's test file, runs pytest on it in a fresh process, and looks at what came
out: the outcome, and the cassettes on disk (so it is visible which configuration was in force).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from taskmanager.pytest_plugin import PLACEHOLDER_URL, REDACTED

pytest_plugins = ["pytester"]

USER_TESTS = """
import asyncio

import pytest

from taskmanager import TaskStatus, Worker

pytestmark = pytest.mark.vcr


def test_sync(taskmanager_client, taskmanager_server):
    taskmanager_client.register_task_type("Demo.Resize", "1.0", {"type": "object"})
    task = taskmanager_client.create_task("Demo.Resize", {"w": 10})
    claimed = taskmanager_client.claim_task("Demo.Resize")
    taskmanager_server.advance(301)  # the claim times out without sleeping
    again = taskmanager_client.claim_task("Demo.Resize")
    assert (claimed.id, again.id, again.attempts) == (task.id, task.id, 2)
    taskmanager_client.complete_task(task.id, worker_id=again.worker_id, result={"w": 20})
    assert taskmanager_client.get_task(task.id).result == {"w": 20}


def test_worker(taskmanager_client):
    taskmanager_client.register_task_type("Demo.Resize", "1.0", {"type": "object"})
    task_id = taskmanager_client.create_task("Demo.Resize", {"w": 1}).id
    worker = Worker(taskmanager_client, concurrency=1, worker_id="w")
    worker.add_handler("Demo.Resize", lambda task: {"done": task.params["w"]})
    assert worker.run(burst=True, handle_signals=False).completed == 1
    assert taskmanager_client.get_task(task_id).status is TaskStatus.COMPLETED


def test_async(async_taskmanager_client):
    async def go():
        await async_taskmanager_client.register_task_type("Demo.Async", "1.0", {"type": "object"})
        return await async_taskmanager_client.create_task("Demo.Async", {"n": 1})

    assert asyncio.run(go()).created is True
"""

# A project with a vcr_config of its own: pytest-recording's precedence makes it win over any
# plugin's; the key must be filtered and the host replaced all the same.
OWN_VCR_CONFIG = """
import pytest

@pytest.fixture(scope="module")
def vcr_config():
    return {"filter_headers": ["user-agent"], "before_record_request": lambda request: request}
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error", *args, timeout=120
    )


def _cassettes(pytester: pytest.Pytester) -> dict[str, bytes]:
    root = pytester.path / "cassettes"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.yaml"))}


def _check_cassettes(cassettes: dict[str, bytes], key_fragment: str) -> None:
    assert sorted(cassettes) == [
        "test_user/test_async.yaml",
        "test_user/test_sync.yaml",
        "test_user/test_worker.yaml",
    ]
    for name, raw in cassettes.items():
        text = raw.decode("utf-8")
        assert key_fragment not in text, name
        assert "127.0.0.1" not in text, name
        for interaction in yaml.safe_load(text)["interactions"]:
            request, response = interaction["request"], interaction["response"]
            assert request["uri"].startswith(PLACEHOLDER_URL + "/"), name
            assert request["headers"]["x-api-key"] == [REDACTED], name
            assert "date" not in {h.lower() for h in response["headers"]}, name


@pytest.mark.parametrize("own_config", [False, True], ids=["default-config", "own-vcr-config"])
def test_record_then_replay_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, own_config: bool
) -> None:
    """Recorded once against the embedded server; replayed with the network blocked and no server."""
    for name in ("TASKMANAGER_API_URL", "TASKMANAGER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    if own_config:
        pytester.makeconftest(OWN_VCR_CONFIG)
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.mkdir("cassettes")
    pytester.makeconftest(
        (OWN_VCR_CONFIG if own_config else "")
        + """
import pytest

@pytest.fixture(scope="module")
def vcr_cassette_dir(request):
    return str(request.config.rootpath / "cassettes" / request.module.__name__)
"""
    )

    recorded = _run(pytester, "--record-mode=once")
    recorded.assert_outcomes(passed=3)
    first = _cassettes(pytester)
    _check_cassettes(first, "recording-key-")
    if own_config:  # the project's own filter applied too
        assert b"user-agent" not in first["test_user/test_sync.yaml"]

    # Replay: network blocked, and any attempt to start a server would need a socket.
    replayed = _run(pytester, "--block-network")
    replayed.assert_outcomes(passed=3)
    assert _cassettes(pytester) == first

    # Re-recording from scratch gives the same bytes: nothing volatile was kept.
    rerecorded = _run(pytester, "--record-mode=rewrite")
    rerecorded.assert_outcomes(passed=3)
    assert _cassettes(pytester) == first


def test_replay_does_not_start_a_server(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a cassette replays, taskmanager_server is a stand-in at the placeholder URL."""
    monkeypatch.delenv("TASKMANAGER_API_URL", raising=False)
    pytester.makepyfile(
        test_probe=f"""
import pytest

@pytest.mark.vcr
def test_probe(taskmanager_server, record_mode):
    assert record_mode == "none"
    assert taskmanager_server.url == "{PLACEHOLDER_URL}"
    assert type(taskmanager_server).__name__ == "ReplayServer"

def test_without_cassette(taskmanager_server):
    assert type(taskmanager_server).__name__ == "LocalServer"
    assert taskmanager_server.url.startswith("http://127.0.0.1:")
"""
    )
    _run(pytester).assert_outcomes(passed=2)


def test_recorded_against_an_api_url_replays_without_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded against TASKMANAGER_API_URL (another server, another key): replays once it is gone."""
    from taskmanager.server import LocalServer

    pytester.makepyfile(test_user=USER_TESTS.replace("taskmanager_server.advance(301)", "pass"))
    pytester.makeconftest("""
import pytest

@pytest.fixture(scope="module")
def vcr_cassette_dir(request):
    return str(request.config.rootpath / "cassettes" / request.module.__name__)
""")
    with LocalServer(api_key="env-secret-key-123") as server:
        port = str(server.port).encode()
        monkeypatch.setenv("TASKMANAGER_API_URL", server.url)
        monkeypatch.setenv("TASKMANAGER_API_KEY", server.api_key)
        # the claim does not time out here: the second claim of test_sync finds nothing
        result = _run(pytester, "--record-mode=once", "-k", "not test_sync")
        result.assert_outcomes(passed=2, deselected=1)
    monkeypatch.delenv("TASKMANAGER_API_URL")
    monkeypatch.delenv("TASKMANAGER_API_KEY")
    cassettes = _cassettes(pytester)
    assert sorted(cassettes) == ["test_user/test_async.yaml", "test_user/test_worker.yaml"]
    for raw in cassettes.values():
        assert b"env-secret-key-123" not in raw and port not in raw and b"127.0.0.1" not in raw
    _run(pytester, "--block-network", "-k", "not test_sync").assert_outcomes(passed=2, deselected=1)


def test_plugin_is_registered_by_the_entry_point(pytester: pytest.Pytester) -> None:
    """Installed package, no conftest: the fixtures are there; -p no:taskmanager removes them."""
    pytester.makepyfile(
        test_fixtures="def test_it(taskmanager_client):\n    assert taskmanager_client.health_check().ok\n"
    )
    _run(pytester).assert_outcomes(passed=1)
    _run(pytester, "-p", "no:taskmanager").assert_outcomes(errors=1)


def test_plain_vcrpy_helper(tmp_path: Path) -> None:
    """vcr_config(url) gives plain vcrpy the same filters."""
    import vcr

    from taskmanager import TaskManagerClient
    from taskmanager.pytest_plugin import vcr_config
    from taskmanager.server import LocalServer

    with LocalServer(api_key="plain-vcr-secret") as server:
        recorder = vcr.VCR(**vcr_config(server.url))
        with (
            recorder.use_cassette(str(tmp_path / "c.yaml")),
            TaskManagerClient(api_url=server.url, api_key=server.api_key) as client,
        ):
            client.health_check()
    text = (tmp_path / "c.yaml").read_text("utf-8")
    assert "plain-vcr-secret" not in text and PLACEHOLDER_URL + "/health" in text and REDACTED in text
    assert "127.0.0.1" not in text

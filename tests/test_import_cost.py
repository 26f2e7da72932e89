"""What importing a public name loads, and what it leaves for first use.

Each case runs in a fresh interpreter, since this process has loaded everything already. The
time these imports take is measured by the benchmark (``scripts/bench_import.py``), not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Loaded by httpx's transport when the first pool is built, and by the sync client's deadline.
HTTP_CORE = ["httpcore", "h11", "taskmanager._sync_deadline"]
# Only an outbox file needs SQLite; only the local server needs the generated bindings.
FILE_ONLY = ["sqlite3", "taskmanager_api", "taskmanager._bindings", "taskmanager.server"]

_REPORT = """
import json, sys
print(json.dumps({{"at_import": AT_IMPORT, "after_use": sorted(m for m in {watched!r} if m in sys.modules)}}))
"""


def _loaded(code: str, watched: list[str]) -> tuple[list[str], list[str]]:
    """Which of ``watched`` are loaded after ``code``'s first line, and after all of it.

    ``code`` starts with the import under test; the rest uses the feature. The first line's
    result is recorded before the rest runs.
    """
    first, _, rest = textwrap.dedent(code).strip().partition("\n")
    script = "\n".join(
        [
            first,
            "import sys as _sys",
            f"AT_IMPORT = sorted(m for m in {watched!r} if m in _sys.modules)",
            rest,
            _REPORT.format(watched=watched),
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    return found["at_import"], found["after_use"]


def test_sync_client_loads_httpcore_when_it_builds_its_pool() -> None:
    at_import, after_use = _loaded(
        """
        from taskmanager import TaskManagerClient
        client = TaskManagerClient(api_url="http://127.0.0.1:9/api", api_key="k")
        client.close()
        """,
        [*HTTP_CORE, *FILE_ONLY, "subprocess", "asyncio"],
    )
    assert at_import == []
    assert after_use == sorted(HTTP_CORE)


def test_async_client_loads_httpcore_with_its_first_call() -> None:
    # The first call builds the pool; a local server that hangs up gives it a quick answer.
    at_import, after_use = _loaded(
        """
        from taskmanager import AsyncTaskManagerClient
        import asyncio, socket, threading
        from taskmanager import TaskManagerConfig, TaskManagerError

        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def hang_up():
            for _ in range(5):
                conn, _ = server.accept()
                conn.close()

        threading.Thread(target=hang_up, daemon=True).start()

        async def main():
            config = TaskManagerConfig(api_url=f"http://127.0.0.1:{port}/api", api_key="k", retry_attempts=0)
            async with AsyncTaskManagerClient(config) as client:
                try:
                    await client.health_check()
                except TaskManagerError:
                    pass

        asyncio.run(main())
        """,
        [*HTTP_CORE, *FILE_ONLY, "subprocess", "asyncio"],
    )
    assert at_import == []
    # asyncio imports subprocess itself; a first request loads the generated bindings; the sync
    # client's deadline (and the local server, and SQLite) stay unloaded.
    assert after_use == sorted(
        ["httpcore", "h11", "asyncio", "subprocess", "taskmanager_api", "taskmanager._bindings"]
    )


def test_worker_loads_sqlite3_only_for_an_outbox_file(tmp_path: Path) -> None:
    path = str(tmp_path / "outbox.db")
    at_import, after_use = _loaded(
        f"""
        from taskmanager import Worker
        from taskmanager._worker_outbox_store import open_store
        open_store(None).close()
        import sys
        assert "sqlite3" not in sys.modules, "an outbox in memory loaded sqlite3"
        open_store({path!r}).close()
        """,
        [*HTTP_CORE, *FILE_ONLY],
    )
    assert at_import == []
    assert after_use == ["sqlite3"]

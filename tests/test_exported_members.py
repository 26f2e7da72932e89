"""The public surface: ``__all__`` is sorted, complete and importable."""

from __future__ import annotations

import taskmanager


def test_all_is_sorted_and_unique() -> None:
    """__all__ is sorted and lists each name once."""
    assert taskmanager.__all__ == sorted(set(taskmanager.__all__))


def test_all_names_exist() -> None:
    """Every name in __all__ can be imported from the package."""
    for name in taskmanager.__all__:
        assert hasattr(taskmanager, name), name


def test_all_is_complete() -> None:
    """Every public object defined in the package's modules is listed in __all__."""
    exported = set(taskmanager.__all__)
    public = {
        name
        for name, value in vars(taskmanager).items()
        if not name.startswith("_") and (getattr(value, "__module__", "") + ".").startswith("taskmanager.")
    }
    assert public <= exported, public - exported


def test_contract_names_present() -> None:
    """The names PrismQ code and the worker runtime import are all there."""
    contract = {
        "TaskManagerClient", "AsyncTaskManagerClient", "TaskManagerConfig", "ClaimPolicy", "TaskStatus",
        "Health", "TaskType", "CreatedTask", "ClaimedTask", "Task", "TaskSummary", "CompletionOutcome",
        "CompletionStatus", "ProgressUpdate", "TaskManagerError", "TaskManagerAPIError",
        "TaskManagerAuthError",
        "TaskManagerValidationError", "TaskManagerNotFoundError", "TaskClaimedByAnotherWorkerError",
        "TaskNotClaimedError", "TaskManagerRateLimitError", "TaskManagerServerError",
        "TaskManagerConnectionError", "TaskManagerEventLoopError", "TaskManagerTimeoutError",
        "TaskManagerProtocolError",
        "DuplicateTaskError", "TaskFailedError", "WaitTimeoutError",
    }  # fmt: skip
    assert contract <= set(taskmanager.__all__)


def test_import_stays_light() -> None:
    """Beyond httpx, importing the package loads no generated bindings, server, click or asyncio.

    (httpx itself imports click when its command-line extras are installed.)
    """
    import subprocess
    import sys

    code = (
        "import sys, httpx; before = set(sys.modules); import taskmanager; "
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('taskmanager_api', 'click', 'dateutil', 'asyncio') or m.startswith('taskmanager.server')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_clients_load_on_first_use() -> None:
    """`import taskmanager` does not load httpx; the first use of a client class does."""
    import subprocess
    import sys

    code = (
        "import sys, taskmanager; before = 'httpx' in sys.modules; "
        "from taskmanager import TaskManagerClient, AsyncTaskManagerClient; "
        "print(before, 'httpx' in sys.modules, TaskManagerClient.__name__, "
        "'TaskManagerClient' in dir(taskmanager))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "TaskManagerClient", "True"]

"""The public surface: ``__all__`` is sorted, complete and importable."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import taskmanager


def _printed(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (so that nothing is imported yet)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


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
    code = (
        "import sys, httpx; before = set(sys.modules); import taskmanager; "
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('taskmanager_api', 'click', 'dateutil', 'asyncio') or m.startswith('taskmanager.server')))"
    )
    out = _printed(code)
    assert out.strip() == "[]"


def test_clients_load_on_first_use() -> None:
    """`import taskmanager` does not load httpx; the first use of a client class does."""
    code = (
        "import sys, taskmanager; before = 'httpx' in sys.modules; "
        "from taskmanager import TaskManagerClient, AsyncTaskManagerClient; "
        "print(before, 'httpx' in sys.modules, TaskManagerClient.__name__, "
        "'TaskManagerClient' in dir(taskmanager))"
    )
    out = _printed(code)
    assert out.split() == ["False", "True", "TaskManagerClient", "True"]


def _init_source() -> ast.Module:
    return ast.parse(Path(taskmanager.__file__).read_text(encoding="utf-8"))


def _type_checking_imports() -> set[str]:
    """The names ``taskmanager/__init__.py`` imports for type checkers (under ``if TYPE_CHECKING:``)."""
    tree = _init_source()
    blocks = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    return {
        alias.asname or alias.name
        for block in blocks
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_public_name_is_loaded_from_its_module_on_first_use() -> None:
    """__all__, the names imported for type checkers and the table of lazy names agree, and each
    name is the object its module defines."""
    import importlib

    lazy: dict[str, str] = taskmanager._LAZY
    assert set(lazy) == set(taskmanager.__all__) == _type_checking_imports()
    for name, module in lazy.items():
        assert getattr(taskmanager, name) is getattr(importlib.import_module(module, "taskmanager"), name)


def test_import_alone_loads_no_submodule() -> None:
    """`import taskmanager` loads none of its modules (nor attrs); an error class loads only the errors."""
    code = (
        "import sys; before = set(sys.modules); import taskmanager; "
        "loaded = lambda: sorted(m for m in set(sys.modules) - before "
        "if m.startswith('taskmanager.') or m.split('.')[0] in ('attr', 'attrs', 'httpx')); "
        "print(loaded()); taskmanager.TaskManagerError; print(loaded())"
    )
    out = _printed(code)
    assert out.splitlines() == ["[]", "['taskmanager._errors']"]


def test_type_checkers_do_not_see_the_lazy_getattr() -> None:
    """The module __getattr__ is defined only at run time: a type checker that saw it would accept
    any name (`from taskmanager import Tpyo`); it reads the TYPE_CHECKING imports instead."""
    tree = _init_source()
    top_level = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    run_time_only = [
        n.name
        for block in tree.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "not TYPE_CHECKING"
        for n in block.body
        if isinstance(n, ast.FunctionDef)
    ]
    assert "__getattr__" not in top_level and run_time_only == ["__getattr__"]


def test_the_pytest_plugin_loads_no_client_until_a_fixture_needs_one() -> None:
    """pytest loads the plugin in every session: by itself it imports no client, httpx or asyncio."""
    code = (
        "import sys, pytest; before = set(sys.modules); import taskmanager.pytest_plugin; "
        "print(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in ('httpx', 'asyncio', 'attr', 'attrs') or m.startswith('taskmanager._')))"
    )
    out = _printed(code)
    assert out.strip() == "[]"

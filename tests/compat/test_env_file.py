"""Settings from a .env file, as the seeds set them up; real environment variables win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from taskmanager import TaskManagerClient, TaskManagerConfig, TaskManagerValidationError
from taskmanager.server import LocalServer


def write_env(path: Path, url: str, key: str) -> Path:
    path.write_text(
        f"# TaskManager API Configuration\nTASKMANAGER_API_URL={url}\nTASKMANAGER_API_KEY={key}\nOTHER=1\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, with no TASKMANAGER_ENV_FILE pointing elsewhere."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKMANAGER_ENV_FILE")
    return tmp_path


def test_dot_env_in_the_current_directory_configures_the_client(in_tmp: Path, server: LocalServer) -> None:
    """A .env beside the program: TaskManagerClient() reaches that server with that key."""
    write_env(in_tmp / ".env", server.url, server.api_key)
    with TaskManagerClient() as client:
        assert client.config.api_url == server.url and client.config.api_key == server.api_key
        client.register_task_type("PrismQ.Test.Env.Setup", "1.0.0", {"type": "object"})  # 401 without the key


def test_real_environment_wins_over_the_file(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable set in the environment beats the file; the file fills the rest."""
    write_env(in_tmp / ".env", "http://127.0.0.1:1/api", "file-key")
    monkeypatch.setenv("TASKMANAGER_API_URL", "http://127.0.0.1:2/api")
    config = TaskManagerConfig.from_env()
    assert (config.api_url, config.api_key) == ("http://127.0.0.1:2/api", "file-key")
    assert "OTHER" not in os.environ and "TASKMANAGER_API_KEY" not in os.environ  # environment untouched


def test_another_file_by_variable_or_argument(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TASKMANAGER_ENV_FILE or env_file= name another file (e.g. PrismQ_WD/.env)."""
    (in_tmp / "PrismQ_WD").mkdir()
    named = write_env(in_tmp / "PrismQ_WD" / ".env", "http://127.0.0.1:3/api", "wd-key")
    write_env(in_tmp / ".env", "http://127.0.0.1:4/api", "cwd-key")
    assert TaskManagerConfig.from_env(env_file=named).api_key == "wd-key"
    monkeypatch.setenv("TASKMANAGER_ENV_FILE", str(named))
    assert TaskManagerConfig.from_env().api_url == "http://127.0.0.1:3/api"
    explicit = TaskManagerConfig.from_env({"TASKMANAGER_ENV_FILE": str(named)})
    assert explicit.api_key == "wd-key"


def test_no_file_is_read_for_an_explicit_environ(in_tmp: Path) -> None:
    """from_env(environ) with no file named ignores ./.env (tests stay hermetic)."""
    write_env(in_tmp / ".env", "http://127.0.0.1:5/api", "cwd-key")
    assert TaskManagerConfig.from_env({}).api_key is None


def test_no_file_means_defaults(in_tmp: Path) -> None:
    """Without any file the defaults hold."""
    assert TaskManagerConfig.from_env().api_key is None


def test_a_named_file_that_is_missing_is_an_error(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A named file that is not there is a clear error, not a silent fallback to production."""
    with pytest.raises(TaskManagerValidationError, match="does not exist"):
        TaskManagerConfig.from_env(env_file=in_tmp / "nope.env")
    monkeypatch.setenv("TASKMANAGER_ENV_FILE", str(in_tmp))  # a folder
    with pytest.raises(TaskManagerValidationError, match="not a file"):
        TaskManagerConfig.from_env()


def test_unreadable_file_does_not_quote_its_content(in_tmp: Path) -> None:
    """A file that is not UTF-8 is refused without showing what is in it."""
    bad = in_tmp / "bad.env"
    bad.write_bytes(b"TASKMANAGER_API_KEY=s\xe9cret-key\n")
    with pytest.raises(TaskManagerValidationError) as info:
        TaskManagerConfig.from_env(env_file=bad)
    assert "cret" not in str(info.value)


def test_values_are_literal(in_tmp: Path) -> None:
    """${...} in a value is kept as written (an API key may contain a dollar sign)."""
    (in_tmp / ".env").write_text('TASKMANAGER_API_KEY="a$b${HOME}c"\n', encoding="utf-8")
    assert TaskManagerConfig.from_env().api_key == "a$b${HOME}c"

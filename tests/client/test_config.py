"""Client settings: defaults, environment, validation, and a repr without the key."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from taskmanager import TaskManagerConfig, TaskManagerValidationError


def test_defaults() -> None:
    """The defaults point at the real API with the seed's timeout and retries, in UTC."""
    config = TaskManagerConfig()
    assert config.api_url == "https://api.prismq.nomoos.cz/api"
    assert (config.api_key, config.timeout, config.retry_attempts) == (None, 30.0, 3)
    assert config.server_timezone is dt.UTC


def test_from_env_and_overrides() -> None:
    """from_env reads the two variables; keyword overrides win."""
    env = {"TASKMANAGER_API_URL": "http://127.0.0.1:9/api/", "TASKMANAGER_API_KEY": "envkey"}
    config = TaskManagerConfig.from_env(env)
    assert (config.api_url, config.api_key) == ("http://127.0.0.1:9/api", "envkey")
    assert TaskManagerConfig.from_env(env, api_key="other").api_key == "other"
    assert TaskManagerConfig.from_env({}).api_key is None


def test_repr_hides_key() -> None:
    """The key never shows in repr or str."""
    config = TaskManagerConfig(api_key="s3cr3t-key")
    assert "s3cr3t-key" not in repr(config)
    assert "s3cr3t-key" not in str(config)
    assert "***" in repr(config)


def test_frozen_and_evolve() -> None:
    """Settings are frozen; evolve makes a changed copy."""
    config = TaskManagerConfig(timeout=5)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.timeout = 1.0  # type: ignore[misc]
    assert attrs.evolve(config, timeout=2).timeout == 2.0


def test_timezone_names() -> None:
    """The server zone can be given by name."""
    zone = TaskManagerConfig(server_timezone="Europe/Prague").server_timezone  # type: ignore[arg-type]
    assert dt.datetime(2026, 7, 1, tzinfo=zone).utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"timeout": "soon"},
        {"timeout": None},
        {"retry_backoff": [1]},
        {"retry_max_delay": "x"},
        {"retry_attempts": -1},
        {"retry_attempts": True},
        {"server_timezone": "Nowhere/Else"},
    ],
)
def test_bad_values_refused(kwargs: dict[str, object]) -> None:
    """Nonsense settings raise a validation error."""
    with pytest.raises(TaskManagerValidationError):
        TaskManagerConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["klíč-secret", "secret\n", " secret", 42])
def test_bad_key_refused_without_echo(key: object) -> None:
    """A key that cannot go in a header is refused, and the message does not repeat it."""
    with pytest.raises(TaskManagerValidationError) as info:
        TaskManagerConfig(api_key=key)  # type: ignore[arg-type]
    assert "secret" not in str(info.value)

"""The worker's wait rules and default ids: pure functions."""

from __future__ import annotations

from taskmanager._worker_backoff import down_delay, idle_delay
from taskmanager._worker_id import default_worker_id


def test_idle_delay_doubles_up_to_poll_interval() -> None:
    """Idle waits start small and double until they reach poll_interval."""
    delays, previous = [], None
    for _ in range(6):
        previous = idle_delay(previous, 3.0)
        delays.append(previous)
    assert delays == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_idle_delay_never_exceeds_a_short_poll_interval() -> None:
    """A poll_interval below the starting wait caps the very first wait."""
    assert idle_delay(None, 0.1) == 0.1


def test_down_delay_doubles_caps_and_jitters_down() -> None:
    """Outage waits double per failure up to the cap; jitter only shortens them, by 20 % at most."""
    assert [down_delay(n, 10.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert down_delay(3, 10.0, rand=0.5) == 3.6
    assert down_delay(10_000, 10.0) == 10.0  # a long outage does not overflow


def test_down_delay_honours_retry_after() -> None:
    """The server's Retry-After hint is a floor."""
    assert down_delay(1, 10.0, retry_after=7.0) == 7.0
    assert down_delay(5, 10.0, retry_after=2.0) == 10.0


def test_default_worker_id_parts() -> None:
    """Ids are host-pid-suffix, with odd host characters replaced and long hosts cut."""
    assert default_worker_id(host="box 1/a", pid=42, suffix="abc123") == "box-1-a-42-abc123"
    assert default_worker_id(host="h" * 100, pid=1, suffix="x") == "h" * 40 + "-1-x"
    assert default_worker_id() != default_worker_id()


def test_down_delay_caps_retry_after_at_down_cap() -> None:
    """A huge, infinite or nonsense Retry-After waits at most down_cap."""
    assert down_delay(1, 30.0, retry_after=86_400.0) == 30.0
    assert down_delay(1, 30.0, retry_after=float("inf")) == 30.0
    assert down_delay(1, 30.0, retry_after=float("nan")) == 1.0
    assert down_delay(1, 30.0, retry_after=-5.0) == 1.0

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskmanager import set_testing


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def no_sleep() -> Iterator[None]:
    """Retry and poll waits return at once."""
    set_testing(True)
    yield
    set_testing(False)

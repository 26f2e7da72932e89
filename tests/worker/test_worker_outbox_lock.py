"""The outbox file's lock (``<outbox>.lock``), its Windows branch run here with a fake msvcrt."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from taskmanager import _worker_outbox_store as store_module
from taskmanager._errors import TaskManagerValidationError


class FakeMsvcrt:
    """``msvcrt.locking`` as Windows behaves: one byte from the file position, held per file
    until the holder's descriptor closes; a held byte is refused with EACCES."""

    def __init__(self) -> None:
        self.held: dict[int, int] = {}  # inode -> holder's descriptor
        self.calls: list[tuple[int, int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append((os.lseek(fd, 0, os.SEEK_CUR), mode, nbytes))
        inode = os.fstat(fd).st_ino
        if inode in self.held:
            raise PermissionError(errno.EACCES, "Permission denied")
        self.held[inode] = fd

    def closing(self, fd: int) -> None:
        """The descriptor ``fd`` closes: whatever it held is free."""
        self.held = {inode: holder for inode, holder in self.held.items() if holder != fd}


@pytest.fixture
def fake_windows(monkeypatch: pytest.MonkeyPatch) -> FakeMsvcrt:
    fake = FakeMsvcrt()
    close = os.close

    def closing(fd: int) -> None:
        fake.closing(fd)
        close(fd)

    monkeypatch.setattr(store_module.os, "close", closing)
    monkeypatch.setattr(
        store_module, "_try_lock", lambda fd: store_module._windows_try_lock(fd, fake.locking)
    )
    return fake


def test_windows_lock_refuses_a_second_worker_and_frees_at_close(
    tmp_path: Path, fake_windows: FakeMsvcrt
) -> None:
    path = tmp_path / "outbox.db"
    first = store_module.FileStore(path)
    with pytest.raises(TaskManagerValidationError, match=r"in use by another running worker \(pid \d+\)"):
        store_module.FileStore(path)
    # The first byte, without waiting, from position 0 (where a just-opened descriptor is).
    assert fake_windows.calls == [(0, 2, 1), (0, 2, 1)]
    first.close()
    store_module.FileStore(path).close()  # the lock went with the first store's descriptor


def test_windows_lock_other_errors_are_a_clear_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locking(fd: int, mode: int, nbytes: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(store_module, "_try_lock", lambda fd: store_module._windows_try_lock(fd, locking))
    with pytest.raises(TaskManagerValidationError, match="cannot be locked: Bad file descriptor"):
        store_module.FileStore(tmp_path / "outbox.db")


def test_windows_lock_holder_unreadable_still_refuses(
    tmp_path: Path, fake_windows: FakeMsvcrt, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows the holder's locked byte cannot be read: the refusal just names no pid."""
    path = tmp_path / "outbox.db"
    first = store_module.FileStore(path)

    def locked_read(fd: int, n: int) -> bytes:
        raise PermissionError(errno.EACCES, "locked region")

    monkeypatch.setattr(store_module.os, "read", locked_read)
    with pytest.raises(
        TaskManagerValidationError, match=r"in use by another running worker; give"
    ) as refused:
        store_module.FileStore(path)
    assert "pid" not in str(refused.value)
    first.close()


def test_posix_lock_without_locking_support_is_a_clear_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system without flock (ENOLCK) is a TaskManagerValidationError, not a raw OSError."""

    def flock(fd: int, flags: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(store_module, "_try_lock", lambda fd: store_module._posix_try_lock(fd, flock, 0))
    with pytest.raises(TaskManagerValidationError, match="cannot be locked: No locks available"):
        store_module.FileStore(tmp_path / "outbox.db")

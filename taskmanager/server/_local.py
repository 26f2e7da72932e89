"""Starting the server: in-process (``LocalServer``) or in the foreground (``serve``)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from ._app import App
from ._http import ACCESS_LOGGER, HTTPServer
from ._store import Store

__all__ = ["DEFAULT_DB", "LocalServer", "ManualClock", "ServerStartError", "serve"]

DEFAULT_DB = "taskmanager.db"
_API_KEY_ENV = "TASKMANAGER_API_KEY"
TIE_SEED_ENV = "TASKMANAGER_TIE_SEED"
_MINIMAL_OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "PrismQ TaskManager API (local server)", "version": "0.0.0"},
    "paths": {},
}


class ServerStartError(RuntimeError):
    """The server could not start: the address is taken, the database cannot be opened..."""


class ManualClock:
    """A clock that only moves when told to, for claim-timeout tests without sleeping.

    >>> clock = ManualClock(1_700_000_000)
    >>> clock.advance(301)
    1700000301.0
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        """Jump to the unix time ``when`` (not earlier than now)."""
        with self._lock:
            if when < self._now:
                raise ValueError("a clock does not go backwards")
            self._now = float(when)

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"


def _openapi_loader() -> Callable[[], bytes]:
    """Serve the project's openapi.json when the package runs from a checkout."""
    cache: list[bytes] = []

    def load() -> bytes:
        if not cache:
            candidate = Path(__file__).resolve().parents[2] / "openapi.json"
            try:
                cache.append(candidate.read_bytes())
            except OSError:
                cache.append(json.dumps(_MINIMAL_OPENAPI, separators=(",", ":")).encode())
        return cache[0]

    return load


def tie_seed_from(seed: int | None) -> int:
    """The seed of the tie order: as given, else $TASKMANAGER_TIE_SEED, else a random one."""
    if seed is not None:
        return seed
    text = os.environ.get(TIE_SEED_ENV, "").strip()
    if text:
        try:
            return int(text)
        except ValueError:
            raise ServerStartError(f"{TIE_SEED_ENV} must be an integer, got {text!r}") from None
    return secrets.randbelow(2**32)


def _build(
    *,
    host: str,
    port: int,
    db: str,
    api_key: str,
    claim_timeout: int,
    max_attempts: int,
    clock: Callable[[], float],
    tie_seed: int,
) -> HTTPServer:
    if claim_timeout < 1 or max_attempts < 1:
        raise ValueError(
            f"claim_timeout and max_attempts must be at least 1, got {claim_timeout} and {max_attempts}"
        )
    try:
        store = Store(
            db, clock=clock, claim_timeout=claim_timeout, max_attempts=max_attempts, tie_seed=tie_seed
        )
    except sqlite3.Error as err:
        raise ServerStartError(f"cannot open the database {db} for writing: {err}") from err
    try:
        return HTTPServer((host, port), App(store, api_key, _openapi_loader()))
    except OSError as err:
        store.close()
        raise ServerStartError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    except BaseException:
        store.close()
        raise


class LocalServer:
    """The local TaskManager server on a free loopback port, for tests and scripts.

    >>> with LocalServer(api_key="k", clock=ManualClock()) as server:  # doctest: +SKIP
    ...     server.url          # "http://127.0.0.1:<port>/api"
    ...     server.advance(301)  # the ManualClock moves; claims older than the timeout expire
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        db: str | os.PathLike[str] = ":memory:",
        claim_timeout: int = 300,
        max_attempts: int = 3,
        clock: Callable[[], float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tie_seed: int | None = None,
    ) -> None:
        self.api_key = api_key if api_key is not None else secrets.token_urlsafe(24)
        self.db = os.fspath(db)
        self.claim_timeout = claim_timeout
        self.max_attempts = max_attempts
        self.clock: Callable[[], float] = clock if clock is not None else time.time
        self.host = host
        self._port = port
        # Same-second tasks are listed in an order that changes per query; this seed replays it.
        self.tie_seed = tie_seed_from(tie_seed)
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` without the ``/api`` prefix."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base a client uses: ``http://HOST:PORT/api``."""
        return f"{self.base_url}/api"

    def advance(self, seconds: float) -> float:
        """Move a :class:`ManualClock` forward (claims time out without sleeping)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs LocalServer(clock=ManualClock())")
        return self.clock.advance(seconds)

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the server is already running")
        self._server = _build(
            host=self.host,
            port=self._port,
            db=self.db,
            api_key=self.api_key,
            claim_timeout=self.claim_timeout,
            max_attempts=self.max_attempts,
            clock=self.clock,
            tie_seed=self.tie_seed,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="taskmanager-local-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close()
        if thread is not None:
            thread.join()
        server.app.store.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "stopped" if self._server is None else self.url
        return f"<LocalServer {where} db={self.db!r} tie_seed={self.tie_seed}>"


def key_file(db: str) -> Path | None:
    """Where a generated key is kept for a database file (beside it), or None for ``:memory:``."""
    if db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db + ".key")


def _kept_key(path: Path) -> str | None:
    """The key kept in ``path`` (refused if others may read it), or None if there is none."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ServerStartError(f"cannot read the key file {path}: {err.strerror or err}") from err
    if mode & 0o077:
        raise ServerStartError(f"the key file {path} may be read by others: chmod 600 it")
    if not text:
        raise ServerStartError(f"the key file {path} is empty: delete it to generate a new key")
    return text


def _keep_key(path: Path, key: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise ServerStartError(f"cannot write the key file {path}: {err.strerror or err}") from err
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(key + "\n")


def _log_to_stderr(access_log: bool) -> list[logging.Handler]:
    """Server errors (with tracebacks) and, if asked, one line per request, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    server_logger = logging.getLogger("taskmanager.server")
    server_logger.addHandler(handler)
    if server_logger.level == logging.NOTSET or server_logger.level > logging.WARNING:
        server_logger.setLevel(logging.WARNING)
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.INFO if access_log else logging.WARNING)
    return [handler]


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    db: str | os.PathLike[str] = DEFAULT_DB,
    api_key: str | None = None,
    claim_timeout: int = 300,
    max_attempts: int = 3,
    announce: Callable[[str], None] | None = None,
    tie_seed: int | None = None,
    access_log: bool = False,
    show_key: bool = False,
) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM.

    Without ``api_key`` the key comes from ``TASKMANAGER_API_KEY``, else from the key file
    beside the database (``<db>.key``, mode 0600), else it is generated, kept in that file and
    passed to ``announce`` once. A kept key is announced again only with ``show_key``.
    Server errors go to stderr with their traceback; ``access_log`` adds a line per request.
    """
    say = announce or (lambda _line: None)
    db_text = os.fspath(db)
    key = api_key or os.environ.get(_API_KEY_ENV)
    kept_in = key_file(db_text) if not key else None
    shown = "given"
    if not key:
        kept = _kept_key(kept_in) if kept_in is not None else None
        shown = "kept" if kept else "generated"
        key = kept or secrets.token_urlsafe(24)
    seed = tie_seed_from(tie_seed)
    server = _build(
        host=host,
        port=port,
        db=os.fspath(db),
        api_key=key,
        claim_timeout=claim_timeout,
        max_attempts=max_attempts,
        clock=time.time,
        tie_seed=seed,
    )
    if shown == "generated" and kept_in is not None:
        try:
            _keep_key(kept_in, key)
        except ServerStartError:
            server.close()
            server.app.store.close()
            raise
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    say(f"TaskManager local server on http://{bound_host}:{bound_port}/api (db: {db_text})")
    if shown == "generated":
        where = f"kept in {kept_in}" if kept_in is not None else "not kept: the database is in memory"
        say(f"API key (generated, shown once; {where}): {key}")
    elif shown == "kept":
        say(f"API key: the one kept in {kept_in}" + (f": {key}" if show_key else " (--show-key prints it)"))
    elif show_key:
        say(f"API key: {key}")
    say(f"Same-second tasks are listed in a varying order (replay it with --tie-seed {seed})")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    handlers = _log_to_stderr(access_log)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        server.app.store.close()
        for handler in handlers:
            logging.getLogger("taskmanager.server").removeHandler(handler)

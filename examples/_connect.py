"""Shared by the examples: a client for TASKMANAGER_API_URL, or for an embedded local server.

With TASKMANAGER_API_URL (and TASKMANAGER_API_KEY) set, the examples talk to that server;
otherwise each starts the local server in-process (in memory, gone when the example ends).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from taskmanager import TaskManagerClient

SCRAPE_TYPE = "Example.YouTube.Channel.Scrape"
SCRAPE_SCHEMA = {
    "type": "object",
    "properties": {
        # The server runs preg_match('/' . pattern . '/'): a slash in a pattern must be escaped.
        "channel_url": {"type": "string", "pattern": "^https:\\/\\/"},
        "top_n": {"type": "integer", "minimum": 1, "maximum": 500},
    },
    "required": ["channel_url"],
}


def embedded() -> bool:
    return not os.environ.get("TASKMANAGER_API_URL")


@contextlib.contextmanager
def connect() -> Iterator[TaskManagerClient]:
    if not embedded():
        with TaskManagerClient() as client:  # reads TASKMANAGER_API_URL / TASKMANAGER_API_KEY
            yield client
        return
    from taskmanager.server import LocalServer

    with LocalServer() as server, TaskManagerClient(api_url=server.url, api_key=server.api_key) as client:
        print(f"(TASKMANAGER_API_URL is not set: using an embedded local server at {server.url})")
        yield client

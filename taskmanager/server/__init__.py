"""The local TaskManager server: the real server's API on one machine, stdlib + SQLite only.

It answers exactly as the real PHP + MariaDB TaskManager does (envelopes, status codes, messages,
string-vs-integer ids, 0/1 booleans, ``YYYY-MM-DD HH:MM:SS`` UTC timestamps, the parameter
validator and the dedupe key), including the bugs a client has to cope with, so that cassettes
recorded against it teach a client what the real server does. It is an independent
implementation: it imports nothing from the client.

Start it in-process::

    from taskmanager.server import LocalServer, ManualClock

    with LocalServer(api_key="k", clock=ManualClock()) as server:
        server.url        # http://127.0.0.1:<port>/api
        server.advance(301)

or from a shell: ``taskmanager serve`` / ``python -m taskmanager.server`` (``--help``).

Deliberate differences from the real server
-------------------------------------------
* ``GET /task-types`` lists the types. The real server answers every such request with 500
  ``Invalid select field: COALESCE(t.usage_count, 0) as usage_count``; a local server that did
  the same would be useless for listing. Here it returns ``{"items": [...], "count": n}``, each
  item a type (as ``GET /task-types/{name}`` shows it) plus ``usage_count`` (tasks of that type).
  Query: ``active_only`` (``true``/``1``), ``sort_by`` (id, name, version, created_at,
  updated_at, usage_count; default name), ``sort_order`` (ASC/DESC); an unknown value is a 400
  with the allowed values, worded like the claim endpoint's.
* ``GET /openapi.json`` serves the project's own ``openapi.json`` (the corrected description the
  client is generated from) when run from a checkout, else a minimal document, not the published
  document the real server sends.

Not reproduced, because they are failures of the real server under load, not behaviour:
``SQLSTATE[40001]`` deadlock 500s, ``SQLSTATE[23000]`` duplicate-entry 500s on racing identical
creates (here exactly one is created and the others get the ``deduplicated`` reply), and
non-atomic double completion (here the second completion is ``Task is not in claimed state``).
The optional rate limit (429) and body size limit (413) are not implemented; they were off on
the recorded server.
The ``X-Powered-By`` header is not sent, and connections are kept alive (HTTP/1.1).

Storage: SQLite in WAL mode (``synchronous=NORMAL``: a crash of the process loses nothing, a
power cut may lose the last transactions), SQLite 3.35 or newer. One server process per database
file: the server keeps task types in memory and serializes writes with an in-process lock.

Inferred where the recordings are silent: the order of checks when several fields are wrong,
the validator's behaviour for keywords it was not observed with, and the type-name folding
(case and accents ignored, like MySQL's ``utf8mb4_unicode_ci``; the local folding is Unicode
NFKD without combining marks, casefolded).
"""

from ._local import DEFAULT_DB, LocalServer, ManualClock, ServerStartError, serve

__all__ = ["DEFAULT_DB", "LocalServer", "ManualClock", "ServerStartError", "serve"]

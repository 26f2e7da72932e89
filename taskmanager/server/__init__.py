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
The optional rate limit (429) is not implemented; it was off on the recorded server.
The ``X-Powered-By`` header is not sent, and connections are kept alive (HTTP/1.1).

Limits (the real server leaves these to PHP and its web server; the values here are the
constants ``_http.LIMITS`` and ``_schema.PATTERN_LIMITS``):

* connections: 128 open at once. At the cap the connection idle, still sending its head or
  having a refused body discarded, for the longest time, is closed to make room; when every
  one is serving a request with the key, a newcomer gets ``503`` with ``Retry-After: 1``.
  OPTIONS and the open paths (``/health``, ``/openapi.json``) answer from the head and close
  the connection if a body was announced, without reading it.
* body bytes: 16,777,216 (16 MiB) per request body: ``413`` with a body shaped like the real
  server's 401 (``{"error": "Request Too Large", ...}``, the message is inferred), sent from the
  head alone, as is the 401 for a missing or wrong key: no byte of the body is read first and
  ``100 Continue`` is sent only after both checks.
* buffered body bytes: 67,108,864 (64 MiB) of request bodies held at once, all connections
  together: past it ``503`` with ``Retry-After: 1``.
* request or header line bytes: 8,192 (``414`` for the request line, ``431`` for a header);
  head bytes: 65,536 and headers: 100 (``431``).
* head seconds: 10 to receive a whole head once its first byte came; body seconds: 60 for a
  whole body; idle keep-alive seconds: 60 between requests; send seconds: 30 to hand a reply
  to a client that does not read. Past any of them the connection is closed without a reply.
* Strict HTTP/1.1 (RFC 9112): ``400`` for a malformed request line or header (a space before
  the colon, obs-fold), a version other than 1.0/1.1, a ``Content-Length`` that is not digits,
  a chunk size that is not hex digits, two ``X-API-Key``/``Host``/``Content-Type`` headers, or
  both framings at once; ``501`` for a transfer coding other than chunked.
* Pattern matching (``pattern`` in a parameter schema) runs outside the store lock, in a
  bounded matcher (``_regex``) instead of PCRE. backtrack steps per match: 1,000,000 and
  pending backtrack points per match: 100,000 (``pcre.backtrack_limit`` and
  ``pcre.recursion_limit``): past either the string does not match, as where PHP's
  ``preg_match`` returns false (``Parameter validation failed: String does not match pattern at
  ...``). The steps are this matcher's, not PCRE's (whose JIT counts differently), so the exact
  input length at which a hostile pattern gives up differs. backtrack steps per request:
  5,000,000 over all the matches of one request: past it the reply is ``500`` with an empty body,
  what PHP's time limit gives (inferred: the real server has no such budget, only the 30 s
  ``max_execution_time``). steps before a match waits for a long-match slot: 10,000, and long
  matches at once: 2 (all requests together): other requests meanwhile go on. compiled pattern
  instructions: 20,000 (counted repeats are unrolled): a larger pattern matches nothing, where
  PCRE would run it.
* The pattern dialect: the PCRE syntax schemas use (classes, anchors, groups, alternation,
  greedy and lazy quantifiers, backreferences, fixed-length lookaround) on UTF-8 bytes, without
  the ``u`` modifier, like the real ``preg_match('/' . pattern . '/')``. Not supported, so such
  a pattern matches nothing where PCRE would run it: ``\\p{..}`` properties, atomic groups
  ``(?>..)``, possessive quantifiers ``a++``, inline options ``(?i)``, recursion and
  conditionals. As with preg_match, a pattern with an unescaped ``/`` or a trailing backslash
  breaks the delimiters and matches nothing.
* JSON nesting levels: 512, as PHP's ``json_decode``/``json_encode``: a deeper body is
  ``Invalid JSON in request body``; a reply that would nest deeper (a stored params or result
  about 510 levels deep inside the envelope) is ``200`` with an empty body, as PHP echoes
  ``json_encode``'s false; the claim or update has happened.

Orders without a tie-breaker: like MariaDB on the real server, tasks with the same
``created_at`` second (``GET /tasks``), or the same claim sort key (``created_at`` second,
``priority``, ``attempts``), come out in an order that changes from one query or claim to the
next. Here that order is pseudo-random from a seed: ``tie_seed=`` (``LocalServer``),
``--tie-seed`` (``taskmanager serve``, ``python -m taskmanager.server``) or
``TASKMANAGER_TIE_SEED``, else a random seed; the server prints its seed at start and shows it
in its repr, so a failing run replays with the same seed and the same requests. The pytest
plugin's server uses seed 0. ``sort_by: id`` is strict, on both servers.

The API key: from ``api_key``/``--api-key``, else ``TASKMANAGER_API_KEY``, else the key kept
beside the database file (``<db>.key``, mode 0600; refused if others may read it), else a new
key, written to that file and printed once; a kept key is printed again only with
``--show-key``. ``:memory:`` keeps no key. The server refuses to start on a database it cannot
write (one line, exit 1) instead of failing every write later; server errors are logged with
their traceback to stderr, and ``--access-log`` adds a line per request (never a header, so
never the key).

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

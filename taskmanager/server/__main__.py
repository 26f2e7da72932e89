"""``python -m taskmanager.server``: run the local TaskManager server in the foreground."""

from __future__ import annotations

import argparse
import sys

from ._local import DEFAULT_DB, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m taskmanager.server", description="Run the local TaskManager server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--db", default=DEFAULT_DB, help="SQLite file (or :memory:)")
    parser.add_argument("--api-key", default=None, help="default: $TASKMANAGER_API_KEY or generated")
    parser.add_argument("--claim-timeout", type=int, default=300, help="seconds")
    parser.add_argument("--max-attempts", type=int, default=3)
    args = parser.parse_args(argv)

    def announce(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    serve(
        host=args.host,
        port=args.port,
        db=args.db,
        api_key=args.api_key,
        claim_timeout=args.claim_timeout,
        max_attempts=args.max_attempts,
        announce=announce,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m taskmanager.server``: run the local TaskManager server in the foreground."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ._local import DEFAULT_DB, ServerStartError, serve


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(text)
        return value

    parse.__name__ = f"integer >= {minimum}"  # argparse names the type in its error message
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m taskmanager.server", description="Run the local TaskManager server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_at_least(0), default=8080, help="0 picks a free port")
    parser.add_argument("--db", default=DEFAULT_DB, help="SQLite file (or :memory:)")
    parser.add_argument("--api-key", default=None, help="default: $TASKMANAGER_API_KEY or generated")
    parser.add_argument("--claim-timeout", type=_at_least(1), default=300, help="seconds")
    parser.add_argument("--max-attempts", type=_at_least(1), default=3)
    parser.add_argument(
        "--tie-seed",
        type=int,
        default=None,
        help="seed of the order of same-second tasks in listings (default: $TASKMANAGER_TIE_SEED or random)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log each request to stderr (never the key)"
    )
    parser.add_argument(
        "--show-key", action="store_true", help="print the API key even if it was kept from before"
    )
    args = parser.parse_args(argv)

    def announce(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        serve(
            host=args.host,
            port=args.port,
            db=args.db,
            api_key=args.api_key,
            claim_timeout=args.claim_timeout,
            max_attempts=args.max_attempts,
            announce=announce,
            tie_seed=args.tie_seed,
            access_log=args.access_log,
            show_key=args.show_key,
        )
    except ServerStartError as err:
        sys.stderr.write(f"{parser.prog}: error: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``taskmanager`` command line."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group()
def main() -> None:
    """PrismQ TaskManager client tools."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option(
    "--db",
    default="taskmanager.db",
    show_default=True,
    help="SQLite database file (':memory:' keeps nothing).",
)
@click.option("--api-key", default=None, help="Default: $TASKMANAGER_API_KEY, else a generated key.")
@click.option("--claim-timeout", default=300, show_default=True, type=int, help="Seconds.")
@click.option("--max-attempts", default=3, show_default=True, type=int)
def serve(host: str, port: int, db: str, api_key: str | None, claim_timeout: int, max_attempts: int) -> None:
    """Run the local TaskManager server in the foreground (Ctrl+C stops it)."""
    # Imported here: the server is not needed by any other command.
    from taskmanager.server import serve as run_server

    run_server(
        host=host,
        port=port,
        db=db,
        api_key=api_key,
        claim_timeout=claim_timeout,
        max_attempts=max_attempts,
        announce=click.echo,
    )

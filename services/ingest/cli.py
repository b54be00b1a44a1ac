"""Command-line entry points of the ingest, as typer-compatible functions.

``tthc.cli`` registers them: ``tthc ingest`` (serve), ``tthc import FILE``, ``tthc keys …``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from services.auth import generate_key, hash_key

errors = Console(stderr=True)


def import_command(
    file: Annotated[
        Path,
        typer.Argument(help="NDJSON of CloudEvents, or a one-stop-shop CSV export", exists=True),
    ],
    url: Annotated[
        str, typer.Option("--url", envvar="TTHC_INGEST_URL", help="Base URL of the ingest")
    ] = "http://127.0.0.1:8001",
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", envvar="TTHC_API_KEY", help="Prefer the environment variable"),
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="auto (by extension), ndjson or csv")
    ] = "auto",
    source: Annotated[
        str, typer.Option("--source", help="CloudEvents source of events made from CSV rows")
    ] = "mot-cua-csv",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000)] = 500,
    state: Annotated[
        Path | None, typer.Option("--state", help="Resume state; default FILE.import-state.json")
    ] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore the saved state")] = False,
) -> None:
    """Import history through the ingest; run it again to resume after an interruption."""
    from services.ingest.importer import ImportStopped, make_client, print_summary, run_import

    if file_format not in ("auto", "ndjson", "csv"):
        raise typer.BadParameter("--format must be auto, ndjson or csv")
    kind: Literal["ndjson", "csv"] | None = None if file_format == "auto" else file_format  # type: ignore[assignment]
    console = Console(stderr=True)
    with make_client(url, api_key) as client:
        try:
            result = run_import(
                file,
                client,
                format=kind,
                source=source,
                batch_size=batch_size,
                state_path=state,
                restart=restart,
                console=console,
            )
        except KeyboardInterrupt:
            errors.print("[yellow]interrupted: run the same command again to resume[/yellow]")
            raise typer.Exit(130) from None
        except ImportStopped as stopped:
            errors.print(f"[red]{stopped}[/red]")
            errors.print("what was answered is saved: run the same command again to resume")
            raise typer.Exit(75) from None
    print_summary(result, console)
    if result.rejected:
        raise typer.Exit(1)


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8001,
    workers: Annotated[int, typer.Option(help="Processes (each has its own duplicate window)")] = 1,
) -> None:
    """Run the ingest HTTP service (settings from TTHC_INGEST_* variables)."""
    import uvicorn

    uvicorn.run(
        "services.ingest.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=os.environ.get("TTHC_INGEST_LOG_LEVEL", "info").lower(),
        access_log=False,  # the app logs each request as one JSON line
    )


def hash_key_command(
    key: Annotated[str | None, typer.Argument(help="The key; read from stdin when omitted")] = None,
) -> None:
    """Print the SHA-256 to store for an API key."""
    value = key if key is not None else typer.prompt("API key", hide_input=True)
    typer.echo(hash_key(value.strip()))


def new_key_command(
    name: Annotated[str, typer.Argument(help="The integration, e.g. mot-cua-tinh")],
    scope: Annotated[list[str], typer.Option("--scope", help="Unit code(s) it covers")],
) -> None:
    """Make a new key: print it once (give it to the integration) and its TOML entry."""
    key = generate_key()
    errors.print(f"key for {name} (shown once, store it in the integration): {key}")
    scopes = ", ".join(f'"{s}"' for s in scope)
    typer.echo(f'[[keys]]\nname = "{name}"\nsha256 = "{hash_key(key)}"\nscope = [{scopes}]')

"""``unsnag serve`` (the API and the dashboard) and ``unsnag keys`` (API keys)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from unsnag.cli_common import console, friendly_errors

if TYPE_CHECKING:
    from unsnag.runtime import Runtime
    from unsnag.settings import Settings

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="TCP port.")]


def _policy(path: str | None) -> Any:
    from unsnag.policy import load_policy

    return load_policy(Path(path) if path else None)


def run_server(runtime: Runtime, settings: Settings, host: str, port: int,
               background: bool = True, log_level: str = "warning") -> None:  # fmt: skip
    """Serve the app over ``runtime`` until interrupted (Ctrl-C), then checkpoint."""
    import uvicorn

    from unsnag.api import create_app

    app = create_app(runtime, settings, start_background=background)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            access_log=False, server_header=False)  # fmt: skip
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        runtime.close()


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the REST API (/v1) and the dashboard over the store UNSNAG_DATABASE_URL names."""
    from unsnag.runtime import Runtime
    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with friendly_errors():
        settings = load_settings()
        policy = _policy(settings.policy_path)
        store = open_store(settings.database_url)
        with console.status("loading the engine from the store"):
            runtime = Runtime(store, policy)
    console.print(f"unsnag serving [bold]http://{host}:{port}/[/] (API under /v1, "
                  f"OpenAPI at /v1/openapi.json) over {settings.database_url}",
                  highlight=False)  # fmt: skip
    try:
        run_server(runtime, settings, host, port, log_level=log_level)
    finally:
        store.close()


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str,
        typer.Option(help="viewer, agent, integrator, admin, or a policy role such as planner."),
    ],
    team: Annotated[str | None, typer.Option(help="Limit case work to this team.")] = None,
    name: Annotated[str | None, typer.Option(help="A label: who or what uses it.")] = None,
) -> None:
    """Make a key and print it once (only its hash is kept)."""
    from unsnag.api.auth import create_key
    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with friendly_errors():
        settings = load_settings()
        with open_store(settings.database_url) as store:
            record, token = create_key(store, _policy(settings.policy_path), role, team, name)
    console.print(f"key {record.id}: role {record.role}"
                  + (f", team {record.team}" if record.team else "")
                  + " — shown once, keep it safe:", highlight=False)  # fmt: skip
    sys.stdout.write(token + "\n")


@keys_app.command("list")
def keys_list() -> None:
    """The keys: id, role, team, label, made, revoked (never the secret)."""
    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with friendly_errors(), open_store(load_settings().database_url) as store:
        rows = store.list_api_keys()
    table = Table(title=f"API keys ({len(rows)})", title_justify="left", header_style="bold")
    for column in ("id", "role", "team", "name", "created (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for key in rows:
        table.add_row(key.id, key.role, key.team or "", key.name or "",
                      f"{key.created_at:%Y-%m-%d %H:%M}",
                      f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "")  # fmt: skip
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (kXXXXXXXXXX).")]) -> None:
    """Revoke a key; the server stops accepting it within seconds."""
    from datetime import UTC, datetime

    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with friendly_errors(), open_store(load_settings().database_url) as store:
        store.revoke_api_key(key_id, datetime.now(UTC))
    console.print(f"key {key_id} revoked")

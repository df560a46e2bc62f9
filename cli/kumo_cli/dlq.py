"""``kumo dlq list|redrive NAME``: a function's dead-letter queue, through the admin API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kumo_cli.platform_access import admin_headers

app = typer.Typer(
    help="Inspect and replay a function's dead-letter queue (admin token required).", no_args_is_help=True
)

Url = Annotated[str, typer.Option(help="Platform URL.", envvar="KUMO_URL")]
StateDir = Annotated[Path, typer.Option(help="State directory of the local platform (its admin token).")]
Name = Annotated[str, typer.Argument(help="Function name.")]


def _call(method: str, url: str, path: str, state_dir: Path, body: Any = None) -> dict[str, Any]:
    import httpx

    target = f"{url.rstrip('/')}/_kumo/functions/{path}"
    try:
        response = httpx.request(method, target, json=body, headers=admin_headers(state_dir), timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"kumo dlq: cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict):
        message = data.get("message") if isinstance(data, dict) else None
        typer.echo(f"kumo dlq: {message or f'HTTP {response.status_code} from {target}'}", err=True)
        raise typer.Exit(1)
    return data


@app.command("list")
def list_records(
    name: Name,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array of the records.")] = False,
    url: Url = "http://127.0.0.1:8080",
    state_dir: StateDir = Path(".kumo"),
) -> None:
    """List the events that failed or expired (oldest first)."""
    records = _call("GET", url, f"{name}/dlq", state_dir)["records"]
    if as_json:
        typer.echo(json.dumps(records, indent=2))
        return
    if not records:
        typer.echo(f"no dead-lettered events for {name}")
    for record in records:
        error = record.get("error") or {}
        message = error.get("errorMessage") or error.get("errorType") or ""
        typer.echo(
            f"{record['id']}  request {record['requestId']}  {record['condition']}  "
            f"attempts {record['attempts']}  last {record.get('lastAttempt') or '-'}  {message}"
        )


@app.command()
def redrive(
    name: Name,
    entry_id: Annotated[str | None, typer.Option("--id", help="Replay this record only (default: all).")] = None,
    url: Url = "http://127.0.0.1:8080",
    state_dir: StateDir = Path(".kumo"),
) -> None:
    """Enqueue dead-lettered events again (same request id, fresh attempts and age)."""
    body = {"id": entry_id} if entry_id else {}
    count = _call("POST", url, f"{name}/dlq/redrive", state_dir, body)["redriven"]
    typer.echo(f"redriven {count} event(s) of {name}")

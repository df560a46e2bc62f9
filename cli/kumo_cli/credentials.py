"""``kumo credentials create|list|revoke``: access keys of a running platform, through its admin API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kumo_cli.cli_options import DEFAULT_STATE_DIR, DEFAULT_URL, Kubernetes, Namespace, StateDir, Url, finish
from kumo_cli.platform_access import admin_call, admin_headers

app = typer.Typer(
    help="Manage the access keys a running platform accepts (admin token required).", no_args_is_help=True
)


def _call(method: str, url: str, path: str, state_dir: Path, body: Any = None) -> dict[str, Any]:
    _, data, problem = admin_call(method, url, f"/credentials{path}", admin_headers(state_dir), body)
    if problem is not None:
        typer.echo(f"kumo credentials: {problem}", err=True)
        raise typer.Exit(1)
    return data or {}


@app.command()
def create(
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "",
    allow: Annotated[
        list[str] | None, typer.Option("--allow", help="Allowed action, e.g. lambda:InvokeFunction (repeatable).")
    ] = None,
    resource: Annotated[
        list[str] | None, typer.Option("--resource", help="Allowed resource, e.g. function:NAME (repeatable).")
    ] = None,
    url: Url = DEFAULT_URL,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """Create an access key; prints its id and secret (shown only this once)."""
    if kubernetes:
        from kumo_cli.cluster_keys import create_credential

        finish(create_credential(namespace, name, allow or [], resource or []))
    policy = {"actions": allow or ["*"], "resources": resource or ["*"]}
    key = _call("POST", url, "", state_dir, {"name": name, "policy": policy})["credential"]
    typer.echo(f"AWS_ACCESS_KEY_ID={key['accessKeyId']}")
    typer.echo(f"AWS_SECRET_ACCESS_KEY={key['secretAccessKey']}")
    typer.echo("(the secret is not shown again)", err=True)


@app.command("list")
def list_keys(
    url: Url = DEFAULT_URL,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """List access keys (ids, names, policies; never secrets), one JSON object a line."""
    if kubernetes:
        from kumo_cli.cluster_keys import list_credentials

        finish(list_credentials(namespace))
    for key in _call("GET", url, "", state_dir)["credentials"]:
        typer.echo(json.dumps(key))


@app.command()
def revoke(
    access_key_id: Annotated[str, typer.Argument(help="The access key id to revoke.")],
    url: Url = DEFAULT_URL,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """Revoke an access key; requests signed with it are refused from now on."""
    if kubernetes:
        from kumo_cli.cluster_keys import revoke_credential

        finish(revoke_credential(namespace, access_key_id))
    _call("DELETE", url, f"/{access_key_id}", state_dir)
    typer.echo(f"revoked {access_key_id}")

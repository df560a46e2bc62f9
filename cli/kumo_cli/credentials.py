"""``kumo credentials create|list|revoke``: access keys of a running platform, through its admin API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from kumo_cli.cli_options import DEFAULT_STATE_DIR, DEFAULT_URL, Kubernetes, Namespace, StateDir, Url, finish
from kumo_cli.platform_access import admin_headers, admin_result

app = typer.Typer(
    help="Manage the access keys a running platform accepts (admin token required).", no_args_is_help=True
)


def _admin(
    method: str, url: str, path: str, state_dir: Path, answer: Callable[[Any], str], body: Any = None
) -> tuple[int, str]:
    """One call to the admin API's ``/credentials`` as the command's ``(exit code, output)``."""
    return admin_result("kumo credentials", method, url, f"/credentials{path}", admin_headers(state_dir), answer, body)


def _created(data: dict[str, Any]) -> str:
    key = data["credential"]
    return f"AWS_ACCESS_KEY_ID={key['accessKeyId']}\nAWS_SECRET_ACCESS_KEY={key['secretAccessKey']}"


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
    result = _admin("POST", url, "", state_dir, _created, {"name": name, "policy": policy})
    if result[0] == 0:
        typer.echo("(the secret is not shown again)", err=True)
    finish(result)


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
    finish(_admin("GET", url, "", state_dir, lambda data: "\n".join(json.dumps(key) for key in data["credentials"])))


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
    finish(_admin("DELETE", url, f"/{access_key_id}", state_dir, lambda _: f"revoked {access_key_id}"))

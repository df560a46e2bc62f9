"""``kumo credentials create|list|revoke``: access keys of a running platform, through its admin API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kumo_cli.platform_access import admin_headers

app = typer.Typer(
    help="Manage the access keys a running platform accepts (admin token required).", no_args_is_help=True
)

Url = Annotated[str, typer.Option(help="Platform URL.", envvar="KUMO_URL")]
StateDir = Annotated[Path, typer.Option(help="State directory of the local platform (its admin token).")]
Kubernetes = Annotated[
    bool, typer.Option("--kubernetes", help="In a cluster: the labelled Secrets the gateway reads (kubeconfig).")
]
Namespace = Annotated[str, typer.Option(help="With --kubernetes: the namespace of the key Secrets.")]


def _done(result: tuple[int, str]) -> None:
    code, output = result
    typer.echo(output, err=code != 0)
    raise typer.Exit(code)


def _call(method: str, url: str, path: str, state_dir: Path, body: Any = None) -> dict[str, Any]:
    import httpx

    target = f"{url.rstrip('/')}/_kumo/credentials{path}"
    try:
        response = httpx.request(method, target, json=body, headers=admin_headers(state_dir), timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"kumo credentials: cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict):
        message = data.get("message") if isinstance(data, dict) else None
        typer.echo(f"kumo credentials: {message or f'HTTP {response.status_code} from {target}'}", err=True)
        raise typer.Exit(1)
    return data


@app.command()
def create(
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "",
    allow: Annotated[
        list[str] | None, typer.Option("--allow", help="Allowed action, e.g. lambda:InvokeFunction (repeatable).")
    ] = None,
    resource: Annotated[
        list[str] | None, typer.Option("--resource", help="Allowed resource, e.g. function:NAME (repeatable).")
    ] = None,
    url: Url = "http://127.0.0.1:8080",
    state_dir: StateDir = Path(".kumo"),
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """Create an access key; prints its id and secret (shown only this once)."""
    if kubernetes:
        from kumo_cli.cluster_keys import create_credential

        _done(create_credential(namespace, name, allow or [], resource or []))
    policy = {"actions": allow or ["*"], "resources": resource or ["*"]}
    key = _call("POST", url, "", state_dir, {"name": name, "policy": policy})["credential"]
    typer.echo(f"AWS_ACCESS_KEY_ID={key['accessKeyId']}")
    typer.echo(f"AWS_SECRET_ACCESS_KEY={key['secretAccessKey']}")
    typer.echo("(the secret is not shown again)", err=True)


@app.command("list")
def list_keys(
    url: Url = "http://127.0.0.1:8080",
    state_dir: StateDir = Path(".kumo"),
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """List access keys (ids, names, policies; never secrets), one JSON object a line."""
    if kubernetes:
        from kumo_cli.cluster_keys import list_credentials

        _done(list_credentials(namespace))
    for key in _call("GET", url, "", state_dir)["credentials"]:
        typer.echo(json.dumps(key))


@app.command()
def revoke(
    access_key_id: Annotated[str, typer.Argument(help="The access key id to revoke.")],
    url: Url = "http://127.0.0.1:8080",
    state_dir: StateDir = Path(".kumo"),
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """Revoke an access key; requests signed with it are refused from now on."""
    if kubernetes:
        from kumo_cli.cluster_keys import revoke_credential

        _done(revoke_credential(namespace, access_key_id))
    _call("DELETE", url, f"/{access_key_id}", state_dir)
    typer.echo(f"revoked {access_key_id}")

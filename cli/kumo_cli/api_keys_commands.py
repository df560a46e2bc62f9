"""``kumo api-keys create|list|delete``: through the gateway's admin API (:mod:`kumo_cli.api_keys`), or
with ``--kubernetes`` as labelled Secrets in the cluster (:mod:`kumo_cli.cluster_keys`)."""

from __future__ import annotations

from typing import Annotated

import typer

from kumo_cli.cli_options import DEFAULT_STATE_DIR, DEFAULT_URL, Kubernetes, Namespace, StateDir, Url, finish

app = typer.Typer(
    help="API keys of Api usage plans (the gateway's admin API, or Secrets with --kubernetes).", no_args_is_help=True
)
Api = Annotated[str, typer.Option(help="Api name.")]


@app.command("create")
def create(
    api: Api,
    plan: Annotated[str, typer.Option(help="Usage plan of the Api.")],
    name: Annotated[
        str | None, typer.Option(help="A name for the key (default: the plan's; the Secret's with --kubernetes).")
    ] = None,
    url: Url = DEFAULT_URL,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """Create an API key on a usage plan and print it (only this once)."""
    if kubernetes:
        from kumo_cli.cluster_keys import create_api_key

        finish(create_api_key(namespace, api, plan, name))
    from kumo_cli import api_keys
    from kumo_cli.platform_access import admin_headers

    finish(api_keys.create(url, api, plan, name, admin_headers(state_dir)))


@app.command("list")
def list_keys(
    api: Api,
    url: Url = DEFAULT_URL,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """List an Api's API keys (ids, plans, names; never the keys)."""
    if kubernetes:
        from kumo_cli.cluster_keys import list_api_keys

        finish(list_api_keys(namespace, api))
    from kumo_cli import api_keys
    from kumo_cli.platform_access import admin_headers

    finish(api_keys.list_keys(url, api, admin_headers(state_dir)))


@app.command("delete")
def delete(
    key_id: Annotated[str, typer.Argument(help="The key's id (from create or list).")],
    api: Api,
    url: Url = DEFAULT_URL,
    state_dir: StateDir = DEFAULT_STATE_DIR,
    kubernetes: Kubernetes = False,
    namespace: Namespace = "default",
) -> None:
    """Delete an API key: requests with it are refused (403) from now on."""
    if kubernetes:
        from kumo_cli.cluster_keys import delete_api_key

        finish(delete_api_key(namespace, api, key_id))
    from kumo_cli import api_keys
    from kumo_cli.platform_access import admin_headers

    finish(api_keys.delete(url, api, key_id, admin_headers(state_dir)))

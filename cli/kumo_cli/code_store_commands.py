"""`kumo codestore` (the cluster's code store) and `kumo package fetch` (a runtime pod's init step)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

package_app = typer.Typer(help="Deployment packages in a cluster (the code store).", no_args_is_help=True)


def codestore(
    root: Annotated[Path, typer.Option(help="Where archives are kept (the PersistentVolume).")] = Path("/data"),
    host: Annotated[str, typer.Option(help="Listen address.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Listen port.")] = 8090,
    storage_limit: Annotated[
        str,
        typer.Option(help="Bytes of archives the store may hold: bytes or a quantity such as 75Gi (Lambda's 75 GB)."),
    ] = "75Gi",
) -> None:
    """Run the code store: packages by SHA-256 (needs KUMO_PLATFORM_CREDENTIAL)."""
    import asyncio

    from kumo import platform_credential
    from kumo.models.quantities import parse_size_bytes
    from kumo_codestore.server import serve

    try:
        limit = parse_size_bytes(storage_limit)
    except ValueError as exc:
        typer.echo(f"kumo codestore: --storage-limit: {exc}", err=True)
        raise typer.Exit(2) from None

    credential = platform_credential.from_env()
    if credential is None:
        typer.echo(f"kumo codestore: {platform_credential.ENV_VAR} is required", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(root, host, port, credential, storage_limit=limit))


@package_app.command("fetch")
def fetch(
    store_url: Annotated[str, typer.Option(envvar="KUMO_CODE_STORE_URL", help="The code store.")],
    package: Annotated[str, typer.Option(help="<sha256>:<size> of the function's package.")],
    code_dir: Annotated[Path, typer.Option(help="Extract the package here (the task root).")] = Path("/var/task"),
    layer: Annotated[list[str] | None, typer.Option(help="<sha256>:<size> of a layer, in order (repeatable).")] = None,
    opt_dir: Annotated[Path, typer.Option(help="Extract layers here.")] = Path("/opt"),
    cache_dir: Annotated[
        Path | None, typer.Option(help="The node's archive cache (looked up first, verified, then filled).")
    ] = None,
    cache_max_bytes: Annotated[
        int | None, typer.Option(min=0, help="Trim the node cache to this many bytes (default 2 GiB).")
    ] = None,
) -> None:
    """Download the package (and layers), verify their SHA-256, extract; exit 1 and say why otherwise."""
    from kumo import platform_credential
    from kumo.packages.fetch import FetchRefused, fetch_packages, parse_ref
    from kumo.packages.node_cache import NodeCache
    from kumo.packages.store_client import StoreClient, credential_headers

    cache = NodeCache(cache_dir, cache_max_bytes) if cache_dir is not None else None
    try:
        ref = parse_ref(package)
        layers = [parse_ref(text) for text in layer or []]
        with StoreClient(store_url, credential_headers(platform_credential.from_env())) as client:
            done = fetch_packages(client, ref, code_dir, layers, opt_dir if layers else None, cache)
    except FetchRefused as exc:
        print(f"kumo package fetch: REFUSED: {exc}", file=sys.stderr, flush=True)
        raise typer.Exit(1) from None
    print(
        f"kumo package fetch: package {ref.sha256} verified, {done.files} files in {code_dir}"
        + (f", {len(layers)} layer(s) ({done.layer_files} files) in {opt_dir}" if layers else "")
        + (f", {done.cached} archive(s) from the node cache" if cache is not None else "")
        + f" in {done.seconds:.2f}s",
        flush=True,
    )


def _deploy_problem(exc: Exception) -> str:
    from kumo.packages.code_store import StoreError
    from kumo.packages.storage_limit import STORE_ERROR

    if isinstance(exc, StoreError) and exc.code == STORE_ERROR:
        return (
            f"the cluster's code store is full: {exc.detail}. Raise it with helm upgrade --set-string "
            "codeStore.storageLimit=<bytes or e.g. 100Gi>, or delete Functions and layer versions no one uses "
            "(the operator's garbage collection then frees their archives)"
        )
    return str(exc)


def deploy(
    manifests: Annotated[list[Path], typer.Argument(help="Manifest files or folders.")],
    url: Annotated[str, typer.Option(help="The cluster's gateway (its admin API forwards to the code store).")],
    state_dir: Annotated[
        Path, typer.Option(help="Package cache and published layers; the admin token if KUMO_ADMIN_TOKEN is unset.")
    ] = Path(".kumo"),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the manifests here (default: stdout).")
    ] = None,
) -> None:
    """Build packages, upload them to the cluster's code store, print the manifests for kubectl apply."""
    import httpx

    from kumo.manifests import ManifestError
    from kumo.packages.code_store import PackageRef, StoreError, ref_of
    from kumo.packages.store_client import StoreClient
    from kumo_cli.deploy import DeployError
    from kumo_cli.deploy import deploy as run_deploy
    from kumo_cli.platform_access import admin_headers

    with StoreClient(url.rstrip("/") + "/_kumo", admin_headers(state_dir)) as client:

        def upload(data: bytes) -> tuple[PackageRef, bool]:
            ref = ref_of(data)
            if client.head(ref.sha256) == ref.size:
                return ref, False
            return client.put(data)

        try:
            text, lines = run_deploy(list(manifests), state_dir.resolve(), upload)
        except ManifestError as exc:
            typer.echo("kumo deploy: " + "\n".join(exc.problems), err=True)
            raise typer.Exit(2) from None
        except (DeployError, StoreError) as exc:
            typer.echo(f"kumo deploy: {_deploy_problem(exc)}", err=True)
            raise typer.Exit(1) from None
        except httpx.HTTPError as exc:
            typer.echo(f"kumo deploy: cannot reach {url}: {exc}", err=True)
            raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line, err=True)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"kumo deploy: manifests written to {output} (kubectl apply -f {output})", err=True)

"""`kumo layer publish NAME PATH`: a new immutable layer version, offline into --state-dir or, with
--url, through a running platform's Lambda layer API (PublishLayerVersion with the layer zipped)."""

from __future__ import annotations

import base64
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import httpx
import typer

from kumo.packages.layers import LayerStore
from kumo.packages.plan import PackageError

layer_app = typer.Typer(help="Lambda-style layers (local mode).", no_args_is_help=True)


def zip_tree(root: Path) -> bytes:
    """`root`'s files as a zip (Unix modes kept, so `bin/` tools stay executable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix())
            info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def publish_online(url: str, name: str, content: bytes, auth: httpx.Auth | None) -> int:
    """POST /2018-10-31/layers/NAME/versions; the new version number (PackageError with Lambda's message)."""
    endpoint = f"{url.rstrip('/')}/2018-10-31/layers/{quote(name, safe='')}/versions"
    body = {"Content": {"ZipFile": base64.b64encode(content).decode()}}
    try:
        response = httpx.post(endpoint, content=json.dumps(body), timeout=120, auth=auth or httpx.USE_CLIENT_DEFAULT)
    except httpx.HTTPError as exc:
        raise PackageError(f"cannot reach the platform at {url}: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict) or "Version" not in data:
        message = data.get("Message") or data.get("message") if isinstance(data, dict) else None
        raise PackageError(message or f"HTTP {response.status_code} from {endpoint}: {response.text[:200]}")
    return int(data["Version"])


@layer_app.command("publish")
def publish_layer(
    name: Annotated[str, typer.Argument(help="Layer name.")],
    path: Annotated[Path, typer.Argument(help="A directory, a .zip, or a requirements file (installed into python/).")],
    state_dir: Annotated[Path, typer.Option(help="State directory of the local platform.")] = Path(".kumo"),
    runtime: Annotated[str, typer.Option(help="For a requirements file: the runtime pip installs for.")] = "python3.12",
    url: Annotated[
        str | None,
        typer.Option(help="Publish through this running platform's Lambda API (signed with --state-dir's key)."),
    ] = None,
) -> None:
    """Publish PATH as the next version of layer NAME (under <state-dir>/layers/NAME/N/, or via --url)."""
    try:
        if url is None:
            version = LayerStore(state_dir.resolve()).publish(name, path, runtime)
        else:
            from kumo_cli.platform_access import lambda_auth

            with tempfile.TemporaryDirectory() as scratch:  # the same checks and layout as offline, then zipped
                store = LayerStore(Path(scratch))
                built = store.root / name / str(store.publish(name, path, runtime))
                version = publish_online(url, name, zip_tree(built), lambda_auth(state_dir))
    except (PackageError, OSError) as exc:
        typer.echo(f"kumo layer publish: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"layer {name}: version {version}" + (f" at {url}" if url else f" in {state_dir}"))

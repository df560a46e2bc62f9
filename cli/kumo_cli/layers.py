"""`kumo layer publish NAME PATH`: a new immutable layer version (offline, into --state-dir)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kumo.packages.layers import LayerStore
from kumo.packages.plan import PackageError

layer_app = typer.Typer(help="Lambda-style layers (local mode).", no_args_is_help=True)


@layer_app.command("publish")
def publish_layer(
    name: Annotated[str, typer.Argument(help="Layer name.")],
    path: Annotated[Path, typer.Argument(help="A directory, a .zip, or a requirements file (installed into python/).")],
    state_dir: Annotated[Path, typer.Option(help="State directory of the local platform.")] = Path(".kumo"),
    runtime: Annotated[str, typer.Option(help="For a requirements file: the runtime pip installs for.")] = "python3.12",
) -> None:
    """Publish PATH as the next version of layer NAME under <state-dir>/layers/NAME/N/."""
    try:
        version = LayerStore(state_dir.resolve()).publish(name, path, runtime)
    except (PackageError, OSError) as exc:
        typer.echo(f"kumo layer publish: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"layer {name}: version {version} in {state_dir}")

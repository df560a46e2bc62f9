"""The ``kumo`` command: one entry for every process the platform runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import kumo

app = typer.Typer(
    help="Kumo: Lambda-, API Gateway- and DynamoDB-style serverless on Kubernetes or one laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print Kumo's version."""
    typer.echo(f"kumo {kumo.__version__}")


@app.command()
def up(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Manifest files or folders (multi-document YAML).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address the gateway listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the gateway listens on.")] = 8080,
    state_dir: Annotated[Path, typer.Option(help="Where instances, logs and data live.")] = Path(".kumo"),
) -> None:
    """Run the whole platform on this machine: gateway plus functions as local processes."""
    from kumo.local.up import run_up

    raise typer.Exit(run_up(paths or [], host=host, port=port, state_dir=state_dir))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

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
    paths: Annotated[list[Path] | None, typer.Argument(help="Manifest files or folders (multi-document YAML).")] = None,
    host: Annotated[str, typer.Option(help="Address the gateway listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the gateway listens on.")] = 8080,
    state_dir: Annotated[Path, typer.Option(help="Where instances, logs and data live.")] = Path(".kumo"),
) -> None:
    """Run the whole platform on this machine: gateway plus functions as local processes."""
    from kumo.local.up import run_up

    raise typer.Exit(run_up(paths or [], host=host, port=port, state_dir=state_dir))


@app.command()
def invoke(
    name: Annotated[str, typer.Argument(help="Function name, name:qualifier or ARN.")],
    payload: Annotated[str, typer.Option(help="JSON event.")] = "{}",
    url: Annotated[str, typer.Option(help="Gateway URL.", envvar="KUMO_URL")] = "http://127.0.0.1:8080",
    qualifier: Annotated[str | None, typer.Option(help="Version or alias.")] = None,
    log: Annotated[bool, typer.Option("--log", help="Print the invocation's log tail to stderr.")] = False,
) -> None:
    """Invoke a function synchronously and print its result."""
    from kumo.invoke_client import InvokeError
    from kumo.invoke_client import invoke as do_invoke

    try:
        outcome = do_invoke(url, name, payload, qualifier=qualifier, tail=log)
    except InvokeError as exc:
        typer.echo(f"kumo invoke: {exc}", err=True)
        raise typer.Exit(1) from None
    if outcome.log:
        typer.echo(outcome.log, err=True, nl=False)
    typer.echo(outcome.payload.decode(errors="replace"))
    if outcome.function_error:
        typer.echo(f"kumo invoke: function error ({outcome.function_error})", err=True)
        raise typer.Exit(1)


@app.command()
def gateway(
    paths: Annotated[list[Path] | None, typer.Argument(help="Manifest files or folders to serve.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    state_dir: Annotated[Path, typer.Option(help="Where local instances keep code, logs and /tmp.")] = Path(".kumo"),
) -> None:
    """Run the gateway alone, serving the given manifests with the local provider."""
    from kumo.local.up import run_up

    raise typer.Exit(run_up(paths or [], host=host, port=port, state_dir=state_dir))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""Options the commands that reach a running platform share (``--url``, ``--state-dir``,
``--kubernetes``, ``--namespace``), and how such a command ends with its ``(exit code, output)``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kumo_cli.platform_access import DEFAULT_STATE_DIR

__all__ = ["DEFAULT_STATE_DIR", "DEFAULT_URL", "Kubernetes", "Namespace", "StateDir", "Url", "finish"]

Url = Annotated[str, typer.Option(help="Platform (gateway) URL.", envvar="KUMO_URL")]
StateDir = Annotated[Path, typer.Option(help="State directory of the local platform (its admin token).")]
Kubernetes = Annotated[
    bool, typer.Option("--kubernetes", help="In a cluster: the labelled Secrets the gateways read (kubeconfig).")
]
Namespace = Annotated[str, typer.Option(help="With --kubernetes: the namespace.")]

DEFAULT_URL = "http://127.0.0.1:8080"


def finish(result: tuple[int, str]) -> None:
    """Print the output (to stderr on failure; nothing when empty) and exit with the code."""
    code, output = result
    if output:
        typer.echo(output, err=code != 0)
    raise typer.Exit(code)

"""`kumo sam convert TEMPLATE`: a SAM template as Kumo manifests (multi-document YAML for `kubectl apply`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from kumo_cli.cli_options import DEFAULT_URL, Url

sam_app = typer.Typer(help="AWS SAM templates (docs/sam.md).", no_args_is_help=True)

OVERRIDES_HELP = "Template parameters: Key=Value (repeatable; also 'ParameterKey=K,ParameterValue=V')."


def overrides_or_exit(items: list[str] | None, command: str) -> dict[str, str]:
    from kumo.sam import TemplateError, parse_overrides

    try:
        return parse_overrides(items or [])
    except TemplateError as exc:
        typer.echo(f"{command}: {exc}", err=True)
        raise typer.Exit(2) from None


@sam_app.command("convert")
def convert(
    template: Annotated[Path, typer.Argument(help="The SAM template (template.yaml).")],
    parameter_overrides: Annotated[list[str] | None, typer.Option("--parameter-overrides", help=OVERRIDES_HELP)] = None,
    url: Url = DEFAULT_URL,
) -> None:
    """Print the Kumo manifests of TEMPLATE on stdout; its Outputs and what Kumo cannot map go to stderr."""
    from kumo.manifests import ManifestError, parse_manifest
    from kumo.sam import TemplateError, translate
    from kumo.sam.outputs import manifest_stages, output_lines

    overrides = overrides_or_exit(parameter_overrides, "kumo sam convert")
    try:
        text = template.read_text(encoding="utf-8")
        translation = translate(text, base_dir=template.resolve().parent, overrides=overrides, where=str(template))
        for manifest in translation.manifests:
            parse_manifest(manifest)  # what kumo up and the API server would refuse is refused here
    except OSError as exc:
        typer.echo(f"kumo sam convert: cannot read {template}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    except (TemplateError, ManifestError) as exc:
        typer.echo(f"kumo sam convert: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(yaml.safe_dump_all(translation.manifests, sort_keys=False), nl=False)
    for layer in translation.layers:
        typer.echo(
            f"# layer {layer.name} ({layer.logical_id}): kumo up publishes it; elsewhere run "
            f"`kumo layer publish {layer.name} {layer.path}`",
            err=True,
        )
    for queue in translation.queues:
        typer.echo(f"# queue {queue.name} ({queue.logical_id}): a Kumo queue, created when first used", err=True)
    for line in output_lines(translation.outputs, url, manifest_stages(translation.manifests)):
        typer.echo(f"# output {line}", err=True)
    for item in translation.unmapped:
        typer.echo(f"# not mapped: {item}", err=True)

"""`AWS::Serverless::LayerVersion` -> a layer published when Kumo starts (pure)."""

from __future__ import annotations

from kumo.sam.state import LayerSource, Resource

HANDLED = {"LayerName", "ContentUri", "CompatibleRuntimes", "CompatibleArchitectures", "Description"}
HANDLED |= {"LicenseInfo", "RetentionPolicy"}


def map_layer(resource: Resource) -> None:
    build = resource.build
    uri = resource.get("ContentUri")
    if not isinstance(uri, str) or uri.startswith("s3://"):
        build.unmapped(resource.logical_id, resource.type, "ContentUri must be a local folder or .zip (not S3)")
        return
    resource.report_unknown(HANDLED)
    name = build.names.names[resource.logical_id]
    build.result.layers.append(LayerSource(resource.logical_id, name, build.base_dir / uri))

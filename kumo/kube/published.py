"""Published versions in a cluster (pure; shared by operator and gateway).

The operator records each version it publishes (``spec.publish: true``) in the Function's
``status.versions``; the gateway rebuilds :class:`kumo.versions.FunctionVersions` from that list and
``spec.aliases``, so ``Catalog.resolve`` works exactly as in local mode. Numbering, "unchanged -> same
version" and ``CodeSha256`` are :mod:`kumo.versions`' rules.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kumo.models import FunctionSpec
from kumo.versions import (
    VERSIONED_FIELDS,
    Alias,
    FunctionVersions,
    PublishedVersion,
    Snapshot,
    VersionError,
    make_snapshot,
    take_snapshot,
    versioned_config,
)

log = logging.getLogger("kumo.kube.published")


def lambda_timestamp(moment: dt.datetime) -> str:
    """Lambda's ``LastModified`` format: ``2024-05-01T12:00:00.000+0000``."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def created_at(obj: Mapping[str, Any], fallback: str) -> str:
    """``LastModified`` of a published version: its Deployment's ``creationTimestamp`` in Lambda's format, so
    reconciles that race to publish the same version record the same time (``fallback`` when absent)."""
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    try:
        return lambda_timestamp(dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")))
    except ValueError:
        return fallback


def code_files_of(spec: FunctionSpec, config_map_data: Mapping[str, str] | None = None) -> dict[str, str]:
    """The code a version freezes: inline files, the ``code.configMap`` data, or the image reference."""
    if spec.code.inline is not None:
        return dict(spec.code.inline)
    if spec.code.config_map is not None:
        return dict(config_map_data or {})
    return {"image": spec.code.image or ""}


def snapshot_of(spec: FunctionSpec, config_map_data: Mapping[str, str] | None = None) -> Snapshot:
    """What a version freezes. A ``code.package`` is frozen by its address (and its layers' archives): its
    ``CodeSha256``/``CodeSize`` are the zip's, as Lambda reports them for that deployment package."""
    package = spec.code.package
    if package is not None:
        address = ",".join(archive.sha256 for archive in (package, *package.layers))
        sha = base64.b64encode(bytes.fromhex(package.sha256)).decode()
        return make_snapshot(spec, sha, package.size, package=address)
    return take_snapshot(spec, code_files_of(spec, config_map_data))


def version_record(published: PublishedVersion) -> dict[str, Any]:
    """One ``status.versions`` entry (small: no code, only the frozen configuration)."""
    record: dict[str, Any] = {
        "version": published.version,
        "codeSha256": published.snapshot.code_sha256,
        "codeSize": published.snapshot.code_size,
        "fingerprint": published.snapshot.fingerprint,
        "lastModified": published.last_modified,
        "config": versioned_config(published.snapshot.spec),
    }
    if published.description:
        record["description"] = published.description
    return record


def frozen_spec(current: FunctionSpec, config: Mapping[str, Any]) -> FunctionSpec:
    """``current`` with a version's frozen configuration put back (code and scaling are the function's)."""
    data = current.model_dump(mode="json", by_alias=True, exclude_none=True)
    aliases = {"ephemeral_storage": "ephemeralStorage"}
    for field in VERSIONED_FIELDS:
        key = aliases.get(field, field)
        if key in config:
            data[key] = config[key]
    return FunctionSpec.model_validate(data)


def registry_from_status(current: FunctionSpec, records: Sequence[Mapping[str, Any]]) -> FunctionVersions:
    """The published versions ``status.versions`` lists (malformed entries are logged and skipped)."""
    registry = FunctionVersions()
    for record in records:
        try:
            snapshot = Snapshot(
                frozen_spec(current, record.get("config") or {}),
                str(record["codeSha256"]),
                int(record.get("codeSize") or 0),
                str(record["fingerprint"]),
            )
            published = PublishedVersion(
                str(record["version"]), snapshot, str(record.get("description") or ""), str(record["lastModified"])
            )
            int(published.version)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring a malformed status.versions entry %r: %s", record, exc)
            continue
        registry.add(published)
    return registry


def apply_spec_aliases(registry: FunctionVersions, spec: FunctionSpec) -> list[str]:
    """Set ``spec.aliases`` on ``registry`` (Lambda's checks); returns a message per alias skipped.

    The revision id is a hash of the alias, so every gateway replica reports the same one."""
    skipped = []
    for name, alias_spec in spec.aliases.items():
        routing = {str(k): float(v) for k, v in alias_spec.routing.items()}
        text = f"{name}\n{alias_spec.version}\n{alias_spec.description}\n{sorted(routing.items())}"
        digest = hashlib.sha256(text.encode()).hexdigest()
        revision = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        alias = Alias(name, str(alias_spec.version), alias_spec.description, routing, revision)
        try:
            registry.check_alias(alias)
        except VersionError as exc:
            skipped.append(f"spec.aliases.{name}: {exc.message}")
            continue
        registry.aliases[name] = alias
    return skipped


def plan_publish(
    spec: FunctionSpec,
    records: Sequence[Mapping[str, Any]],
    now: str,
    config_map_data: Mapping[str, str] | None = None,
) -> PublishedVersion | None:
    """The version to publish now (``spec.publish``), or ``None`` when the last one is the same code and
    configuration (or publishing is off). Numbers continue after the highest recorded one."""
    if not spec.publish:
        return None
    registry = registry_from_status(spec, records)
    published, created = registry.publish(snapshot_of(spec, config_map_data), "", now)
    return published if created else None


def plan_requested_publish(
    spec: FunctionSpec,
    records: Sequence[Mapping[str, Any]],
    now: str,
    config_map_data: Mapping[str, str] | None = None,
) -> tuple[PublishedVersion, bool]:
    """A publish someone asked for (``CreateFunction``/``UpdateFunctionCode`` with ``Publish``, through the
    request annotation :data:`PUBLISH_REQUEST_ANNOTATION`): ``(version, created)`` -- the last version again,
    not created, when code and configuration are unchanged (Lambda's ``PublishVersion`` rule)."""
    registry = registry_from_status(spec, records)
    return registry.publish(snapshot_of(spec, config_map_data), "", now)


#: On a Function: a token asking the operator to publish one version of the current spec. The operator
#: answers in ``status.publishRequest: {request: <token>, version: "<N>"}`` (the gateway waits for it).
PUBLISH_REQUEST_ANNOTATION = "lambda.kumo.dev/publish-request"


def publish_request(obj: Mapping[str, Any]) -> str | None:
    """The publish request a Function carries that the operator has not answered yet."""
    token = ((obj.get("metadata") or {}).get("annotations") or {}).get(PUBLISH_REQUEST_ANNOTATION)
    answered = ((obj.get("status") or {}).get("publishRequest") or {}).get("request")
    return str(token) if token and token != answered else None


def answered_publish(obj: Mapping[str, Any], token: str) -> str | None:
    """The version the operator published for request ``token`` (``None`` until it has answered)."""
    answer = (obj.get("status") or {}).get("publishRequest") or {}
    return str(answer["version"]) if answer.get("request") == token and answer.get("version") else None


#: On a Function written by the Lambda API: its ``Layers`` (``[{"Arn", "CodeSize"}]``, JSON), whose archives
#: are its ``code.package.layers``. A published version's ``status.versions`` entry keeps a copy.
LAYERS_ANNOTATION = "lambda.kumo.dev/layers"


def layers_shown(value: Any) -> list[dict[str, Any]]:
    """``Layers`` as Lambda shows them, from the annotation's JSON text or a version entry's list."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else []
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    return [
        {"Arn": str(item["Arn"]), "CodeSize": int(item.get("CodeSize") or 0)}
        for item in value
        if isinstance(item, Mapping) and "Arn" in item
    ]


def function_layers(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``Layers`` annotation of a Function resource."""
    return layers_shown(((obj.get("metadata") or {}).get("annotations") or {}).get(LAYERS_ANNOTATION))

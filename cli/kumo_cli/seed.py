"""``kumo publish NAME --state-dir DIR``: publish a version straight into a local state dir, with no
platform running (the seeding step of ``make run``: ``examples/shop`` needs a version 1 that differs
from what its manifest says now, as if ``RELEASE=1`` had been published before the manifest moved on).

This is Lambda's own sequence done offline: UpdateFunctionConfiguration (``--environment K=V``
overrides the manifest's ``spec.environment``) then PublishVersion. Aliases are not touched: ``kumo up``
sets ``spec.aliases`` at its start, and refuses one naming a version that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from kumo.catalog import Catalog
from kumo.manifests import ManifestError, load_manifests
from kumo.models import Function, format_validation_error
from kumo.versions import PublishedVersion, VersionError


class SeedError(Exception):
    """The manifests or the function are not right (the message names which)."""


def parse_environment(pairs: Sequence[str]) -> dict[str, str]:
    """``["K=V", ...]`` to a dict; a pair without ``=`` or with an empty name is refused."""
    environment: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SeedError(f"--environment {pair!r}: expected NAME=VALUE")
        environment[name] = value
    return environment


def publish_offline(
    paths: Sequence[Path],
    name: str,
    state_dir: Path,
    *,
    environment: Mapping[str, str] | None = None,
    description: str = "",
) -> PublishedVersion:
    """Publish ``name`` (as the manifests in ``paths`` declare it, ``environment`` overriding) into
    ``<state_dir>/versions/``; the same version again if nothing changed since the last one."""
    from kumo_gateway.local.packages import LocalPackages, is_package
    from kumo_gateway.local.versions_store import LocalVersions

    try:
        manifests = load_manifests(paths)
    except ManifestError as exc:
        raise SeedError(f"invalid manifests:\n{exc}") from None
    function = manifests.functions.get(name)
    if function is None:
        raise SeedError(f"Function {name!r} not found in {', '.join(map(str, paths))}")
    if environment:
        data = function.model_dump(mode="json", by_alias=True, exclude_none=True)
        data["spec"]["environment"] = {**function.spec.environment, **environment}
        try:
            function = Function.model_validate(data)  # the manifest's own rules (size, reserved names)
        except ValidationError as exc:
            raise SeedError("; ".join(format_validation_error(exc))) from None
    catalog = Catalog()
    catalog.set_function(function)
    versions = LocalVersions(catalog, state_dir.resolve(), manifests.config_maps)
    versions.load_function(name)
    if is_package(function.spec) or function.spec.layers:  # its version freezes the built package
        versions.packages = LocalPackages(state_dir.resolve())
        versions.packages.build(manifests, [name])
    try:
        return versions.publish(name, description)
    except VersionError as exc:
        raise SeedError(exc.message) from None

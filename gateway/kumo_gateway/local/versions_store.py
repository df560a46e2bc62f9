"""Published versions and aliases in local mode, kept under ``<state-dir>/versions/<function>/``.

``versions.json`` holds the registry (:func:`kumo.versions.to_record`); each version's code is written
once to ``<N>/`` and never changed, so a restart of ``kumo up`` keeps every version runnable.
The in-memory registry lives in the ``Catalog`` (both providers resolve qualifiers there).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kumo.catalog import Catalog
from kumo.models import Function
from kumo.packages.freeze import address_code_sha256, inline_snapshot, package_snapshot, pinned_packages
from kumo.sam.deployment import AliasTarget, alias_settings, next_alias
from kumo.versions import (
    Alias,
    NotFound,
    PublishedVersion,
    Snapshot,
    VersionError,
    from_record,
    take_snapshot,
    to_record,
)
from kumo_gateway.local.code import CodeUnavailable, code_files, write_tree
from kumo_gateway.local.packages import LocalPackages, is_package

log = logging.getLogger("kumo.local")


def lambda_timestamp(now: dt.datetime | None = None) -> str:
    """Lambda's ``LastModified`` format: ``2024-05-01T12:00:00.000+0000``."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def new_revision_id() -> str:
    return str(uuid.uuid4())


@functools.cache
def tree_size(root: Path) -> int:
    """Bytes of the files under ``root`` (a package dir: immutable, so measured once)."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


class LocalVersions:
    """Publishes versions (snapshotting code to disk) and persists aliases for the local provider."""

    def __init__(self, catalog: Catalog, state_dir: Path, config_maps: Mapping[str, Mapping[str, str]]) -> None:
        self.catalog = catalog
        self.root = state_dir / "versions"
        self.config_maps = config_maps
        self.started = lambda_timestamp()
        #: Built packages and layers (set by ``kumo up``): versions of package functions freeze them.
        self.packages: LocalPackages | None = None
        #: Called with (function, version) after a version is deleted (the provider retires its pool).
        self.on_deleted: Callable[[str, str], None] | None = None
        #: Functions created through the Lambda API publish their own way (``local/api_functions.py``).
        self.api_functions: Any = None

    def code_dir(self, name: str, version: str) -> Path:
        return self.root / name / version

    def load(self) -> None:
        """Read every known function's stored versions and aliases into the catalog."""
        for function in self.catalog.functions():
            self.load_function(function.metadata.name)

    def load_function(self, name: str) -> None:
        """Read ``name``'s stored versions and aliases into the catalog (a function added while running)."""
        path = self.root / name / "versions.json"
        if not path.is_file():
            return
        try:
            registry = from_record(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("function %s: cannot read %s (%s); starting without its versions", name, path, exc)
            return
        self.catalog.set_versions(name, registry)

    def latest(self, name: str) -> Snapshot:
        """``$LATEST``'s code and configuration now."""
        function = self._function(name)
        try:
            return self._current(function)[0]
        except VersionError:
            if is_package(function.spec) or function.spec.layers:  # not built (its invocations say why)
                return take_snapshot(function.spec, {})
            raise

    def _current(self, function: Function) -> tuple[Snapshot, dict[str, str] | None]:
        """What publishing ``function`` now freezes, and the code files to copy with the version (None:
        it runs a built package, kept by its content address: kumo.packages.freeze)."""
        name, spec = function.metadata.name, function.spec
        packages = self.packages if is_package(spec) or spec.layers else None
        if packages is None and (is_package(spec) or spec.layers):
            raise VersionError(f"Function {name}: its package is not available to publish")
        layers: list[str] = []
        try:
            if packages is not None:
                packages.opt_dir(name)  # a package or layer problem: refused with its reason
                layers = packages.layer_refs.get(name, [])
            if packages is not None and is_package(spec):
                package = packages.code_dir(name)
                sha, size = packages.zips.get(name) or (address_code_sha256(package.name), tree_size(package))
                snapshot = package_snapshot(spec, address=package.name, code_sha256=sha, code_size=size, layers=layers)
                return snapshot, None
            files = code_files(spec.code, self.config_maps)
        except CodeUnavailable as exc:
            raise VersionError(f"Function {name}: {exc}") from None
        snapshot = take_snapshot(spec, files)
        return inline_snapshot(spec, snapshot.code_sha256, snapshot.code_size, layers), files

    def publish(self, name: str, description: str = "", code_sha256: str | None = None) -> PublishedVersion:
        if self.api_functions is not None and self.api_functions.owns(name):
            return self.api_functions.publish(name, description, code_sha256)
        snapshot, files = self._current(self._function(name))
        return self.publish_snapshot(name, snapshot, files, description, code_sha256)

    def publish_snapshot(
        self,
        name: str,
        snapshot: Snapshot,
        files: dict[str, str] | None,
        description: str = "",
        code_sha256: str | None = None,
    ) -> PublishedVersion:
        """Publish what ``snapshot`` freezes, unless the last version already is that: ``files`` are the code
        written with a new version (None: it runs a built package, by its address); ``code_sha256`` the
        caller's expected ``$LATEST`` code (PublishVersion's ``CodeSha256``)."""
        if code_sha256 and code_sha256 != snapshot.code_sha256:
            raise VersionError(
                f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                f"({snapshot.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
            )
        registry = self.catalog.versions(name)
        if registry.unchanged(snapshot) is None and files is not None:
            target = self.code_dir(name, str(registry.next_number))
            shutil.rmtree(target, ignore_errors=True)  # left over from a publish that never got recorded
            write_tree(files, target)
        published, created = registry.publish(snapshot, description, lambda_timestamp())
        if created:
            self.save(name)
            log.info("function %s: published version %s", name, published.version)
        return published

    def pinned_packages(self) -> set[str]:
        """Package addresses published versions run (never to be removed from the cache while listed)."""
        return pinned_packages(self.catalog.versions(f.metadata.name) for f in self.catalog.functions())

    def save(self, name: str) -> None:
        """Write ``name``'s registry (atomically) after a change."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".versions-{uuid.uuid4().hex}.json"
        staging.write_text(json.dumps(to_record(self.catalog.versions(name)), indent=1))
        os.replace(staging, folder / "versions.json")

    def delete_version(self, name: str, version: str) -> None:
        """DeleteFunction with a Qualifier: drop the version from the registry (its number is never
        reused), persist, retire its instances and remove its frozen code."""
        self._function(name)
        registry = self.catalog.versions(name)
        deleted = registry.delete_version(version)
        try:
            self.save(name)
        except BaseException:
            registry.add(deleted)
            raise
        if self.on_deleted is not None:
            self.on_deleted(name, version)
        shutil.rmtree(self.code_dir(name, version), ignore_errors=True)
        log.info("function %s: deleted version %s", name, version)

    def apply_manifest(self, function: Function) -> None:
        """``spec.publish`` (publish if changed) and ``spec.aliases`` (set each; a bad one is logged, skipped)."""
        name = function.metadata.name
        if function.spec.publish:
            try:
                self.publish(name)
            except VersionError as exc:
                log.warning("function %s: spec.publish: %s", name, exc.message)
        auto = alias_settings(function.metadata.annotations)
        if auto is not None:
            self.move_auto_alias(name, *auto)
        if not function.spec.aliases:
            return
        registry = self.catalog.versions(name)
        for alias_name, spec in function.spec.aliases.items():
            alias = Alias(alias_name, str(spec.version), spec.description, dict(spec.routing), new_revision_id())
            try:
                registry.check_alias(alias)
            except VersionError as exc:
                log.warning("function %s: spec.aliases.%s skipped: %s", name, alias_name, exc.message)
                continue
            registry.aliases[alias_name] = alias
        self.save(name)

    def move_auto_alias(self, name: str, alias_name: str, deployment_type: str | None) -> None:
        """A SAM `AutoPublishAlias`: point it at the newest version, by `DeploymentPreference` (docs/sam.md)."""
        registry = self.catalog.versions(name)
        latest = registry.latest_published()
        if latest is None:
            return
        current = registry.aliases.get(alias_name)
        before = AliasTarget(current.function_version, dict(current.routing)) if current is not None else None
        target = next_alias(before, latest.version, deployment_type)
        if target is None:
            return
        description = current.description if current is not None else "SAM AutoPublishAlias"
        alias = Alias(alias_name, target.version, description, dict(target.routing), new_revision_id())
        try:
            registry.check_alias(alias)
        except VersionError as exc:
            log.warning("function %s: AutoPublishAlias %s skipped: %s", name, alias_name, exc.message)
            return
        registry.aliases[alias_name] = alias
        self.save(name)
        log.info("function %s: alias %s -> version %s %s", name, alias_name, target.version, dict(target.routing))

    def _function(self, name: str) -> Function:
        function = self.catalog.function(name)
        if function is None:
            raise NotFound(f"Function not found: {self.catalog.function_arn(name)}")
        return function

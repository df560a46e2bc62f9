"""Function versions and aliases with Lambda's semantics (pure: no I/O, no clock, no randomness of its own).

A **version** freezes a function's code and configuration as ``1``, ``2``, … (never reused); ``$LATEST``
is the working copy. Publishing with nothing changed since the last version returns that version.
An **alias** names a version and may send a share of its traffic to one more version
(``RoutingConfig.AdditionalVersionWeights``). Both providers resolve a qualifier through
:meth:`FunctionVersions.resolve` (via ``Catalog.resolve``) so they run the same version.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kumo.models import FunctionSpec

LATEST = "$LATEST"
ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}")
VERSION_NUMBER = re.compile(r"[0-9]{1,10}")
MAX_DESCRIPTION = 256
#: Configuration a version freezes (Lambda's per-version settings); scaling and concurrency are the
#: function's, shared by every version.
VERSIONED_FIELDS = ("runtime", "handler", "environment", "memory", "timeout", "ephemeral_storage")


class VersionError(ValueError):
    """A versions/aliases request Lambda refuses: ``status`` and ``error_type`` are Lambda's."""

    status = 400
    error_type = "InvalidParameterValueException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(VersionError):
    status = 404
    error_type = "ResourceNotFoundException"


class Conflict(VersionError):
    status = 409
    error_type = "ResourceConflictException"


class PreconditionFailed(VersionError):
    status = 412
    error_type = "PreconditionFailedException"


# Snapshots


def code_sha256(files: Mapping[str, str]) -> str:
    """Base64 SHA-256 over the code files (names and contents, in name order), like Lambda's ``CodeSha256``."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for part in (name.encode(), files[name].encode()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return base64.b64encode(digest.digest()).decode()


def versioned_config(spec: FunctionSpec) -> dict[str, Any]:
    """The part of ``spec`` a version freezes, as JSON-ready data."""
    return spec.model_dump(mode="json", by_alias=True, include=set(VERSIONED_FIELDS))


@dataclass(frozen=True)
class Snapshot:
    """A function's code and configuration at one moment."""

    spec: FunctionSpec
    code_sha256: str
    code_size: int
    #: Digest over code and versioned configuration: equal fingerprints mean "nothing changed".
    fingerprint: str
    #: The content address of the deployment package a version runs (its dir under
    #: ``<state-dir>/packages/``, kumo.packages.freeze); None: the version's own copy of its code files.
    package: str | None = None


def take_snapshot(spec: FunctionSpec, files: Mapping[str, str]) -> Snapshot:
    """A snapshot of inline code ``files`` (the version keeps its own copy of them)."""
    return make_snapshot(spec, code_sha256(files), sum(len(text.encode()) for text in files.values()))


def make_snapshot(spec: FunctionSpec, sha: str, size: int, package: str | None = None) -> Snapshot:
    """The snapshot of ``spec`` with code ``sha``/``size``; ``package`` (a content address) when the version
    runs a built deployment package. ``spec.layers`` should name exact versions (``NAME:N``): they are frozen
    with the version and part of its fingerprint (kumo.packages.freeze)."""
    config = json.dumps(versioned_config(spec), sort_keys=True, separators=(",", ":"))
    extra = ""  # empty for inline code without layers: the fingerprints of older state dirs stay valid
    if package or spec.layers:
        extra = f"\npackage={package or ''}\nlayers={','.join(spec.layers)}"
    fingerprint = hashlib.sha256(f"{sha}\n{config}{extra}".encode()).hexdigest()
    return Snapshot(spec.model_copy(deep=True), sha, size, fingerprint, package)


@dataclass(frozen=True)
class PublishedVersion:
    version: str
    snapshot: Snapshot
    description: str
    #: ISO 8601 with ``+0000`` (Lambda's ``LastModified``).
    last_modified: str


# Aliases


@dataclass(frozen=True)
class Alias:
    name: str
    function_version: str
    description: str = ""
    #: additional version -> weight (0..1); at most one entry.
    routing: Mapping[str, float] = field(default_factory=dict)
    revision_id: str = ""


def check_description(description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise VersionError(f"Description must be at most {MAX_DESCRIPTION} characters long")


def check_alias_name(name: str) -> None:
    if not ALIAS_NAME.fullmatch(name):
        raise VersionError(
            f"Alias name {name!r} is invalid: 1-128 letters, digits, '-' or '_', and not only digits "
            "(a number would be a version)"
        )


def choose_version(primary: str, routing: Mapping[str, float], draw: float) -> str:
    """The version an alias invocation runs: ``draw`` in [0, 1) below the extra weights picks an extra version."""
    threshold = 0.0
    for version in sorted(routing):
        threshold += routing[version]
        if draw < threshold:
            return version
    return primary


@dataclass(frozen=True)
class Resolution:
    """What a qualified call runs: ``version`` (executed) and the qualifier for the invoked ARN."""

    version: str
    qualifier: str | None
    alias: str | None = None


class FunctionVersions:
    """One function's published versions and aliases (the registry the catalog keeps per function)."""

    def __init__(self, next_number: int = 1) -> None:
        self.versions: dict[str, PublishedVersion] = {}
        self.aliases: dict[str, Alias] = {}
        self.next_number = next_number

    def latest_published(self) -> PublishedVersion | None:
        return self.versions[next(reversed(self.versions))] if self.versions else None

    def get(self, version: str) -> PublishedVersion | None:
        return self.versions.get(version)

    def unchanged(self, snapshot: Snapshot) -> PublishedVersion | None:
        """The last version if ``snapshot`` is the same code and configuration, else None."""
        last = self.latest_published()
        return last if last is not None and last.snapshot.fingerprint == snapshot.fingerprint else None

    def publish(self, snapshot: Snapshot, description: str, now: str) -> tuple[PublishedVersion, bool]:
        """Publish ``snapshot`` as the next version; ``(version, created)`` (False: nothing changed)."""
        check_description(description)
        existing = self.unchanged(snapshot)
        if existing is not None:
            return existing, False
        published = PublishedVersion(str(self.next_number), snapshot, description, now)
        self.versions[published.version] = published
        self.next_number += 1
        return published, True

    def add(self, published: PublishedVersion) -> None:
        """Register a version loaded from storage (keeps numbering above it)."""
        self.versions[published.version] = published
        self.versions = dict(sorted(self.versions.items(), key=lambda item: int(item[0])))
        self.next_number = max(self.next_number, int(published.version) + 1)

    def delete_version(self, qualifier: str) -> PublishedVersion:
        """Lambda's ``DeleteFunction`` with a ``Qualifier``: remove published version ``qualifier`` (its
        number is never reused). ``$LATEST`` and aliases cannot be deleted this way; a version an alias
        routes to (as its version or its additional one) is refused with ``ResourceConflictException``."""
        if qualifier == LATEST:
            raise VersionError("$LATEST version cannot be deleted without deleting the function.")
        if not VERSION_NUMBER.fullmatch(qualifier):
            raise VersionError(
                f"Invalid Qualifier {qualifier!r}: DeleteFunction takes a version number (use DeleteAlias for an alias)"
            )
        if qualifier not in self.versions:
            raise NotFound(f"Version {qualifier} of the function does not exist")
        using = [a.name for a in self.aliases.values() if a.function_version == qualifier or qualifier in a.routing]
        if using:
            raise Conflict(
                f"Unable to delete version because the following aliases reference it: [{', '.join(sorted(using))}]"
            )
        return self.versions.pop(qualifier)

    # Aliases

    def check_alias(self, alias: Alias) -> None:
        """Lambda's rules for an alias's target and routing configuration."""
        check_alias_name(alias.name)
        check_description(alias.description)
        self._check_target(alias.function_version)
        if len(alias.routing) > 1:
            raise VersionError("RoutingConfig.AdditionalVersionWeights may name at most one additional version")
        for version, weight in alias.routing.items():
            if not VERSION_NUMBER.fullmatch(version):
                raise VersionError(
                    f"Invalid additional version {version!r}: must be a published version number ($LATEST cannot "
                    "be used in a routing configuration)"
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0.0 <= weight <= 1.0:
                raise VersionError(f"Invalid weight {weight!r} for version {version}: must be between 0.0 and 1.0")
            if alias.function_version == LATEST:
                raise VersionError("$LATEST is not supported for an alias pointing to more than 1 version")
            if version == alias.function_version:
                raise VersionError(f"Version {version} is the alias's primary version and cannot also be additional")
            self._check_target(version)

    def _check_target(self, version: str) -> None:
        if version == LATEST:
            return
        if not VERSION_NUMBER.fullmatch(version):
            raise VersionError(f"Invalid version {version!r}: must be $LATEST or a version number")
        if version not in self.versions:
            raise NotFound(f"Version {version} of the function does not exist")

    def create_alias(self, alias: Alias) -> Alias:
        if alias.name in self.aliases:
            raise Conflict(f"Alias already exists: {alias.name}")
        self.check_alias(alias)
        self.aliases[alias.name] = alias
        return alias

    def update_alias(
        self,
        name: str,
        *,
        function_version: str | None = None,
        description: str | None = None,
        routing: Mapping[str, float] | None = None,
        expected_revision: str | None = None,
        new_revision: str,
    ) -> Alias:
        current = self.aliases.get(name)
        if current is None:
            raise NotFound(f"Alias not found: {name}")
        if expected_revision and expected_revision != current.revision_id:
            raise PreconditionFailed("The Revision Id provided does not match the latest Revision Id.")
        updated = replace(
            current,
            function_version=current.function_version if function_version is None else function_version,
            description=current.description if description is None else description,
            routing=current.routing if routing is None else dict(routing),
            revision_id=new_revision,
        )
        self.check_alias(updated)
        self.aliases[name] = updated
        return updated

    def delete_alias(self, name: str) -> None:
        if self.aliases.pop(name, None) is None:
            raise NotFound(f"Alias not found: {name}")

    # Resolution

    def resolve(self, qualifier: str | None, draw: Callable[[], float]) -> Resolution | None:
        """The version a call with ``qualifier`` runs (None: no such version or alias); ``draw()`` is called
        (once) only for an alias with a routing configuration."""
        if qualifier is None or qualifier == LATEST:
            return Resolution(LATEST, qualifier)
        if VERSION_NUMBER.fullmatch(qualifier):
            return Resolution(qualifier, qualifier) if qualifier in self.versions else None
        alias = self.aliases.get(qualifier)
        if alias is None:
            return None
        version = (
            choose_version(alias.function_version, alias.routing, draw()) if alias.routing else alias.function_version
        )
        return Resolution(version, qualifier, alias.name)


# Records (JSON-ready dicts): how a registry is stored (local mode's state dir, later a status field)


def to_record(registry: FunctionVersions) -> dict[str, Any]:
    return {
        "nextNumber": registry.next_number,
        "versions": [
            {
                "version": v.version,
                "description": v.description,
                "lastModified": v.last_modified,
                "codeSha256": v.snapshot.code_sha256,
                "codeSize": v.snapshot.code_size,
                "fingerprint": v.snapshot.fingerprint,
                **({"package": v.snapshot.package} if v.snapshot.package else {}),
                "spec": v.snapshot.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
            for v in registry.versions.values()
        ],
        "aliases": [
            {
                "name": a.name,
                "functionVersion": a.function_version,
                "description": a.description,
                "routing": dict(a.routing),
                "revisionId": a.revision_id,
            }
            for a in registry.aliases.values()
        ],
    }


def from_record(record: Mapping[str, Any]) -> FunctionVersions:
    """The registry a :func:`to_record` dict describes (raises ``ValueError``/``KeyError`` when malformed)."""
    registry = FunctionVersions(int(record.get("nextNumber", 1)))
    for item in record.get("versions", []):
        spec = FunctionSpec.model_validate(item["spec"])
        package = item.get("package")
        snapshot = Snapshot(spec, item["codeSha256"], int(item["codeSize"]), item["fingerprint"], package or None)
        description = item.get("description", "")
        registry.add(PublishedVersion(str(item["version"]), snapshot, description, item["lastModified"]))
    for item in record.get("aliases", []):
        alias = Alias(
            item["name"],
            str(item["functionVersion"]),
            item.get("description", ""),
            {str(k): float(v) for k, v in (item.get("routing") or {}).items()},
            item.get("revisionId", ""),
        )
        registry.aliases[alias.name] = alias
    return registry

"""Apply an edit of the manifests to a running ``kumo up``: reload, check, diff, apply.

An edit that does not load (YAML, validation) or adds a reference problem is refused with one ERROR
line per problem (each names the file and the field) and the previous manifests keep serving. A valid
edit is diffed against what is served (:mod:`kumo_gateway.local.manifest_diff`) and applied: the catalog
is updated, changed Functions' ``$LATEST`` rolled (new requests to new instances, in-flight ones finish),
removed Functions' pools retired, ``spec.publish``/``spec.aliases`` applied as at start. Table changes
are only reported: they apply when ``kumo up`` restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from kumo.catalog import Catalog
from kumo.manifests import ManifestError, Manifests, load_manifests
from kumo_gateway.local.manifest_diff import ManifestDiff, diff_manifests, new_reference_problems
from kumo_gateway.local.process_provider import LocalProvider
from kumo_gateway.local.versions_store import LocalVersions

log = logging.getLogger("kumo.local")

REFUSED = "edit refused, still serving the previous manifests:"


class Reloader:
    """Holds the manifests being served and moves the running parts to a new, valid load of them."""

    def __init__(
        self,
        paths: Sequence[Path],
        current: Manifests,
        catalog: Catalog,
        provider: LocalProvider,
        versions: LocalVersions,
    ) -> None:
        self.paths = list(paths)
        self.current = current
        self.catalog = catalog
        self.provider = provider
        self.versions = versions

    async def reload(self) -> ManifestDiff | None:
        """Load the manifests again and apply the difference; None (and ERROR lines) when refused."""
        try:
            new = load_manifests(self.paths)
        except ManifestError as exc:
            for problem in exc.problems:
                log.error("%s %s", REFUSED, problem)
            return None
        problems = new_reference_problems(self.current, new)
        if problems:
            for problem in problems:
                log.error("%s %s", REFUSED, problem)
            return None
        diff = diff_manifests(self.current, new)
        await self.apply(new, diff)
        log.info("manifests reloaded: %s", diff.summary())
        return diff

    async def apply(self, new: Manifests, diff: ManifestDiff) -> None:
        self.provider.config_maps = dict(new.config_maps)
        self.versions.config_maps = new.config_maps
        functions = diff.functions
        for name in functions.removed:
            self.catalog.remove_function(name)
            self.provider.remove(name)
        for name in (*functions.added, *functions.changed):
            self.catalog.set_function(new.functions[name])
        for name in functions.added:
            self.versions.load_function(name)
        for name in (*functions.added, *diff.rolled):
            await self.provider.roll(name)  # a new $LATEST pool (started now if minInstances > 0)
        for name in (*functions.added, *functions.changed):
            self.versions.apply_manifest(new.functions[name])  # spec.publish, spec.aliases
        for name in diff.apis.removed:
            self.catalog.remove_api(name)
        for name in (*diff.apis.added, *diff.apis.changed):
            self.catalog.set_api(new.apis[name])
        for verb, names in (("added", diff.tables.added), ("changed", diff.tables.changed)):
            for name in names:
                log.warning("Table %s %s in the manifests: Table edits apply when kumo up restarts", name, verb)
        for name in diff.tables.removed:
            log.warning("Table %s removed from the manifests: it keeps serving (DeleteTable removes it)", name)
        self.current = new

"""Apply an edit of the manifests to a running ``kumo up``: reload, check, diff, apply.

An edit that does not load (YAML, validation) or adds a reference problem is refused with one ERROR
line per problem (each names the file and the field) and the previous manifests keep serving. A valid
edit is diffed against what is served (:mod:`kumo_gateway.local.manifest_diff`) and applied: the catalog
is updated, changed Functions' ``$LATEST`` rolled (new requests to new instances, in-flight ones finish),
removed Functions' pools retired, ``spec.publish``/``spec.aliases`` applied as at start. Tables: an
added one is started and served, a removed one stops being served (its data kept, see
:mod:`kumo_gateway.local.tables`), a changed one gets its new billing, throughput and TTL settings; an
edit that changes a table's key schema is refused like an invalid edit (DynamoDB cannot change keys).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kumo.catalog import Catalog
from kumo.manifests import ManifestError, Manifests, load_manifests
from kumo_gateway.local.manifest_diff import ManifestDiff, diff_manifests, new_reference_problems
from kumo_gateway.local.process_provider import LocalProvider
from kumo_gateway.local.table_edits import key_schema_problem, manifest_update, wanted_description
from kumo_gateway.local.tables import LocalTables
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
        tables: LocalTables | None = None,
        parameters: Mapping[str, str] | None = None,
        api_owned: Callable[[str], bool] | None = None,
    ) -> None:
        self.paths = list(paths)
        self.parameters = dict(parameters or {})
        self.current = current
        self.catalog = catalog
        self.provider = provider
        self.versions = versions
        self.tables = tables
        #: Names of functions created through the Lambda API (a manifest may not take them over).
        self.api_owned = api_owned

    async def reload(self) -> ManifestDiff | None:
        """Load the manifests again and apply the difference; None (and ERROR lines) when refused."""
        try:
            new = load_manifests(self.paths, self.parameters)
        except ManifestError as exc:
            for problem in exc.problems:
                log.error("%s %s", REFUSED, problem)
            return None
        problems = new_reference_problems(self.current, new) + self.table_problems(new) + self.name_problems(new)
        if problems:
            for problem in problems:
                log.error("%s %s", REFUSED, problem)
            return None
        diff = diff_manifests(self.current, new)
        await self.apply(new, diff)
        log.info("manifests reloaded: %s", diff.summary())
        return diff

    def name_problems(self, new: Manifests) -> list[str]:
        """Functions the edit adds under the name of a function created through the Lambda API."""
        if self.api_owned is None:
            return []
        return [
            f"{new.sources.get(('Function', name))}: Function {name!r}: a function of that name was created through "
            "the Lambda API; delete it there (aws lambda delete-function) or choose another name"
            for name in new.functions
            if name not in self.current.functions and self.api_owned(name)
        ]

    def table_problems(self, new: Manifests) -> list[str]:
        """Tables whose manifest asks for other keys than the stored table has (``file: Table 'x': field: ...``)."""
        if self.tables is None:
            return []
        problems = []
        for name, manifest in new.tables.items():
            if manifest == self.current.tables.get(name):
                continue
            stored = self.tables.stored_description(name)
            where = f"{new.sources.get(('Table', name))}: Table {name!r}"
            try:
                wanted = wanted_description(name, manifest)
                problem = key_schema_problem(stored, wanted) if stored else None
                found = [problem] if problem is not None else manifest_update(stored, wanted)[1] if stored else []
            except Exception as exc:  # DynamoDB's own refusal of the equivalent CreateTable
                found = [f"spec: {exc}"]
            problems.extend(f"{where}: {problem}" for problem in found)
        return problems

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
        repackaged: list[str] = []
        if self.provider.packages is not None:  # pip may run: off the event loop
            packages = self.provider.packages
            await asyncio.to_thread(packages.build, new, [*functions.removed, *functions.added, *diff.rolled])
            # Unchanged manifests whose code dir, zip, requirements file or layer versions changed.
            others = [n for n in packages.uses_packages(new) if n not in (*functions.added, *diff.rolled)]
            repackaged = await asyncio.to_thread(packages.build, new, others)
            for name in repackaged:
                log.info("function %s: package or layers changed ($LATEST rolled)", name)
        for name in dict.fromkeys((*functions.added, *diff.rolled, *repackaged)):
            await self.provider.roll(name)  # a new $LATEST pool (started now if minInstances > 0)
        for name in dict.fromkeys((*functions.added, *functions.changed, *repackaged)):
            self.versions.apply_manifest(new.functions[name])  # spec.publish, spec.aliases
        for name in diff.apis.removed:
            self.catalog.remove_api(name)
        for name in (*diff.apis.added, *diff.apis.changed):
            self.catalog.set_api(new.apis[name])
        if self.tables is not None:
            for name in diff.tables.removed:
                await self.tables.remove_manifest_table(name)
            for name in diff.tables.added:
                await self.tables.add_manifest_table(name, new.tables[name])
            for name in diff.tables.changed:
                await self.tables.change_manifest_table(name, new.tables[name])
        self.current = new

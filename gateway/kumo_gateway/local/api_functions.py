"""Functions created through the Lambda management API in local mode (``CreateFunction`` and friends).

Each lives in ``<state-dir>/api-functions/<name>.json`` (settings, package address, tags, revision) and
its uploaded zip in the code store (:class:`kumo.packages.store.LocalPackageStore`), so it survives a
restart of ``kumo up``. It is served from the same ``Catalog`` as manifest functions, with
``spec.code.zip`` pointing into the store, and built by the same package builder into
``<state-dir>/packages/<address>/``. A zip is checked (readable, no unsafe entries, 250 MB unzipped,
the code storage limit) before anything is written: a refused upload leaves nothing behind.

States follow Lambda's: ``Pending`` (creating) → ``Active`` or ``Failed``; an update sets
``LastUpdateStatus`` ``InProgress`` → ``Successful`` (new requests then run the new code) or ``Failed``
(the previous code keeps serving).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kumo.catalog import Catalog
from kumo.models import Function
from kumo.packages.build import PackageSource, build_package, read_zip
from kumo.packages.freeze import package_snapshot
from kumo.packages.plan import PackageError
from kumo.packages.storage_limit import LAMBDA_ERROR, LAMBDA_STATUS, storage_exceeded
from kumo.packages.store import LocalPackageStore, StoreError, address_of
from kumo.versions import Conflict, FunctionVersions, NotFound, PreconditionFailed
from kumo_gateway.lambda_.function_requests import (
    CreateRequest,
    FunctionSettings,
    RequestError,
    apply_configuration,
    function_spec,
    layer_ref,
    parse_tags,
)
from kumo_gateway.lambda_.uploaded_zip import read_zip_bytes
from kumo_gateway.local.api_function_record import ApiFunction
from kumo_gateway.local.packages import LocalPackages
from kumo_gateway.local.versions_store import LocalVersions, lambda_timestamp, new_revision_id

log = logging.getLogger("kumo.local")
#: Where local mode's code storage limit is set (named in the refusal).
STORAGE_SETTING = "kumo up --code-storage-limit"


class ApiFunctions:
    """The local backend of the management API's writes (``kumo_gateway.lambda_.function_writer``)."""

    def __init__(
        self,
        catalog: Catalog,
        state_dir: Path,
        packages: LocalPackages,
        versions: LocalVersions,
        *,
        storage_limit: int,
        manifest_sources: Mapping[str, Path] | None = None,
    ) -> None:
        self.catalog, self.packages, self.versions = catalog, packages, versions
        self.root = state_dir / "api-functions"
        self.store = LocalPackageStore(state_dir / "code-store")
        self.storage_limit = storage_limit
        self.manifest_sources = dict(manifest_sources or {})
        self.functions: dict[str, ApiFunction] = {}
        #: Set by serve.py once the provider exists: ``roll(name)`` and ``remove(name)``.
        self.provider: Any = None
        self._builds: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    # Loading (at start: before the gateway serves)

    def load(self) -> None:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*.json")):
            try:
                function = ApiFunction.from_record(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("cannot read %s (%s): that function is not served", path, exc)
                continue
            if self.catalog.function(function.name) is not None:
                log.error(
                    "function %s was created through the Lambda API, but a manifest declares it too: "
                    "serving the manifest's (delete one of them)",
                    function.name,
                )
                continue
            self._serve(function)
            self.versions.load_function(function.name)
            try:
                source = read_zip(self.store_file(function.address))
                self._build(function, source)
            except (PackageError, StoreError) as exc:
                self._failed_create(function, exc)

    def store_file(self, address: str) -> Path:
        """The stored zip, checked against its address first (``StoreError`` when missing or altered)."""
        self.store.open(address)
        return self.store.path(address)

    # The writer interface

    def owns(self, name: str) -> bool:
        return name in self.functions

    async def create(self, request: CreateRequest) -> None:
        async with self._lock:
            name = request.name
            if self.catalog.function(name) is not None:
                raise Conflict(f"Function already exist: {name}")
            self._check_layers(request.settings)
            source = await self._accept_zip(request.zip_bytes)
            function = ApiFunction(
                name=name,
                settings=request.settings,
                address=self.store.put(request.zip_bytes),
                size=len(request.zip_bytes),
                tags=dict(request.tags),
                revision_id=new_revision_id(),
                last_modified=lambda_timestamp(),
            )
            self.catalog.set_versions(name, FunctionVersions())
            shutil.rmtree(self.versions.root / name, ignore_errors=True)  # a deleted namesake's versions
            self._save(function)
            self._serve(function)
        log.info("function %s: created through the Lambda API (package %s)", name, function.address[:12])
        await self._start_build(function, source, wait=request.publish)
        if request.publish:
            self.publish(name)

    async def update_code(self, name: str, zip_bytes: bytes, publish: bool, revision: str | None) -> str | None:
        async with self._lock:
            function = self._changeable(name, revision)
            source = await self._accept_zip(zip_bytes)
            previous = dataclasses.replace(function)
            function.address, function.size = self.store.put(zip_bytes), len(zip_bytes)
            self._updating(function)
            self._save(function)
        await self._start_build(function, source, previous=previous, wait=publish)
        return self.publish(name).version if publish else None

    async def update_configuration(self, name: str, body: Mapping[str, Any]) -> None:
        async with self._lock:
            function = self._changeable(name, body.get("RevisionId"))
            settings = apply_configuration(function.settings, body)
            self._check_layers(settings)
            source = await asyncio.to_thread(read_zip, self.store_file(function.address))
            previous = dataclasses.replace(function)
            function.settings = settings
            self._updating(function)
            self._save(function)
            self._serve(function)
        await self._start_build(function, source, previous=previous)

    async def delete(self, name: str) -> None:
        async with self._lock:
            function = self.functions.pop(name, None)
            if function is None:
                raise NotFound(f"Function not found: {self.catalog.function_arn(name)}")
            self.catalog.remove_function(name)
            if self.provider is not None:
                self.provider.remove(name)
            self.catalog.set_versions(name, FunctionVersions())
            shutil.rmtree(self.versions.root / name, ignore_errors=True)
            (self.root / f"{name}.json").unlink(missing_ok=True)
            self.packages.built.pop(name, None)
            self.packages.opt.pop(name, None)
            self.packages.layer_refs.pop(name, None)
            self.packages.problems.pop(name, None)
            self.packages.not_ready.pop(name, None)
            self._forget(function.address)
        log.info("function %s: deleted through the Lambda API", name)

    def overlay(self, name: str) -> dict[str, Any]:
        function = self.functions[name]
        fields: dict[str, Any] = {
            "Role": function.settings.role,
            "Description": function.settings.description,
            "CodeSha256": function.code_sha256,
            "CodeSize": function.size,
            "LastModified": function.last_modified,
            "RevisionId": function.revision_id,
            "Architectures": [function.settings.architecture],
            "Layers": [{"Arn": arn, "CodeSize": self._layer_size(layer_ref(arn))} for arn in function.settings.layers],
            "State": function.state,
            "LastUpdateStatus": function.last_update,
        }
        if function.state != "Active":
            fields |= {"StateReason": function.state_reason, "StateReasonCode": function.state_reason_code}
        if function.last_update != "Successful" and function.last_update_reason:
            fields["LastUpdateStatusReason"] = function.last_update_reason
            fields["LastUpdateStatusReasonCode"] = function.last_update_reason_code
        return fields

    def version_overlay(self, name: str, version: str) -> dict[str, Any]:
        """A version's ``Layers``: the exact layer versions it froze (its snapshot says the rest)."""
        published = self.catalog.versions(name).get(version)
        refs = published.snapshot.spec.layers if published is not None else []
        prefix = f"arn:aws:lambda:{self.catalog.region}:{self.catalog.account_id}:layer"
        return {"Layers": [{"Arn": f"{prefix}:{ref}", "CodeSize": self._layer_size(ref)} for ref in refs]}

    def code_address(self, name: str) -> str:
        return self.functions[name].address

    def open_code(self, address: str) -> bytes:
        return self.store.open(address)

    def tags(self, name: str) -> dict[str, str]:
        return dict(self._function(name).tags)

    def set_tags(self, name: str, tags: Mapping[str, str], remove: tuple[str, ...] = ()) -> None:
        function = self._function(name)
        merged = {key: value for key, value in {**function.tags, **tags}.items() if key not in remove}
        function.tags = parse_tags(merged)
        self._save(function)

    def publish(self, name: str, description: str = "", code_sha256: str | None = None) -> Any:
        """PublishVersion of an API function: the version freezes its built package's content address, as a
        manifest package function's does (kumo.packages.freeze), with the uploaded zip's ``CodeSha256``, and
        its layers: ``Layers`` are exact layer versions (``NAME:N``, immutable), so the version keeps running
        the ones it was published with whatever ``$LATEST`` moves to."""
        function = self._function(name)
        if function.state != "Active" or function.last_update != "Successful":
            raise _not_ready(self.catalog.function_arn(name), function)
        spec = self.catalog.function(name).spec  # type: ignore[union-attr]
        address = self.packages.code_dir(name).name
        snapshot = package_snapshot(
            spec, address=address, code_sha256=function.code_sha256, code_size=function.size, layers=spec.layers
        )
        return self.versions.publish_snapshot(name, snapshot, None, description, code_sha256)

    async def wait_builds(self) -> None:
        if self._builds:
            await asyncio.gather(*list(self._builds), return_exceptions=True)

    # Inside

    def _function(self, name: str) -> ApiFunction:
        function = self.functions.get(name)
        if function is not None:
            return function
        if self.catalog.function(name) is not None:
            source = self.manifest_sources.get(name)
            where = f" ({source})" if source else ""
            raise Conflict(
                f"Function {name} is managed by its manifest{where}: change it there (the Lambda API changes only "
                "functions it created)"
            )
        raise NotFound(f"Function not found: {self.catalog.function_arn(name)}")

    def _changeable(self, name: str, revision: Any) -> ApiFunction:
        function = self._function(name)
        if function.state == "Pending" or function.last_update == "InProgress":
            raise Conflict(
                "The operation cannot be performed at this time. An update is in progress for resource: "
                f"{self.catalog.function_arn(name)}"
            )
        if revision is not None and revision != function.revision_id:
            raise PreconditionFailed("The Revision Id provided does not match the latest Revision Id.")
        return function

    def _forget(self, address: str) -> None:
        """Remove a stored zip no function uses any more (published versions run their built package)."""
        if all(other.address != address for other in self.functions.values()):
            self.store.delete(address)

    def _updating(self, function: ApiFunction) -> None:
        function.revision_id, function.last_modified = new_revision_id(), lambda_timestamp()
        function.last_update, function.last_update_reason = "InProgress", "The function is being updated."
        function.last_update_reason_code = "Updating"  # not a Lambda enum value; shown only while in progress

    def _check_layers(self, settings: FunctionSettings) -> None:
        try:
            self.packages.layers.resolve([layer_ref(arn) for arn in settings.layers])
        except PackageError as exc:
            raise RequestError(f"Layers: {exc}") from None

    def _layer_size(self, ref: str) -> int:
        """The ``CodeSize`` of layer version ``NAME:N`` (0 when its record is gone)."""
        name, _, version = ref.partition(":")
        try:
            return int(json.loads((self.packages.layers.root / name / f"{version}.json").read_text())["CodeSize"])
        except (OSError, ValueError, KeyError):
            return 0

    async def _accept_zip(self, data: bytes) -> PackageSource:
        """The zip's files, checked as Lambda does; refused before anything is stored."""
        if not self.store.path(address_of(data)).is_file():  # an archive the store has costs nothing again
            problem = storage_exceeded(
                self.store.total_bytes(), len(data), self.storage_limit, already_stored=False, setting=STORAGE_SETTING
            )
            if problem is not None:
                raise RequestError(problem, LAMBDA_ERROR, LAMBDA_STATUS)
        return await asyncio.to_thread(read_zip_bytes, data)

    def _save(self, function: ApiFunction) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".{function.name}-{uuid.uuid4().hex}.json"
        staging.write_text(json.dumps(function.record(), indent=1))
        os.replace(staging, self.root / f"{function.name}.json")

    def _serve(self, function: ApiFunction) -> None:
        """Put (or replace) the function in the catalog; its package is built separately."""
        self.functions[function.name] = function
        spec = function_spec(function.settings, str(self.store.path(function.address)))
        self.catalog.set_function(Function(metadata={"name": function.name}, spec=spec))
        if function.state != "Active":
            self.packages.not_ready[function.name] = function.state

    async def _start_build(
        self, function: ApiFunction, source: PackageSource, *, previous: ApiFunction | None = None, wait: bool = False
    ) -> None:
        async def run() -> None:
            try:
                await asyncio.to_thread(self._build, function, source)
            except (PackageError, StoreError, OSError) as exc:
                if self.functions.get(function.name) is not function:
                    return  # deleted while building
                if previous is None:
                    self._failed_create(function, exc)
                else:
                    replaced = function.address
                    self._failed_update(function, previous, exc)
                    self._forget(replaced)
                return
            if previous is not None:
                self._forget(previous.address)
            if self.provider is not None:
                await self.provider.roll(function.name)

        task = asyncio.create_task(run(), name=f"build:{function.name}")
        self._builds.add(task)
        task.add_done_callback(self._builds.discard)
        if wait:
            await task

    def _build(self, function: ApiFunction, source: PackageSource) -> None:
        spec = self.catalog.function(function.name).spec  # type: ignore[union-attr]
        opt = self.packages.layers.merged(spec.layers)
        package = build_package(
            function.name, source.files, [], spec.runtime, self.packages.cache, executables=source.executables
        )
        if self.functions.get(function.name) is not function:
            return  # deleted (or replaced) while building
        self.packages.built[function.name] = package.path
        if opt is not None:
            self.packages.opt[function.name] = opt
            self.packages.layer_refs[function.name] = list(spec.layers)  # exact NAME:N (from the ARNs)
        else:
            self.packages.opt.pop(function.name, None)
            self.packages.layer_refs.pop(function.name, None)
        self.packages.problems.pop(function.name, None)
        self.packages.not_ready.pop(function.name, None)
        function.state, function.state_reason, function.state_reason_code = "Active", "", ""
        function.last_update, function.last_update_reason, function.last_update_reason_code = "Successful", "", ""
        log.info("function %s: package %s ready", function.name, package.address[:12])

    def _failed_create(self, function: ApiFunction, exc: Exception) -> None:
        code = "InvalidZipFileException" if isinstance(exc, PackageError | StoreError) else "InternalError"
        function.state, function.state_reason, function.state_reason_code = "Failed", str(exc), code
        function.last_update, function.last_update_reason, function.last_update_reason_code = "Failed", str(exc), code
        self.packages.not_ready[function.name] = "Failed"
        log.error("function %s: not active: %s", function.name, exc)

    def _failed_update(self, function: ApiFunction, previous: ApiFunction, exc: Exception) -> None:
        function.address, function.size, function.settings = previous.address, previous.size, previous.settings
        code = "InvalidZipFileException" if isinstance(exc, PackageError | StoreError) else "InternalError"
        function.last_update, function.last_update_reason, function.last_update_reason_code = "Failed", str(exc), code
        self._save(function)
        self._serve(function)
        log.error("function %s: update failed, the previous code keeps serving: %s", function.name, exc)


def _not_ready(arn: str, function: ApiFunction) -> Conflict:
    state = function.state if function.state != "Active" else f"{function.state} (update {function.last_update})"
    return Conflict(
        f"The operation cannot be performed at this time. The function is currently in the following "
        f"state: {state} ({arn})"
    )

"""The Lambda management API's writes in a cluster (``kumo gateway --kubernetes`` with a code store).

:class:`ClusterFunctions` implements :class:`kumo_gateway.lambda_.function_writer.FunctionWriter` over
Function resources and the code store, so there is one source of truth:

- ``CreateFunction``: the zip is checked as local mode checks it (``lambda_/uploaded_zip.py``), uploaded
  to the code store with the platform credential (the store verifies its SHA-256 and the limits), then a
  Function with ``code.package: {sha256, size}`` is created; the operator rolls it out and its ``Ready``
  condition becomes the function's ``State`` (``kubernetes/function_objects.py``). A new archive that would
  take the store over its storage limit is ``CodeStorageExceededException`` (``kumo.packages.storage_limit``).
- ``UpdateFunctionCode`` / ``UpdateFunctionConfiguration`` / tags: read the resource, change it, ``PUT`` it
  back with its ``resourceVersion`` (a concurrent change answers ``ResourceConflictException``);
  ``RevisionId`` is checked against the resource's.
- ``DeleteFunction`` deletes the resource (the operator's children go with it).
- Reads come from the provider's watch (``KubernetesProvider.objects``): kubectl-applied Functions too.

Only Functions whose code is a ``code.package`` can be changed through the API; inline, ConfigMap and
image Functions are read-only here (``ResourceConflictException``: change their manifest).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from kumo.catalog import Catalog
from kumo.kube.client import KubeClient, KubeError, collection_path, object_path
from kumo.kube.published import answered_publish, lambda_timestamp
from kumo.packages.code_store import PackageRef, StoreError
from kumo.packages.storage_limit import LAMBDA_ERROR, LAMBDA_STATUS, STORE_ERROR
from kumo.packages.store_client import StoreClient, credential_headers
from kumo.versions import Conflict, NotFound, PreconditionFailed
from kumo_gateway.kubernetes import function_objects as objects
from kumo_gateway.kubernetes.layer_versions import ClusterLayerVersions
from kumo_gateway.kubernetes.resources import parsed_function
from kumo_gateway.kubernetes.watched_functions import WatchedFunctions
from kumo_gateway.lambda_.function_requests import (
    CreateRequest,
    RequestError,
    apply_configuration,
    layer_ref,
    parse_tags,
)
from kumo_gateway.lambda_.layer_versions import LayerError
from kumo_gateway.lambda_.uploaded_zip import read_zip_bytes

log = logging.getLogger("kumo.gateway.kubernetes")

#: How long CreateFunction/UpdateFunctionCode with Publish wait for the operator's answer (then ``$LATEST``).
PUBLISH_WAIT_S = 20.0
_POLL_S = 0.05


def _now() -> str:
    return lambda_timestamp(dt.datetime.now(dt.UTC))


class ClusterFunctions(WatchedFunctions):
    """The cluster's backend of the management API's writes (see the module docstring)."""

    def __init__(
        self,
        catalog: Catalog,
        provider: Any,
        namespace: str,
        store_url: str,
        credential: str | None,
        *,
        publish_wait_s: float = PUBLISH_WAIT_S,
    ) -> None:
        #: ``provider``: the :class:`KubernetesProvider` (its watch, its API client, ``observe``).
        super().__init__(catalog, provider, namespace)
        self.store = StoreClient(store_url, credential_headers(credential))
        self.layers = ClusterLayerVersions(lambda: self.kube, self.store, namespace)
        self.publish_wait_s = publish_wait_s

    def close(self) -> None:
        self.store.client.close()

    @property
    def kube(self) -> KubeClient:
        assert self.provider.kube is not None, "the provider has not started"
        return self.provider.kube

    def code_address(self, name: str) -> str:
        """The package's SHA-256; ``""`` for inline, ConfigMap and image code (no ``Code.Location``)."""
        package = objects.package_of(self._object(name) or {})
        return package.sha256 if package is not None else ""

    async def open_code(self, address: str) -> bytes:
        refs = [objects.package_of(obj) for obj in self.provider.objects.values()]
        ref = next((r for r in refs if r is not None and r.sha256 == address), None)
        if ref is None:
            raise StoreError("NotFound", f"no function uses package {address}", 404)
        return await asyncio.to_thread(self.store.get, ref)

    def tags(self, name: str) -> dict[str, str]:
        return objects.tags_of(self._object(name) or {})

    async def set_tags(self, name: str, tags: Mapping[str, str], remove: tuple[str, ...] = ()) -> None:
        obj = await self._changeable(name, None, check_state=False)
        merged = {key: value for key, value in {**objects.tags_of(obj), **tags}.items() if key not in remove}
        await self._replace(objects.with_tags(obj, parse_tags(merged)))

    # Writing

    async def create(self, request: CreateRequest) -> None:
        if self.catalog.function(request.name) is not None:
            raise Conflict(f"Function already exist: {request.name}")
        layers = await self._layers(request.settings.layers)
        package = await self._upload(request.zip_bytes)
        body = objects.new_function(
            request.name, self.namespace, request.settings, package, request.tags, _now(), layers
        )
        token = objects.publish_token() if request.publish else None
        if token is not None:
            objects.with_publish_request(body, token)
        try:
            created = await self.kube.create(collection_path("Function", self.namespace), body)
        except KubeError as exc:
            raise _kube_error(exc, request.name) from None
        self.provider.observe(created)
        log.info("function %s: created through the Lambda API (package %s)", request.name, package.sha256[:12])
        if token is not None:
            await self._published(request.name, token)

    async def update_code(self, name: str, zip_bytes: bytes, publish: bool, revision: str | None) -> str | None:
        obj = await self._changeable(name, revision)
        package = await self._upload(zip_bytes)
        body = objects.with_package(obj, package, _now())
        token = objects.publish_token() if publish else None
        if token is not None:
            objects.with_publish_request(body, token)
        await self._replace(body)
        log.info("function %s: new code through the Lambda API (package %s)", name, package.sha256[:12])
        return await self._published(name, token) if token is not None else None

    async def update_configuration(self, name: str, body: Mapping[str, Any]) -> None:
        obj = await self._changeable(name, body.get("RevisionId"))
        function = parsed_function(obj)
        if function is None:
            raise Conflict(f"Function {name} does not validate; fix it with kubectl")
        settings = apply_configuration(objects.settings_of(obj, function), body)
        layers = await self._layers(settings.layers) if body.get("Layers") is not None else None
        await self._replace(objects.with_settings(obj, settings, _now(), layers))

    async def delete(self, name: str) -> None:
        await self._changeable(name, None, check_state=False)
        try:
            await self.kube.delete(object_path("Function", self.namespace, name))
        except KubeError as exc:
            raise _kube_error(exc, name) from None
        self.provider.observe({"metadata": {"name": name, "namespace": self.namespace}}, deleted=True)
        log.info("function %s: deleted through the Lambda API", name)

    # Inside

    async def _layers(self, arns: tuple[str, ...]) -> list[objects.FunctionLayer]:
        """Each layer version ARN with the version it names (an unknown one: InvalidParameterValueException)."""
        found = []
        for arn in arns:
            name, _, number = layer_ref(arn).partition(":")
            try:
                layer = await self.layers.resolve(name, int(number))
            except LayerError as exc:
                raise RequestError(exc.message, exc.error_type, exc.status) from None
            if layer is None:
                raise RequestError(f"Layers: layer {name}:{number} not found ({arn})")
            found.append((arn, layer))
        return found

    async def _published(self, name: str, token: str) -> str | None:
        """The version the operator published for ``token``, waited for (bounded) on the watch; ``None``
        (the answer shows ``$LATEST``) when it has not answered in time -- it still publishes that version."""
        deadline = asyncio.get_running_loop().time() + self.publish_wait_s
        while True:
            version = answered_publish(self._object(name) or {}, token)
            if version is not None or asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(_POLL_S)
        if version is None:
            log.warning("function %s: the operator has not published yet; answering $LATEST", name)
        return version

    async def _changeable(self, name: str, revision: Any, *, check_state: bool = True) -> dict[str, Any]:
        """The resource as the API server has it now, if the API may change it."""
        try:
            obj = await self.kube.get(object_path("Function", self.namespace, name))
        except KubeError as exc:
            raise _kube_error(exc, name) from None
        if obj is None:
            raise NotFound(f"Function not found: {self.catalog.function_arn(name)}")
        if objects.package_of(obj) is None:
            raise Conflict(
                f"Function {name} is managed by its manifest (its code is not a code.package): change it there "
                "and kubectl apply (the Lambda API changes only Functions whose code is in the code store)"
            )
        if check_state:
            state = objects.lambda_state(obj)
            if state.state == "Pending" or state.last_update == "InProgress":
                raise Conflict(
                    "The operation cannot be performed at this time. An update is in progress for resource: "
                    f"{self.catalog.function_arn(name)}"
                )
        if revision is not None and revision != objects.revision_id(obj):
            raise PreconditionFailed("The Revision Id provided does not match the latest Revision Id.")
        return obj

    async def _replace(self, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        try:
            answer = await self.kube.request("PUT", object_path("Function", self.namespace, name), body)
        except KubeError as exc:
            raise _kube_error(exc, name) from None
        if answer is None:
            raise NotFound(f"Function not found: {self.catalog.function_arn(name)}")
        self.provider.observe(answer)

    async def _upload(self, data: bytes) -> PackageRef:
        """Check the zip as Lambda does, then store it (nothing is written when either refuses)."""
        await asyncio.to_thread(read_zip_bytes, data)
        try:
            package, new = await asyncio.to_thread(self.store.put, data)
        except StoreError as exc:
            if exc.code == STORE_ERROR:
                raise RequestError(exc.detail, LAMBDA_ERROR, LAMBDA_STATUS) from None
            if 400 <= exc.status < 500:
                raise RequestError(f"The code store refused the package: {exc}") from None
            raise RequestError(f"The code store failed: {exc}", "ServiceException", 503) from None
        except httpx.HTTPError as exc:
            raise RequestError(f"The code store did not answer: {exc}", "ServiceException", 503) from None
        log.info("package %s: %s the code store", package.sha256[:12], "uploaded to" if new else "already in")
        return package


def _kube_error(exc: KubeError, name: str) -> Exception:
    """An API server refusal in Lambda's terms (a write that raced another: ResourceConflictException)."""
    if exc.status == 409:
        if "already exists" in str(exc).lower():
            return Conflict(f"Function already exist: {name}")
        return Conflict(f"Function {name} was changed by someone else while being updated; try again")
    if exc.status in (400, 422):
        return RequestError(f"The Function resource was refused by the API server: {exc}")
    if exc.status == 403:
        return RequestError(f"The gateway may not change Function resources (RBAC): {exc}", "ServiceException", 503)
    return RequestError(f"The Kubernetes API failed: {exc}", "ServiceException", 503)

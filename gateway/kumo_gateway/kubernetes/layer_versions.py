"""A cluster's layer versions (:class:`~kumo_gateway.lambda_.layer_versions.LayerVersionStore`): each
archive in the code store (the same verified upload as function packages), each version a ConfigMap in
the gateway's namespace (``kubernetes/layer_objects.py``: naming, numbering, tombstones).

``PublishLayerVersion`` checks the zip as ``CreateFunction`` does (``lambda_/uploaded_zip.py``), stores
it, then creates the ConfigMap of the next number; a 409 (another replica took that number) tries the
next one. Functions use layers through :meth:`resolve` (``kubernetes/api_functions.py``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import httpx

from kumo.kube.client import KubeClient, KubeError, collection_path
from kumo.kube.published import lambda_timestamp
from kumo.packages.code_store import PackageRef, StoreError
from kumo.packages.storage_limit import LAMBDA_ERROR, LAMBDA_STATUS, STORE_ERROR
from kumo.packages.store_client import StoreClient
from kumo_gateway.kubernetes import layer_objects
from kumo_gateway.lambda_.function_requests import RequestError
from kumo_gateway.lambda_.layer_versions import LayerError, LayerVersion, find, invalid
from kumo_gateway.lambda_.uploaded_zip import read_zip_bytes

log = logging.getLogger("kumo.gateway.kubernetes")

#: Numbers tried when other replicas keep taking the next one first.
MAX_NUMBER_ATTEMPTS = 20


def _unavailable(message: str) -> LayerError:
    return LayerError(503, "ServiceException", message)


class ClusterLayerVersions:
    def __init__(self, kube: Any, store: StoreClient, namespace: str) -> None:
        #: ``kube``: a :class:`KubeClient`, or a callable returning one (the provider's, once started).
        self._kube, self.store, self.namespace = kube, store, namespace

    @property
    def kube(self) -> KubeClient:
        return self._kube() if callable(self._kube) else self._kube

    async def _objects(self, selector: str) -> list[dict[str, Any]]:
        try:
            return await self.kube.list(collection_path("ConfigMap", self.namespace), selector)
        except KubeError as exc:
            raise _unavailable(f"The Kubernetes API failed listing layer versions: {exc}") from None

    async def publish(self, name: str, data: bytes, description: str, runtimes: tuple[str, ...]) -> LayerVersion:
        try:
            await asyncio.to_thread(read_zip_bytes, data)
        except RequestError as exc:
            raise invalid(exc.message) from None
        ref = await self._upload(data)
        _, highest = layer_objects.layer_versions(await self._objects(layer_objects.selector(name)), name)
        created = lambda_timestamp(dt.datetime.now(dt.UTC))
        for number in range(highest + 1, highest + 1 + MAX_NUMBER_ATTEMPTS):
            layer = LayerVersion(name, number, ref.sha256, ref.size, description, created, runtimes)
            try:
                await self.kube.create(
                    collection_path("ConfigMap", self.namespace), layer_objects.version_object(layer, self.namespace)
                )
            except KubeError as exc:
                if exc.status == 409:
                    continue  # another replica published this number first
                raise _unavailable(f"The Kubernetes API refused the layer version: {exc}") from None
            log.info("layer %s: published version %d (archive %s)", name, number, ref.sha256[:12])
            return layer
        raise _unavailable(f"layer {name}: could not take a version number (tried {MAX_NUMBER_ATTEMPTS}); try again")

    async def versions(self, name: str) -> list[LayerVersion]:
        return layer_objects.layer_versions(await self._objects(layer_objects.selector(name)), name)[0]

    async def names(self) -> list[str]:
        return layer_objects.layer_names(await self._objects(layer_objects.LAYER_LABEL))

    async def delete(self, name: str, version: int) -> None:
        if find(await self.versions(name), version) is None:
            return
        body = layer_objects.tombstone_object(name, version, self.namespace)
        try:
            await self.kube.create(collection_path("ConfigMap", self.namespace), body)
        except KubeError as exc:
            if exc.status != 409:  # 409: deleted already
                raise _unavailable(f"The Kubernetes API refused deleting the layer version: {exc}") from None
        log.info("layer %s: deleted version %d", name, version)

    async def resolve(self, name: str, version: int) -> LayerVersion | None:
        """The version a function's ``Layers`` names (a deleted one cannot be given to a function any more;
        functions that already use it keep its archive)."""
        return find(await self.versions(name), version)

    async def _upload(self, data: bytes) -> PackageRef:
        try:
            ref, new = await asyncio.to_thread(self.store.put, data)
        except StoreError as exc:
            if exc.code == STORE_ERROR:
                raise LayerError(LAMBDA_STATUS, LAMBDA_ERROR, exc.detail) from None
            if 400 <= exc.status < 500:
                raise invalid(f"The code store refused the layer archive: {exc}") from None
            raise _unavailable(f"The code store failed: {exc}") from None
        except httpx.HTTPError as exc:
            raise _unavailable(f"The code store did not answer: {exc}") from None
        log.info("layer archive %s: %s the code store", ref.sha256[:12], "uploaded to" if new else "already in")
        return ref

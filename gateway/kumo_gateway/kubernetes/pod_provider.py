"""``KubernetesProvider``: function versions as Deployments, reached at their EndpointSlices' pod IPs.

``acquire`` takes a free endpoint of the Function's current version (``status.version``) or of a
published version (``status.versions``: Deployment ``<fn>-v<N>``), or wakes
the Deployment through ``/scale`` and holds the request until an endpoint is ready (bounded), or
queues it behind busy endpoints (bounded; asking for more replicas below ``maxInstances``). The
catalog is filled from watched Functions and Apis; a Function the operator has not made Ready is in
the catalog (the management API shows it ``Pending`` or ``Failed``) but invoking it answers
``FunctionNotReady``. ``objects`` keeps each watched Function as the API server returned it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from kumo.catalog import Catalog
from kumo.kube.client import KubeClient, collection_path
from kumo.runtime.invocation import Invocation, InvocationResult
from kumo.versions import FunctionVersions
from kumo_gateway.kubernetes.endpoints import Endpoint, EndpointIndex
from kumo_gateway.kubernetes.forward import EndpointBusy, EndpointUnreachable, Forwarder, ForwardFailed
from kumo_gateway.kubernetes.function_objects import lambda_state
from kumo_gateway.kubernetes.instances import EndpointSlots, QueueFull, WaitTimeout
from kumo_gateway.kubernetes.load_reporter import LoadReporter, LoadTracker
from kumo_gateway.kubernetes.resources import (
    FunctionVersion,
    parsed_function,
    served_api,
    served_function,
    served_versions,
)
from kumo_gateway.kubernetes.waker import DeploymentMissing, Waker
from kumo_gateway.metrics import InstanceCount
from kumo_gateway.provider import FunctionNotFound, FunctionNotReady, InstanceUnavailable, TooManyRequests

log = logging.getLogger("kumo.gateway.kubernetes")
LATEST = "$LATEST"


class PodInstance:
    """One acquired endpoint; ``invoke`` retries once on another endpoint when it cannot connect."""

    def __init__(self, provider: KubernetesProvider, fv: FunctionVersion, slots: EndpointSlots, endpoint: Endpoint):
        self.provider, self.fv, self.slots = provider, fv, slots
        self.endpoint: Endpoint | None = endpoint

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        for attempt in (1, 2):
            assert self.endpoint is not None
            try:
                return await self.provider.forwarder.invoke(self.endpoint, invocation, self.fv.timeout_s)
            except EndpointUnreachable as exc:
                log.warning("function %s: endpoint %s unreachable: %s", self.fv.name, self.endpoint, exc)
                self.slots.mark_down(self.endpoint)
                problem: str = str(exc)
            except EndpointBusy:
                problem = f"endpoint {self.endpoint} is busy"
            except ForwardFailed as exc:
                raise InstanceUnavailable(f"function {self.fv.name}: {exc}") from None
            if attempt == 2:
                break
            self.release()
            self.endpoint = await self.provider.take_endpoint(self.fv, self.slots)
        raise InstanceUnavailable(f"function {self.fv.name}: {problem}")

    def release(self) -> None:
        if self.endpoint is not None:
            self.slots.release(self.endpoint)
            self.endpoint = None


class KubernetesProvider:
    """The gateway's provider in a cluster (``kumo gateway --kubernetes``)."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        namespace: str | None = None,
        redis_url: str | None = None,
        kube: KubeClient | None = None,
        wake_timeout_s: float = 30.0,
        queue_timeout_s: float = 30.0,
        queue_limit: int = 100,
        report_interval_s: float = 1.0,
        gateway_id: str | None = None,
        sync_timeout_s: float = 30.0,
    ) -> None:
        self.catalog = catalog
        self.namespace = namespace
        self.redis_url = redis_url
        self.wake_timeout_s = wake_timeout_s
        self.queue_timeout_s = queue_timeout_s
        self.queue_limit = queue_limit
        self.sync_timeout_s = sync_timeout_s
        self.kube = kube
        self.forwarder = Forwarder()
        self.index = EndpointIndex()
        self.tracker = LoadTracker()
        self.functions: dict[str, FunctionVersion] = {}
        #: Function name -> the watched object (Ready or not), as the API server returned it.
        self.objects: dict[str, dict[str, Any]] = {}
        #: Function name -> published version number -> its Deployment.
        self.published: dict[str, dict[str, FunctionVersion]] = {}
        self.slots: dict[tuple[str, str], EndpointSlots] = {}
        #: Wakes from zero per (namespace, Deployment): the cluster's cold starts as this gateway saw them.
        self.cold_starts: dict[tuple[str, str], int] = {}
        self.waker: Waker | None = None
        self.reporter = (
            LoadReporter(redis_url, self.tracker, gateway_id=gateway_id, interval_s=report_interval_s)
            if redis_url
            else None
        )
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the watches and wait (bounded) for their first lists; start load reports."""
        if self.kube is None:
            self.kube = KubeClient()
        self.waker = Waker(self.kube)
        await self.forwarder.start()
        ns = self.namespace
        watches = [
            (collection_path("Function", ns), self._reset_functions, self._on_function),
            (collection_path("Api", ns), self._reset_apis, self._on_api),
            (collection_path("EndpointSlice", ns), self._reset_slices, self._on_slice),
        ]
        synced = []
        for path, on_reset, on_event in watches:
            event = asyncio.Event()
            synced.append(event)
            self._tasks.append(asyncio.create_task(self.kube.list_and_watch(path, on_reset, on_event, synced=event)))
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in synced)), self.sync_timeout_s)
        except TimeoutError:
            log.warning("the first lists of Functions, Apis and EndpointSlices took over %gs", self.sync_timeout_s)
        if self.reporter is not None:
            await self.reporter.start()
        else:
            log.warning("no --redis-url: load is not reported, the operator's autoscaler cannot see requests")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for slots in self.slots.values():
            slots.fail_waiters(InstanceUnavailable("the gateway is shutting down"))
        if self.reporter is not None:
            await self.reporter.stop()
        await self.forwarder.close()
        if self.kube is not None:
            await self.kube.aclose()

    # --- requests --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def acquire(self, function: str, version: str) -> AsyncIterator[PodInstance]:
        fv = self.functions.get(function)
        if fv is not None and version != LATEST:
            fv = self.published.get(function, {}).get(version)
        if fv is None:
            obj = self.objects.get(function)
            if obj is not None and version == LATEST:
                raise FunctionNotReady(lambda_state(obj).state)
            raise FunctionNotFound(function)
        if fv.max_instances < 1:
            raise TooManyRequests(f"Rate Exceeded: function {function} has a reserved concurrency of 0")
        slots = self._slots_for(fv)
        field = fv.signal_field
        self.tracker.requested(field)
        instance = PodInstance(self, fv, slots, await self.take_endpoint(fv, slots))
        self.tracker.started(field)
        try:
            yield instance
        finally:
            instance.release()
            self.tracker.finished(field)

    async def take_endpoint(self, fv: FunctionVersion, slots: EndpointSlots) -> Endpoint:
        """A free endpoint now, or after waking the Deployment / waiting in the queue (bounded)."""
        endpoint = slots.try_take()
        if endpoint is not None:
            return endpoint
        cold = slots.usable == 0
        if cold:
            key = (fv.namespace, fv.deployment)
            self.cold_starts[key] = self.cold_starts.get(key, 0) + 1
        if cold or slots.usable < fv.max_instances:
            await self._scale_up(fv, slots, cold=cold)
        field = fv.signal_field
        self.tracker.wait_started(field)
        try:
            return await slots.wait(self.wake_timeout_s if cold else self.queue_timeout_s)
        except QueueFull:
            raise TooManyRequests(
                f"Rate Exceeded: function {fv.name} has every instance busy and {slots.waiting} requests queued"
            ) from None
        except WaitTimeout:
            if slots.usable == 0:
                raise InstanceUnavailable(
                    f"function {fv.name}: no instance became ready within {self.wake_timeout_s:g}s"
                ) from None
            raise TooManyRequests(
                f"Rate Exceeded: no instance of {fv.name} became free within {self.queue_timeout_s:g}s"
            ) from None
        finally:
            self.tracker.wait_finished(field)

    async def _scale_up(self, fv: FunctionVersion, slots: EndpointSlots, *, cold: bool) -> None:
        assert self.waker is not None
        wanted = slots.inflight + slots.waiting + 1
        try:
            await self.waker.ensure(fv.namespace, fv.deployment, wanted, fv.max_instances)
        except DeploymentMissing as exc:
            raise InstanceUnavailable(f"function {fv.name}: {exc}") from None
        except Exception as exc:  # API server trouble: waiting may still succeed
            log.warning("function %s: could not scale %s: %s", fv.name, fv.deployment, exc)
            if cold:
                raise InstanceUnavailable(f"function {fv.name}: could not wake it up") from None

    def instance_counts(self) -> list[InstanceCount]:
        """Ready pods and wakes from zero per function version this gateway has served, for ``/metrics``."""
        counts = []
        for fv in [*self.functions.values(), *(v for versions in self.published.values() for v in versions.values())]:
            slots = self.slots.get((fv.namespace, fv.deployment))
            if slots is not None:
                wakes = self.cold_starts.get((fv.namespace, fv.deployment), 0)
                counts.append(InstanceCount(fv.name, fv.version, slots.usable, wakes))
        return counts

    def _slots_for(self, fv: FunctionVersion) -> EndpointSlots:
        key = (fv.namespace, fv.deployment)
        slots = self.slots.get(key)
        if slots is None:
            slots = self.slots[key] = EndpointSlots(self.queue_limit)
            slots.set_endpoints(self.index.endpoints(*key))
        return slots

    # --- watch callbacks (never await: atomic with respect to requests) ---------------------------

    def _reset_functions(self, items: list[dict[str, Any]]) -> None:
        seen = set()
        for obj in items:
            self._on_function("ADDED", obj)
            seen.add(((obj.get("metadata") or {}).get("namespace"), (obj.get("metadata") or {}).get("name")))
        for name, obj in list(self.objects.items()):
            namespace = (obj.get("metadata") or {}).get("namespace") or "default"
            if (namespace, name) not in seen:
                self._drop_function(namespace, name)

    def observe(self, obj: dict[str, Any], *, deleted: bool = False) -> None:
        """A Function as this gateway just wrote (or deleted) it through the management API: seen at once,
        not at the watch's next event."""
        self._on_function("DELETED" if deleted else "MODIFIED", obj)

    def _on_function(self, event_type: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        namespace, name = meta.get("namespace") or "default", meta.get("name") or ""
        known = self.objects.get(name)
        known_namespace = ((known or {}).get("metadata") or {}).get("namespace") or "default"
        if known is not None and known_namespace != namespace:
            log.warning("Function %s in %s shadowed by the one in %s", name, namespace, known_namespace)
            return
        if event_type != "DELETED" and _older(obj, known):
            return  # a late event: this gateway already wrote a newer one (observe)
        served = None if event_type == "DELETED" else served_function(obj)
        if served is None:
            self._drop_function(namespace, name)
            pending = None if event_type == "DELETED" else parsed_function(obj)
            if pending is not None:  # not Ready (yet): shown by the management API, not invoked
                self.objects[name] = obj
                self.catalog.set_function(pending)
            return
        function, fv = served
        versions = served_versions(obj, function, fv)
        if self.functions.get(name) != fv:
            log.info("function %s: serving version %s (%s)", name, fv.version, fv.deployment)
        self.functions[name] = fv
        self.objects[name] = obj
        self.published[name] = versions.deployments
        self.catalog.set_versions(name, versions.registry)
        self.catalog.set_function(function)

    def _drop_function(self, namespace: str, name: str) -> None:
        known = self.objects.get(name)
        if known is not None and ((known.get("metadata") or {}).get("namespace") or "default") == namespace:
            del self.objects[name]
            self.functions.pop(name, None)
            self.published.pop(name, None)
            self.catalog.remove_function(name)
            self.catalog.set_versions(name, FunctionVersions())

    def _reset_apis(self, items: list[dict[str, Any]]) -> None:
        names = set()
        for obj in items:
            self._on_api("ADDED", obj)
            names.add((obj.get("metadata") or {}).get("name"))
        for api in self.catalog.apis():
            if api.metadata.name not in names:
                self.catalog.remove_api(api.metadata.name)

    def _on_api(self, event_type: str, obj: dict[str, Any]) -> None:
        name = (obj.get("metadata") or {}).get("name") or ""
        api = None if event_type == "DELETED" else served_api(obj)
        if api is None:
            self.catalog.remove_api(name)
        else:
            self.catalog.set_api(api)

    def _reset_slices(self, items: list[dict[str, Any]]) -> None:
        for key in self.index.replace_all(items):
            self._endpoints_changed(key)

    def _on_slice(self, event_type: str, obj: dict[str, Any]) -> None:
        key = self.index.apply(event_type, obj)
        if key is not None:
            self._endpoints_changed(key)

    def _endpoints_changed(self, key: tuple[str, str]) -> None:
        endpoints = self.index.endpoints(*key)
        slots = self.slots.get(key)
        if slots is not None:
            slots.set_endpoints(endpoints)
        if not endpoints and self.waker is not None:
            self.waker.forget(*key)


def _older(obj: dict[str, Any], known: dict[str, Any] | None) -> bool:
    """Whether ``obj`` is an earlier state of ``known`` (same uid, lower resourceVersion; both numeric)."""
    if known is None:
        return False
    meta, known_meta = obj.get("metadata") or {}, known.get("metadata") or {}
    if meta.get("uid") != known_meta.get("uid"):
        return False
    rv, known_rv = str(meta.get("resourceVersion") or ""), str(known_meta.get("resourceVersion") or "")
    return rv.isdigit() and known_rv.isdigit() and int(rv) < int(known_rv)

"""EndpointSlices -> ready addresses per Service (pure).

The operator names a function version's Deployment and Service ``<fn>-<version>``; the EndpointSlice
controller labels the Service's slices ``kubernetes.io/service-name=<service>``. A Service may have
several slices; its addresses are the union of their ready endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from kumo.kube.names import POD_PORT

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
#: The port every function pod serves its invoke endpoint on (named ``http``).
DEFAULT_PORT = POD_PORT
PORT_NAME = "http"


class Endpoint(NamedTuple):
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


def service_of(slice_obj: Mapping[str, Any]) -> str | None:
    """The Service an EndpointSlice belongs to (its ``kubernetes.io/service-name`` label)."""
    labels = (slice_obj.get("metadata") or {}).get("labels") or {}
    return labels.get(SERVICE_NAME_LABEL) or None


def slice_port(slice_obj: Mapping[str, Any]) -> int:
    """The port named ``http``, else the only/first port, else 8080."""
    ports = [p for p in slice_obj.get("ports") or [] if isinstance(p, Mapping) and isinstance(p.get("port"), int)]
    for port in ports:
        if port.get("name") == PORT_NAME:
            return int(port["port"])
    return int(ports[0]["port"]) if ports else DEFAULT_PORT


def _is_ready(endpoint: Mapping[str, Any]) -> bool:
    conditions = endpoint.get("conditions") or {}
    # Kubernetes: a nil ``ready`` means ready; a terminating endpoint is not ready.
    return conditions.get("ready") is not False and conditions.get("terminating") is not True


def ready_endpoints(slice_obj: Mapping[str, Any]) -> tuple[Endpoint, ...]:
    """Every ready address of one EndpointSlice (IPv4/IPv6), in the slice's order, without repeats."""
    if slice_obj.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
        return ()
    port = slice_port(slice_obj)
    seen: dict[Endpoint, None] = {}
    for endpoint in slice_obj.get("endpoints") or []:
        if not isinstance(endpoint, Mapping) or not _is_ready(endpoint):
            continue
        for address in endpoint.get("addresses") or []:
            if isinstance(address, str) and address:
                seen[Endpoint(address, port)] = None
    return tuple(seen)


class EndpointIndex:
    """Ready endpoints per ``(namespace, service)``, kept from slice ADDED/MODIFIED/DELETED events."""

    def __init__(self) -> None:
        self._slices: dict[tuple[str, str], dict[str, tuple[Endpoint, ...]]] = {}

    def apply(self, event_type: str, slice_obj: Mapping[str, Any]) -> tuple[str, str] | None:
        """Record one watch event; returns the ``(namespace, service)`` whose endpoints may have changed."""
        meta = slice_obj.get("metadata") or {}
        service, name, namespace = service_of(slice_obj), meta.get("name"), meta.get("namespace") or ""
        if not service or not name:
            return None
        key = (namespace, service)
        slices = self._slices.setdefault(key, {})
        if event_type == "DELETED":
            slices.pop(name, None)
        else:
            slices[name] = ready_endpoints(slice_obj)
        if not slices:
            del self._slices[key]
        return key

    def replace_all(self, slice_objs: list[Mapping[str, Any]]) -> set[tuple[str, str]]:
        """Start over from a full list (after a relist); returns every key that existed before or after."""
        before = set(self._slices)
        self._slices.clear()
        for obj in slice_objs:
            self.apply("ADDED", obj)
        return before | set(self._slices)

    def endpoints(self, namespace: str, service: str) -> tuple[Endpoint, ...]:
        """The union of the service's slices' ready endpoints (stable order)."""
        seen: dict[Endpoint, None] = {}
        for name in sorted(self._slices.get((namespace, service), {})):
            for endpoint in self._slices[(namespace, service)][name]:
                seen[endpoint] = None
        return tuple(seen)

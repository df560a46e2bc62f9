"""A stand-in for the Deployment/StatefulSet controllers, talking to the emulator over HTTP.

``DeploymentController(url, endpoints_for)`` watches Deployments and
StatefulSets. When ``spec.replicas`` > 0 it calls ``endpoints_for(obj)`` (the
test starts real processes there and returns their ``(ip, port)`` pairs), sets
``status.replicas/readyReplicas/availableReplicas`` and publishes an
EndpointSlice labelled ``kubernetes.io/service-name=<name>``; at 0 replicas it
calls ``endpoints_for`` again (to let the test stop processes) and clears both.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

Endpoints = list[tuple[str, int]]
KINDS = ("deployments", "statefulsets")


class DeploymentController:
    def __init__(self, url: str, endpoints_for: Callable[[dict[str, Any]], Endpoints]) -> None:
        self.url, self.endpoints_for = url, endpoints_for
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(kind,), daemon=True) for kind in KINDS]
        self._seen: dict[tuple[str, str, str], int] = {}  # (kind, ns, name) -> replicas handled

    def __enter__(self) -> DeploymentController:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _run(self, kind: str) -> None:
        with httpx.Client(base_url=self.url, timeout=httpx.Timeout(10, read=5)) as client:
            rv = "0"
            while not self._stop.is_set():  # bounded: each watch times out after 2 s
                try:
                    with client.stream(
                        "GET",
                        f"/apis/apps/v1/{kind}",
                        params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "2"},
                    ) as response:
                        for line in response.iter_lines():
                            if self._stop.is_set() or not line:
                                continue
                            event = json.loads(line)
                            rv = event["object"]["metadata"].get("resourceVersion", rv)
                            if event["type"] in ("ADDED", "MODIFIED"):
                                self.reconcile(client, kind, event["object"])
                except (httpx.HTTPError, KeyError, ValueError):
                    rv = "0"

    def reconcile(self, client: httpx.Client, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        ns, name = meta["namespace"], meta["name"]
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        if self._seen.get((kind, ns, name)) == replicas:
            return
        self._seen[(kind, ns, name)] = replicas
        addresses = self.endpoints_for(obj) if replicas > 0 else []
        if replicas == 0:
            self.endpoints_for(obj)
        ready = len(addresses) if replicas > 0 else 0
        status = {
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta.get("generation", 1),
        }
        client.patch(
            f"/apis/apps/v1/namespaces/{ns}/{kind}/{name}/status",
            json={"status": status},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        slice_path = f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
        client.delete(f"{slice_path}/{name}")
        if addresses:
            ports = sorted({port for _, port in addresses})
            client.post(
                slice_path,
                json={
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "addressType": "IPv4",
                    "metadata": {
                        "name": name,
                        "namespace": ns,
                        "labels": {"kubernetes.io/service-name": name},
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": obj.get("kind", "Deployment"),
                                "name": name,
                                "uid": meta["uid"],
                            }
                        ],
                    },
                    "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip, _ in addresses],
                    "ports": [{"name": f"p{port}", "port": port, "protocol": "TCP"} for port in ports],
                },
            )

"""``kumo.kube.client``: the pure helpers, and the async client against the API-server emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from cluster import KubeApi
from compaction import create_unseen
from kubernetes.config import kube_config
from support import KUMO_CRDS

from kumo.kube.client import (
    Gone,
    KubeClient,
    KubeError,
    collection_path,
    object_path,
    scale_path,
    watch_step,
)

NS = "default"
CONFIGMAPS = collection_path("ConfigMap", NS)


def config_map(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


def test_paths() -> None:
    assert CONFIGMAPS == "/api/v1/namespaces/default/configmaps"
    assert collection_path("Function") == "/apis/kumo.dev/v1alpha1/functions"
    assert collection_path("EndpointSlice", "ns") == "/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices"
    assert object_path("Api", "ns", "a", "status") == "/apis/kumo.dev/v1alpha1/namespaces/ns/apis/a/status"
    assert scale_path("ns", "d") == "/apis/apps/v1/namespaces/ns/deployments/d/scale"


def test_watch_steps() -> None:
    obj = {"metadata": {"name": "x", "resourceVersion": "7"}}
    assert watch_step({"type": "ADDED", "object": obj}, "3") == ("ADDED", "7")
    assert watch_step({"type": "DELETED", "object": obj}, "3") == ("DELETED", "7")
    assert watch_step({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}, "7") == (None, "9")
    assert watch_step({"type": "MODIFIED", "object": {"metadata": {}}}, "9") == ("MODIFIED", "9")
    with pytest.raises(Gone):
        watch_step({"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}}, "9")
    with pytest.raises(KubeError) as failed:
        watch_step({"type": "ERROR", "object": {"kind": "Status", "code": 500, "message": "boom"}}, "9")
    assert failed.value.status == 500


@pytest.fixture
async def client(kube_api: KubeApi, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[KubeClient]:
    # load_configuration: not in a pod, so the kubeconfig (whose default path ``kubernetes`` reads at import).
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kube_api.kubeconfig))
    kube = KubeClient()
    try:
        yield kube
    finally:
        await kube.aclose()


async def test_requests(kube_api: KubeApi, client: KubeClient) -> None:
    created = await client.create(CONFIGMAPS, config_map("a", app="x"))
    assert created["metadata"]["name"] == "a" and created["metadata"]["uid"]
    await client.create(CONFIGMAPS, config_map("b", app="y"))
    with pytest.raises(KubeError) as conflict:
        await client.create(CONFIGMAPS, config_map("a"))
    assert conflict.value.status == 409
    with pytest.raises(KubeError) as missing_ns:
        await client.create(collection_path("ConfigMap", "nowhere"), config_map("c"))
    assert missing_ns.value.status == 404

    assert (await client.get(object_path("ConfigMap", NS, "a")))["data"] == {"k": "v"}  # type: ignore[index]
    assert await client.get(object_path("ConfigMap", NS, "nope")) is None
    assert sorted(o["metadata"]["name"] for o in await client.list(CONFIGMAPS)) == ["a", "b"]
    assert [o["metadata"]["name"] for o in await client.list(CONFIGMAPS, "app=y")] == ["b"]

    patched = await client.patch(object_path("ConfigMap", NS, "a"), {"data": {"k": None, "n": "1"}})
    assert patched is not None and patched["data"] == {"n": "1"}  # a merge patch: null removes
    assert kube_api.get(f"{CONFIGMAPS}/a")["data"] == {"n": "1"}
    assert await client.patch(object_path("ConfigMap", NS, "nope"), {"data": {}}) is None

    assert await client.delete(object_path("ConfigMap", NS, "a")) is True
    assert await client.delete(object_path("ConfigMap", NS, "a")) is False
    assert [o["metadata"]["name"] for o in kube_api.list(CONFIGMAPS)] == ["b"]


async def test_scale(kube_api: KubeApi, client: KubeClient) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "fn-v1"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "fn"}}, "template": {}},
    }
    await client.create(collection_path("Deployment", NS), deployment)
    assert await client.get_scale(NS, "fn-v1") == 0
    await client.set_scale(NS, "fn-v1", 3)
    assert await client.get_scale(NS, "fn-v1") == 3
    assert kube_api.get(object_path("Deployment", NS, "fn-v1"))["spec"]["replicas"] == 3
    assert await client.get_scale(NS, "missing") is None
    with pytest.raises(KubeError) as missing:
        await client.set_scale(NS, "missing", 1)
    assert missing.value.status == 404


class Recorder:
    """What ``list_and_watch`` hands on, and every watch request's resourceVersion and HTTP status."""

    def __init__(self, client: KubeClient) -> None:
        self.resets: list[list[str]] = []
        self.events: list[tuple[str, str]] = []
        self.watches: list[tuple[str, int]] = []
        self.on_first_reset: Callable[[], None] | None = None
        client.http.event_hooks["response"].append(self._response)

    async def _response(self, response: httpx.Response) -> None:
        params = response.request.url.params
        if params.get("watch") == "true":
            self.watches.append((params["resourceVersion"], response.status_code))

    def on_reset(self, items: list[dict[str, Any]]) -> None:
        self.resets.append(sorted(o["metadata"]["name"] for o in items))
        if len(self.resets) == 1 and self.on_first_reset is not None:
            self.on_first_reset()

    def on_event(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.append((kind, obj["metadata"]["name"]))


async def until(check: Callable[[], Any], what: str, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.02)
    assert check(), what


async def watching(client: KubeClient, seen: Recorder, path: str = CONFIGMAPS, **kw: Any) -> asyncio.Task[None]:
    synced = asyncio.Event()
    task = asyncio.create_task(client.list_and_watch(path, seen.on_reset, seen.on_event, synced=synced, **kw))
    async with asyncio.timeout(10):
        await synced.wait()
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_watch_sees_changes_and_resumes_from_the_bookmark(kube_api: KubeApi, client: KubeClient) -> None:
    kube_api.create(CONFIGMAPS, config_map("before"))
    seen = Recorder(client)
    task = await watching(client, seen, watch_timeout_s=1)
    try:
        assert seen.resets == [["before"]]
        await asyncio.to_thread(kube_api.create, CONFIGMAPS, config_map("b"))
        modified = await asyncio.to_thread(kube_api.patch, f"{CONFIGMAPS}/b", {"data": {"k": "2"}})
        await until(lambda: len(seen.events) == 2, "ADDED and MODIFIED")
        # A change this watch does not show still moves the resourceVersion its closing BOOKMARK carries.
        secret = {"metadata": {"name": "s"}, "stringData": {"x": "y"}}
        secret_rv = (await asyncio.to_thread(kube_api.create, "/api/v1/namespaces/default/secrets", secret))[
            "metadata"
        ]["resourceVersion"]
        await until(lambda: len(seen.watches) >= 2, "the watch to end (timeoutSeconds=1) and resume")
        await asyncio.to_thread(kube_api.request, "DELETE", f"{CONFIGMAPS}/b")
        await until(lambda: len(seen.events) == 3, "DELETED")
    finally:
        await stop(task)
    assert seen.events == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")]
    assert seen.resets == [["before"]]  # resumed, never relisted
    first, second = seen.watches[:2]
    assert first[1] == second[1] == 200
    assert int(secret_rv) > int(modified["metadata"]["resourceVersion"])
    assert second[0] == secret_rv  # resumed from the bookmark, not from the last ConfigMap event


async def test_http_410_relists(kube_api: KubeApi, client: KubeClient) -> None:
    seen = Recorder(client)
    # Between the first list and its watch, an object is created and the event log compacted away.
    seen.on_first_reset = lambda: create_unseen(kube_api, "", "v1", "configmaps", NS, config_map("unseen"))
    task = await watching(client, seen)
    try:
        await until(lambda: len(seen.resets) == 2, "a relist after 410 Gone")
        await asyncio.to_thread(kube_api.create, CONFIGMAPS, config_map("later"))
        await until(lambda: seen.events == [("ADDED", "later")], "the watch after the relist")
    finally:
        await stop(task)
    assert seen.resets == [[], ["unseen"]]
    assert seen.watches[0][1] == 410 and seen.watches[-1][1] == 200


async def test_error_event_410_relists(kube_api: KubeApi, client: KubeClient) -> None:
    seen = Recorder(client)
    task = await watching(client, seen)
    try:
        await asyncio.to_thread(kube_api.create, CONFIGMAPS, config_map("a"))
        await until(lambda: seen.events == [("ADDED", "a")], "the watch streaming")
        await asyncio.to_thread(create_unseen, kube_api, "", "v1", "configmaps", NS, config_map("unseen"))
        await until(lambda: len(seen.resets) == 2, "a relist after the ERROR 410 event")
        await asyncio.to_thread(kube_api.request, "DELETE", f"{CONFIGMAPS}/a")
        await until(lambda: seen.events[-1:] == [("DELETED", "a")], "the watch after the relist")
    finally:
        await stop(task)
    assert seen.resets == [[], ["a", "unseen"]]
    assert seen.events == [("ADDED", "a"), ("DELETED", "a")]
    assert [status for _, status in seen.watches] == [200, 200]  # the 410 came inside the stream


async def test_failing_list_is_retried_until_it_works(kube_api: KubeApi, client: KubeClient) -> None:
    seen = Recorder(client)
    path = collection_path("Function", NS)
    synced = asyncio.Event()
    task = asyncio.create_task(
        client.list_and_watch(path, seen.on_reset, seen.on_event, synced=synced, max_backoff_s=0.5)
    )
    try:
        await asyncio.sleep(1.0)  # no Function CRD yet: 404, retried with backoff
        assert not synced.is_set() and seen.resets == []
        applied = await asyncio.to_thread(kube_api.kubectl, "apply", "-f", str(KUMO_CRDS))
        assert applied.returncode == 0, applied.stderr
        async with asyncio.timeout(10):
            await synced.wait()
    finally:
        await stop(task)
    assert seen.resets == [[]]

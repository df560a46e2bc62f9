"""The Kubernetes provider's pure parts: endpoint selection, slots and queue, shared wake-ups, load, mapping."""

from __future__ import annotations

import asyncio
import base64

import pytest
from support import await_until

from kumo.access_keys import new_access_key
from kumo.scaling.signals import Load
from kumo_gateway.auth.keys import KeyRing
from kumo_gateway.kubernetes.endpoints import Endpoint, EndpointIndex, ready_endpoints
from kumo_gateway.kubernetes.forward import EndpointBusy, EndpointUnreachable, ForwardFailed, result_from_response
from kumo_gateway.kubernetes.instances import EndpointSlots, QueueFull, WaitTimeout, pick_free
from kumo_gateway.kubernetes.load_reporter import LoadTracker
from kumo_gateway.kubernetes.resources import served_function
from kumo_gateway.kubernetes.serve import SettingsError, endpoint_template_from_env, settings_from_env
from kumo_gateway.kubernetes.stream_pollers import gateway_url, pollers_key
from kumo_gateway.kubernetes.waker import Waker, scale_target

A, B, C = Endpoint("10.0.0.1", 8080), Endpoint("10.0.0.2", 8080), Endpoint("10.0.0.3", 8080)


def a_slice(name: str, service: str, *endpoints: tuple[str, bool | None], port: int = 8080) -> dict:
    return {
        "metadata": {"name": name, "namespace": "ns", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": "metrics", "port": 9090}, {"name": "http", "port": port}],
        "endpoints": [
            {"addresses": [ip], "conditions": {} if ready is None else {"ready": ready}} for ip, ready in endpoints
        ],
    }


def test_ready_endpoints_skip_unready_and_use_the_http_port() -> None:
    s = a_slice("s1", "fn-v1", ("10.0.0.1", True), ("10.0.0.2", False), ("10.0.0.3", None), port=8081)
    assert ready_endpoints(s) == (Endpoint("10.0.0.1", 8081), Endpoint("10.0.0.3", 8081))
    terminating = a_slice("s2", "fn-v1", ("10.0.0.4", True))
    terminating["endpoints"][0]["conditions"]["terminating"] = True
    assert ready_endpoints(terminating) == ()
    assert ready_endpoints({"addressType": "FQDN", "endpoints": [{"addresses": ["x"]}]}) == ()


def test_endpoint_index_unions_slices_and_forgets_deleted_ones() -> None:
    index = EndpointIndex()
    assert index.apply("ADDED", a_slice("s1", "fn-v1", ("10.0.0.1", True))) == ("ns", "fn-v1")
    index.apply("ADDED", a_slice("s2", "fn-v1", ("10.0.0.2", True), ("10.0.0.1", True)))
    assert index.endpoints("ns", "fn-v1") == (A, B)
    index.apply("DELETED", a_slice("s1", "fn-v1"))
    assert set(index.endpoints("ns", "fn-v1")) == {A, B}  # s2 still has both
    index.apply("MODIFIED", a_slice("s2", "fn-v1", ("10.0.0.2", False)))
    assert index.endpoints("ns", "fn-v1") == ()
    assert index.apply("ADDED", {"metadata": {"name": "x"}}) is None  # no service label
    assert index.replace_all([a_slice("s3", "other", ("10.0.0.3", True))]) == {("ns", "fn-v1"), ("ns", "other")}
    assert index.endpoints("ns", "other") == (C,)


def test_pick_free_takes_the_first_neither_busy_nor_down() -> None:
    assert pick_free((A, B, C), busy={A}, down={B}) == C
    assert pick_free((A, B), busy={A}, down={B}) is None


async def test_slots_one_in_flight_per_endpoint_then_fifo_queue() -> None:
    slots = EndpointSlots(queue_limit=2)
    slots.set_endpoints((A,))
    assert slots.try_take() == A and slots.try_take() is None
    first = asyncio.create_task(slots.wait(5))
    second = asyncio.create_task(slots.wait(5))
    await await_until(lambda: slots.waiting == 2, what="both waiters queued")
    with pytest.raises(QueueFull):
        await slots.wait(5)
    slots.release(A)
    assert await first == A and not second.done() and slots.inflight == 1
    slots.set_endpoints((A, B))  # a new endpoint serves the next waiter at once
    assert await second == B and slots.inflight == 2


async def test_slots_wait_times_out_and_down_endpoints_are_skipped_until_the_next_update() -> None:
    slots = EndpointSlots()
    with pytest.raises(WaitTimeout):
        await slots.wait(0.01)
    assert slots.waiting == 0
    slots.set_endpoints((A, B))
    slots.mark_down(A)
    assert slots.usable == 1 and slots.try_take() == B
    slots.set_endpoints((A, B))
    assert slots.try_take() == A


class CountingScaler:
    """An in-memory scale subresource that counts calls (and yields, like real I/O)."""

    def __init__(self, replicas: int = 0) -> None:
        self.replicas, self.gets, self.sets = replicas, 0, []

    async def get_scale(self, namespace: str, deployment: str) -> int | None:
        self.gets += 1
        await asyncio.sleep(0.01)
        return self.replicas

    async def set_scale(self, namespace: str, deployment: str, replicas: int) -> None:
        await asyncio.sleep(0.01)
        self.sets.append(replicas)
        self.replicas = replicas


async def test_concurrent_wake_ups_share_one_scale_call_and_never_scale_down() -> None:
    scaler = CountingScaler()
    waker = Waker(scaler, memo_s=60)
    results = await asyncio.gather(*(waker.ensure("ns", "fn-v1", 1, 10) for _ in range(20)))
    assert results == [1] * 20 and scaler.gets == 1 and scaler.sets == [1]
    assert await waker.ensure("ns", "fn-v1", 5, 3) == 3  # clamped to maxInstances
    scaler.replicas = 7
    waker.forget("ns", "fn-v1")
    assert await waker.ensure("ns", "fn-v1", 2, 10) == 7 and scaler.sets == [1, 3]  # no scale-down
    assert scale_target(0, 10) == 1 and scale_target(50, 10) == 10


def test_load_tracker_peak_since_last_report() -> None:
    tracker = LoadTracker()
    field = "ns/fn/v1"
    tracker.requested(field, now=100.0)
    tracker.started(field)
    tracker.started(field)
    tracker.wait_started(field)
    tracker.finished(field)
    assert tracker.snapshot(now=101.0) == {field: Load(inflight=1, peak=2, waiting=1, last_request=100.0)}
    tracker.wait_finished(field)
    tracker.finished(field)
    assert tracker.snapshot(now=102.0)[field] == Load(inflight=0, peak=1, waiting=0, last_request=100.0)
    assert tracker.snapshot(now=100.0 + 7200) == {}  # idle for long: dropped


def test_result_mapping_from_the_invoke_endpoint() -> None:
    headers = {
        "X-Amz-Function-Error": "Unhandled",
        "X-Amz-Log-Result": base64.b64encode(b"START").decode(),
        "X-Amz-Executed-Version": "$LATEST",
        "X-Kumo-Instance-Reusable": "false",
    }
    result = result_from_response(200, headers, b'{"errorType":"E"}')
    assert (result.function_error, result.log_tail, result.instance_reusable) == ("Unhandled", b"START", False)
    assert result_from_response(200, {}, b"1").instance_reusable is True
    for status, error in ((409, EndpointBusy), (503, EndpointUnreachable), (500, ForwardFailed)):
        with pytest.raises(error):
            result_from_response(status, {}, b"{}")


def test_only_ready_functions_with_a_version_are_served() -> None:
    fn = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "hello", "namespace": "ns", "uid": "u"},
        "spec": {"runtime": "python3.12", "handler": "app.handler", "code": {"inline": {"app.py": "x"}}},
        "status": {"version": "abc123", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    _, fv = served_function(fn)
    assert (fv.deployment, fv.signal_field, fv.max_instances) == ("hello-abc123", "ns/hello/abc123", 10)
    fn["status"]["conditions"][0]["status"] = "False"
    assert served_function(fn) is None


def test_settings_from_env() -> None:
    assert settings_from_env({"KUMO_WAKE_TIMEOUT_S": "2.5"})["wake_timeout_s"] == 2.5
    with pytest.raises(SettingsError, match="KUMO_QUEUE_LIMIT"):
        settings_from_env({"KUMO_QUEUE_LIMIT": "lots"})


def test_partition_endpoint_template_from_env() -> None:
    assert endpoint_template_from_env({}) is None
    assert endpoint_template_from_env({"KUMO_PARTITION_ENDPOINT_TEMPLATE": " "}) is None
    template = "{statefulset}-{index}.{service}.{namespace}.svc.example.org:8080"
    assert endpoint_template_from_env({"KUMO_PARTITION_ENDPOINT_TEMPLATE": template}) == template
    for bad in ("{pod}:8080", "{0}:8080", "{index"):
        with pytest.raises(SettingsError, match="KUMO_PARTITION_ENDPOINT_TEMPLATE"):
            endpoint_template_from_env({"KUMO_PARTITION_ENDPOINT_TEMPLATE": bad})


def test_stream_pollers_key_invokes_only_and_outlives_secret_resyncs() -> None:
    key = pollers_key()
    assert key.name == "kumo:stream-pollers" and key.access_key_id != pollers_key().access_key_id
    assert key.policy.allows("lambda:InvokeFunction", ["function:orders"])
    assert not key.policy.allows("dynamodb:PutItem", ["table:orders"])
    assert not key.policy.allows("lambda:UpdateFunctionCode", ["function:orders"])
    ring = KeyRing()
    ring.add_process_key(key)
    secret_key = new_access_key("from-a-secret")
    ring.replace_all([secret_key])  # what the Secret watch does on every (re)list
    assert ring.lookup(key.access_key_id) == key and ring.lookup(secret_key.access_key_id) == secret_key
    ring.replace_all([])
    assert ring.lookup(key.access_key_id) == key and ring.lookup(secret_key.access_key_id) is None


def test_stream_pollers_reach_their_own_gateway() -> None:
    assert gateway_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert gateway_url("10.1.2.3", 80) == "http://10.1.2.3:80"
    assert gateway_url("::1", 8080) == "http://[::1]:8080"

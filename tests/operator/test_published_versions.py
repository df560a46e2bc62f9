"""Published versions in a cluster (pure): what the operator publishes and builds, what the gateway rebuilds."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from test_function_resources import CONFIG, container, function

from kumo.catalog import Catalog
from kumo.kube.names import VERSION_LABEL, is_published_label, published_label
from kumo.kube.published import (
    PUBLISH_REQUEST_ANNOTATION,
    answered_publish,
    apply_spec_aliases,
    created_at,
    lambda_timestamp,
    plan_publish,
    plan_requested_publish,
    publish_request,
    registry_from_status,
    version_record,
)
from kumo.models import Function
from kumo.versions import code_sha256
from kumo_gateway.kubernetes.resources import served_function, served_versions
from kumo_operator.autoscale_timer import scaled_versions
from kumo_operator.function_resources import build_function_version
from kumo_operator.published_children import rebuild_spec

NOW = "2024-05-01T12:00:00.000+0000"
LATER = "2024-05-02T12:00:00.000+0000"


def publish_all(*specs: dict[str, Any]) -> list[dict[str, Any]]:
    """Reconcile each spec in turn as the operator does, keeping status.versions between them."""
    records: list[dict[str, Any]] = []
    for extra in specs:
        _, fn = function(publish=True, **extra)
        published = plan_publish(fn.spec, records, NOW)
        if published is not None:
            records.append(version_record(published))
    return records


def test_publish_numbers_versions_only_when_code_or_config_changed() -> None:
    _, off = function()
    assert plan_publish(off.spec, [], NOW) is None  # spec.publish is false
    code = {"app.py": "def handler(e, c):\n    return 2\n"}
    records = publish_all(
        {},
        {},  # unchanged: same version
        {"scaling": {"maxInstances": 3}},  # scaling is the function's, not the version's
        {"code": {"inline": code}},
        {"code": {"inline": code}, "memory": "1Gi"},
    )
    assert [r["version"] for r in records] == ["1", "2", "3"]
    assert records[1]["codeSha256"] == code_sha256(code)
    assert records[0]["codeSha256"] != records[1]["codeSha256"]
    assert records[2]["config"]["memory"] == "1024Mi" and records[1]["config"]["memory"] == "512Mi"
    assert records[0]["lastModified"] == NOW and "description" not in records[0]


def test_numbers_continue_from_status_and_are_never_reused() -> None:
    records = publish_all({}, {"memory": "1Gi"})
    _, fn = function(publish=True, memory="1Gi")
    assert plan_publish(fn.spec, records, LATER) is None  # an operator restart: nothing to publish
    _, back = function(publish=True)  # back to version 1's content: still a new version, 3
    published = plan_publish(back.spec, records, LATER)
    assert published is not None and published.version == "3" and published.last_modified == LATER
    assert published.snapshot.code_sha256 == records[0]["codeSha256"]


def test_image_code_changes_publish() -> None:
    records = publish_all({"code": {"image": "registry/fn:1"}}, {"code": {"image": "registry/fn:2"}})
    assert [r["version"] for r in records] == ["1", "2"]


def test_published_children_are_immutable_and_start_at_zero() -> None:
    body, fn = function(publish=True, scaling={"minInstances": 2})
    built = build_function_version(body, fn.spec, CONFIG, published="4")
    assert built.name == "hello-v4" and built.version == "v4"
    assert built.config_map is not None and built.config_map["immutable"] is True
    assert built.config_map["metadata"]["name"] == "hello-v4"
    assert built.deployment["spec"]["replicas"] == 0
    assert "annotations" not in built.deployment["metadata"]  # never patched for a later generation
    for child in built.children:
        assert child["metadata"]["labels"][VERSION_LABEL] == "v4"
        assert child["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    env = {e["name"]: e["value"] for e in container(built)["env"] if "value" in e}
    assert env["KUMO_FUNCTION_VERSION"] == "4" and env["KUMO_REVISION"] == "v4"
    latest = build_function_version(body, fn.spec, CONFIG)
    assert latest.deployment["spec"]["replicas"] == 2
    latest_env = {e["name"]: e["value"] for e in container(latest)["env"] if "value" in e}
    assert latest_env["KUMO_FUNCTION_VERSION"] == "$$LATEST"  # escaped for $(VAR) expansion
    assert not is_published_label(latest.version) and is_published_label(published_label(12))


def test_autoscaler_sizes_every_published_version_with_min_zero() -> None:
    status = {"version": "abc123", "versions": [{"version": "1"}, {"version": "2"}, "junk"]}
    assert scaled_versions(status, 3) == [("abc123", 3), ("v1", 0), ("v2", 0)]
    assert scaled_versions({}, 1) == []


def test_lambda_timestamp() -> None:
    moment = dt.datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert lambda_timestamp(moment) == "2024-05-01T12:00:00.123+0000"
    created = {"metadata": {"creationTimestamp": "2024-05-01T12:00:07Z"}}
    assert created_at(created, NOW) == "2024-05-01T12:00:07.000+0000"
    assert created_at({"metadata": {}}, NOW) == NOW


def served(records: list[dict[str, Any]], aliases: dict[str, Any]) -> tuple[Function, Any]:
    body, _ = function(publish=True, aliases=aliases)
    body["status"] = {
        "version": "abc123",
        "versions": [*records, {"version": "x"}],  # a malformed entry is skipped
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    result = served_function(body)
    assert result is not None
    return result[0], served_versions(body, *result)


def test_gateway_rebuilds_versions_and_aliases_and_resolves_like_local_mode() -> None:
    records = publish_all({}, {"timeout": "10s"})
    aliases = {
        "live": {"version": 1, "routing": {"2": 0.25}},
        "stable": {"version": 2, "description": "last known good"},
        "future": {"version": 9},  # no such version: skipped
    }
    function_model, versions = served(records, aliases)
    assert sorted(versions.registry.versions) == ["1", "2"]
    assert sorted(versions.registry.aliases) == ["live", "stable"]
    assert {n: fv.deployment for n, fv in versions.deployments.items()} == {"1": "hello-v1", "2": "hello-v2"}
    assert versions.deployments["1"].timeout_s == 30 and versions.deployments["2"].timeout_s == 10
    assert versions.deployments["2"].signal_field == "team/hello/v2"
    assert versions.registry.get("2").snapshot.spec.timeout == 10

    draws = iter([0.1, 0.9])
    catalog = Catalog(draw=lambda: next(draws))
    catalog.set_function(function_model)
    catalog.set_versions("hello", versions.registry)
    assert catalog.resolve("hello", "live").version == "2"  # 0.1 < 0.25
    assert catalog.resolve("hello", "live").version == "1"
    assert catalog.resolve("hello", "stable").version == "2"
    assert catalog.resolve("hello", "1").version == "1"
    assert catalog.resolve("hello", "3") is None
    assert catalog.resolve("hello", "future") is None

    # Every replica computes the same revision id for the same alias.
    _, again = served(records, aliases)
    assert again.registry.aliases["live"].revision_id == versions.registry.aliases["live"].revision_id


def test_bad_aliases_are_reported_not_applied() -> None:
    _, fn = function(publish=True, aliases={"live": {"version": 1}})
    registry = registry_from_status(fn.spec, [])
    problems = apply_spec_aliases(registry, fn.spec)
    assert registry.aliases == {} and len(problems) == 1 and "spec.aliases.live" in problems[0]


def test_a_publish_request_publishes_one_version_of_a_package_function() -> None:
    package = {"sha256": "ab" * 32, "size": 10, "layers": [{"sha256": "cd" * 32, "size": 4}]}
    _, fn = function(code={"package": package})
    published, created = plan_requested_publish(fn.spec, [], NOW)
    assert created and published.version == "1"
    assert published.snapshot.code_sha256 == base64.b64encode(bytes.fromhex("ab" * 32)).decode()
    assert published.snapshot.code_size == 10
    records = [version_record(published)]
    again, created = plan_requested_publish(fn.spec, records, LATER)  # unchanged: version 1 answers
    assert not created and again.version == "1"
    other_layer = {**package, "layers": [{"sha256": "ef" * 32, "size": 4}]}
    _, changed = function(code={"package": other_layer})
    newer, created = plan_requested_publish(changed.spec, records, LATER)  # another layer archive: new code
    assert created and newer.version == "2"

    obj: dict[str, Any] = {"metadata": {"annotations": {PUBLISH_REQUEST_ANNOTATION: "t1"}}}
    assert publish_request(obj) == "t1" and answered_publish(obj, "t1") is None
    obj["status"] = {"publishRequest": {"request": "t1", "version": "1"}}
    assert publish_request(obj) is None and answered_publish(obj, "t1") == "1"
    assert answered_publish(obj, "t2") is None


def test_a_package_version_is_rebuilt_from_its_recorded_archives() -> None:
    package = {"sha256": "ab" * 32, "size": 10, "layers": [{"sha256": "cd" * 32, "size": 4}]}
    _, fn = function(code={"package": {"sha256": "ef" * 32, "size": 3}})  # $LATEST moved on
    record = {"version": "1", "config": {"memory": "256Mi"}, "package": package}
    spec = rebuild_spec(fn.spec, record, None)
    assert spec.code.package is not None and spec.code.package.sha256 == "ab" * 32
    assert [layer.sha256 for layer in spec.code.package.layers] == ["cd" * 32] and spec.memory == 256

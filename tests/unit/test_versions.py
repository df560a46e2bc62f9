"""kumo.versions: numbering, "nothing changed -> same version", CodeSha256, alias rules, weighted choice,
qualifier resolution, records round trip, and Catalog.resolve."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest

from kumo.catalog import Catalog
from kumo.models import Function, FunctionSpec
from kumo.versions import (
    LATEST,
    Alias,
    Conflict,
    FunctionVersions,
    NotFound,
    PreconditionFailed,
    VersionError,
    check_alias_name,
    choose_version,
    code_sha256,
    from_record,
    take_snapshot,
    to_record,
)

NOW = "2024-05-01T12:00:00.000+0000"


def spec(**changes: object) -> FunctionSpec:
    return FunctionSpec.model_validate(
        {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": "x = 1\n"}}, **changes}
    )


def registry_with(count: int) -> FunctionVersions:
    registry = FunctionVersions()
    for i in range(count):
        registry.publish(take_snapshot(spec(), {"app.py": f"v = {i}\n"}), "", NOW)
    return registry


def test_code_sha256_is_base64_sha256_and_stable() -> None:
    files = {"b.py": "B", "a.py": "A"}
    value = code_sha256(files)
    assert len(base64.b64decode(value)) == hashlib.sha256().digest_size
    assert value == code_sha256(dict(reversed(list(files.items()))))  # order of the mapping does not matter
    assert value != code_sha256({"a.py": "A", "b.py": "B "})
    # name/content boundaries are unambiguous
    assert code_sha256({"ab": "c"}) != code_sha256({"a": "bc"})


def test_publish_numbers_from_one_and_unchanged_returns_same_version() -> None:
    registry = FunctionVersions()
    first, created = registry.publish(take_snapshot(spec(), {"app.py": "1"}), "first", NOW)
    assert (first.version, created, first.description) == ("1", True, "first")
    again, created = registry.publish(take_snapshot(spec(), {"app.py": "1"}), "ignored", NOW)
    assert (again, created) == (first, False)
    second, created = registry.publish(take_snapshot(spec(), {"app.py": "2"}), "", NOW)
    assert (second.version, created) == ("2", True)
    assert list(registry.versions) == ["1", "2"]
    assert registry.latest_published() == second


def test_configuration_change_publishes_new_version_but_scaling_does_not() -> None:
    registry = FunctionVersions()
    files = {"app.py": "1"}
    registry.publish(take_snapshot(spec(), files), "", NOW)
    same, created = registry.publish(take_snapshot(spec(scaling={"maxInstances": 3}), files), "", NOW)
    assert (same.version, created) == ("1", False)
    changed, created = registry.publish(take_snapshot(spec(environment={"A": "b"}), files), "", NOW)
    assert (changed.version, created) == ("2", True)
    assert changed.snapshot.spec.environment == {"A": "b"}
    assert changed.snapshot.code_sha256 == same.snapshot.code_sha256  # same code, different configuration


def test_numbers_are_never_reused() -> None:
    registry = FunctionVersions(next_number=5)  # versions 1-4 existed once
    published, _ = registry.publish(take_snapshot(spec(), {"app.py": "x"}), "", NOW)
    assert published.version == "5"


def test_snapshot_is_a_copy() -> None:
    original = spec(environment={"A": "1"})
    snapshot = take_snapshot(original, {"app.py": "x"})
    original.environment["A"] = "2"
    assert snapshot.spec.environment == {"A": "1"}


def test_description_limit() -> None:
    with pytest.raises(VersionError, match="at most 256"):
        FunctionVersions().publish(take_snapshot(spec(), {"a.py": ""}), "d" * 257, NOW)


@pytest.mark.parametrize("name", ["live", "PROD_1", "a-b", "1a", "x" * 128])
def test_alias_names_accepted(name: str) -> None:
    check_alias_name(name)


@pytest.mark.parametrize("name", ["", "12", "a.b", "a:b", "$LATEST", "x" * 129])
def test_alias_names_refused(name: str) -> None:
    with pytest.raises(VersionError, match="Alias name"):
        check_alias_name(name)


@pytest.mark.parametrize(
    ("alias", "error", "message"),
    [
        (Alias("live", "9"), NotFound, "Version 9"),
        (Alias("live", "latest"), VersionError, "must be \\$LATEST or a version number"),
        (Alias("live", "1", routing={"2": 0.1, "3": 0.1}), VersionError, "at most one additional version"),
        (Alias("live", "1", routing={LATEST: 0.1}), VersionError, "\\$LATEST cannot be used in a routing"),
        (Alias("live", "1", routing={"2": 1.5}), VersionError, "between 0.0 and 1.0"),
        (Alias("live", "1", routing={"2": -0.1}), VersionError, "between 0.0 and 1.0"),
        (Alias("live", LATEST, routing={"2": 0.1}), VersionError, "\\$LATEST is not supported"),
        (Alias("live", "1", routing={"1": 0.1}), VersionError, "primary version"),
        (Alias("live", "1", routing={"7": 0.1}), NotFound, "Version 7"),
        (Alias("live", "1", description="d" * 300), VersionError, "Description"),
    ],
)
def test_alias_rules(alias: Alias, error: type[Exception], message: str) -> None:
    registry = registry_with(3)
    with pytest.raises(error, match=message):
        registry.create_alias(alias)
    assert registry.aliases == {}


def test_alias_lifecycle() -> None:
    registry = registry_with(3)
    created = registry.create_alias(Alias("live", "1", "d", {"2": 0.25}, "r1"))
    assert registry.aliases["live"] == created
    with pytest.raises(Conflict):
        registry.create_alias(Alias("live", "2"))
    with pytest.raises(PreconditionFailed):
        registry.update_alias("live", function_version="3", expected_revision="stale", new_revision="r2")
    updated = registry.update_alias("live", function_version="3", expected_revision="r1", new_revision="r2")
    # omitted fields keep their values; the routing is re-checked against the new primary
    assert (updated.function_version, updated.description, dict(updated.routing), updated.revision_id) == (
        "3",
        "d",
        {"2": 0.25},
        "r2",
    )
    with pytest.raises(VersionError):
        registry.update_alias("live", function_version="2", new_revision="r3")  # 2 is also the extra version
    assert registry.aliases["live"] == updated
    cleared = registry.update_alias("live", routing={}, new_revision="r4")
    assert cleared.routing == {}
    registry.delete_alias("live")
    with pytest.raises(NotFound):
        registry.delete_alias("live")
    with pytest.raises(NotFound):
        registry.update_alias("live", new_revision="r5")


def test_choose_version_thresholds() -> None:
    assert choose_version("1", {}, 0.0) == "1"
    assert choose_version("1", {"2": 0.1}, 0.0999) == "2"
    assert choose_version("1", {"2": 0.1}, 0.1) == "1"
    assert choose_version("1", {"2": 0.0}, 0.0) == "1"
    assert choose_version("1", {"2": 1.0}, 0.9999) == "2"


@pytest.mark.parametrize("weight", [0.1, 0.5, 0.9])
def test_weighted_choice_is_statistically_right(weight: float) -> None:
    rng = random.Random(20240501)
    draws = 4000
    extra = sum(choose_version("1", {"2": weight}, rng.random()) == "2" for _ in range(draws))
    assert abs(extra / draws - weight) <= 0.03


def test_resolve_qualifiers() -> None:
    registry = registry_with(2)
    registry.create_alias(Alias("live", "1", routing={"2": 0.5}))
    registry.create_alias(Alias("edge", LATEST))
    assert registry.resolve(None, lambda: 0.0).version == LATEST
    assert registry.resolve(LATEST, lambda: 0.0).qualifier == LATEST
    assert registry.resolve("2", lambda: 0.0).version == "2"
    assert registry.resolve("3", lambda: 0.0) is None
    assert registry.resolve("nope", lambda: 0.0) is None
    low, high = registry.resolve("live", lambda: 0.2), registry.resolve("live", lambda: 0.7)
    assert (low.version, low.alias, low.qualifier) == ("2", "live", "live")
    assert high.version == "1"
    assert registry.resolve("edge", lambda: 0.0).version == LATEST


def test_records_round_trip() -> None:
    registry = registry_with(2)
    registry.create_alias(Alias("live", "1", "desc", {"2": 0.3}, "rev"))
    loaded = from_record(to_record(registry))
    assert loaded.next_number == 3
    assert list(loaded.versions) == ["1", "2"]
    assert loaded.versions["2"].snapshot == registry.versions["2"].snapshot
    assert loaded.aliases == registry.aliases
    assert loaded.publish(registry.versions["2"].snapshot, "", NOW) == (loaded.versions["2"], False)


def test_catalog_resolve_draws_with_injected_random() -> None:
    draws = iter([0.05, 0.95])
    catalog = Catalog(draw=lambda: next(draws))
    catalog.set_function(
        Function.model_validate({"metadata": {"name": "hello"}, "spec": spec().model_dump(by_alias=True)})
    )
    assert catalog.resolve("missing", None) is None
    catalog.set_versions("hello", registry_with(2))
    catalog.versions("hello").create_alias(Alias("live", "1", routing={"2": 0.1}))
    assert [catalog.resolve("hello", "live").version for _ in range(2)] == ["2", "1"]
    assert catalog.resolve("hello", "9") is None


def test_delete_version_rules() -> None:
    registry = registry_with(3)
    registry.create_alias(Alias("live", "1", routing={"2": 0.1}))
    for qualifier, error, message in [
        (LATEST, VersionError, "cannot be deleted without deleting the function"),
        ("live", VersionError, "takes a version number"),
        ("7", NotFound, "Version 7 of the function does not exist"),
        ("1", Conflict, r"the following aliases reference it: \[live\]"),
        ("2", Conflict, r"the following aliases reference it: \[live\]"),
    ]:
        with pytest.raises(error, match=message):
            registry.delete_version(qualifier)
    assert registry.delete_version("3").version == "3"
    assert list(registry.versions) == ["1", "2"]
    assert registry.publish(take_snapshot(spec(), {"app.py": "v = 2\n"}), "", NOW)[0].version == "4"  # never reused
    assert from_record(to_record(registry)).next_number == 5

"""What changed between two loads of the manifests (pure diff, kumo_gateway.local.manifest_diff)."""

from __future__ import annotations

from typing import Any

from kumo.manifests import Manifests
from kumo.models import Api, Function, Table
from kumo_gateway.local.manifest_diff import KindDiff, diff_manifests, new_reference_problems


def function(name: str, source: str = "def handler(e, c):\n    return 1\n", **spec: Any) -> Function:
    return Function.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": name},
            "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": source}}, **spec},
        }
    )


def from_config_map(name: str, config_map: str) -> Function:
    return Function.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": name},
            "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"configMap": {"name": config_map}}},
        }
    )


def api(name: str, *routes: tuple[str, str]) -> Api:
    return Api.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": name},
            "spec": {"routes": [{"method": "GET", "path": path, "function": fn} for path, fn in routes]},
        }
    )


def table(name: str, **spec: Any) -> Table:
    return Table.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Table",
            "metadata": {"name": name},
            "spec": {"partitionKey": {"name": "pk", "type": "S"}, **spec},
        }
    )


def manifests(*resources: Function | Api | Table, config_maps: dict[str, dict[str, str]] | None = None) -> Manifests:
    result = Manifests(config_maps=dict(config_maps or {}))
    for resource in resources:
        kinds = {"Function": result.functions, "Api": result.apis, "Table": result.tables}
        kinds[resource.kind][resource.metadata.name] = resource
    return result


def test_same_manifests_are_no_change():
    old = manifests(function("a"), api("shop", ("/a", "a")), table("orders"))
    new = manifests(function("a"), api("shop", ("/a", "a")), table("orders"))
    diff = diff_manifests(old, new)
    assert not diff
    assert diff.summary() == "nothing changed"


def test_code_edit_changes_and_rolls_the_function():
    diff = diff_manifests(manifests(function("a"), function("b")), manifests(function("a", "x = 2"), function("b")))
    assert diff.functions == KindDiff(changed=("a",))
    assert diff.rolled == ("a",)
    assert diff.summary() == "Function a changed ($LATEST rolled)"


def test_configuration_edit_rolls_but_aliases_and_publish_alone_do_not():
    base = manifests(function("a"))
    assert diff_manifests(base, manifests(function("a", timeout="10s"))).rolled == ("a",)
    assert diff_manifests(base, manifests(function("a", scaling={"maxInstances": 2}))).rolled == ("a",)
    aliases_only = diff_manifests(base, manifests(function("a", publish=True, aliases={"live": {"version": 1}})))
    assert aliases_only.functions.changed == ("a",)
    assert aliases_only.rolled == ()
    assert aliases_only.summary() == "Function a changed"


def test_config_map_data_edit_rolls_functions_using_it():
    old = manifests(from_config_map("a", "code"), function("b"), config_maps={"code": {"app.py": "x = 1"}})
    new = manifests(from_config_map("a", "code"), function("b"), config_maps={"code": {"app.py": "x = 2"}})
    diff = diff_manifests(old, new)
    assert diff.functions == KindDiff(changed=("a",))
    assert diff.rolled == ("a",)


def test_added_and_removed_functions_apis_and_tables():
    old = manifests(function("a"), function("gone"), api("old", ("/a", "a")), table("tab1"), table("tab2"))
    new = manifests(function("a"), function("new"), api("shop", ("/a", "a")), table("tab1", ttlAttribute="exp"))
    diff = diff_manifests(old, new)
    assert diff.functions == KindDiff(added=("new",), removed=("gone",))
    assert diff.rolled == ()
    assert diff.apis == KindDiff(added=("shop",), removed=("old",))
    assert diff.tables == KindDiff(changed=("tab1",), removed=("tab2",))
    assert diff.summary() == (
        "Function new added; Function gone removed; Api shop added; Api old removed; "
        "Table tab1 changed; Table tab2 removed"
    )


def test_api_route_edit_is_a_change():
    old, new = manifests(function("a"), api("s", ("/a", "a"))), manifests(function("a"), api("s", ("/b", "a")))
    diff = diff_manifests(old, new)
    assert diff.apis == KindDiff(changed=("s",))
    assert not diff.functions


def test_only_new_reference_problems_are_reported():
    old = manifests(function("a"), api("s", ("/a", "a"), ("/x", "missing")))  # a problem from the start
    same = manifests(function("a"), api("s", ("/a", "a"), ("/x", "missing")))
    assert new_reference_problems(old, same) == []
    removed = manifests(api("s", ("/a", "a"), ("/x", "missing")))  # the route's function removed
    problems = new_reference_problems(old, removed)
    assert len(problems) == 1
    assert "spec.routes[0].function: Function 'a' not found" in problems[0]

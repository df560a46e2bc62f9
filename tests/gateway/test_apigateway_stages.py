"""Stages and canaries as pure rules: target resolution, canary selection, promotion, the access line."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from kumo.models import Api, Stage
from kumo_gateway.apigateway.access_log import RequestNote, access_line, canary_header
from kumo_gateway.apigateway.stages import (
    NoCanary,
    StageNotFound,
    TargetError,
    canary_wins,
    compile_stage,
    promote_canary,
    promote_stage,
    resolve_target,
    select_side,
    substitute,
)
from kumo_gateway.dispatch import pick_handler

VARIABLES = {"alias": "beta", "fn": "orders", "n": "2", "full": "orders:live", "empty": "", "bad": "Orders!"}


# --- target resolution -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "qualifier", "expected"),
    [
        ("orders", None, ("orders", None)),
        ("orders:live", None, ("orders", "live")),
        ("orders:$LATEST", None, ("orders", "$LATEST")),
        ("orders:${stageVariables.alias}", None, ("orders", "beta")),
        ("${stageVariables.fn}", None, ("orders", None)),
        ("${stageVariables.fn}-v${stageVariables.n}:${stageVariables.alias}", None, ("orders-v2", "beta")),
        ("orders:v${stageVariables.n}", None, ("orders", "v2")),
        # a variable may hold a whole name:qualifier, as text substituted into a Lambda ARN would
        ("${stageVariables.full}", None, ("orders", "live")),
        # the separate qualifier field still works, with stage variables too
        ("orders", "${stageVariables.alias}", ("orders", "beta")),
        ("orders", "live", ("orders", "live")),
        ("${stageVariables.fn}", "${stageVariables.alias}", ("orders", "beta")),
    ],
)
def test_resolve_target(function: str, qualifier: str | None, expected: tuple[str, str | None]) -> None:
    assert resolve_target(function, qualifier, VARIABLES) == expected


@pytest.mark.parametrize(
    ("function", "qualifier", "reason"),
    [
        # a variable the stage does not define is a missing target, not a silent $LATEST
        ("orders:${stageVariables.missing}", None, "stage variable 'missing' is not defined"),
        ("${stageVariables.missing}", None, "stage variable 'missing' is not defined"),
        ("orders", "${stageVariables.missing}", "stage variable 'missing' is not defined"),
        ("orders:${stageVariables.empty}", None, "'' is not a valid version or alias name"),
        ("orders", "${stageVariables.empty}", "'' is not a valid version or alias name"),
        ("${stageVariables.empty}", None, "'' (from '${stageVariables.empty}') is not a valid function name"),
        ("${stageVariables.bad}", None, "'Orders!' (from '${stageVariables.bad}') is not a valid function name"),
        ("${stageVariables.fn}" + "x" * 60, None, "is not a valid function name"),
        ("${stageVariables.full}", "other", "has a qualifier and the route gives another ('other')"),
        ("orders:a:b", None, "'a:b' is not a valid version or alias name"),
    ],
)
def test_unresolvable_targets(function: str, qualifier: str | None, reason: str) -> None:
    with pytest.raises(TargetError) as caught:
        resolve_target(function, qualifier, VARIABLES)
    assert reason in str(caught.value)


def test_substitute() -> None:
    assert substitute("plain", {}) == "plain"
    assert substitute("$LATEST", {}) == "$LATEST"
    assert substitute("a-${stageVariables.x}-${stageVariables.x}", {"x": "1"}) == "a-1-1"
    with pytest.raises(TargetError, match="stage variable 'y' is not defined"):
        substitute("${stageVariables.y}", {"x": "1"})


# --- stage selection ----------------------------------------------------------------------------


def stage(**fields: Any) -> Stage:
    return Stage.model_validate({"name": "prod", **fields})


def test_stage_without_canary_has_one_side() -> None:
    compiled = compile_stage(stage(variables={"alias": "blue"}))
    assert compiled.canary is None
    for seed in range(20):
        side = select_side(compiled, random.Random(seed))
        assert (side.variables, side.canary) == ({"alias": "blue"}, None)


def test_canary_side_merges_its_overrides() -> None:
    compiled = compile_stage(
        stage(variables={"alias": "blue", "table": "t1"}, canary={"percent": 10, "variables": {"alias": "green"}})
    )
    assert (compiled.primary.variables, compiled.primary.canary) == ({"alias": "blue", "table": "t1"}, False)
    assert compiled.canary is not None
    assert (compiled.canary.variables, compiled.canary.canary) == ({"alias": "green", "table": "t1"}, True)
    assert compiled.percent == 10.0


@pytest.mark.parametrize(("percent", "draw", "wins"), [(0, 0.0, False), (100, 0.9999999, True), (10, 0.0999, True)])
def test_canary_wins_edges(percent: float, draw: float, wins: bool) -> None:
    assert canary_wins(percent, draw) is wins
    assert canary_wins(10, 0.1) is False


@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_canary_share_statistics(seed: int) -> None:
    # The alias-weights bar: >= 2,000 requests at 10 % land within 3 percentage points.
    compiled = compile_stage(stage(variables={"alias": "blue"}, canary={"percent": 10, "variables": {"alias": "x"}}))
    rng = random.Random(seed)
    sides = [select_side(compiled, rng) for _ in range(4000)]
    share = sum(1 for side in sides if side.canary) / len(sides)
    assert abs(share - 0.10) <= 0.03, share
    assert {side.variables["alias"] for side in sides if side.canary} == {"x"}
    assert {side.variables["alias"] for side in sides if not side.canary} == {"blue"}


@pytest.mark.parametrize(("percent", "share"), [(0, 0.0), (100, 1.0), (50, None), (0.5, None)])
def test_canary_share_extremes(percent: float, share: float | None) -> None:
    compiled = compile_stage(stage(canary={"percent": percent}))
    rng = random.Random(3)
    observed = sum(1 for _ in range(2000) if select_side(compiled, rng).canary) / 2000
    assert abs(observed - (share if share is not None else percent / 100)) <= 0.03


# --- promotion -----------------------------------------------------------------------------------


def api_doc(stages: list[dict[str, Any]]) -> Api:
    return Api.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "shop"},
            "spec": {"routes": [{"method": "GET", "path": "/", "function": "orders"}], "stages": stages},
        }
    )


def test_promote_stage_copies_overrides_and_zeroes_the_share() -> None:
    before = stage(variables={"alias": "blue", "keep": "1"}, canary={"percent": 25, "variables": {"alias": "green"}})
    after = promote_stage(before)
    assert after.variables == {"alias": "green", "keep": "1"}
    assert after.canary is not None
    # API Gateway sets the canary's traffic to 0 % and keeps its settings (deleting them is separate)
    assert (after.canary.percent, after.canary.variables) == (0.0, {"alias": "green"})
    assert before.variables == {"alias": "blue", "keep": "1"} and before.canary.percent == 25  # unchanged
    # a second promotion changes nothing
    assert promote_stage(after) == after


def test_promote_canary_makes_a_new_api() -> None:
    api = api_doc(
        [{"name": "dev"}, {"name": "prod", "variables": {"a": "1"}, "canary": {"percent": 10, "variables": {"a": "2"}}}]
    )
    promoted = promote_canary(api, "prod")
    assert promoted is not api
    assert [s.variables for s in promoted.spec.stages] == [{}, {"a": "2"}]
    assert api.spec.stages[1].variables == {"a": "1"}
    # the result is a valid Api that round-trips through its manifest form
    assert Api.model_validate(promoted.model_dump(by_alias=True, exclude_none=True)) == promoted


def test_promotion_errors() -> None:
    api = api_doc([{"name": "dev"}])
    with pytest.raises(NoCanary, match="stage 'dev' has no canary") as no_canary:
        promote_canary(api, "dev")
    with pytest.raises(StageNotFound, match="Api 'shop' has no stage 'prod'") as no_stage:
        promote_canary(api, "prod")
    assert (no_canary.value.status, no_stage.value.status) == (409, 404)


# --- access line and header ----------------------------------------------------------------------


def test_access_line_is_one_json_object_with_what_the_request_reached() -> None:
    note = RequestNote(api="shop", stage="prod", route="GET /orders", canary=True, version="2", api_key_id="k1")
    line = access_line("GET", "/shop/prod/orders", 200, 0.0041, note, "req-1")
    assert json.loads(line) == {
        "requestId": "req-1",
        "method": "GET",
        "path": "/shop/prod/orders",
        "status": 200,
        "latencyMs": 4.1,
        "api": "shop",
        "stage": "prod",
        "route": "GET /orders",
        "version": "2",
        "canary": True,
        "apiKeyId": "k1",
    }
    assert "\n" not in line
    assert canary_header(note) == ("x-kumo-canary", "true")
    note.canary = False
    assert json.loads(access_line("GET", "/", 200, 0, note, "x"))["canary"] is False
    assert canary_header(note) == ("x-kumo-canary", "false")
    plain = RequestNote(stage="dev", authorizer="deny")
    assert json.loads(access_line("GET", "/shop/dev/x", 404, 0, plain, "r")) == {
        "requestId": "r",
        "method": "GET",
        "path": "/shop/dev/x",
        "status": 404,
        "latencyMs": 0.0,
        "stage": "dev",
        "authorizer": "deny",
    }
    assert canary_header(plain) is None


# --- dispatch ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "with_admin", "without_admin"),
    [
        ("/_kumo/apis/shop/stages/prod/promote", ("admin", None), ("api", None)),
        ("/_kumo", ("admin", None), ("api", None)),
        ("/shop/prod/x", ("api", None), ("api", None)),
        ("/2015-03-31/functions/fn/invocations", ("invoke", "fn"), ("invoke", "fn")),
    ],
)
def test_pick_handler_admin(path: str, with_admin: tuple, without_admin: tuple) -> None:
    assert pick_handler("POST", path, "invoke", "api", "admin") == with_admin  # type: ignore[arg-type]
    assert pick_handler("POST", path, "invoke", "api") == without_admin  # type: ignore[arg-type]

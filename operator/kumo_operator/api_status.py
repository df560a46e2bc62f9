"""What an Api's status says: invoke URLs per stage, and whether every route's function exists (pure)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from kumo.models import Api


@dataclass(frozen=True)
class ApiState:
    ready: bool
    reason: str
    message: str
    url: str
    stages: list[dict[str, str]]


def stage_url(base_url: str, api: str, stage: str) -> str:
    """``<gateway>/<api>/<stage>`` (``$default`` included literally, as the gateway routes it)."""
    return f"{base_url.rstrip('/')}/{api}/{stage}"


def missing_functions(api: Api, functions: Collection[str]) -> list[str]:
    """``METHOD path -> function`` for every route whose Function does not exist.

    A route whose Function is chosen by stage variables (``${stageVariables.fn}``) is checked per
    request by the gateway, not here; a ``name:qualifier`` target is checked by its name.
    """
    return [
        f"{route.method} {route.path} -> {route.function}"
        for route in api.spec.routes
        if route.function_name is not None and route.function_name not in functions
    ]


def api_state(api: Api, functions: Collection[str], base_url: str) -> ApiState:
    """Ready when every route's Function exists in the namespace; ``url`` is the first stage's URL."""
    name = api.metadata.name
    stages = [{"name": s.name, "url": stage_url(base_url, name, s.name)} for s in api.spec.effective_stages]
    missing = missing_functions(api, functions)
    if missing:
        message = "Function not found for route(s): " + "; ".join(missing)
        return ApiState(False, "FunctionNotFound", message, stages[0]["url"], stages)
    routes = len(api.spec.routes)
    stage_names = ", ".join(s["name"] for s in stages)
    message = f"{routes} route(s) served on stage(s) {stage_names}"
    return ApiState(True, "RoutesReady", message, stages[0]["url"], stages)

"""``kumo api promote``: local mode through the gateway's admin API, a cluster by patching the Api resource.

Both apply the same rule (:func:`kumo_gateway.apigateway.stages.promote_canary`, API Gateway's canary
promotion); each returns ``(exit code, message)``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote


def summary(name: str, stage: str, variables: dict[str, str]) -> str:
    shown = ", ".join(f"{key}={value}" for key, value in sorted(variables.items())) or "(none)"
    return f"promoted the canary of {name}/{stage}: variables {shown}; canary traffic 0%"


def through_admin_api(url: str, name: str, stage: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """``POST /_kumo/apis/{name}/stages/{stage}/promote`` on a running ``kumo up``."""
    from kumo_cli.platform_access import admin_call

    path = f"/apis/{quote(name, safe='')}/stages/{quote(stage, safe='')}/promote"
    _, body, problem = admin_call("POST", url, path, headers or {})
    if problem is None and "stage" not in body:
        problem = f"{url} answered without the promoted stage"
    if problem is not None:
        return 1, f"kumo api promote: {problem}"
    return 0, summary(name, stage, body["stage"].get("variables") or {})


def in_cluster(name: str, stage: str, namespace: str) -> tuple[int, str]:
    """Read the Api resource, promote its stage's canary and write the stages back (a merge patch)."""
    return asyncio.run(_in_cluster(name, stage, namespace))


async def _in_cluster(name: str, stage: str, namespace: str) -> tuple[int, str]:
    from pydantic import ValidationError

    from kumo.kube.client import KubeClient, KubeError, object_path
    from kumo.models import Api
    from kumo_gateway.apigateway.stages import PromotionError, promote_canary

    try:
        client = KubeClient()
    except Exception as exc:  # no kubeconfig, no in-cluster credentials
        return 1, f"kumo api promote: no Kubernetes credentials: {exc}"
    path = object_path("Api", namespace, name)
    try:
        found = await client.get(path)
        if found is None:
            return 1, f"kumo api promote: Api {namespace}/{name} not found"
        try:
            api = Api.model_validate(found)
            promoted = promote_canary(api, stage)
        except (ValidationError, PromotionError) as exc:
            return 1, f"kumo api promote: {exc}"
        stages: list[dict[str, Any]] = [
            s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in promoted.spec.stages
        ]
        version = found["metadata"].get("resourceVersion")
        # resourceVersion makes the patch fail (409) if the Api changed since it was read.
        await client.patch(path, {"metadata": {"resourceVersion": version}, "spec": {"stages": stages}})
    except KubeError as exc:
        return 1, f"kumo api promote: {exc}"
    except OSError as exc:
        return 1, f"kumo api promote: cannot reach the Kubernetes API: {exc}"
    finally:
        await client.aclose()
    variables = next(s for s in promoted.spec.stages if s.name == stage).variables
    return 0, summary(name, stage, variables)

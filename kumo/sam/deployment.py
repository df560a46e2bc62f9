"""`AutoPublishAlias` and `DeploymentPreference` (pure): which version an auto-published alias points at.

SAM publishes a version on every change and moves the alias with CodeDeploy. Kumo has no CodeDeploy:
the translated Function carries `spec.publish: true` and two annotations, and `kumo up` applies the
**first step** of the deployment type when it publishes a new version (docs/sam.md):

| `DeploymentPreference.Type` | alias after a new version N (previous version P) |
| --- | --- |
| none, `AllAtOnce` | N |
| `CanaryXPercentYMinutes` | P, with X % of traffic to N (`routing: {N: X/100}`) |
| `LinearXPercentEveryYMinute(s)` | P, with X % of traffic to N |

The first version of a function (no P) always takes the whole alias, as on AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kumo.sam.loader import TemplateError

AUTO_ALIAS_ANNOTATION = "sam.kumo.dev/auto-publish-alias"
DEPLOYMENT_ANNOTATION = "sam.kumo.dev/deployment-preference"
_TYPE = re.compile(r"^(AllAtOnce|Canary(\d+)Percent(\d+)Minutes|Linear(\d+)PercentEvery(\d+)Minutes?)$")


def check_deployment_type(value: object) -> str:
    """The deployment type if Kumo knows it (SAM's predefined CodeDeploy configurations), else TemplateError."""
    if not isinstance(value, str) or not _TYPE.match(value):
        raise TemplateError(
            f"DeploymentPreference.Type {value!r}: use AllAtOnce, CanaryXPercentYMinutes or "
            "LinearXPercentEveryYMinutes (e.g. Canary10Percent5Minutes)"
        )
    return value


def first_step_weight(deployment_type: str | None) -> float:
    """The share of traffic the new version gets first: 1.0 for `AllAtOnce` (or no preference)."""
    if deployment_type is None:
        return 1.0
    match = _TYPE.match(deployment_type)
    if match is None:
        raise TemplateError(f"unknown deployment type {deployment_type!r}")
    percent = match.group(2) or match.group(4)
    if percent is None:
        return 1.0
    weight = int(percent) / 100
    if not 0 < weight <= 1:
        raise TemplateError(f"deployment type {deployment_type!r}: the percentage must be 1-100")
    return weight


@dataclass(frozen=True)
class AliasTarget:
    version: str
    routing: Mapping[str, float] = field(default_factory=dict)


def next_alias(current: AliasTarget | None, latest: str, deployment_type: str | None) -> AliasTarget | None:
    """Where the auto-published alias goes once `latest` is the newest version (None: leave it as is)."""
    if current is not None and (current.version == latest or latest in current.routing):
        return None  # already serving the newest version (fully or as the canary)
    weight = first_step_weight(deployment_type)
    if current is None or weight >= 1.0:
        return AliasTarget(latest)
    return AliasTarget(current.version, {latest: weight})


def alias_settings(annotations: Mapping[str, str] | None) -> tuple[str, str | None] | None:
    """`(alias, deployment type)` from a translated Function's annotations, or None."""
    if not annotations or AUTO_ALIAS_ANNOTATION not in annotations:
        return None
    return annotations[AUTO_ALIAS_ANNOTATION], annotations.get(DEPLOYMENT_ANNOTATION)

"""API keys, usage plans and throttles of one Api request (pure): what to check, in which order, and
the answer when a check fails. The Redis store (:mod:`limits_store`) runs the checks atomically.

The order, as API Gateway applies it (after the route match and the authorizer):

1. ``apiKeyRequired``: the ``x-api-key`` header must name a known, enabled key of this Api whose usage
   plan lists the stage, else 403 ``{"message": "Forbidden"}``.
2. the key's plan throttle (a token bucket per key) -> 429 ``{"message": "Too Many Requests"}``;
3. the key's plan quota (requests per key per period) -> 429 ``{"message": "Limit Exceeded"}``;
4. the route's throttle, then 5. the stage's throttle (buckets shared by every caller) -> 429
   ``{"message": "Too Many Requests"}``.

A refused request takes nothing from any bucket or quota. Routes with no key, plan or throttle need
no check at all (and never touch Redis). When Redis cannot be reached: keys and quotas fail closed
(503 ``{"message": "Service Unavailable"}``); throttles alone follow ``KUMO_THROTTLE_WHEN_REDIS_DOWN``
(``allow``, the default, or ``deny``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kumo_gateway.apigateway import quota_periods
from kumo_gateway.apigateway.gateway_responses import HttpResponse, message_response

if TYPE_CHECKING:
    from kumo.models import Api

THROTTLE_POLICY_ENV = "KUMO_THROTTLE_WHEN_REDIS_DOWN"
THROTTLE_POLICIES = ("allow", "deny")
DEFAULT_THROTTLE_POLICY = "allow"
#: Quota counters are kept this long past their period's end (gateway clocks may lag a little).
QUOTA_GRACE_S = 3600

KEY_RECORD = "kumo:apikey:{hash}"
KEY_INDEX = "kumo:apikeys:{api}"
KEY_BUCKET = "kumo:tb:key:{hash}"
QUOTA_COUNTER = "kumo:quota:{hash}:{start}"
ROUTE_BUCKET = "kumo:tb:route:{api}:{stage}:{route}"
STAGE_BUCKET = "kumo:tb:stage:{api}:{stage}"


class Outcome(enum.IntEnum):
    """A request's fate; the values are what the Redis script answers."""

    ALLOW = 0
    FORBIDDEN = 1
    PLAN_THROTTLED = 2
    QUOTA_EXCEEDED = 3
    ROUTE_THROTTLED = 4
    STAGE_THROTTLED = 5
    #: Redis could not be reached and the check fails closed.
    UNAVAILABLE = 6


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    rate: float
    burst: int


@dataclass(frozen=True, slots=True)
class QuotaRule:
    limit: int
    period: str
    offset: int = 0


@dataclass(frozen=True, slots=True)
class PlanRule:
    name: str
    throttle: ThrottleRule | None
    quota: QuotaRule | None


@dataclass(frozen=True, slots=True)
class RouteLimits:
    """Everything limiting one route in one stage."""

    api: str
    stage: str
    route_key: str
    key_required: bool
    #: The usage plans that list this stage (a key of another plan is refused).
    plans: tuple[PlanRule, ...]
    route_throttle: ThrottleRule | None
    stage_throttle: ThrottleRule | None

    @property
    def plan_names(self) -> list[str]:
        return [plan.name for plan in self.plans]

    @property
    def checks_anything(self) -> bool:
        return self.key_required or self.route_throttle is not None or self.stage_throttle is not None


@dataclass(frozen=True, slots=True)
class Check:
    """One bucket or quota the script looks at: ``kind`` ``tb`` (a, b = rate, burst) or ``q`` (a, b =
    limit, seconds to keep the counter); ``plan`` set: applies only to a key of that plan."""

    outcome: Outcome
    kind: str
    key: str
    a: float
    b: float
    plan: str = ""


def _throttle(value: object) -> ThrottleRule | None:
    if value is None:
        return None
    return ThrottleRule(float(value.rate), int(value.burst))  # type: ignore[attr-defined]


def route_limits(api: Api, stage: str, route_key: str) -> RouteLimits:
    """The limits of ``route_key`` (``GET /pets``) in ``stage`` of ``api``."""
    spec = api.spec
    route = next((r for r in spec.routes if f"{r.method} {r.path}" == route_key), None)
    stage_spec = next((s for s in getattr(spec, "stages", None) or [] if s.name == stage), None)
    plans = tuple(
        PlanRule(
            plan.name,
            _throttle(plan.throttle),
            QuotaRule(plan.quota.limit, plan.quota.period, plan.quota.offset) if plan.quota is not None else None,
        )
        for plan in getattr(spec, "usage_plans", [])
        if stage in plan.stages
    )
    return RouteLimits(
        api=api.metadata.name,
        stage=stage,
        route_key=route_key,
        key_required=bool(getattr(route, "api_key_required", False)),
        plans=plans,
        route_throttle=_throttle(getattr(route, "throttle", None)),
        stage_throttle=_throttle(getattr(stage_spec, "throttle", None)),
    )


def checks_for(limits: RouteLimits, key_digest: str | None, now_s: float) -> list[Check]:
    """The buckets and quotas to check, in API Gateway's order (see the module docstring).

    ``now_s`` (the gateway's clock, epoch seconds) picks each quota's current period.
    """
    checks: list[Check] = []
    if limits.key_required and key_digest is not None:
        for plan in limits.plans:
            if plan.throttle is not None:
                key = KEY_BUCKET.format(hash=key_digest)
                rule = plan.throttle
                checks.append(Check(Outcome.PLAN_THROTTLED, "tb", key, rule.rate, rule.burst, plan.name))
            if plan.quota is not None:
                start, end = quota_periods.period_id(now_s, plan.quota.period, plan.quota.offset)
                key = QUOTA_COUNTER.format(hash=key_digest, start=start)
                ttl = max(1, int(end - now_s)) + QUOTA_GRACE_S  # relative: the gateway's clock, not Redis'
                checks.append(Check(Outcome.QUOTA_EXCEEDED, "q", key, plan.quota.limit, ttl, plan.name))
    if limits.route_throttle is not None:
        key = ROUTE_BUCKET.format(api=limits.api, stage=limits.stage, route=limits.route_key)
        rule = limits.route_throttle
        checks.append(Check(Outcome.ROUTE_THROTTLED, "tb", key, rule.rate, rule.burst))
    if limits.stage_throttle is not None:
        key = STAGE_BUCKET.format(api=limits.api, stage=limits.stage)
        rule = limits.stage_throttle
        checks.append(Check(Outcome.STAGE_THROTTLED, "tb", key, rule.rate, rule.burst))
    return checks


def when_redis_is_down(limits: RouteLimits, throttle_policy: str) -> Outcome:
    """Keys and quotas fail closed; throttles alone follow the policy (``allow`` or ``deny``)."""
    if limits.key_required:
        return Outcome.UNAVAILABLE
    return Outcome.ALLOW if throttle_policy == "allow" else Outcome.UNAVAILABLE


def throttle_policy(environ: dict[str, str] | None = None) -> str:
    """``KUMO_THROTTLE_WHEN_REDIS_DOWN`` (``allow``/``deny``); anything else means the default."""
    import os

    value = (environ if environ is not None else os.environ).get(THROTTLE_POLICY_ENV, "").strip().lower()
    return value if value in THROTTLE_POLICIES else DEFAULT_THROTTLE_POLICY


_RESPONSES = {
    Outcome.FORBIDDEN: (403, "Forbidden"),
    Outcome.PLAN_THROTTLED: (429, "Too Many Requests"),
    Outcome.QUOTA_EXCEEDED: (429, "Limit Exceeded"),
    Outcome.ROUTE_THROTTLED: (429, "Too Many Requests"),
    Outcome.STAGE_THROTTLED: (429, "Too Many Requests"),
    Outcome.UNAVAILABLE: (503, "Service Unavailable"),
}


def response_for(outcome: Outcome) -> HttpResponse | None:
    """API Gateway's answer for a refused request; None when the request may go on."""
    entry = _RESPONSES.get(outcome)
    return None if entry is None else message_response(*entry)


def metric_reason(outcome: Outcome) -> str | None:
    """``rate``/``quota`` for ``kumo_throttled_total``, None for other outcomes."""
    if outcome == Outcome.QUOTA_EXCEEDED:
        return "quota"
    if outcome in (Outcome.PLAN_THROTTLED, Outcome.ROUTE_THROTTLED, Outcome.STAGE_THROTTLED):
        return "rate"
    return None

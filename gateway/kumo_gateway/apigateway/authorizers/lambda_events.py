"""Lambda authorizer events and responses (pure), as API Gateway HTTP APIs define them
("Working with AWS Lambda authorizers for HTTP APIs").

Event 2.0: the proxy event 2.0 without a body plus ``type: REQUEST``, ``routeArn`` and
``identitySource`` (a list). Event 1.0: the proxy event 1.0 without a body plus ``type: REQUEST``,
``methodArn``, ``identitySource`` and ``authorizationToken`` (the values comma-joined).

Responses: with ``enableSimpleResponses`` (2.0) ``{"isAuthorized": bool, "context": {...}}``;
otherwise an IAM policy ``{"principalId", "policyDocument": {"Statement": [{"Action":
"execute-api:Invoke", "Effect": "Allow"|"Deny", "Resource": arn | [arns]}]}, "context"}``, where
``*`` and ``?`` are wildcards and an explicit Deny wins. Anything else is a malformed answer
(:class:`BadAuthorizerResponse`: the gateway answers 500). A policy is kept whole in the cache and
evaluated per request, so a cached answer covers exactly the routes its policy names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from kumo_gateway.apigateway import event_v1, event_v2
from kumo_gateway.apigateway.route_matching import DEFAULT_ROUTE

MAX_RESPONSE_BYTES = 1024 * 1024


class BadAuthorizerResponse(Exception):
    """The authorizer answered something API Gateway would not accept."""


@dataclass(frozen=True)
class Decision:
    """A parsed authorizer answer: simple (``allowed``) or a policy (``statements``), and its context."""

    allowed: bool | None
    statements: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    principal_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def allows(self, route_arn: str) -> bool:
        if self.allowed is not None:
            return self.allowed
        verdict = False
        for effect, actions, resources in self.statements:
            if not any(_glob(a, "execute-api:Invoke") for a in actions):
                continue
            if not any(_glob(r, route_arn) for r in resources):
                continue
            if effect == "Deny":
                return False
            verdict = True
        return verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "statements": [[e, list(a), list(r)] for e, a, r in self.statements],
            "principalId": self.principal_id,
            "context": self.context,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        statements = tuple((e, tuple(a), tuple(r)) for e, a, r in data["statements"])
        return cls(data["allowed"], statements, data["principalId"], data["context"])


def _glob(pattern: str, value: str) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.DOTALL) is not None


def route_arn(region: str, account: str, api: str, stage: str, route_key: str) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`` (``$default`` route as is)."""
    if route_key == DEFAULT_ROUTE or " " not in route_key:
        tail = route_key
    else:
        method, path = route_key.split(" ", 1)
        tail = f"{method}{path}"
    return f"arn:aws:execute-api:{region}:{account}:{api}/{stage}/{tail}"


def build_event(
    payload_format: str,
    request: event_v2.HttpRequest,
    context: event_v2.RequestContext,
    arn: str,
    identity: list[str],
) -> dict[str, Any]:
    """The authorizer event (no body: API Gateway sends none to an authorizer)."""
    if payload_format == "1.0":
        event: dict[str, Any] = dict(event_v1.build_event(request, context))
        event.pop("body", None)
        event.pop("isBase64Encoded", None)
        joined = ",".join(identity)
        return {
            "version": "1.0",
            "type": "REQUEST",
            "methodArn": arn,
            "identitySource": joined,
            "authorizationToken": joined,
            **{k: v for k, v in event.items() if k != "version"},
        }
    event = dict(event_v2.build_event(request, context))
    event.pop("body", None)
    event.pop("isBase64Encoded", None)
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": arn,
        "identitySource": identity,
        **{k: v for k, v in event.items() if k != "version"},
    }


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise BadAuthorizerResponse(f"{what} must be a string or a list of strings")


def parse_response(raw: bytes, simple: bool) -> Decision:
    """The decision in an authorizer's answer; BadAuthorizerResponse if malformed."""
    if len(raw) > MAX_RESPONSE_BYTES:
        raise BadAuthorizerResponse("response too large")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadAuthorizerResponse("response is not JSON") from None
    if not isinstance(body, dict):
        raise BadAuthorizerResponse("response is not a JSON object")
    context = body.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise BadAuthorizerResponse("context must be an object")
    if simple:
        allowed = body.get("isAuthorized")
        if not isinstance(allowed, bool):
            raise BadAuthorizerResponse("isAuthorized must be true or false")
        return Decision(allowed, context=context)
    principal = body.get("principalId")
    if principal is not None and not isinstance(principal, str):
        raise BadAuthorizerResponse("principalId must be a string")
    document = body.get("policyDocument")
    if not isinstance(document, dict):
        raise BadAuthorizerResponse("policyDocument is required")
    raw_statements = document.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise BadAuthorizerResponse("policyDocument.Statement must be a list")
    statements = []
    for statement in raw_statements:
        if not isinstance(statement, dict):
            raise BadAuthorizerResponse("a statement must be an object")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise BadAuthorizerResponse("Effect must be Allow or Deny")
        statements.append(
            (effect, _strings(statement.get("Action"), "Action"), _strings(statement.get("Resource"), "Resource"))
        )
    return Decision(None, tuple(statements), principal, context)


def target_authorizer(payload_format: str, decision: Decision) -> dict[str, Any]:
    """What the target's event carries in ``requestContext.authorizer``."""
    if payload_format == "1.0":
        out: dict[str, Any] = {}
        for key, value in decision.context.items():
            out[key] = value if isinstance(value, str | int | float | bool) or value is None else json.dumps(value)
        out["principalId"] = decision.principal_id
        return out
    return {"lambda": dict(decision.context)}

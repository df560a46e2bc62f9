"""Pure authorizer rules: tokens, scopes, claims, identity sources, Lambda events and responses;
hypothesis fuzzing of the Authorization parsing and of authorizer responses."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from authz_support import AUDIENCE, ISSUER, Keys, rs256
from hypothesis import given, settings
from hypothesis import strategies as st

from kumo_gateway.apigateway import event_v2
from kumo_gateway.apigateway.authorizers import identity, jwt_verify, lambda_events
from kumo_gateway.apigateway.authorizers.jwks import parse_jwks
from kumo_gateway.apigateway.authorizers.secrets import LocalSecrets, env_name

KEYS = Keys()
JWKS = parse_jwks(KEYS.jwks()["keys"])
ARN = "arn:aws:execute-api:us-east-1:123456789012:pets/prod/GET/pets/1"


def run_jwt(value: str | None) -> dict[str, Any]:
    """The endpoint's JWT steps for an Authorization value (keys given)."""
    token = jwt_verify.token_from(value)
    header = jwt_verify.header_of(token)
    key = jwt_verify.pick_key(header, JWKS)
    return jwt_verify.verify(token, key.key, (key.algorithm_name,), issuer=ISSUER, audience=[AUDIENCE])


def test_token_from() -> None:
    assert jwt_verify.token_from("Bearer abc") == "abc"
    assert jwt_verify.token_from("bearer  abc ") == "abc"
    assert jwt_verify.token_from("abc") == "abc"
    for empty in (None, "", "  ", "Bearer ", "Bearer    "):
        with pytest.raises(jwt_verify.Unauthorized):
            jwt_verify.token_from(empty)


def test_valid_token_and_scopes() -> None:
    claims = run_jwt("Bearer " + rs256(KEYS, scope="a b"))
    assert jwt_verify.scopes_of(claims) == ["a", "b"]
    assert jwt_verify.scopes_of({"scp": ["x", 1]}) == ["x"]
    assert jwt_verify.scopes_of({"scp": "x y"}) == ["x", "y"]
    assert jwt_verify.scopes_of({}) is None
    jwt_verify.check_scopes(["a"], ["b", "a"])
    jwt_verify.check_scopes(None, None)
    with pytest.raises(jwt_verify.Forbidden):
        jwt_verify.check_scopes(None, ["a"])


def test_claim_strings() -> None:
    out = jwt_verify.claim_strings({"s": "x", "n": 5, "f": 1.5, "b": True, "l": ["a", 2], "d": {"k": 1}})
    assert out == {"s": "x", "n": "5", "f": "1.5", "b": "true", "l": "[a 2]", "d": '{"k":1}'}


def test_jwks_parsing_skips_symmetric_and_junk_keys() -> None:
    keys = parse_jwks([{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, {"kty": "RSA"}, "junk", *KEYS.jwks()["keys"]])
    assert sorted(k.key_id for k in keys) == ["e1", "r1"]


def test_local_secrets(tmp_path: Path) -> None:
    assert env_name("partners-jwt", "secret.key") == "KUMO_SECRET_PARTNERS_JWT_SECRET_KEY"
    (tmp_path / "secrets" / "s").mkdir(parents=True)
    (tmp_path / "secrets" / "s" / "k").write_bytes(b"from-file\n")
    secrets = LocalSecrets(tmp_path, environ={"KUMO_SECRET_E_K": "from-env"})
    assert asyncio.run(secrets.get("e", "k")) == b"from-env"
    assert asyncio.run(secrets.get("s", "k")) == b"from-file"
    assert asyncio.run(secrets.get("s", "missing")) is None
    assert asyncio.run(secrets.get("..", "k")) is None


def test_identity_sources() -> None:
    headers = [("Authorization", "t1"), ("X-Two", "a"), ("x-two", "b")]
    assert identity.resolve(
        ["$request.header.authorization", "$request.header.X-Two", "$request.querystring.q", "$context.stage",
         "$stageVariables.v"],
        headers, "q=1&q=2", {"stage": "prod"}, {"v": "x"},
    ) == ["t1", "a,b", "1,2", "prod", "x"]  # fmt: skip
    assert identity.resolve(["$request.header.missing"], headers, "", {}, {}) is None
    assert identity.resolve(["$request.querystring.q"], headers, "q=", {}, {}) is None
    assert identity.resolve([], headers, "", {}, {}) == []


def test_route_arn() -> None:
    assert lambda_events.route_arn("us-east-1", "1", "pets", "prod", "GET /pets/{id}") == (
        "arn:aws:execute-api:us-east-1:1:pets/prod/GET/pets/{id}"
    )
    assert lambda_events.route_arn("r", "1", "a", "$default", "$default").endswith("a/$default/$default")


def test_events_have_the_documented_fields() -> None:
    request = event_v2.HttpRequest("GET", "/prod/pets/1", "a=1", [("Authorization", "tok")], b"ignored")
    context = event_v2.RequestContext("1", "pets", "prod", "GET /pets/{id}", "rid", 0.0, {"id": "1"})
    v2 = lambda_events.build_event("2.0", request, context, ARN, ["tok"])
    assert (v2["version"], v2["type"], v2["routeArn"], v2["identitySource"]) == ("2.0", "REQUEST", ARN, ["tok"])
    assert v2["routeKey"] == "GET /pets/{id}" and v2["rawPath"] == "/prod/pets/1" and v2["rawQueryString"] == "a=1"
    assert v2["headers"]["authorization"] == "tok" and v2["pathParameters"] == {"id": "1"}
    assert "body" not in v2 and v2["requestContext"]["requestId"] == "rid"
    v1 = lambda_events.build_event("1.0", request, context, ARN, ["tok", "x"])
    assert (v1["type"], v1["methodArn"], v1["identitySource"], v1["authorizationToken"]) == (
        "REQUEST", ARN, "tok,x", "tok,x",
    )  # fmt: skip
    assert v1["resource"] == "/pets/{id}" and v1["path"] == "/prod/pets/1" and v1["httpMethod"] == "GET"
    assert v1["multiValueHeaders"] == {"Authorization": ["tok"]} and v1["queryStringParameters"] == {"a": "1"}
    assert "body" not in v1


def policy(effect: str, resource: Any, action: Any = "execute-api:Invoke") -> bytes:
    statement = {"Action": action, "Effect": effect, "Resource": resource}
    return json.dumps({"principalId": "u1", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                       "context": {"tenant": "t1", "n": 2}}).encode()  # fmt: skip


def test_responses() -> None:
    simple = lambda_events.parse_response(b'{"isAuthorized": true, "context": {"a": 1}}', simple=True)
    assert simple.allows(ARN) and simple.context == {"a": 1}
    assert not lambda_events.parse_response(b'{"isAuthorized": false}', simple=True).allows(ARN)
    assert lambda_events.parse_response(policy("Allow", ARN), simple=False).allows(ARN)
    assert lambda_events.parse_response(policy("Allow", "arn:aws:execute-api:*:*:pets/*/GET/*"), False).allows(ARN)
    assert lambda_events.parse_response(policy("Allow", [ARN], "execute-api:*"), False).allows(ARN)
    assert not lambda_events.parse_response(policy("Allow", ARN.replace("GET", "POST")), False).allows(ARN)
    assert not lambda_events.parse_response(policy("Deny", "*"), False).allows(ARN)
    both = json.loads(policy("Allow", "*"))
    both["policyDocument"]["Statement"].append({"Action": "*", "Effect": "Deny", "Resource": ARN})
    assert not lambda_events.parse_response(json.dumps(both).encode(), False).allows(ARN)
    decision = lambda_events.parse_response(policy("Allow", "*"), False)
    assert lambda_events.Decision.from_json(json.loads(json.dumps(decision.to_json()))) == decision
    assert lambda_events.target_authorizer("2.0", decision) == {"lambda": {"tenant": "t1", "n": 2}}
    assert lambda_events.target_authorizer("1.0", decision) == {"tenant": "t1", "n": 2, "principalId": "u1"}


@pytest.mark.parametrize(
    ("raw", "simple"),
    [
        (b"not json", True),
        (b"[]", True),
        (b'{"isAuthorized": "yes"}', True),
        (b'{"isAuthorized": true, "context": []}', True),
        (b'{"principalId": "u"}', False),
        (b'{"policyDocument": {"Statement": "x"}}', False),
        (b'{"policyDocument": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}', False),
        (b'{"policyDocument": {"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}}', False),
        (b'{"principalId": 5, "policyDocument": {"Statement": []}}', False),
    ],
)
def test_malformed_responses(raw: bytes, simple: bool) -> None:
    with pytest.raises(lambda_events.BadAuthorizerResponse):
        lambda_events.parse_response(raw, simple)


_b64 = st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode())
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_json_b64 = _json.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).rstrip(b"=").decode())
_headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "ES256", "HS256", "none", "PS256", 5, None])},
    optional={"kid": st.sampled_from(["r1", "e1", "x", 3, None]), "typ": st.text(max_size=5)},
).map(lambda h: base64.urlsafe_b64encode(json.dumps(h).encode()).rstrip(b"=").decode())
_token = st.one_of(
    st.text(max_size=300),
    st.tuples(_headers | _json_b64 | _b64, _json_b64 | _b64, _b64).map(".".join),
    st.builds(lambda t: t, st.sampled_from([rs256(KEYS)])).map(lambda t: t[:-3] + "abc"),
)


@settings(max_examples=400)
@given(prefix=st.sampled_from(["", "Bearer ", "bearer ", "Basic "]), token=_token)
def test_fuzz_authorization_parsing(prefix: str, token: str) -> None:
    """Whatever the header holds: 401 (no token) or 403 (bad token), never another exception."""
    try:
        run_jwt(prefix + token)
    except (jwt_verify.Unauthorized, jwt_verify.Forbidden):
        return
    raise AssertionError("a fuzzed token verified")


@settings(max_examples=400)
@given(body=_json, simple=st.booleans())
def test_fuzz_authorizer_responses(body: Any, simple: bool) -> None:
    """A malformed answer is BadAuthorizerResponse (500); a parsed one decides without raising."""
    try:
        decision = lambda_events.parse_response(json.dumps(body).encode(), simple)
    except lambda_events.BadAuthorizerResponse:
        return
    assert isinstance(decision.allows(ARN), bool)
    lambda_events.target_authorizer("1.0", decision)


@settings(max_examples=200)
@given(
    statements=st.lists(
        st.fixed_dictionaries(
            {
                "Effect": st.sampled_from(["Allow", "Deny", "allow", 1]),
                "Action": st.sampled_from(["execute-api:Invoke", "*", ["execute-api:*"], "s3:Get*", []]),
                "Resource": st.one_of(st.sampled_from([ARN, "*", "arn:*/GET/*", []]), st.text(max_size=30)),
            }
        ),
        max_size=4,
    ),
    raw=st.binary(max_size=100),
)
def test_fuzz_policies(statements: list[dict[str, Any]], raw: bytes) -> None:
    body = {"principalId": "p", "policyDocument": {"Statement": statements}}
    for data in (json.dumps(body).encode(), raw):
        with contextlib.suppress(lambda_events.BadAuthorizerResponse):
            assert isinstance(lambda_events.parse_response(data, False).allows(ARN), bool)

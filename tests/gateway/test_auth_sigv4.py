"""The SigV4 verifier against botocore's own signer, and a fuzz of what clients may send instead."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import quote

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signing import wire_request

from kumo.access_keys import AccessKey
from kumo_gateway.auth import sigv4, sigv4_botocore, sigv4_canonical
from kumo_gateway.auth.authenticator import Authenticator, Identity
from kumo_gateway.auth.errors import AuthCode, AuthFailure
from kumo_gateway.auth.keys import KeyRing

KEY = AccessKey("KUMOAAAAAAAAAAAAAAAA", "s3cr3t/with+odd=chars0123456789abcdefgh", "test")
OTHER = AccessKey("KUMOBBBBBBBBBBBBBBBB", "another-secret-another-secret-another-se", "other")


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def authenticator(clock: Clock | None = None) -> Authenticator:
    return Authenticator(KeyRing([KEY, OTHER]), clock=clock or Clock())


def sign(request: AWSRequest, key: AccessKey = KEY, service: str = "lambda", region: str = "us-east-1") -> AWSRequest:
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), service, region).add_auth(request)
    return request


def check(auth: Authenticator, request: AWSRequest, service: str = "lambda") -> Identity | AuthFailure:
    method, path, query, headers, body = wire_request(request)
    return auth.authenticate(service, method, path, query, headers, body)


def general(auth: Authenticator, service: str, method: str, path: str, query: str, headers, body: bytes):
    """The general verifier's word alone: None when it accepts, else the failure."""
    parsed = sigv4.parse(query, headers, service)
    assert isinstance(parsed, sigv4.ParsedAuth), parsed
    key = auth.keys.lookup(parsed.access_key_id)
    assert key is not None
    return auth.verifier.verify(parsed, key.secret_access_key, service, method, path, query, headers, body)


def one_pass(auth: Authenticator, service: str, method: str, path: str, query: str, headers, body: bytes):
    """What the one-pass check of botocore's layout says alone (a key, or None: the general verifier's turn)."""
    return sigv4_botocore.accepts(auth.keys, auth.verifier, service, method, path, query, headers, body)


segment = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)
query_value = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10)
header_value = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ,;:=/._-]{0,20}[A-Za-z0-9]", fullmatch=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    segments=st.lists(segment, min_size=0, max_size=4),
    params=st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9_.~-]{0,8}", fullmatch=True), query_value), max_size=4),
    extra=st.dictionaries(st.from_regex(r"x-test-[a-z]{1,6}", fullmatch=True), header_value, max_size=3),
    body=st.binary(max_size=200),
    service=st.sampled_from(["lambda", "dynamodb"]),
    region=st.sampled_from(["us-east-1", "eu-west-3", "local"]),
)
def test_botocore_signed_requests_verify(method, segments, params, extra, body, service, region):
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    request = AWSRequest(method=method, url=f"http://127.0.0.1:8080{path}", data=body, params=params, headers=extra)
    sign(request, service=service, region=region)
    auth = authenticator()
    identity = check(auth, request, service)
    assert isinstance(identity, Identity), identity
    assert identity.access_key_id == KEY.access_key_id
    # botocore's requests take the one-pass check, which agrees with the general verifier
    assert one_pass(auth, service, *wire_request(request)) == KEY
    assert general(auth, service, *wire_request(request)) is None  # and so does the general one


@settings(max_examples=100, deadline=None)
@given(segments=st.lists(segment, min_size=1, max_size=3), params=st.lists(st.tuples(segment, query_value), max_size=3))
def test_presigned_urls_verify(segments, params):
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    request = AWSRequest(method="GET", url=f"http://127.0.0.1:8080{path}", params=params)
    SigV4QueryAuth(Credentials(KEY.access_key_id, KEY.secret_access_key), "lambda", "us-east-1", expires=60).add_auth(
        request
    )
    assert isinstance(check(authenticator(), request), Identity)


def test_repeated_spaces_in_header_values_are_collapsed():
    request = sign(AWSRequest(method="POST", url="http://h/x", data=b"{}", headers={"X-Test": "a   b  c"}))
    method, path, query, headers, body = wire_request(request)
    headers = [(n, b"  a b    c " if n == b"x-test" else v) for n, v in headers]
    assert isinstance(authenticator().authenticate("lambda", method, path, query, headers, body), Identity)


def _code(result: Identity | AuthFailure) -> AuthCode | None:
    return result.code if isinstance(result, AuthFailure) else None


def test_tampered_body_path_query_and_wrong_secret_are_refused():
    auth = authenticator()
    request = sign(AWSRequest(method="POST", url="http://h/2015-03-31/functions/f/invocations?a=1", data=b'{"x":1}'))
    method, path, query, headers, body = wire_request(request)
    assert isinstance(auth.authenticate("lambda", method, path, query, headers, body), Identity)
    assert one_pass(auth, "lambda", method, path, query, headers, body) == KEY
    for tampered in (
        ("lambda", method, path, query, headers, b'{"x":2}'),
        ("lambda", method, path + "x", query, headers, body),
        ("lambda", method, path, "a=2", headers, body),
        ("lambda", "PUT", path, query, headers, body),
        ("dynamodb", method, path, query, headers, body),
        ("lambda", method, path, query, [*headers, (b"x-amz-date", b"20240101T000000Z")], body),
    ):
        assert one_pass(auth, *tampered) is None, tampered
    assert _code(auth.authenticate("lambda", method, path, query, headers, b'{"x":2}')) == AuthCode.INVALID_SIGNATURE
    assert _code(auth.authenticate("lambda", method, path + "x", query, headers, body)) == AuthCode.INVALID_SIGNATURE
    assert _code(auth.authenticate("lambda", method, path, "a=2", headers, body)) == AuthCode.INVALID_SIGNATURE
    assert _code(auth.authenticate("lambda", "PUT", path, query, headers, body)) == AuthCode.INVALID_SIGNATURE
    assert _code(auth.authenticate("dynamodb", method, path, query, headers, body)) == AuthCode.INVALID_SIGNATURE
    forged = sign(AWSRequest(method="GET", url="http://h/"), AccessKey(KEY.access_key_id, "wrong" * 8))
    assert _code(check(auth, forged)) == AuthCode.INVALID_SIGNATURE
    unknown = sign(AWSRequest(method="GET", url="http://h/"), AccessKey("KUMOUNKNOWN000000000", "x" * 40))
    assert _code(check(auth, unknown)) == AuthCode.UNRECOGNIZED
    assert _code(check(auth, AWSRequest(method="GET", url="http://h/"))) == AuthCode.MISSING


def test_clock_skew_window_and_presigned_expiry():
    clock = Clock()
    auth = authenticator(clock)
    request = sign(AWSRequest(method="GET", url="http://h/"))
    clock.now += 14 * 60
    assert isinstance(check(auth, request), Identity)
    assert one_pass(auth, "lambda", *wire_request(request)) == KEY
    clock.now += 2 * 60
    assert one_pass(auth, "lambda", *wire_request(request)) is None
    stale = check(auth, request)
    assert isinstance(stale, AuthFailure) and stale.code == AuthCode.INVALID_SIGNATURE
    assert stale.message.startswith("Signature expired: ") and "- 15 min.)" in stale.message
    clock.now -= 32 * 60  # the request now looks 16 minutes in the future
    future = check(auth, request)
    assert isinstance(future, AuthFailure) and future.message.startswith("Signature not yet current: ")

    clock = Clock()
    auth = authenticator(clock)
    presigned = AWSRequest(method="GET", url="http://h/2015-03-31/functions/")
    SigV4QueryAuth(Credentials(KEY.access_key_id, KEY.secret_access_key), "lambda", "us-east-1", expires=60).add_auth(
        presigned
    )
    clock.now += 59
    assert isinstance(check(auth, presigned), Identity)
    clock.now += 2
    assert _code(check(auth, presigned)) == AuthCode.INVALID_SIGNATURE


def test_signing_keys_are_cached_per_day():
    auth = authenticator()
    for _ in range(3):
        assert isinstance(check(auth, sign(AWSRequest(method="GET", url="http://h/"))), Identity)
    assert len(auth.verifier.signing_keys) == 1


def test_canonical_path_follows_botocore():
    assert sigv4_canonical.canonical_path("") == "/"
    assert sigv4_canonical.canonical_path("/a//b/./c/../d/") == "/a/b/d/"
    assert sigv4_canonical.canonical_path("/fn%3A1/x y") == "/fn%253A1/x%20y"
    assert sigv4_canonical.canonical_query("b=2&a=2&a=1&c") == "a=1&a=2&b=2&c="


_AUTH_WORDS = st.sampled_from(
    ["AWS4-HMAC-SHA256", "Credential=", "SignedHeaders=", "Signature=", ",", "/", ";", "=", " ", "aws4_request",
     "host", "x-amz-date", "KUMOAAAAAAAAAAAAAAAA", "20240101", "lambda", "\t", "%", "AWS4", "Bearer"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    authorization=st.one_of(st.lists(_AUTH_WORDS, max_size=25).map("".join), st.text(max_size=80)),
    date=st.one_of(st.none(), st.text(max_size=20), st.just("20240101T000000Z")),
    query=st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(
                ["X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=KUMOAAAAAAAAAAAAAAAA%2F20240101%2Fx%2Flambda"
                 "%2Faws4_request", "X-Amz-Date=20240101T000000Z", "X-Amz-Expires=", "X-Amz-Expires=99999999999",
                 "X-Amz-SignedHeaders=host", "X-Amz-Signature=00", "&", "=", "%ZZ", "X-Amz-Expires=60"]
            ),
            max_size=8,
        ).map("&".join),
    ),
    service=st.sampled_from(["lambda", "dynamodb"]),
)  # fmt: skip
def test_malformed_signatures_are_refused_never_raised(authorization, date, query, service):
    headers: list[tuple[bytes, bytes]] = [(b"host", b"127.0.0.1")]
    if authorization:
        headers.append((b"authorization", authorization.encode("utf-8", "surrogateescape")))
    if date is not None:
        headers.append((b"x-amz-date", date.encode("utf-8", "surrogateescape")))
    result = authenticator().authenticate(service, "POST", "/", query, headers, b"{}")
    assert isinstance(result, AuthFailure)
    assert result.code in set(AuthCode) - {AuthCode.ACCESS_DENIED}
    assert result.status(service) in (400, 403)


@settings(max_examples=50, deadline=None)
@given(secret=st.text(min_size=1, max_size=60), message=st.binary(max_size=300))
def test_signing_key_states_give_the_standard_hmac(secret, message):
    keys = sigv4_canonical.SigningKeys()
    signing_key = sigv4_canonical.signing_key(secret, "20240101", "us-east-1", "lambda")
    expected = hmac.new(signing_key, message, hashlib.sha256).hexdigest().encode()
    assert keys.signature(secret, "20240101", "us-east-1", "lambda", message) == expected

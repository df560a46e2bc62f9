"""Sign raw HTTP requests with botocore's own SigV4 signer (imported as ``signing``), for tests that call
the gateway with httpx instead of boto3, and the test key in-process gateways accept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from kumo.access_keys import AccessKey
from kumo.aws_signing import SigV4Auth
from kumo_gateway.auth.authenticator import Authenticator
from kumo_gateway.auth.keys import KeyRing

#: A key tests register in their in-process gateways.
TEST_KEY = AccessKey("KUMOTESTKEY000000001", "test-secret-test-secret-test-secret-0001", "test")


def make_authenticator(*keys: AccessKey) -> Authenticator:
    """An authenticator knowing ``TEST_KEY`` (and ``keys``)."""
    return Authenticator(KeyRing([TEST_KEY, *keys]))


def auth(service: str = "lambda", key: AccessKey = TEST_KEY) -> SigV4Auth:
    """``httpx`` auth signing with ``key`` (``httpx.post(..., auth=signing.auth())``)."""
    return SigV4Auth(key.access_key_id, key.secret_access_key, service)


def client(service: str, url: str, key: AccessKey = TEST_KEY, **config: Any) -> Any:
    """A boto3 client for ``url`` signing with ``key`` (one attempt, long read timeout)."""
    options = {"retries": {"max_attempts": 1, "mode": "standard"}, "read_timeout": 60, **config}
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        config=Config(**options),
    )


def presigned_url(method: str, url: str, key: AccessKey = TEST_KEY, service: str = "lambda", expires: int = 300) -> str:
    request = AWSRequest(method=method, url=url)
    SigV4QueryAuth(
        Credentials(key.access_key_id, key.secret_access_key), service, "us-east-1", expires=expires
    ).add_auth(request)
    return request.prepare().url


def wire_request(request: AWSRequest) -> tuple[str, str, str, list[tuple[bytes, bytes]], bytes]:
    """``(method, raw path, query, headers, body)`` as a server sees ``request`` (Host added as clients do)."""
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = [(k.lower().encode("latin-1"), str(v).strip().encode("latin-1")) for k, v in prepared.headers.items()]
    if not any(name == b"host" for name, _ in headers):
        headers.append((b"host", parts.netloc.encode("latin-1")))
    body: Any = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return prepared.method, parts.path or "/", parts.query, headers, body


def signed_headers_for(method: str, url: str, body: bytes, key: AccessKey = TEST_KEY, service: str = "lambda") -> dict:
    """The signature headers for one request (to send with a different body, say)."""
    from kumo.aws_signing import sign_headers

    return sign_headers(method, url, body, {}, key_id=key.access_key_id, secret=key.secret_access_key, service=service)

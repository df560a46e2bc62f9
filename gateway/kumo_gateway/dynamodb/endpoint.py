"""The DynamoDB endpoint: ``POST /`` with ``X-Amz-Target: DynamoDB_20120810.*``.

:class:`DynamoEndpoint` answers a request from its target header and body; the gateway serves it
on the fast lane (:mod:`kumo_gateway.fast_lane`), and :class:`DynamoDBMiddleware` serves the same
endpoint through ASGI for requests the fast lane passes on (pipelined ones, other servers).
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from starlette.types import ASGIApp, Receive, Scope, Send

from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.auth.errors import AuthFailure
from kumo_gateway.dynamodb.json_protocol import (
    CONTENT_TYPE,
    DATA_OPERATIONS,
    auth_error_body,
    error_body,
    parse_target,
    touched_tables,
)
from kumo_gateway.dynamodb.router import DynamoRouter
from kumo_gateway.dynamodbstreams import api as streams
from kumo_gateway.ids import new_dynamodb_request_id
from kumo_tablestore.errors import DynamoError, ValidationException

MAX_REQUEST_BYTES = 16 * 1024 * 1024 + 64 * 1024
_TARGET = b"x-amz-target"
_CONTENT_TYPE = CONTENT_TYPE.encode()
Headers = list[tuple[bytes, bytes]]


#: Targets of the other JSON service on ``POST /`` (SQS: :mod:`kumo_gateway.sqs`), left to its endpoint.
SQS_TARGET_PREFIX = "AmazonSQS."


def is_dynamodb_request(scope: Scope) -> bool:
    """A POST to ``/`` carrying an ``X-Amz-Target`` header (any value but SQS's: wrong ones get
    DynamoDB's error)."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/":
        return False
    target = _target(scope["headers"])
    return target is not None and not target.startswith(SQS_TARGET_PREFIX)


def _target(headers: Headers) -> str | None:
    for name, value in headers:
        if name == _TARGET:
            return value.decode("latin-1")
    return None


def too_large_error() -> ValidationException:
    return ValidationException("Request size exceeds the maximum allowed")


class Claimed(NamedTuple):
    """What the endpoint keeps of a claimed request's head until its body has arrived."""

    target: str | None
    path: str
    query: str
    headers: Headers


class DynamoEndpoint:
    """Answers DynamoDB requests: target header + body in, ``(status, headers, body)`` out; never raises.

    Every request is authenticated (SigV4, service ``dynamodb``) and authorized (``dynamodb:<Operation>``
    on ``table:<name>``) by ``auth`` first; the body is read for the policy only when the key's policy
    is limited.
    """

    max_body = MAX_REQUEST_BYTES

    def __init__(
        self, router: DynamoRouter, auth: Auth, *, region: str = "us-east-1", account_id: str = "000000000000"
    ) -> None:
        self.router = router
        self.auth = auth
        self.arn_prefix = f"arn:aws:dynamodb:{region}:{account_id}:table/"
        #: DynamoDB Streams (``DynamoDBStreams_20120810.*``) on the same endpoint and signing service.
        self.streams = streams.StreamsApi(router.directory, router.client, region=region)

    def claim(self, method: bytes, url: bytes, headers: Headers) -> Claimed | None:
        """The head of a DynamoDB request (``POST /`` with ``X-Amz-Target``), else ``None``."""
        if method != b"POST":
            return None
        path, _, query = url.partition(b"?")
        if path != b"/":
            return None
        target = _target(headers)
        if target is None or target.startswith(SQS_TARGET_PREFIX):
            return None
        return Claimed(target, "/", query.decode("latin-1"), headers)

    async def answer(self, claimed: Claimed, body: bytes, too_large: bool = False) -> tuple[int, Headers, bytes]:
        if too_large:  # 413 like AWS's front end, in the DynamoDB error shape
            return 413, response_headers(), error_body(too_large_error())
        auth = self.auth
        if auth.enabled:
            identity = auth.authenticate("dynamodb", "POST", claimed.path, claimed.query, claimed.headers, body)
            if isinstance(identity, AuthFailure):
                return 400, response_headers(), auth_error_body(identity)
        is_streams = claimed.target is not None and claimed.target.startswith(streams.TARGET_PREFIX)
        try:
            operation = streams.operation_of(claimed.target) if is_streams else parse_target(claimed.target)
        except DynamoError as exc:
            return exc.status, response_headers(), error_body(exc)
        if auth.enabled and not identity.policy.unrestricted:
            tables = (streams.touched_tables if is_streams else touched_tables)(operation, body)
            if tables is not None:
                arn = self.arn_prefix + tables[0] if tables and tables[0] != "*" else "*"
                denied = auth.authorize(
                    identity, f"dynamodb:{operation}", [f"table:{t}" if t != "*" else t for t in tables], arn
                )
                if denied is not None:
                    return 400, response_headers(), auth_error_body(denied)
        if is_streams:
            status, payload = await asyncio.ensure_future(self.streams.handle(operation, body))
        elif operation in DATA_OPERATIONS:
            status, payload = await self.router.handle(operation, body)
        else:  # table management may wait with timeouts, which need a Task (the fast lane has none)
            status, payload = await asyncio.ensure_future(self.router.handle(operation, body))
        return status, response_headers(), payload


def response_headers() -> Headers:
    return [(b"content-type", _CONTENT_TYPE), (b"x-amzn-requestid", new_dynamodb_request_id().encode())]


class DynamoDBMiddleware:
    """Answers DynamoDB requests itself; passes everything else to the wrapped app."""

    def __init__(self, app: ASGIApp, endpoint: DynamoEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_dynamodb_request(scope):
            await self.app(scope, receive, send)
            return
        body, too_large = await _read_body(receive, self.endpoint.max_body)
        raw_path = scope.get("raw_path") or b"/"
        claimed = Claimed(
            _target(scope["headers"]),
            raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            scope["headers"],
        )
        status, headers, payload = await self.endpoint.answer(claimed, body, too_large)
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request body, or ``(b"", True)`` once it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False

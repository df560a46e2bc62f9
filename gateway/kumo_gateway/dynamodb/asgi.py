"""The ASGI side: ``POST /`` with ``X-Amz-Target: DynamoDB_20120810.*`` in front of the gateway's other routes."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from kumo_gateway.dynamodb.protocol import CONTENT_TYPE, error_body, parse_target
from kumo_gateway.dynamodb.router import DynamoRouter
from kumo_gateway.ids import new_request_id
from kumo_tablestore.errors import DynamoError, ValidationException

MAX_REQUEST_BYTES = 16 * 1024 * 1024 + 64 * 1024


def is_dynamodb_request(scope: Scope) -> bool:
    """A POST to ``/`` carrying an ``X-Amz-Target`` header (any value: wrong ones get DynamoDB's error)."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/":
        return False
    return any(name == b"x-amz-target" for name, _ in scope["headers"])


class DynamoDBMiddleware:
    """Answers DynamoDB requests itself; passes everything else to the wrapped app."""

    def __init__(self, app: ASGIApp, router: DynamoRouter) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_dynamodb_request(scope):
            await self.app(scope, receive, send)
            return
        target = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"x-amz-target"), None)
        try:
            operation = parse_target(target)
            body = await _read_body(receive)
        except DynamoError as exc:
            await _send(send, exc.status, error_body(exc))
            return
        status, payload = await self.router.handle(operation, body)
        await _send(send, status, payload)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise ValidationException("Request size exceeds the maximum allowed")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-amzn-requestid", new_request_id().encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

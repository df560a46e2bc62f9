"""The SQS endpoint: ``POST /`` with ``X-Amz-Target: AmazonSQS.<Op>`` (JSON 1.0), SigV4 service ``sqs``.

:class:`SqsMiddleware` claims those requests in front of the app (the DynamoDB lane leaves
``AmazonSQS.*`` targets alone); :class:`SqsEndpoint` answers ``(status, headers, body)`` and never raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.auth.errors import CORAL_PREFIX, AuthFailure
from kumo_gateway.ids import new_request_id
from kumo_gateway.sqs import protocol as p
from kumo_gateway.sqs import receipts
from kumo_gateway.sqs.protocol import SqsError
from kumo_gateway.sqs.queue_store import QueueNameExists, QueueStore, Received

log = logging.getLogger("kumo.gateway.sqs")
Headers = list[tuple[bytes, bytes]]
_TARGET = b"x-amz-target"
#: Largest request read: a full batch of the largest messages, with JSON overhead.
MAX_REQUEST_BYTES = 2 * 1024 * 1024
#: How often a long poll looks again for messages.
POLL_INTERVAL_S = 0.05


def target_of(headers: Headers) -> str | None:
    for name, value in headers:
        if name == _TARGET:
            return value.decode("latin-1")
    return None


def is_sqs_request(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/":
        return False
    target = target_of(scope["headers"])
    return target is not None and target.startswith(p.TARGET_PREFIX)


class SqsEndpoint:
    def __init__(
        self, store: QueueStore, auth: Auth, *, region: str = "us-east-1", account_id: str = "000000000000"
    ) -> None:
        self.store = store
        self.auth = auth
        self.region = region
        self.account_id = account_id

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"

    async def answer(self, scope: Scope, body: bytes, too_large: bool) -> tuple[int, Headers, bytes]:
        request_id = new_request_id()
        headers: Headers = [(b"content-type", p.CONTENT_TYPE.encode()), (b"x-amzn-requestid", request_id.encode())]
        if too_large:
            error = p.invalid_parameter(f"The request must be at most {MAX_REQUEST_BYTES} bytes.")
            return self._error(error, headers)
        raw_path = scope.get("raw_path")
        identity = self.auth.authenticate(
            "sqs",
            "POST",
            raw_path.decode("latin-1") if raw_path else "/",
            scope.get("query_string", b"").decode("latin-1"),
            scope["headers"],
            body,
        )
        if isinstance(identity, AuthFailure):
            return self._auth_error(identity, headers)
        try:
            operation = p.parse_target(target_of(scope["headers"]))
            params = p.parse_body(body)
            name = self._queue_name(operation, params)
            denied = self.auth.authorize(identity, f"sqs:{operation}", (f"queue:{name}",), self.arn(name))
            if denied is not None:
                return self._auth_error(denied, headers)
            result = await getattr(self, f"_{operation}")(name, params, scope, identity.access_key_id)
        except SqsError as exc:
            return self._error(exc, headers)
        except (RedisError, OSError) as exc:
            log.warning("SQS request failed: Redis unavailable: %s", exc)
            return self._error(SqsError("ServiceUnavailable", "The service is unavailable.", status=503), headers)
        except Exception:
            log.exception("SQS request failed unexpectedly (request %s)", request_id)
            return self._error(SqsError("InternalError", "An internal error occurred.", status=500), headers)
        return 200, headers, json.dumps(result).encode()

    def _error(self, error: SqsError, headers: Headers) -> tuple[int, Headers, bytes]:
        return error.status, [*headers, (b"x-amzn-query-error", error.query_error().encode())], error.body()

    def _auth_error(self, failure: AuthFailure, headers: Headers) -> tuple[int, Headers, bytes]:
        payload = json.dumps({"__type": CORAL_PREFIX + failure.code.value, "message": failure.message}).encode()
        return failure.status("sqs"), headers, payload

    def _queue_name(self, operation: str, params: dict[str, Any]) -> str:
        if operation in ("CreateQueue", "GetQueueUrl"):
            return p.check_queue_name(p.string(params, "QueueName") or "")
        return p.queue_name_from_url(p.string(params, "QueueUrl") or "")

    def _url(self, scope: Scope, name: str) -> str:
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "localhost")
        return p.queue_url(f"{scope.get('scheme', 'http')}://{host}", self.account_id, name)

    async def _known(self, name: str) -> dict[str, str]:
        attributes = await self.store.attributes(name)
        if attributes is None:
            raise p.queue_does_not_exist()
        return attributes

    # -- operations ---------------------------------------------------------------------------

    async def _CreateQueue(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        attributes = p.queue_attributes(params.get("Attributes"))
        try:
            await self.store.create(name, attributes)
        except QueueNameExists:
            raise SqsError(
                "QueueNameExists",
                "A queue already exists with the same name and a different value for attribute(s).",
                code="QueueAlreadyExists",
            ) from None
        return {"QueueUrl": self._url(scope, name)}

    async def _GetQueueUrl(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        await self._known(name)
        return {"QueueUrl": self._url(scope, name)}

    async def _send_one(self, name: str, entry: dict[str, Any], sender: str) -> dict[str, Any]:
        body = p.string(entry, "MessageBody") or ""
        p.check_body(body)
        if p.integer(entry, "DelaySeconds", 0, 900, 0):
            raise SqsError("UnsupportedOperation", "DelaySeconds is not supported by Kumo queues (only 0).")
        attributes = p.message_attributes(entry.get("MessageAttributes"))
        sent = await self.store.send(name, body, attributes, sender)
        if sent is None:
            raise p.queue_does_not_exist()
        answer = {"MessageId": sent[0], "MD5OfMessageBody": p.md5_of_body(body)}
        digest = p.md5_of_attributes(attributes)
        if digest:
            answer["MD5OfMessageAttributes"] = digest
        return answer

    async def _SendMessage(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        return await self._send_one(name, params, sender)

    def _entries(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        entries = params.get("Entries")
        if not isinstance(entries, list) or not entries:
            raise SqsError(
                "EmptyBatchRequest",
                "There should be at least one SendMessageBatchRequestEntry in the request.",
                code="AWS.SimpleQueueService.EmptyBatchRequest",
            )
        if len(entries) > p.MAX_BATCH_ENTRIES:
            raise SqsError(
                "TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are {p.MAX_BATCH_ENTRIES}. You have sent {len(entries)}.",
                code="AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            )
        ids = []
        for entry in entries:
            entry_id = entry.get("Id") if isinstance(entry, dict) else None
            if not isinstance(entry_id, str) or not p.BATCH_ID.match(entry_id):
                raise SqsError(
                    "InvalidBatchEntryId",
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores.",
                    code="AWS.SimpleQueueService.InvalidBatchEntryId",
                )
            ids.append(entry_id)
        if len(set(ids)) != len(ids):
            raise SqsError(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
                code="AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            )
        return entries

    async def _SendMessageBatch(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        entries = self._entries(params)
        total = sum(len(str(e.get("MessageBody", "")).encode()) for e in entries)
        if total > p.MAX_MESSAGE_BYTES:
            raise SqsError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {p.MAX_MESSAGE_BYTES} bytes.",
                code="AWS.SimpleQueueService.BatchRequestTooLong",
            )
        await self._known(name)
        successful, failed = [], []
        for entry in entries:
            try:
                successful.append({"Id": entry["Id"], **await self._send_one(name, entry, sender)})
            except SqsError as exc:
                if exc.shape == "QueueDoesNotExist":
                    raise
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message})
        return {"Successful": successful, "Failed": failed}

    async def _ReceiveMessage(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        attributes = await self._known(name)
        count = p.integer(params, "MaxNumberOfMessages", 1, p.MAX_BATCH_ENTRIES, 1)
        default_visibility = int(attributes.get("VisibilityTimeout", p.DEFAULT_VISIBILITY_S))
        visibility = p.integer(params, "VisibilityTimeout", 0, p.MAX_VISIBILITY_S, default_visibility)
        default_wait = int(attributes.get("ReceiveMessageWaitTimeSeconds", 0))
        wait = p.integer(params, "WaitTimeSeconds", 0, p.MAX_WAIT_S, default_wait)
        deadline = time.monotonic() + wait
        while True:
            received = await self.store.receive(name, count, visibility)
            if received or time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(POLL_INTERVAL_S, max(0.0, deadline - time.monotonic())))
        system = p.wanted(params.get("AttributeNames"), p.SYSTEM_ATTRIBUTES)
        system += [
            n for n in p.wanted(params.get("MessageSystemAttributeNames"), p.SYSTEM_ATTRIBUTES) if n not in system
        ]
        return {"Messages": [self._message(name, r, system, params.get("MessageAttributeNames")) for r in received]}

    def _message(self, name: str, received: Received, system: list[str], attribute_names: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "MessageId": received.message_id,
            "ReceiptHandle": receipts.encode(name, received.entry_id, received.deliveries),
            "MD5OfBody": p.md5_of_body(received.body),
            "Body": received.body,
        }
        values = system_attributes(received, self.account_id)
        if system:
            message["Attributes"] = {n: values[n] for n in system}
        chosen = {n: received.attributes[n] for n in p.wanted(attribute_names, sorted(received.attributes))}
        if chosen:
            message["MessageAttributes"] = chosen
            message["MD5OfMessageAttributes"] = p.md5_of_attributes(chosen)
        return message

    def _receipt(self, name: str, handle: Any) -> receipts.Receipt:
        try:
            receipt = receipts.decode(handle)
        except receipts.InvalidReceipt as exc:
            raise SqsError("ReceiptHandleIsInvalid", f"{exc} ({str(handle)[:64]})") from None
        if receipt.queue != name:
            raise SqsError("ReceiptHandleIsInvalid", "The receipt handle belongs to another queue.")
        return receipt

    async def _DeleteMessage(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        receipt = self._receipt(name, p.string(params, "ReceiptHandle"))
        await self._known(name)
        await self.store.delete(name, receipt.entry_id)
        return {}

    async def _DeleteMessageBatch(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        entries = self._entries(params)
        await self._known(name)
        successful, failed = [], []
        for entry in entries:
            try:
                receipt = self._receipt(name, entry.get("ReceiptHandle"))
            except SqsError as exc:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": exc.code, "Message": exc.message})
                continue
            await self.store.delete(name, receipt.entry_id)
            successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    async def _ChangeMessageVisibility(
        self, name: str, params: dict[str, Any], scope: Scope, sender: str
    ) -> dict[str, Any]:
        receipt = self._receipt(name, p.string(params, "ReceiptHandle"))
        if params.get("VisibilityTimeout") is None:
            raise p.missing_parameter("VisibilityTimeout")
        visibility = p.integer(params, "VisibilityTimeout", 0, p.MAX_VISIBILITY_S, 0)
        await self._known(name)
        if not await self.store.change_visibility(name, receipt.entry_id, visibility):
            raise SqsError(
                "MessageNotInflight",
                "The message referred to is not in flight.",
                code="AWS.SimpleQueueService.MessageNotInflight",
            )
        return {}

    async def _GetQueueAttributes(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        attributes = await self._known(name)
        visible, inflight = await self.store.counts(name)
        values = {
            "QueueArn": self.arn(name),
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(inflight),
            "ApproximateNumberOfMessagesDelayed": "0",
            "VisibilityTimeout": attributes.get("VisibilityTimeout", str(p.DEFAULT_VISIBILITY_S)),
            "ReceiveMessageWaitTimeSeconds": attributes.get("ReceiveMessageWaitTimeSeconds", "0"),
            "MaximumMessageSize": attributes.get("MaximumMessageSize", str(p.MAX_MESSAGE_BYTES)),
            "MessageRetentionPeriod": attributes.get("MessageRetentionPeriod", "345600"),
            "DelaySeconds": "0",
            "CreatedTimestamp": str(await self.store.created(name)),
        }
        return {"Attributes": {n: values[n] for n in p.wanted(params.get("AttributeNames"), sorted(values))}}

    async def _PurgeQueue(self, name: str, params: dict[str, Any], scope: Scope, sender: str) -> dict[str, Any]:
        await self._known(name)
        await self.store.purge(name)
        return {}


def system_attributes(received: Received, account_id: str) -> dict[str, str]:
    return {
        "SenderId": received.sender or account_id,
        "SentTimestamp": str(received.sent_ms),
        "ApproximateReceiveCount": str(received.deliveries),
    }


class SqsMiddleware:
    """Answers SQS requests itself; passes everything else to the wrapped app."""

    def __init__(self, app: ASGIApp, endpoint: SqsEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_sqs_request(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, too_large = 0, False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            too_large = too_large or size > MAX_REQUEST_BYTES
            if not too_large:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        status, headers, payload = await self.endpoint.answer(scope, b"".join(chunks), too_large)
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

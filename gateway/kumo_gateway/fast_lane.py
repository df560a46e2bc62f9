"""A fast lane in front of the ASGI app: requests a :class:`RawEndpoint` claims skip ASGI entirely.

uvicorn turns every request into an ASGI scope, a task, receive/send message dicts and a stack of
middleware calls; for a small JSON request that is most of the gateway's CPU. The DynamoDB endpoint
(``POST /`` with ``X-Amz-Target``) needs none of it: it takes a body and answers a body. So the
gateway serves HTTP with :class:`FastLaneProtocol`, uvicorn's own httptools protocol with one
addition: once a request's headers are parsed, the endpoint may claim it; a claimed request's body
is collected and answered by the endpoint straight onto the transport. Everything else (and any
claimed request that arrives while another is still being answered on the same connection, so
pipelined answers keep their order) goes through ASGI unchanged.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from kumo_gateway.guarded_protocol import GuardedProtocol
from kumo_tablestore.eager import run_eagerly

log = logging.getLogger("kumo.gateway.fast_lane")

#: A declared body over the endpoint's limit is answered at once and the rest discarded as it
#: arrives; over this many bytes the connection is closed after the answer instead.
DISCARD_LIMIT = 64 * 1024 * 1024

Headers = list[tuple[bytes, bytes]]


class RawEndpoint(Protocol):
    """What the fast lane serves: ``claim`` decides per request, ``answer`` never raises.

    ``answer`` is stepped eagerly, without a Task of its own (:mod:`kumo_tablestore.eager`): work
    that needs one (``asyncio.timeout``, ``wait_for``) must run in a Task it creates and awaits.
    """

    #: Bodies over this many bytes are not collected; ``answer`` gets ``too_large=True`` instead.
    max_body: int

    def claim(self, method: bytes, url: bytes, headers: Headers) -> Any | None:
        """A token for requests this endpoint answers (passed back to ``answer``), else ``None``."""

    async def answer(self, token: Any, body: bytes, too_large: bool) -> tuple[int, Headers, bytes]:
        """``(status, headers, body)``; must not raise."""


def response_head(status: int, headers: Headers, length: int, default_headers: Headers, keep_alive: bool) -> bytes:
    """Status line and headers of a fast-lane answer (pure)."""
    parts = [STATUS_LINE[status]]
    for name, value in default_headers:
        parts += [name, b": ", value, b"\r\n"]
    for name, value in headers:
        parts += [name, b": ", value, b"\r\n"]
    parts += [b"content-length: ", str(length).encode("ascii"), b"\r\n"]
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def _log_failure(_result: Any, error: BaseException | None) -> None:
    if error is not None:
        log.error("fast-lane answer failed", exc_info=error)


class _Claimed:
    """The per-request state of a claimed request; quacks like uvicorn's cycle where the protocol looks."""

    __slots__ = (
        "answered_early",
        "body",
        "disconnected",
        "keep_alive",
        "response_complete",
        "size",
        "token",
        "too_large",
    )

    def __init__(self, token: Any, keep_alive: bool) -> None:
        self.token = token
        self.body: list[bytes] = []
        self.size = 0
        self.too_large = False
        self.answered_early = False
        self.keep_alive = keep_alive
        self.disconnected = False
        self.response_complete = False

    @property
    def message_event(self) -> _Claimed:  # uvicorn calls ``cycle.message_event.set()`` on connection loss
        return self

    def set(self) -> None:
        pass


class FastLaneProtocol(GuardedProtocol):
    """uvicorn's httptools protocol with Kumo's listener bounds, plus the fast lane for :attr:`endpoint`'s requests."""

    endpoint: RawEndpoint

    def on_message_begin(self) -> None:
        # uvicorn's own on_message_begin also builds the ASGI scope; that waits until a request
        # turns out to be one for ASGI (``_begin_asgi``).
        # An answer given while parsing (errors need no partition) arms the keep-alive timer; a
        # request pipelined behind it must not be cut off by that timer.
        self._unset_keepalive_if_required()
        self._guard_begin()
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self._claimed: _Claimed | None = None

    def _begin_asgi(self) -> None:
        """What uvicorn's on_message_begin does, for a request already parsed up to its headers."""
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        HttpToolsProtocol.on_message_begin(self)
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers

    def on_headers_complete(self) -> None:
        self._guard_headers_done()
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.expect_100_continue and not self.parser.should_upgrade():
            token = self.endpoint.claim(self.parser.get_method(), self.url, self.headers)
            if token is not None:
                keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
                claimed = self._claimed = _Claimed(token, keep_alive)
                self.cycle = claimed  # type: ignore[assignment]  # pipelined requests queue behind it
                self._refuse_declared_too_large(claimed)
                return
        self._begin_asgi()
        HttpToolsProtocol.on_headers_complete(self)

    def _refuse_declared_too_large(self, claimed: _Claimed) -> None:
        """A declared ``Content-Length`` over the limit is answered now, before any of the body is read."""
        declared = self.declared_length
        if declared is None or declared <= self.endpoint.max_body:
            return
        claimed.too_large = claimed.answered_early = True
        if declared > DISCARD_LIMIT:
            claimed.keep_alive = False
        run_eagerly(self._answer(claimed), _log_failure)

    def on_body(self, body: bytes) -> None:
        claimed = self._claimed
        if claimed is None:
            super().on_body(body)
            return
        if self._guarded is not None:
            self._guarded.body_progress()
        claimed.size += len(body)
        if claimed.size > self.endpoint.max_body:
            claimed.too_large, claimed.body = True, []
        elif not claimed.too_large:
            claimed.body.append(body)

    def on_message_complete(self) -> None:
        claimed = self._claimed
        if claimed is None:
            super().on_message_complete()
            return
        self._claimed = None
        if self._guarded is not None:
            self._guarded.message_done()
        if claimed.answered_early:
            return
        # Stepped at once, without a Task: most answers only wait for one partition's reply.
        run_eagerly(self._answer(claimed), _log_failure)

    async def _answer(self, claimed: _Claimed) -> None:
        body = claimed.body[0] if len(claimed.body) == 1 else b"".join(claimed.body)
        try:
            status, headers, payload = await self.endpoint.answer(claimed.token, body, claimed.too_large)
        except Exception:  # the endpoint must not raise; never leave the client hanging if it does
            log.exception("fast-lane endpoint failed")
            status, headers, payload = 500, [], b""
            claimed.keep_alive = False
        claimed.response_complete = True
        if claimed.disconnected or self.transport.is_closing():
            return
        keep_alive = claimed.keep_alive
        head = response_head(status, headers, len(payload), self.server_state.default_headers, keep_alive)
        self.transport.write(head + payload)
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()

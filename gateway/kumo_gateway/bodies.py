"""Read a request body once, with a size limit checked before buffering."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

#: Beyond this many bytes an oversized body is no longer drained (the connection just closes).
_DRAIN_LIMIT = 64 * 1024 * 1024


async def read_body(request: Request, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` bytes.

    ``Content-Length`` is checked first: a declared size over ``limit`` is refused at once, before any
    of the body is read (uvicorn discards it as it arrives; a stalled one meets the listener's body
    timeout). The actual size is checked while reading; a body found oversized then is drained (up to
    a bound) so the client reads the error rather than a reset connection.
    Raises ``ClientDisconnect`` when the client went away.
    """
    receive = request.receive
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        if chunk:
            size += len(chunk)
            if size > limit:
                if more:
                    await _drain(request, size)
                return None
            chunks.append(chunk)
        if not more:
            break
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


async def _drain(request: Request, seen: int) -> None:
    receive = request.receive
    while seen <= _DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return

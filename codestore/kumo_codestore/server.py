"""The code store's HTTP server (aiohttp): PUT / GET / HEAD / DELETE ``/packages/<sha256>``, the listing
``GET /packages``, ``/healthz``.

The wire contract is :mod:`kumo.packages.code_store`. Every request but ``/healthz`` needs the
platform credential (:mod:`kumo.platform_credential`); the store refuses to start without one, so a
cluster's packages are never readable by any pod that can reach the Service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path

from aiohttp import web

from kumo import platform_credential
from kumo.packages.code_store import (
    LIST_PATH,
    MAX_ZIPPED_BYTES,
    OLDER_THAN,
    PORT,
    StoreError,
    address_of,
    listing_body,
    parse_older_than,
)
from kumo.packages.storage_limit import DEFAULT_CODE_STORAGE_BYTES
from kumo_codestore.storage import ArchiveStore

log = logging.getLogger("kumo.codestore")
#: Bytes read from the body at a time (hashing and writing are per chunk: memory stays flat).
CHUNK = 1 << 20


def _error(status: int, code: str, message: str) -> web.Response:
    body = json.dumps({"error": code, "message": message})
    return web.Response(status=status, text=body, content_type="application/json")


def build_app(store: ArchiveStore, credential: str) -> web.Application:
    if not credential:
        raise ValueError("the code store needs the platform credential (KUMO_PLATFORM_CREDENTIAL)")

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def packages(request: web.Request) -> web.StreamResponse:
        if not platform_credential.matches(credential, request.headers.get(platform_credential.HEADER)):
            return _error(403, "Forbidden", f"the code store needs the {platform_credential.HEADER} header")
        try:
            if request.path.rstrip("/") == LIST_PATH:
                if request.method != "GET":
                    return _error(405, "MethodNotAllowed", "list with GET")
                body = await asyncio.to_thread(lambda: listing_body(store.entries()))
                return web.Response(text=body, content_type="application/json")
            sha = address_of(request.path)
            if request.method == "PUT":
                return await _put(store, sha, request)
            if request.method == "DELETE":
                if not store.delete(sha, parse_older_than(request.query.get(OLDER_THAN))):
                    return _error(404, "NotFound", f"no package {sha}")
                log.info("deleted package %s", sha)
                return web.Response(status=204)
            if request.method not in ("GET", "HEAD"):
                return _error(405, "MethodNotAllowed", "use PUT, GET, HEAD or DELETE")
            size = store.size(sha)
            if size is None:
                return _error(404, "NotFound", f"no package {sha}")
            headers = {"ETag": f'"{sha}"', "Content-Type": "application/zip", "Cache-Control": "immutable"}
            if request.method == "HEAD":
                return web.Response(status=200, headers=headers | {"Content-Length": str(size)})
            return web.FileResponse(store.path(sha), headers=headers)
        except StoreError as exc:
            return _error(exc.status, exc.code, str(exc))

    app = web.Application(client_max_size=MAX_ZIPPED_BYTES)
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", LIST_PATH, packages)
    app.router.add_route("*", "/packages/{tail:.*}", packages)
    return app


async def _put(store: ArchiveStore, sha: str, request: web.Request) -> web.Response:
    declared = request.content_length
    if declared is not None and declared > MAX_ZIPPED_BYTES:
        return _error(413, "PackageTooLarge", f"package is {declared} bytes; the limit is {MAX_ZIPPED_BYTES} (50 MB)")
    if declared is not None:
        store.check_room(sha, declared)  # refused before the body is read; checked again once it is
    created = await store.put(sha, request.content.iter_chunked(CHUNK))
    if created:
        log.info("stored package %s", sha)
    return web.Response(
        status=201 if created else 200,
        text=json.dumps({"sha256": sha, "size": store.size(sha), "created": created}),
        content_type="application/json",
    )


async def serve(
    root: Path,
    host: str,
    port: int,
    credential: str,
    ready: asyncio.Event | None = None,
    *,
    storage_limit: int = DEFAULT_CODE_STORAGE_BYTES,
) -> None:
    """Serve until SIGTERM/SIGINT; ``storage_limit``: the bytes of archives the store may hold."""
    store = await asyncio.to_thread(ArchiveStore, root, storage_limit)
    app = build_app(store, credential)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=75.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info(
        "code store on %s:%s, archives under %s (%d of %d bytes used)", host, port, root, store.used, storage_limit
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


__all__ = ["PORT", "build_app", "serve"]

"""``/_kumo/packages/<sha256>`` on the gateway: ``kumo deploy``'s way into the cluster's code store.

The code store (``kumo_codestore``) is internal: it needs the platform credential, which only the
platform's pods hold. The gateway forwards ``PUT`` and ``HEAD`` for holders of the admin token
(``Authorization: Bearer``), adding the credential; the answer (``201``/``200``, or the store's
``{"error", "message"}`` such as ``HashMismatch`` or ``PackageTooLarge``) is relayed as is. A body
over 50 MB is refused here (413) before anything is sent on. Without a code store (local mode, or
the chart's ``codeStore.enabled=false``) the path answers 404 ``NoCodeStore``.
"""

from __future__ import annotations

import json

import httpx
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from kumo import platform_credential
from kumo.packages.code_store import MAX_ZIPPED_BYTES, StoreError, address_of, package_path
from kumo.packages.store_client import CONNECT_TIMEOUT_S, TRANSFER_TIMEOUT_S, credential_headers
from kumo_gateway.auth.admin_token import bearer_matches

#: The gateway's path: ``/_kumo`` + the store's own ``/packages/<sha256>``.
PATH_PREFIX = "/_kumo"


def _error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"error": code, "message": message}), status, media_type="application/json")


class CodeStoreUpload:
    def __init__(self, store_url: str | None, admin_token: str | None, credential: str | None = None) -> None:
        self.store_url = store_url.rstrip("/") if store_url else None
        self.admin_token = admin_token
        self.headers = credential_headers(credential or platform_credential.from_env())
        self._client: httpx.AsyncClient | None = None

    async def handle(self, request: Request) -> Response:
        if not (self.admin_token and bearer_matches(request.headers.get("authorization"), self.admin_token)):
            return _error(401, "Unauthorized", "uploading packages needs 'Authorization: Bearer <admin token>'")
        if self.store_url is None:
            return _error(404, "NoCodeStore", "this gateway has no code store (chart value codeStore.enabled)")
        try:
            sha = address_of(request.url.path.removeprefix(PATH_PREFIX))
        except StoreError as exc:
            return _error(exc.status, exc.code, str(exc))
        if request.method not in ("PUT", "HEAD"):
            return _error(405, "MethodNotAllowed", "use PUT or HEAD")
        body = None
        if request.method == "PUT":
            try:
                from kumo_gateway.bodies import read_body

                body = await read_body(request, MAX_ZIPPED_BYTES)
            except ClientDisconnect:
                return _error(400, "BadRequest", "the client went away")
            if body is None:
                return _error(413, "PackageTooLarge", f"the limit is {MAX_ZIPPED_BYTES} bytes (50 MB zipped)")
        if self._client is None:
            timeout = httpx.Timeout(TRANSFER_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
            self._client = httpx.AsyncClient(headers=self.headers, timeout=timeout, trust_env=False)
        try:
            answer = await self._client.request(request.method, self.store_url + package_path(sha), content=body)
        except httpx.HTTPError as exc:
            return _error(503, "CodeStoreUnavailable", f"the code store did not answer: {exc}")
        headers = {"Content-Length": answer.headers["content-length"]} if request.method == "HEAD" else None
        return Response(answer.content, answer.status_code, headers, media_type=answer.headers.get("content-type"))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

"""The gateway's small admin API under ``/_kumo/`` (no Api can be named ``_kumo``: Api names are DNS labels).

JSON in, JSON out; errors are ``{"error": <code>, "message": ...}`` with a 4xx status. Today:

- ``GET  /_kumo/apis/{api}/stages/{stage}`` -> the stage (``name``, ``variables``, ``canary``).
- ``POST /_kumo/apis/{api}/stages/{stage}/promote`` -> promote the stage's canary (API Gateway's
  promotion: overrides copied into the stage's variables, canary traffic set to 0 %); answers the
  promoted stage. 404 for an unknown Api or stage, 409 when the stage has no canary.
- ``/_kumo/apis/{api}/keys[/{id}]``: API keys (:mod:`kumo_gateway.admin_keys`, kept in Redis).
- ``/_kumo/functions/{name}/dlq[/redrive]``: dead-letter queues (:mod:`kumo_gateway.async_.dlq_admin`).

Access keys (local mode, when the handler has a key store):

- ``GET    /_kumo/credentials`` -> ``{"credentials": [...]}`` (ids, names, policies; never secrets).
- ``POST   /_kumo/credentials`` ``{"name": ..., "policy": {"actions": [...], "resources": [...]}}`` -> 201
  ``{"credential": {..., "secretAccessKey": ...}}`` (the only time the secret is shown).
- ``DELETE /_kumo/credentials/{accessKeyId}`` -> ``{"revoked": id}``; effective for the next request.

Every request needs ``Authorization: Bearer <admin token>`` (``kumo_gateway.auth.admin_token``);
without it: 401 ``{"error": "Unauthorized", ...}`` and nothing changes.

Api changes go to the catalog (a new Api object through ``Catalog.set_api``), in memory: local mode
only, and a restart reloads the manifests. It is served only when the app is built with an admin
token (``kumo up``).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from kumo import untrusted_json
from kumo.catalog import Catalog
from kumo.policy import Policy, PolicyError
from kumo_gateway.admin_keys import KeysAdmin
from kumo_gateway.apigateway.stages import PromotionError, promote_canary
from kumo_gateway.auth.admin_token import bearer_matches
from kumo_gateway.auth.local_store import LocalKeyStore

if TYPE_CHECKING:
    from kumo_gateway.apigateway.limits_store import LimitsStore
    from kumo_gateway.async_.store import AsyncStore

log = logging.getLogger("kumo.gateway.admin")

#: The first path segment of every admin request.
ADMIN_SEGMENT = "_kumo"


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, headers, media_type="application/json")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": code, "message": message}, headers)


def stage_body(api_name: str, stage: Any) -> dict[str, Any]:
    return {"api": api_name, "stage": stage.model_dump(mode="json", by_alias=True, exclude_none=True)}


class AdminHandler:
    """Answers ``/_kumo/...`` requests against the catalog."""

    def __init__(
        self,
        catalog: Catalog,
        token: str,
        keys: LocalKeyStore | None = None,
        api_keys: LimitsStore | None = None,
        async_store: AsyncStore | None = None,
    ) -> None:
        if not token:
            raise ValueError("the admin API needs a token")
        self.catalog = catalog
        self.token = token
        self.keys = keys
        self.api_keys = KeysAdmin(catalog, api_keys)
        self.async_store = async_store

    async def handle(self, request: Request) -> Response:
        if not bearer_matches(request.headers.get("authorization"), self.token):
            return error(
                401,
                "Unauthorized",
                "the admin API needs 'Authorization: Bearer <token>' (KUMO_ADMIN_TOKEN or <state-dir>/admin-token)",
                {"WWW-Authenticate": 'Bearer realm="kumo-admin"'},
            )
        parts = request.url.path.strip("/").split("/")
        if len(parts) >= 2 and parts[1] == "credentials":
            return await self._credentials(request, parts[2:])
        if len(parts) >= 4 and parts[1] == "functions" and parts[3] == "dlq":
            from kumo_gateway.async_ import dlq_admin

            known = lambda name: self.catalog.function(name) is not None  # noqa: E731
            return await dlq_admin.handle(request, parts, self.async_store, json_response, error, known)
        if len(parts) >= 4 and parts[1] == "apis" and parts[3] == "keys":
            return await self.api_keys.handle(request, parts)  # API keys: kumo_gateway.admin_keys
        # ["_kumo", "apis", api, "stages", stage(, "promote")]
        if len(parts) not in (5, 6) or parts[1] != "apis" or parts[3] != "stages" or not parts[2] or not parts[4]:
            return error(404, "NotFound", f"no admin operation at {request.url.path}")
        api_name, stage_name = parts[2], parts[4]
        action = parts[5] if len(parts) == 6 else None
        if action not in (None, "promote"):
            return error(404, "NotFound", f"no admin operation at {request.url.path}")
        allowed = "POST" if action == "promote" else "GET"
        if request.method != allowed:
            return error(405, "MethodNotAllowed", f"use {allowed} for {request.url.path}", {"Allow": allowed})
        api = self.catalog.api(api_name)
        if api is None:
            return error(404, "NotFound", f"Api {api_name!r} not found")
        if action is None:
            stage = next((s for s in api.spec.effective_stages if s.name == stage_name), None)
            if stage is None:
                return error(404, "NotFound", f"Api {api_name!r} has no stage {stage_name!r}")
            return json_response(200, stage_body(api_name, stage))
        try:
            promoted = promote_canary(api, stage_name)
        except PromotionError as exc:
            code = {404: "NotFound", 409: "Conflict"}.get(exc.status, "BadRequest")
            return error(exc.status, code, str(exc))
        # No await between reading and replacing the Api: a concurrent change cannot be lost.
        self.catalog.set_api(promoted)
        stage = next(s for s in promoted.spec.stages if s.name == stage_name)
        log.info("Api %s stage %s: canary promoted, variables now %s", api_name, stage_name, stage.variables)
        return json_response(200, stage_body(api_name, stage))

    async def _credentials(self, request: Request, rest: list[str]) -> Response:
        if self.keys is None:
            return error(404, "NotFound", "this gateway manages no access keys (in a cluster they are Secrets)")
        if not rest:
            if request.method == "GET":
                return json_response(200, {"credentials": [key.public() for key in self.keys.list()]})
            if request.method != "POST":
                return error(405, "MethodNotAllowed", "use GET or POST", {"Allow": "GET, POST"})
            try:
                body = untrusted_json.loads(await request.body() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                name = body.get("name") or ""
                if not isinstance(name, str) or len(name) > 128:
                    raise ValueError("'name' must be a string of at most 128 characters")
                policy = Policy.from_json(body.get("policy"))
            except (ValueError, PolicyError) as exc:
                return error(400, "BadRequest", str(exc))
            key = self.keys.create(name, policy)
            return json_response(201, {"credential": key.to_json()})
        if len(rest) != 1 or not rest[0]:
            return error(404, "NotFound", f"no admin operation at {request.url.path}")
        if request.method != "DELETE":
            return error(405, "MethodNotAllowed", "use DELETE", {"Allow": "DELETE"})
        if not self.keys.revoke(rest[0]):
            return error(404, "NotFound", f"no access key {rest[0]!r}")
        return json_response(200, {"revoked": rest[0]})

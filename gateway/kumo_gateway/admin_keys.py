"""The admin API's API keys (``kumo api-keys``), beside :mod:`kumo_gateway.admin`:

- ``POST   /_kumo/apis/{api}/keys`` ``{"plan": "basic", "name": "alice"}`` -> 201 the key with its
  ``value`` (shown this once; only its hash is stored);
- ``GET    /_kumo/apis/{api}/keys`` -> ``{"items": [...]}`` (ids, names, plans; never values);
- ``DELETE /_kumo/apis/{api}/keys/{id}`` -> 204.

404 for an unknown Api, plan or key; 400 for a bad body; 503 when Redis cannot be reached.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from kumo import untrusted_json
from kumo.catalog import Catalog

if TYPE_CHECKING:
    from kumo_gateway.apigateway.limits_store import LimitsStore

log = logging.getLogger("kumo.gateway.admin")

MAX_NAME_LENGTH = 128
_NAME = re.compile(r"^[\x20-\x7e]*$")


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": code, "message": message}, headers)


class KeysAdmin:
    """Answers ``/_kumo/apis/{api}/keys[/{id}]``."""

    def __init__(self, catalog: Catalog, store: LimitsStore | None) -> None:
        self.catalog = catalog
        self.store = store

    async def handle(self, request: Request, parts: list[str]) -> Response:
        """``parts``: the path's segments, ``["_kumo", "apis", api, "keys"(, id)]``."""
        if len(parts) not in (4, 5) or not parts[2] or (len(parts) == 5 and not parts[4]):
            return _error(404, "NotFound", f"no admin operation at {request.url.path}")
        allowed = "DELETE" if len(parts) == 5 else "GET, POST"
        if request.method not in allowed.split(", "):
            return _error(405, "MethodNotAllowed", f"use {allowed} for {request.url.path}", {"Allow": allowed})
        api_name = parts[2]
        api = self.catalog.api(api_name)
        if api is None:
            return _error(404, "NotFound", f"Api {api_name!r} not found")
        if self.store is None:
            return _error(503, "ServiceUnavailable", "this gateway has no Redis for API keys")
        try:
            if request.method == "GET":
                return _json(200, {"items": [record.public() for record in await self.store.list_keys(api_name)]})
            if request.method == "DELETE":
                if not await self.store.delete_key(api_name, parts[4]):
                    return _error(404, "NotFound", f"Api {api_name!r} has no API key {parts[4]!r}")
                log.info("Api %s: API key %s deleted", api_name, parts[4])
                return Response(status_code=204)
            return await self._create(request, api_name, [plan.name for plan in api.spec.usage_plans])
        except (RedisError, OSError) as exc:
            log.warning("API keys of %s: Redis unreachable: %s", api_name, exc)
            return _error(503, "ServiceUnavailable", "Redis cannot be reached; try again")

    async def _create(self, request: Request, api_name: str, plans: list[str]) -> Response:
        try:
            body = untrusted_json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "BadRequest", 'the body must be JSON: {"plan": ..., "name": ...}')
        if not isinstance(body, dict) or not isinstance(body.get("plan"), str):
            return _error(400, "BadRequest", 'give the key\'s usage plan: {"plan": ..., "name": ...}')
        plan = body["plan"]
        if plan not in plans:
            known = ", ".join(plans) or "none"
            return _error(404, "NotFound", f"Api {api_name!r} has no usage plan {plan!r} (plans: {known})")
        name = body.get("name") or plan
        if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
            return _error(400, "BadRequest", f"name must be printable ASCII, at most {MAX_NAME_LENGTH} characters")
        assert self.store is not None
        record, value = await self.store.create_key(api_name, plan, name)
        log.info("Api %s: API key %s (%s) created on plan %s", api_name, record.id, name, plan)
        return _json(201, {**record.public(), "value": value})

"""Lambda's concurrency operations: ``PutFunctionConcurrency`` (``PUT /2017-10-31/functions/{name}/concurrency``),
``DeleteFunctionConcurrency`` (``DELETE`` on the same path), ``GetFunctionConcurrency``
(``GET /2019-09-30/functions/{name}/concurrency``) and ``GetAccountSettings`` (``GET /2016-08-19/account-settings/``).

A reservation set here lives in Redis (:mod:`kumo_gateway.concurrency.reservations`) and overrides the
manifest's ``spec.concurrency.reserved``; deleting it lets the manifest's apply again. As Lambda, a
reservation must leave at least 100 concurrent executions unreserved (a tenth of a smaller account limit)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kumo import untrusted_json
from kumo.catalog import Catalog
from kumo.versions import LATEST
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.concurrency import rules
from kumo_gateway.concurrency.reservations import Reservations
from kumo_gateway.lambda_.errors import resource_not_found, service_error, unknown_operation
from kumo_gateway.lambda_.signed_call import open_signed_call

PUT_VERSION, GET_VERSION, ACCOUNT_VERSION = "2017-10-31", "2019-09-30", "2016-08-19"
VERSIONS = (PUT_VERSION, GET_VERSION, ACCOUNT_VERSION)
_MAX_BODY = 4 * 1024
#: Lambda's code-size quotas (bytes), reported by GetAccountSettings.
TOTAL_CODE_SIZE = 80 * 1024**3
CODE_SIZE_UNZIPPED = 250 * 1024**2
CODE_SIZE_ZIPPED = 50 * 1024**2
_OPERATIONS = {
    ("PUT", PUT_VERSION): "PutFunctionConcurrency",
    ("DELETE", PUT_VERSION): "DeleteFunctionConcurrency",
    ("GET", GET_VERSION): "GetFunctionConcurrency",
}


def account_settings(account_limit: int, total_reserved: int, code_sizes: list[int]) -> dict[str, Any]:
    """``GetAccountSettings``' answer (pure). An account limit of 0 (no counting) is reported as 0."""
    return {
        "AccountLimit": {
            "TotalCodeSize": TOTAL_CODE_SIZE,
            "CodeSizeUnzipped": CODE_SIZE_UNZIPPED,
            "CodeSizeZipped": CODE_SIZE_ZIPPED,
            "ConcurrentExecutions": account_limit,
            "UnreservedConcurrentExecutions": max(0, account_limit - total_reserved),
        },
        "AccountUsage": {"TotalCodeSize": sum(code_sizes), "FunctionCount": len(code_sizes)},
    }


class ConcurrencyHandler:
    def __init__(
        self, catalog: Catalog, reservations: Reservations, account_limit: int, *, auth: Auth, code_size: Any = None
    ) -> None:
        self.catalog = catalog
        self.reservations = reservations
        self.account_limit = account_limit
        self.auth = auth
        #: ``name -> bytes`` of a function's $LATEST code (the management API's backend), for AccountUsage.
        self.code_size = code_size

    async def handle(self, request: Request) -> Response:
        call = await open_signed_call(request, self.auth, _MAX_BODY)
        if isinstance(call, Response):
            return call
        parts = request.scope["path"].strip("/").split("/")
        if parts[0] == ACCOUNT_VERSION:
            if request.method != "GET" or parts[1:] != ["account-settings"]:
                return unknown_operation(call.request_id)
            denied = call.authorize("lambda:GetAccountSettings", ("*",), "*")
            if denied is not None:
                return denied
            await self._fresh()
            sizes = [self._code_size(f.metadata.name) for f in self.catalog.functions()]
            return call.json(account_settings(self.account_limit, self.reservations.total(self.catalog), sizes))
        operation = _OPERATIONS.get((request.method, parts[0]))
        if operation is None or len(parts) != 4 or parts[1] != "functions" or parts[3] != "concurrency":
            return unknown_operation(call.request_id)
        ref = call.function(self.catalog, operation, parts[2])
        if isinstance(ref, Response):
            return ref
        if ref.qualifier is not None and ref.qualifier != LATEST:
            return call.error(
                400,
                "InvalidParameterValueException",
                "Reserved concurrency applies to the whole function: give its name without a qualifier.",
            )
        function = self.catalog.function(ref.name)
        if function is None:
            return resource_not_found(self.catalog.function_arn(ref.name), call.request_id)
        if self.reservations.redis is None:
            return service_error(
                "Reserved concurrency needs the platform's Redis; this gateway has none.", call.request_id
            )
        await self._fresh()
        manifest = function.spec.concurrency.reserved
        if operation == "GetFunctionConcurrency":
            reserved = self.reservations.effective(ref.name, manifest)
            return call.json({} if reserved is None else {"ReservedConcurrentExecutions": reserved})
        if operation == "DeleteFunctionConcurrency":
            await self.reservations.delete(ref.name)
            return call.no_content()
        try:
            body = untrusted_json.loads(call.raw or b"{}")
        except ValueError as exc:
            return call.error(400, "InvalidParameterValueException", f"The body is not JSON: {exc}")
        if not isinstance(body, dict) or "ReservedConcurrentExecutions" not in body:
            return call.error(400, "InvalidParameterValueException", "ReservedConcurrentExecutions is required.")
        value = body["ReservedConcurrentExecutions"]
        others = self.reservations.others(self.catalog, ref.name)
        problem = rules.check_reservation(value, self.account_limit, others)
        if problem is not None:
            return call.error(400, "InvalidParameterValueException", problem)
        await self.reservations.put(ref.name, value)
        return call.json({"ReservedConcurrentExecutions": value})

    async def _fresh(self) -> None:
        """Decide on the latest reservations (another replica may have changed them)."""
        await self.reservations.refresh()

    def _code_size(self, name: str) -> int:
        if self.code_size is None:
            return 0
        try:
            return int(self.code_size(name))
        except Exception:
            return 0

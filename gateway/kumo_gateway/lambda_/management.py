"""Lambda management calls for versions and aliases, and the read-only look-arounds the AWS CLI and boto3 use:
``ListFunctions``, ``GetFunction``, ``GetFunctionConfiguration``, ``PublishVersion``, ``ListVersionsByFunction``,
``DeleteFunction`` of one version (``Qualifier``), ``CreateAlias``, ``GetAlias``, ``UpdateAlias``, ``DeleteAlias``,
``ListAliases``.

Paths are matched by :func:`kumo_gateway.lambda_.shapes.match_operation`; anything else under
``/2015-03-31/`` answers ``UnknownOperationException``. State is the ``Catalog``'s (``kumo.versions``);
publishing and persisting go through a :class:`VersionBackend` (local mode: ``LocalVersions``).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from kumo import untrusted_json
from kumo.catalog import Catalog
from kumo.versions import LATEST, Alias, NotFound, PublishedVersion, Snapshot, VersionError, take_snapshot
from kumo_gateway.auth.authenticator import Auth, Identity
from kumo_gateway.auth.errors import AuthFailure
from kumo_gateway.concurrency.reservations import Reservations
from kumo_gateway.ids import new_request_id
from kumo_gateway.lambda_ import shapes
from kumo_gateway.lambda_.errors import auth_error, lambda_error, service_error, unknown_operation
from kumo_gateway.lambda_.function_names import FunctionRef, InvalidFunctionName, parse_function_name
from kumo_gateway.lambda_.function_requests import (
    MAX_UPLOAD_BODY,
    RequestError,
    parse_create,
    parse_update_code,
)
from kumo_gateway.lambda_.function_writer import CODE_PATH, CodeLinks, FunctionView, FunctionWriter, settled
from kumo_gateway.lambda_.signed_request import read_signed

log = logging.getLogger("kumo.gateway")

MAX_BODY = 256 * 1024
#: Calls that carry a deployment package (base64 in JSON): up to Lambda's 50 MB zipped.
_UPLOADS = frozenset({"CreateFunction", "UpdateFunctionCode"})


class VersionBackend(Protocol):
    #: ``LastModified`` of ``$LATEST`` (when the gateway loaded its functions).
    started: str

    def latest(self, name: str) -> Snapshot: ...

    def publish(self, name: str, description: str = "", code_sha256: str | None = None) -> PublishedVersion: ...

    def save(self, name: str) -> None: ...

    def delete_version(self, name: str, version: str) -> None: ...


class ReadOnlyVersions:
    """For a gateway without a version store (the cluster's: the operator publishes for ``spec.publish``
    and aliases come from ``spec.aliases``): look, don't change."""

    def __init__(self, catalog: Catalog, started: str = "1970-01-01T00:00:00.000+0000") -> None:
        self.catalog = catalog
        self.started = started

    def latest(self, name: str) -> Snapshot:
        function = self.catalog.function(name)
        if function is None:
            raise NotFound(f"Function not found: {self.catalog.function_arn(name)}")
        return take_snapshot(function.spec, function.spec.code.inline or {})

    def publish(self, name: str, description: str = "", code_sha256: str | None = None) -> PublishedVersion:
        raise VersionError(
            "PublishVersion is not available on this gateway: in a cluster the operator publishes; "
            "set spec.publish: true in the Function"
        )

    def save(self, name: str) -> None:
        raise VersionError(
            "Changing aliases is not available on this gateway: in a cluster they come from the Function's spec.aliases"
        )

    def delete_version(self, name: str, version: str) -> None:
        raise VersionError(
            "DeleteFunction is not available on this gateway: in a cluster the operator owns published versions; "
            "delete the Function resource (kubectl delete) to remove them"
        )


def _json(data: Any, status: int, request_id: str) -> Response:
    return Response(
        json.dumps(data), status_code=status, media_type="application/json", headers={"x-amzn-RequestId": request_id}
    )


class ManagementHandler:
    """Answers the management operations against a catalog (and a backend that can publish and persist)."""

    def __init__(
        self,
        catalog: Catalog,
        backend: VersionBackend | None = None,
        *,
        auth: Auth,
        writer: FunctionWriter | None = None,
        view: FunctionView | None = None,
        reservations: Reservations | None = None,
    ) -> None:
        self.catalog = catalog
        #: Reserved concurrency set through PutFunctionConcurrency (GetFunction's ``Concurrency``).
        self.reservations = reservations or Reservations(None)
        self.backend: VersionBackend = backend or ReadOnlyVersions(catalog)
        self.auth = auth
        #: Creates and changes functions (local mode); without it those calls answer as unknown.
        self.writer = writer
        #: The functions' state (and what else the backend knows) for reads: the writer's, or a read-only
        #: view of it (a cluster gateway without a code store still shows a Pending function as Pending).
        self.view: FunctionView | None = view or writer
        self.links = CodeLinks()

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        if self.writer is not None and request.scope["path"].startswith(CODE_PATH) and request.method == "GET":
            return await self._download(request, request_id)
        operation = shapes.match_operation(request.method, request.scope["path"])
        upload = operation is not None and operation.name in _UPLOADS and self.writer is not None
        if upload:
            signed = await read_signed(
                request, self.auth, MAX_UPLOAD_BODY, request_id, too_large="RequestEntityTooLargeException"
            )
        else:
            signed = await read_signed(request, self.auth, MAX_BODY, request_id)
        if isinstance(signed, Response):
            return signed
        raw, identity = signed
        if operation is None or (operation.name in _WRITES and self.writer is None):
            return unknown_operation(request_id)
        denied = self._authorize(identity, operation)
        if denied is not None:
            return auth_error(denied, request_id)
        try:
            status, data = await self._dispatch(operation, request, raw)
        except VersionError as exc:
            return lambda_error(exc.status, exc.error_type, exc.message, request_id)
        except InvalidFunctionName as exc:
            return lambda_error(400, exc.error_type, exc.message, request_id)
        except shapes.BadParameter as exc:
            return lambda_error(400, "InvalidParameterValueException", str(exc), request_id)
        except RequestError as exc:
            return lambda_error(exc.status, exc.error_type, exc.message, request_id)
        except Exception:
            log.exception("%s %s failed unexpectedly (request %s)", request.method, request.url.path, request_id)
            return service_error("An internal error occurred.", request_id)
        if status == 204:
            return Response(status_code=204, headers={"x-amzn-RequestId": request_id})
        return _json(data, status, request_id)

    def _authorize(self, identity: Identity, operation: shapes.Operation) -> AuthFailure | None:
        if operation.function is None:
            return self.auth.authorize(identity, f"lambda:{operation.name}", ("*",), "*")
        try:
            name = parse_function_name(operation.function).name
        except InvalidFunctionName:
            name = operation.function
        return self.auth.authorize(
            identity, f"lambda:{operation.name}", (f"function:{name}",), self.catalog.function_arn(name)
        )

    async def _dispatch(self, operation: shapes.Operation, request: Request, raw: bytes) -> tuple[int, Any]:
        query = request.query_params
        if operation.name == "ListFunctions":
            return 200, self._list_functions(query.get("FunctionVersion"), query.get("Marker"), query.get("MaxItems"))
        if operation.name == "CreateFunction" and self.writer is not None:
            create = parse_create(_parse_body(raw))
            await self.writer.create(create)
            version = self.catalog.versions(create.name).latest_published() if create.publish else None
            return 201, self._configuration(FunctionRef(create.name, version.version if version else None))
        ref = parse_function_name(operation.function or "", query.get("Qualifier") or None)
        if self.catalog.function(ref.name) is None:
            raise NotFound(f"Function not found: {self.catalog.function_arn(ref.name, ref.qualifier)}")
        if operation.name == "GetFunction":
            function = self.catalog.function(ref.name)
            self.reservations.refresh_soon()
            manifest = function.spec.concurrency.reserved if function else None
            reserved = self.reservations.effective(ref.name, manifest)
            response = shapes.get_function_response(self._configuration(ref), reserved)
            if self.writer is not None and self.writer.owns(ref.name):
                address = self.writer.code_address(ref.name)
                if address:
                    response["Code"]["Location"] = self.links.location(str(request.base_url), ref.name, address)
                response["Tags"] = self.writer.tags(ref.name)
            return 200, response
        if operation.name == "GetFunctionConfiguration":
            return 200, self._configuration(ref)
        if operation.name in ("UpdateFunctionCode", "UpdateFunctionConfiguration") and self.writer is not None:
            if ref.qualifier is not None:
                raise VersionError(f"{operation.name} takes an unqualified function name, got {operation.function!r}")
            body = _parse_body(raw)
            if operation.name == "UpdateFunctionConfiguration":
                await self.writer.update_configuration(ref.name, body)
                return 200, self._configuration(ref)
            zip_bytes, publish, revision = parse_update_code(body)
            version = await self.writer.update_code(ref.name, zip_bytes, publish, revision)
            return 200, self._configuration(FunctionRef(ref.name, version))
        if operation.name == "DeleteFunction":
            if ref.qualifier is None and self.writer is not None and self.writer.owns(ref.name):
                await self.writer.delete(ref.name)
                return 204, None
            if ref.qualifier is None:
                raise VersionError(
                    f"DeleteFunction of the whole function is not available: Function {ref.name} is declared by "
                    "its manifest (remove it there); give a Qualifier to delete one published version"
                )
            self.backend.delete_version(ref.name, ref.qualifier)
            return 204, None
        if operation.name == "ListVersionsByFunction":
            numbers = list(self.catalog.versions(ref.name).versions)
            items = [self._configuration(FunctionRef(ref.name, v)) for v in [LATEST, *numbers]]
            page, marker = shapes.paginate(items, query.get("Marker"), query.get("MaxItems"), shapes.DEFAULT_PAGE)
            return 200, {"Versions": page, **({"NextMarker": marker} if marker else {})}
        if ref.qualifier is not None:
            raise VersionError(f"{operation.name} takes an unqualified function name, got {operation.function!r}")
        if operation.name == "ListAliases":
            wanted = query.get("FunctionVersion")
            aliases = [
                self._alias_shape(ref.name, alias)
                for alias in self.catalog.versions(ref.name).aliases.values()
                if wanted is None or alias.function_version == wanted
            ]
            page, marker = shapes.paginate(aliases, query.get("Marker"), query.get("MaxItems"), shapes.DEFAULT_PAGE)
            return 200, {"Aliases": page, **({"NextMarker": marker} if marker else {})}
        if operation.name == "GetAlias":
            return 200, self._alias_shape(ref.name, self._alias(ref.name, operation.alias or ""))
        if operation.name == "DeleteAlias":
            name = operation.alias or ""
            before = self._alias(ref.name, name)
            self.catalog.versions(ref.name).delete_alias(name)
            self._save_or_undo(ref.name, lambda: self.catalog.versions(ref.name).aliases.__setitem__(name, before))
            return 204, None
        body = _parse_body(raw)
        if operation.name == "PublishVersion":
            published = self.backend.publish(ref.name, _string(body, "Description", ""), body.get("CodeSha256"))
            return 201, self._configuration(FunctionRef(ref.name, published.version))
        if operation.name == "CreateAlias":
            alias = Alias(
                _string(body, "Name"),
                _string(body, "FunctionVersion"),
                _string(body, "Description", ""),
                shapes.parse_routing(body) or {},
                str(uuid.uuid4()),
            )
            self.catalog.versions(ref.name).create_alias(alias)
            self._save_or_undo(ref.name, lambda: self.catalog.versions(ref.name).aliases.pop(alias.name, None))
            return 201, self._alias_shape(ref.name, alias)
        # UpdateAlias
        name = operation.alias or ""
        before = self._alias(ref.name, name)
        updated = self.catalog.versions(ref.name).update_alias(
            name,
            function_version=_string(body, "FunctionVersion", None),
            description=_string(body, "Description", None),
            routing=shapes.parse_routing(body),
            expected_revision=_string(body, "RevisionId", None),
            new_revision=str(uuid.uuid4()),
        )
        self._save_or_undo(ref.name, lambda: self.catalog.versions(ref.name).aliases.__setitem__(name, before))
        return 200, self._alias_shape(ref.name, updated)

    def _save_or_undo(self, name: str, undo: Any) -> None:
        try:
            self.backend.save(name)
        except BaseException:
            undo()
            raise

    def _list_functions(self, function_version: str | None, marker: str | None, max_items: str | None) -> dict:
        if function_version not in (None, "ALL"):
            raise shapes.BadParameter(f"FunctionVersion must be ALL, got {function_version!r}")
        items: list[dict[str, Any]] = []
        for function in sorted(self.catalog.functions(), key=lambda f: f.metadata.name):
            name = function.metadata.name
            items.append(self._configuration(FunctionRef(name, None)))
            if function_version == "ALL":
                items.extend(self._configuration(FunctionRef(name, v)) for v in self.catalog.versions(name).versions)
        page, next_marker = shapes.paginate(items, marker, max_items, shapes.DEFAULT_PAGE)
        return {"Functions": page, **({"NextMarker": next_marker} if next_marker else {})}

    def _configuration(self, ref: FunctionRef) -> dict[str, Any]:
        """``FunctionConfiguration`` of ``ref`` (no qualifier or ``$LATEST``, a version, or an alias's version)."""
        registry = self.catalog.versions(ref.name)
        version = ref.qualifier or LATEST
        if version != LATEST and version not in registry.versions:
            alias = registry.aliases.get(version)
            if alias is None:
                raise NotFound(f"Function not found: {self.catalog.function_arn(ref.name, ref.qualifier)}")
            version = alias.function_version
        arn = self.catalog.function_arn(ref.name, ref.qualifier)
        if version == LATEST:
            snapshot, description, modified = self.backend.latest(ref.name), "", self.backend.started
        else:
            published = registry.versions[version]
            snapshot, description, modified = published.snapshot, published.description, published.last_modified
        configuration = shapes.function_configuration(
            name=ref.name,
            function_arn=arn,
            version=version,
            snapshot=snapshot,
            description=description,
            last_modified=modified,
            account_id=self.catalog.account_id,
        )
        if self.view is not None and self.view.owns(ref.name):
            overlay = self.view.overlay(ref.name)
            if version != LATEST:  # a published version keeps its own code, description and date
                overlay = {key: overlay[key] for key in ("Role", "Architectures")}
                overlay |= self.view.version_overlay(ref.name, version)
            configuration.update(overlay)
        return configuration

    async def _download(self, request: Request, request_id: str) -> Response:
        """``GET`` of a ``Code.Location``: the stored zip, for a signed, unexpired URL."""
        assert self.writer is not None
        address = request.scope["path"][len(CODE_PATH) :]
        problem = self.links.check(address, request.query_params)
        if problem is not None:
            return lambda_error(403, "AccessDeniedException", f"Code download refused: {problem}", request_id)
        try:
            data = await settled(self.writer.open_code(address))
        except Exception as exc:
            return lambda_error(404, "ResourceNotFoundException", f"Code not found: {exc}", request_id)
        return Response(data, media_type="application/zip", headers={"x-amzn-RequestId": request_id})

    def _alias(self, function: str, name: str) -> Alias:
        alias = self.catalog.versions(function).aliases.get(name)
        if alias is None:
            raise NotFound(f"Alias not found: {self.catalog.function_arn(function, name)}")
        return alias

    def _alias_shape(self, function: str, alias: Alias) -> dict[str, Any]:
        return shapes.alias_configuration(alias, self.catalog.function_arn(function, alias.name))


def _parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = untrusted_json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise shapes.BadParameter("Could not parse request body into json: expected a JSON object")
    return body


_WRITES = frozenset({"CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration"})
_REQUIRED = object()


def _string(body: dict[str, Any], key: str, default: Any = _REQUIRED) -> Any:
    value = body.get(key)
    if value is None:
        if default is _REQUIRED:
            raise shapes.BadParameter(f"{key} is required")
        return default
    if not isinstance(value, str):
        raise shapes.BadParameter(f"{key} must be a string")
    return value

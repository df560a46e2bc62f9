"""Powertools for AWS Lambda event handlers, written as for AWS: one router served by both resolvers.

``rest_handler`` (``APIGatewayRestResolver``) runs behind a payload format 1.0 Api, ``http_handler``
(``APIGatewayHttpResolver``) behind a 2.0 Api. Runs unchanged on Lambda.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.shared.cookies import Cookie

router = Router()
ITEMS = {"1": "hat", "2": "scarf"}


def _values(value: str | list[str] | None) -> list[str]:
    """A multi-value header as a list: 1.0 lists the values, 2.0 joins them with commas."""
    if value is None:
        return []
    return value if isinstance(value, list) else value.split(",")


@router.get("/items/<item_id>")
def get_item(item_id: str) -> dict:
    if item_id not in ITEMS:
        raise NotFoundError(f"no item {item_id}")
    event = router.current_event
    return {
        "id": item_id,
        "name": ITEMS[item_id],
        "tags": event.resolved_query_string_parameters.get("tag", []),
        "size": event.query_string_parameters.get("size"),
        "multi": _values(event.resolved_headers_field.get("x-multi")),
        "method": event.http_method,
    }


@router.post("/items")
def create_item() -> Response:
    body = router.current_event.json_body
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"created": body["name"]}),
        headers={"Location": "/items/3"},
        cookies=[Cookie(name="session", value="abc"), Cookie(name="theme", value="dark")],
    )


rest = APIGatewayRestResolver()
rest.include_router(router)
http = APIGatewayHttpResolver()
http.include_router(router)


def rest_handler(event: dict, context: object) -> dict:
    return rest.resolve(event, context)


def http_handler(event: dict, context: object) -> dict:
    return http.resolve(event, context)

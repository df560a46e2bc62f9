"""Identity sources (pure): ``$request.header.<name>``, ``$request.querystring.<name>``,
``$context.<variable>``, ``$stageVariables.<name>`` resolved against one request.

As API Gateway: every source must be present and non-empty, else the authorizer is not invoked and
the client gets 401. Repeated headers or query parameters are comma-joined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl


def resolve(
    sources: Sequence[str],
    headers: Sequence[tuple[str, str]],
    raw_query: str,
    context: Mapping[str, str],
    stage_variables: Mapping[str, str],
) -> list[str] | None:
    """The value of every source, in order; None when any is missing or empty."""
    values: list[str] = []
    query: dict[str, str] | None = None
    for source in sources:
        value: str | None = None
        if source.startswith("$request.header."):
            wanted = source[len("$request.header.") :].lower()
            found = [v for k, v in headers if k.lower() == wanted]
            value = ",".join(found) if found else None
        elif source.startswith("$request.querystring."):
            if query is None:
                query = {}
                for key, item in parse_qsl(raw_query, keep_blank_values=True):
                    query[key] = item if key not in query else f"{query[key]},{item}"
            value = query.get(source[len("$request.querystring.") :])
        elif source.startswith("$context."):
            value = context.get(source[len("$context.") :])
        elif source.startswith("$stageVariables."):
            value = stage_variables.get(source[len("$stageVariables.") :])
        if value is None or not value.strip():
            return None
        values.append(value)
    return values

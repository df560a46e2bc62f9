"""What ``kumo up`` prints once it is ready: where things are and curl lines to try (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PARAM = re.compile(r"\{([^}+]+)\+?\}")


def example_path(path: str) -> str:
    """A concrete path for a route template: ``/items/{id}`` → ``/items/1``, ``{proxy+}`` → ``a/b``."""
    return _PARAM.sub(lambda m: "a/b" if m.group(0).endswith("+}") else "1", path)


INSECURE_WARNING = (
    "WARNING: --insecure-no-auth: the Lambda and DynamoDB APIs answer ANY caller without checking "
    "credentials. For quick trials on this machine only."
)


def export_lines(base_url: str, credentials: tuple[str, str]) -> list[str]:
    """The shell lines that point AWS SDKs and the AWS CLI at this Kumo with its default key."""
    key_id, secret = credentials
    return [
        f"export AWS_ACCESS_KEY_ID={key_id}",
        f"export AWS_SECRET_ACCESS_KEY={secret}",
        f"export AWS_ENDPOINT_URL={base_url}",
    ]


def banner(
    base_url: str,
    functions: Iterable[object],
    apis: Iterable[object],
    tables: Iterable[str] = (),
    credentials: tuple[str, str] | None = None,
) -> str:
    """``credentials`` (the default key) is printed as export lines; None means no authentication."""
    lines = [f"Kumo is up: gateway {base_url}"]
    if credentials is None:
        lines.append(INSECURE_WARNING)
    else:
        lines.append("Credentials (AWS SDKs and the AWS CLI; the AWS_DEFAULT_REGION is up to you):")
        lines.extend(f"  {line}" for line in export_lines(base_url, credentials))
    signed = (
        ' --aws-sigv4 aws:amz:us-east-1:lambda --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"'
        if credentials
        else ""
    )
    tables = list(tables)
    functions = list(functions)
    apis = list(apis)
    if functions:
        lines.append("Functions:")
        for fn in functions:
            lines.append(f"  {fn.metadata.name} ({fn.spec.runtime}, handler {fn.spec.handler})")  # type: ignore[attr-defined]
    if apis:
        lines.append("APIs:")
    try_lines: list[str] = []
    for api in apis:
        name = api.metadata.name  # type: ignore[attr-defined]
        stages = [s.name for s in api.spec.stages] or ["$default"]  # type: ignore[attr-defined]
        for stage in stages:
            lines.append(f"  {name} stage {stage}: {base_url}/{name}/{stage}")
        stage = stages[0]
        for route in api.spec.routes:  # type: ignore[attr-defined]
            url = f"{base_url}/{name}/{stage}{example_path(route.path)}"
            method = "GET" if route.method in ("GET", "ANY") else route.method
            if method == "GET":
                try_lines.append(f"  curl '{url}'")
            else:
                data = " -H 'content-type: application/json' -d '{}'" if method in ("POST", "PUT", "PATCH") else ""
                try_lines.append(f"  curl -X {method} '{url}'{data}")
    for fn in functions[:3]:
        fname = fn.metadata.name  # type: ignore[attr-defined]
        try_lines.append(f"  curl -X POST {base_url}/2015-03-31/functions/{fname}/invocations -d '{{}}'{signed}")
    if functions:
        fname = functions[0].metadata.name  # type: ignore[attr-defined]
        try_lines.append(f"  kumo invoke {fname} --payload '{{}}' --url {base_url}")
    if tables:
        lines.append("Tables (DynamoDB API at the gateway URL): " + ", ".join(tables))
        try_lines.append(
            f"  python -c \"import boto3; print(boto3.client('dynamodb', endpoint_url='{base_url}', "
            f"region_name='us-east-1').scan(TableName='{tables[0]}')['Items'])\""
        )
    if try_lines:
        lines.append("Try:")
        lines.extend(try_lines)
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)

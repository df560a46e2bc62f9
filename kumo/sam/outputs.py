"""The template's `Outputs` with Kumo values (pure), shown as `sam deploy` shows them.

Values are evaluated like any property (`!GetAtt Fn.Arn` is the Kumo ARN, `!Ref Fn` its name). The
endpoints an output builds the AWS way are made Kumo URLs once the gateway's address is known
(:func:`resolve_urls`): `https://API.execute-api.REGION.amazonaws.com/STAGE/path` ->
`BASE/API/STAGE/path` (an Api on the `$default` stage: `BASE/API/$default/path`), and a queue URL
(`!Ref Queue`) -> `BASE/000000000000/NAME`, the URL GetQueueUrl gives. An output Kumo has no value
for is listed with the reason; an output whose `Condition` is false is left out, as CloudFormation does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kumo.sam.intrinsics import NO_VALUE, Context, Unresolved, evaluate
from kumo.sam.loader import TemplateError
from kumo.sam.names import ACCOUNT, REGION
from kumo.sam.state import Build, Output

_API_URL = re.compile(r"https?://([a-z0-9-]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?(/[^\s\"',]*)?")
_QUEUE_URL = re.compile(r"https?://sqs\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/(\d{12})/([A-Za-z0-9_-]{1,80})")
API_TYPES = ("AWS::Serverless::Api", "AWS::Serverless::HttpApi")


def _output_context(build: Build) -> Context:
    """The build's context, plus the AWS-shaped endpoints outputs use (made Kumo URLs later)."""
    names, context = build.names, build.context

    def ref(logical_id: str) -> Any:
        if names.types.get(logical_id) == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{names.names[logical_id]}"
        return context.ref(logical_id)

    def get_att(logical_id: str, attribute: str) -> Any:
        if names.types.get(logical_id) in API_TYPES and attribute == "ApiEndpoint":
            return f"https://{names.names[logical_id]}.execute-api.{REGION}.amazonaws.com"
        if names.types.get(logical_id) == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return ref(logical_id)
        return context.get_att(logical_id, attribute)

    return dataclasses.replace(context, ref=ref, get_att=get_att)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def evaluate_outputs(outputs: Mapping[str, Any], build: Build) -> list[Output]:
    """Each output's value (or the reason Kumo has none); `Export` is reported unmapped."""
    context = _output_context(build)
    result: list[Output] = []
    for logical_id, output in outputs.items():
        if not isinstance(output, dict) or "Value" not in output:
            raise TemplateError(f"Outputs.{logical_id} needs a Value")
        condition = output.get("Condition")
        if condition is not None and not build.context.condition(condition):
            continue
        if "Export" in output:
            build.unmapped(f"Outputs.{logical_id}.Export", "Output", "Kumo has no cross-stack exports")
        try:
            description = _text(evaluate(output.get("Description", ""), context))
        except Unresolved:
            description = ""
        try:
            value = evaluate(output["Value"], context)
        except Unresolved as exc:
            result.append(Output(logical_id, None, description, str(exc)))
            continue
        except TemplateError as exc:
            raise TemplateError(f"Outputs.{logical_id}.Value: {exc}") from None
        result.append(Output(logical_id, None if value is NO_VALUE else _text(value), description))
    return result


def manifest_stages(manifests: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Each Api manifest's name -> its stage names (none listed: the implicit `$default`)."""
    return {
        manifest["metadata"]["name"]: [stage["name"] for stage in manifest["spec"].get("stages") or []] or ["$default"]
        for manifest in manifests
        if manifest.get("kind") == "Api"
    }


def resolve_urls(value: str, base_url: str, stages: Mapping[str, Iterable[str]]) -> str:
    """`value` with its API Gateway and SQS URLs made Kumo URLs at `base_url` (other URLs unchanged);
    `stages`: each Api's stage names (an Api on `$default` has no stage in its AWS URL)."""
    base = base_url.rstrip("/")

    def api(match: re.Match[str]) -> str:
        name, path = match.group(1), match.group(2) or ""
        if name not in stages:
            return match.group(0)
        return f"{base}/{name}{'/$default' if '$default' in stages[name] else ''}{path}"

    def queue(match: re.Match[str]) -> str:
        return f"{base}/{match.group(1)}/{match.group(2)}"

    return _QUEUE_URL.sub(queue, _API_URL.sub(api, value))


def output_lines(outputs: Iterable[Output], base_url: str, stages: Mapping[str, Iterable[str]]) -> list[str]:
    """One line per output, `Key = value  (Description)`, or `Key: not available in Kumo: reason`."""
    lines = []
    for output in outputs:
        if output.value is None:
            lines.append(f"{output.logical_id}: not available in Kumo: {output.reason or 'no value'}")
            continue
        line = f"{output.logical_id} = {resolve_urls(output.value, base_url, stages)}"
        lines.append(f"{line}  ({output.description})" if output.description else line)
    return lines

"""Translate a SAM template into Kumo manifests: parameters, conditions, Globals, names, then mappers."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kumo.sam.apis import implicit_api_resources, map_api
from kumo.sam.events import IMPLICIT_HTTP_API, IMPLICIT_REST_API
from kumo.sam.functions import map_function
from kumo.sam.intrinsics import Context
from kumo.sam.layers import map_layer
from kumo.sam.loader import SAM_TRANSFORM, TemplateError, load_template
from kumo.sam.names import Names, explicit_name, kube_name
from kumo.sam.outputs import evaluate_outputs
from kumo.sam.queues import map_queue
from kumo.sam.state import Build, Resource, Translation
from kumo.sam.tables import map_dynamodb_table, map_simple_table

#: Resource type -> (the property holding its explicit name, what it is called).
NAMED = {
    "AWS::Serverless::Function": ("FunctionName", "FunctionName"),
    "AWS::Serverless::SimpleTable": ("TableName", "TableName"),
    "AWS::DynamoDB::Table": ("TableName", "TableName"),
    "AWS::Serverless::Api": ("Name", "Name"),
    "AWS::Serverless::HttpApi": ("Name", "Name"),
    "AWS::Serverless::LayerVersion": ("LayerName", None),
    "AWS::SQS::Queue": ("QueueName", None),
}
MAPPERS: dict[str, Callable[[Resource], None]] = {
    "AWS::Serverless::Function": map_function,
    "AWS::Serverless::SimpleTable": map_simple_table,
    "AWS::DynamoDB::Table": map_dynamodb_table,
    "AWS::Serverless::LayerVersion": map_layer,
    "AWS::SQS::Queue": map_queue,
}
GLOBAL_SECTIONS = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::SimpleTable": "SimpleTable",
}


def merge_globals(global_props: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: the resource wins for scalars, maps are merged, lists are concatenated."""
    result = copy.deepcopy(dict(global_props))
    for key, value in props.items():
        base = result.get(key)
        if isinstance(base, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            result[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            result[key] = base + value
        else:
            result[key] = value
    return result


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))


def parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Each parameter's value: the override, else its Default (TemplateError for a missing or bad one)."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"--parameter-overrides: {', '.join(unknown)}: no such parameter in the template")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        if name in overrides:
            value: Any = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default: give it with --parameter-overrides {name}=VALUE")
        allowed = spec.get("AllowedValues")
        if allowed is not None and str(value) not in [str(a) for a in allowed]:
            raise TemplateError(f"parameter {name}: {value!r} is not one of {', '.join(map(str, allowed))}")
        kind = str(spec.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            value = [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value)
        elif kind == "Number":
            try:
                float(str(value))
            except ValueError:
                raise TemplateError(f"parameter {name}: {value!r} is not a number") from None
            value = str(value)
        else:
            value = value if isinstance(value, str) else str(value)
        values[name] = value
    return values


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`["Key=Value", "ParameterKey=K,ParameterValue=V"]` (both SAM CLI forms) -> a dict."""
    overrides: dict[str, str] = {}
    for item in items:
        for part in item.split() if " " in item.strip() else [item]:
            if part.startswith("ParameterKey="):
                key_part, _, value_part = part.partition(",")
                key, value = key_part.partition("=")[2], value_part.partition("=")[2]
            else:
                key, sep, value = part.partition("=")
                if not sep:
                    raise TemplateError(f"--parameter-overrides: {part!r} is not Key=Value")
            if not key:
                raise TemplateError(f"--parameter-overrides: {part!r} has no key")
            overrides[key] = value
    return overrides


def _names(resources: Mapping[str, dict[str, Any]], context: Context) -> Names:
    from kumo.sam.intrinsics import evaluate

    names: dict[str, str] = {}
    types: dict[str, str] = {}
    streams: set[str] = set()
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        types[logical_id] = kind
        stream = (resource.get("Properties") or {}).get("StreamSpecification")
        if kind == "AWS::DynamoDB::Table" and isinstance(stream, dict) and stream.get("StreamViewType"):
            streams.add(logical_id)
        if kind not in NAMED:
            continue
        prop, what = NAMED[kind]
        given = (resource.get("Properties") or {}).get(prop)
        if given is None:
            name = logical_id if what is None else kube_name(logical_id)
        else:
            value = evaluate(given, context)
            name = str(value) if what is None else explicit_name(value, what, logical_id)
        names[logical_id] = name
    for logical_id, kind in (
        (IMPLICIT_REST_API, "AWS::Serverless::Api"),
        (IMPLICIT_HTTP_API, "AWS::Serverless::HttpApi"),
    ):
        names.setdefault(logical_id, kube_name(logical_id))
        types.setdefault(logical_id, kind)
    return Names(names, types, frozenset(streams))


def translate(
    text: str,
    *,
    base_dir: Path,
    overrides: Mapping[str, str] | None = None,
    where: str = "template",
    exists: Callable[[Path], bool] = Path.is_file,
) -> Translation:
    """Kumo manifests for the SAM template `text`; relative paths are relative to `base_dir`."""
    template = load_template(text, where)
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if SAM_TRANSFORM not in transforms:
        raise TemplateError(f"{where}: Transform must be {SAM_TRANSFORM}")
    context = Context(
        parameters=parameter_values(template.get("Parameters") or {}, overrides or {}),
        conditions=template.get("Conditions") or {},
        mappings=template.get("Mappings") or {},
    )
    globals_ = template.get("Globals") or {}
    raw: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(f"{where}: resource {logical_id} needs a Type")
        condition = resource.get("Condition")
        if condition is not None and not context.condition(condition):
            continue  # not created, as CloudFormation does
        raw[logical_id] = resource
    names = _names(raw, context)
    context.ref, context.get_att = names.ref, names.get_att
    build = Build(names, context, base_dir, exists=exists)
    explicit_apis: dict[str, Resource] = {}
    for logical_id, resource in raw.items():
        kind = resource["Type"]
        props = resource.get("Properties") or {}
        if kind in GLOBAL_SECTIONS:
            props = merge_globals(globals_.get(GLOBAL_SECTIONS[kind]) or {}, props)
        item = Resource(logical_id, kind, props, build)
        build_method = (resource.get("Metadata") or {}).get("BuildMethod")
        if build_method is not None:
            build.unmapped(
                f"{logical_id}.Metadata.BuildMethod", kind, "Kumo installs requirements.txt beside CodeUri only"
            )
        if kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
            explicit_apis[logical_id] = item
        elif kind in MAPPERS:
            MAPPERS[kind](item)
        else:
            build.unmapped(logical_id, kind, f"Kumo has no equivalent of {kind}")
    implicit = implicit_api_resources(build, set(explicit_apis), globals_)
    for item in [*explicit_apis.values(), *implicit]:
        map_api(item, build.apis.get(names.names[item.logical_id]))
    for api_name, entry in build.apis.items():
        if api_name not in {names.names[i.logical_id] for i in [*explicit_apis.values(), *implicit]}:
            for route in entry.routes:
                build.unmapped(route.source, f"{entry.kind} event", f"Api {api_name!r} is not in the template")
    outputs = template.get("Outputs") or {}
    if not isinstance(outputs, dict):
        raise TemplateError(f"{where}: Outputs must be a mapping")
    build.result.outputs = evaluate_outputs(outputs, build)
    return build.result

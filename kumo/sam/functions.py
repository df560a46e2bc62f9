"""`AWS::Serverless::Function` -> a Kumo `Function` (pure apart from looking for requirements.txt)."""

from __future__ import annotations

import re
from typing import Any

from kumo.models.function import HANDLER_PATTERN, SUPPORTED_RUNTIMES
from kumo.sam.deployment import AUTO_ALIAS_ANNOTATION, DEPLOYMENT_ANNOTATION, check_deployment_type
from kumo.sam.events import map_events
from kumo.sam.invoke_config import async_config
from kumo.sam.loader import TemplateError
from kumo.sam.names import layer_from_arn
from kumo.sam.state import Resource, as_int

HANDLED = {
    "FunctionName",
    "Handler",
    "Runtime",
    "CodeUri",
    "InlineCode",
    "Environment",
    "MemorySize",
    "Timeout",
    "EphemeralStorage",
    "Layers",
    "AutoPublishAlias",
    "DeploymentPreference",
    "ReservedConcurrentExecutions",
    "ProvisionedConcurrencyConfig",
    "EventInvokeConfig",
    "Events",
    "Description",
    "Tags",
    "Architectures",
    "PackageType",
}
REASONS = {
    "Policies": "Kumo does not enforce IAM policies: a function's access key may call every Kumo API",
    "Role": "Kumo does not enforce IAM roles: a function's access key may call every Kumo API",
    "VpcConfig": "Kumo functions run on the host's network; there are no VPCs",
    "Tracing": "Kumo has no X-Ray tracing",
    "DeadLetterQueue": "use EventInvokeConfig destinations; DeadLetterQueue is not mapped",
    "FunctionUrlConfig": "Kumo has no function URLs (use an HttpApi event)",
}


def _code(resource: Resource, runtime: str) -> dict[str, Any] | None:
    build = resource.build
    inline = resource.get("InlineCode")
    if inline is not None:
        name = "bootstrap" if runtime.startswith("provided") else "index.py"
        return {"inline": {name: str(inline)}}
    uri = resource.get("CodeUri")
    if uri is None:
        uri = "."  # `sam build` takes the template's folder
    if not isinstance(uri, str):
        build.unmapped(f"{resource.logical_id}.CodeUri", resource.type, "code in S3 is not available to Kumo")
        return None
    if uri.startswith("s3://"):
        build.unmapped(f"{resource.logical_id}.CodeUri", resource.type, "code in S3 is not available to Kumo")
        return None
    if uri.endswith(".zip"):
        return {"zip": uri}
    code: dict[str, Any] = {"path": uri}
    requirements = f"{uri.rstrip('/')}/requirements.txt" if uri not in (".", "./") else "requirements.txt"
    if build.exists(build.base_dir / requirements):
        code["requirements"] = requirements  # installed as `sam build` does
    return code


def _environment(resource: Resource) -> dict[str, str]:
    env = resource.get("Environment") or {}
    variables = env.get("Variables") or {} if isinstance(env, dict) else {}
    if not isinstance(variables, dict):
        raise TemplateError(f"{resource.logical_id}.Environment.Variables must be a mapping")
    return {str(k): v if isinstance(v, str) else _scalar(v) for k, v in variables.items()}


def _scalar(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def map_function(resource: Resource) -> None:
    """Add the Function manifest (or report it unmapped) and its routes and queue sources."""
    build = resource.build
    name = build.names.names[resource.logical_id]
    package_type = resource.get("PackageType", "Zip")
    runtime = resource.get("Runtime")
    if package_type == "Image":
        build.unmapped(resource.logical_id, resource.type, "image functions need a cluster (code.image), not mapped")
        return
    if runtime not in SUPPORTED_RUNTIMES:
        build.unmapped(
            resource.logical_id,
            resource.type,
            f"runtime {runtime!r} is not supported by Kumo (supported: {', '.join(SUPPORTED_RUNTIMES)})",
        )
        return
    code = _code(resource, runtime)
    if code is None:
        return
    handler = resource.get("Handler")
    if runtime.startswith("provided") and not re.fullmatch(HANDLER_PATTERN, str(handler or "")):
        handler = "bootstrap.handler"  # a custom runtime's bootstrap ignores it; Kumo wants module.function
    spec: dict[str, Any] = {"runtime": runtime, "handler": handler, "code": code}
    environment = _environment(resource)
    if environment:
        spec["environment"] = environment
    if "MemorySize" in resource.properties:
        spec["memory"] = as_int(resource.get("MemorySize"), f"{resource.logical_id}.MemorySize")
    if "Timeout" in resource.properties:
        spec["timeout"] = f"{as_int(resource.get('Timeout'), f'{resource.logical_id}.Timeout')}s"
    storage = resource.get("EphemeralStorage")
    if isinstance(storage, dict) and "Size" in storage:
        spec["ephemeralStorage"] = as_int(storage["Size"], f"{resource.logical_id}.EphemeralStorage.Size")
    layers, _ = resource.try_get("Layers", [])
    if layers:
        spec["layers"] = [layer_from_arn(str(layer)) for layer in layers]
    if "ReservedConcurrentExecutions" in resource.properties:
        reserved = as_int(resource.get("ReservedConcurrentExecutions"), "ReservedConcurrentExecutions")
        spec["concurrency"] = {"reserved": reserved}
    provisioned = resource.get("ProvisionedConcurrencyConfig")
    if isinstance(provisioned, dict) and "ProvisionedConcurrentExecutions" in provisioned:
        warm = as_int(provisioned["ProvisionedConcurrentExecutions"], "ProvisionedConcurrentExecutions")
        spec["scaling"] = {"minInstances": warm, "maxInstances": max(warm, 10)}
    invoke_config = async_config(resource, name)
    if invoke_config:
        spec["async"] = invoke_config
    annotations: dict[str, str] = {}
    target = name
    alias = resource.get("AutoPublishAlias")
    if alias is not None:
        spec["publish"] = True
        annotations[AUTO_ALIAS_ANNOTATION] = str(alias)
        target = f"{name}:{alias}"  # SAM points event sources at the alias
        preference = resource.get("DeploymentPreference")
        if isinstance(preference, dict) and preference.get("Enabled", True) not in (False, "false"):
            annotations[DEPLOYMENT_ANNOTATION] = check_deployment_type(preference.get("Type"))
            for key in ("Hooks", "Alarms", "TriggerConfigurations"):
                if key in preference:
                    build.unmapped(
                        f"{resource.logical_id}.DeploymentPreference.{key}",
                        resource.type,
                        "Kumo shifts traffic without CodeDeploy hooks, alarms or triggers",
                    )
    elif "DeploymentPreference" in resource.properties and alias is None:
        build.unmapped(
            f"{resource.logical_id}.DeploymentPreference", resource.type, "needs AutoPublishAlias (as in SAM)"
        )
    sources = map_events(resource, target)
    if sources:
        spec["events"] = sources
    resource.report_unknown(HANDLED, REASONS)
    build.manifest("Function", name, spec, annotations)

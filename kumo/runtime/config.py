"""What a function instance needs to know about its function (plain data, no I/O)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Lambda's limit for the init phase (seconds).
INIT_TIMEOUT_S = 10.0

#: Environment variables of the host that the platform forwards to functions in standalone mode.
PLATFORM_ENV_PASSTHROUGH = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


@dataclass(frozen=True)
class FunctionConfig:
    """One function as an instance runs it."""

    name: str
    handler: str
    runtime: str
    code_dir: Path
    version: str = "$LATEST"
    memory_mb: int = 128
    timeout_s: float = 3.0
    environment: Mapping[str, str] = field(default_factory=dict)
    platform_environment: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account_id: str = "000000000000"
    command: Sequence[str] | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"


class ConfigError(ValueError):
    """A ``KUMO_*`` variable is missing or malformed."""


def _json_map(env: Mapping[str, str], key: str) -> dict[str, str]:
    raw = env.get(key)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{key} is not valid JSON: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{key} must be a JSON object of strings")
    return value


def _command(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    if raw.lstrip().startswith("["):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"KUMO_COMMAND is not valid JSON: {exc}") from None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConfigError("KUMO_COMMAND must be a non-empty JSON list of strings")
        return value
    return shlex.split(raw)


def _number(env: Mapping[str, str], key: str, default: float, kind: type) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{key} must be positive, got {raw!r}")
    return value


def config_from_env(env: Mapping[str, str]) -> FunctionConfig:
    """Build a :class:`FunctionConfig` from ``KUMO_*`` variables (how a pod configures ``kumo runtime``).

    Required: ``KUMO_FUNCTION_NAME``, ``KUMO_HANDLER``, ``KUMO_RUNTIME``, ``KUMO_CODE_DIR``. Optional:
    ``KUMO_FUNCTION_VERSION``, ``KUMO_MEMORY_MB``, ``KUMO_TIMEOUT_S``, ``KUMO_REGION`` (else
    ``AWS_REGION``), ``KUMO_ACCOUNT_ID``, ``KUMO_COMMAND`` (JSON list or shell words),
    ``KUMO_ENVIRONMENT`` (JSON object: the user's variables), ``KUMO_PLATFORM_ENVIRONMENT`` (JSON
    object), and the host's ``AWS_ENDPOINT_URL*`` / credential variables are forwarded as platform
    environment too.
    """
    missing = [k for k in ("KUMO_FUNCTION_NAME", "KUMO_HANDLER", "KUMO_RUNTIME", "KUMO_CODE_DIR") if not env.get(k)]
    if missing:
        raise ConfigError(f"missing required variable(s): {', '.join(missing)}")
    platform = {k: v for k, v in env.items() if k in PLATFORM_ENV_PASSTHROUGH or k.startswith("AWS_ENDPOINT_URL_")}
    platform.update(_json_map(env, "KUMO_PLATFORM_ENVIRONMENT"))
    return FunctionConfig(
        name=env["KUMO_FUNCTION_NAME"],
        handler=env["KUMO_HANDLER"],
        runtime=env["KUMO_RUNTIME"],
        code_dir=Path(env["KUMO_CODE_DIR"]),
        version=env.get("KUMO_FUNCTION_VERSION") or "$LATEST",
        memory_mb=int(_number(env, "KUMO_MEMORY_MB", 128, int)),
        timeout_s=float(_number(env, "KUMO_TIMEOUT_S", 3.0, float)),
        environment=_json_map(env, "KUMO_ENVIRONMENT"),
        platform_environment=platform,
        region=env.get("KUMO_REGION") or env.get("AWS_REGION") or "us-east-1",
        account_id=env.get("KUMO_ACCOUNT_ID") or "000000000000",
        command=_command(env.get("KUMO_COMMAND")),
    )

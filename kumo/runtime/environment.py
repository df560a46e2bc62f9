"""The environment a function's language runtime starts with (pure, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from kumo.runtime.config import FunctionConfig

#: The only variables taken from the host's own environment: basics a process needs to run.
HOST_PASSTHROUGH = ("PATH", "HOME", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def log_stream_name(version: str, instance_id: str, now: dt.datetime) -> str:
    """``YYYY/MM/DD/[$LATEST]<instance id hex>``, as Lambda names its log streams."""
    return f"{now:%Y/%m/%d}/[{version}]{instance_id}"


def build_environment(
    config: FunctionConfig,
    *,
    runtime_api: str,
    instance_id: str,
    tmpdir: str,
    runtime_dir: str,
    host_env: Mapping[str, str],
    now: dt.datetime,
    python_path: Sequence[str] = (),
) -> dict[str, str]:
    """Lambda's variables, then the platform's, then the user's (the user's win).

    ``host_env`` contributes only :data:`HOST_PASSTHROUGH`; nothing else of the host leaks in.
    ``python_path`` entries (e.g. the SDK layer) go to ``PYTHONPATH``.
    """
    env: dict[str, str] = {k: host_env[k] for k in HOST_PASSTHROUGH if host_env.get(k)}
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(config.name),
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(config.version, instance_id, now),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "_HANDLER": config.handler,
            "LAMBDA_TASK_ROOT": str(config.code_dir),
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "TMPDIR": tmpdir,
            "TEMP": tmpdir,
            "TMP": tmpdir,
        }
    )
    if python_path:
        env["PYTHONPATH"] = ":".join(python_path)
    env.update(config.platform_environment)
    env.update(config.environment)
    return env

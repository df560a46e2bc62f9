"""A Function's version: a short stable hash of everything that changes what its instances run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from kumo.models import FunctionSpec

VERSION_LENGTH = 10


def function_version(spec: FunctionSpec, code_files: Mapping[str, str] | None = None) -> str:
    """Hash of code, runtime, handler, memory, timeout, environment and ephemeral storage.

    Scaling, concurrency and async settings are left out: changing them keeps the version.
    ``code_files`` is the content of a ``code.configMap`` (so editing that ConfigMap rolls a version).
    """
    essence = {
        "runtime": spec.runtime,
        "handler": spec.handler,
        "code": spec.code.model_dump(mode="json", by_alias=True, exclude_none=True),
        "codeFiles": dict(code_files) if code_files is not None else None,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "environment": dict(spec.environment),
        "ephemeralStorage": spec.ephemeral_storage,
    }
    text = json.dumps(essence, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:VERSION_LENGTH]

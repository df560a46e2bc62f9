"""Helpers shared by the runtime tests (imported as `runtime_support`)."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

from kumo.runtime.config import FunctionConfig
from kumo.runtime.invocation import Invocation


def write_function(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, code in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code))
    return root


def invocation(config: FunctionConfig, payload: bytes = b"{}", **kw: Any) -> Invocation:
    return Invocation(
        request_id=kw.pop("request_id", str(uuid.uuid4())), payload=payload, invoked_function_arn=config.arn, **kw
    )

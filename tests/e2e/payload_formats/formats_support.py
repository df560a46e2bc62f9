"""The manifest for the payload-format end-to-end tests, and how its functions find their libraries.

Function instances run on a plain ``python3.X`` with only boto3 made importable (Kumo's SDK layer).
The framework functions here need aws-lambda-powertools, Mangum and FastAPI, which are test
dependencies (the ``dev`` extra) installed in the test interpreter's environment: until functions can
ship their own packages, each such Function sets ``spec.environment.PYTHONPATH`` to that environment's
site-packages, and its runtime is the test interpreter's own ``python3.X`` so compiled wheels
(pydantic-core) match. A user ``PYTHONPATH`` replaces the SDK layer's; boto3 is in the same
site-packages, so nothing is lost.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: The runtime whose interpreter matches the test environment's compiled packages.
RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def site_packages_path() -> str:
    """``PYTHONPATH`` naming the test environment's site-packages (purelib, then platlib if different)."""
    paths = sysconfig.get_paths()
    return ":".join(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def app_function(name: str, module: str, handler: str) -> dict[str, Any]:
    """A Function whose code is ``<module>.py`` from this folder, with the test packages importable."""
    source = (HERE / f"{module}.py").read_text(encoding="utf-8")
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {
            "runtime": RUNTIME,
            "handler": f"{module}.{handler}",
            "code": {"inline": {f"{module}.py": source}},
            "environment": {"PYTHONPATH": site_packages_path()},
            "memory": "256Mi",
            "timeout": "30s",
        },
    }


def api(name: str, payload_format: str, routes: list[tuple[str, str, str]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Api",
        "metadata": {"name": name},
        "spec": {
            "payloadFormat": payload_format,
            "routes": [{"method": m, "path": p, "function": f} for m, p, f in routes],
            **spec,
        },
    }


def manifests() -> list[dict[str, Any]]:
    items = [("GET", "/items/{id}"), ("POST", "/items"), ("ANY", "/files/{proxy+}")]
    echo_routes = [(m, p, "echo-v1") for m, p in items]
    echo_routes += [("GET", f"/{name}", "echo-v1") for name in ("cookies", "image", "bare", "malformed")]
    echo_routes += [("GET", "/broken", "broken")]
    return [
        app_function("echo-v1", "fn_echo", "handler"),
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "broken"},
            "spec": {
                "runtime": RUNTIME,
                "handler": "app.handler",
                "code": {"inline": {"app.py": "def handler(event, context):\n    raise ValueError('boom')\n"}},
            },
        },
        app_function("pt-rest", "fn_powertools_app", "rest_handler"),
        app_function("pt-http", "fn_powertools_app", "http_handler"),
        app_function("mangum", "fn_mangum_app", "handler"),
        # Payload 1.0 with a named stage and binaryMediaTypes; an unlisted type is passed as text.
        api(
            "rest",
            "1.0",
            echo_routes,
            binaryMediaTypes=["image/*", "application/octet-stream"],
            stages=[{"name": "dev", "variables": {"tier": "gold"}}],
        ),
        # The same function as 2.0: bare results are fine there, and binaryMediaTypes applies too.
        api("http", "2.0", echo_routes, binaryMediaTypes=["application/x-kumo"]),
        # Frameworks, unchanged, on the $default stage (no path prefix to strip).
        api("pt-rest", "1.0", [("ANY", "/{proxy+}", "pt-rest")]),
        api("pt-http", "2.0", [("ANY", "/{proxy+}", "pt-http")]),
        api("mangum-v1", "1.0", [("ANY", "/{proxy+}", "mangum")]),
        api("mangum-v2", "2.0", [("ANY", "/{proxy+}", "mangum")]),
    ]

"""Real apps from requirements.txt behind Api routes, through a real `kumo up` (issue 15).

A Powertools app (APIGatewayHttpResolver, Logger) and a Flask app through the `apig-wsgi` adapter,
each deployed with `code.path` + `code.requirements`: pip inside `kumo up` installs them into the
function's package, so the functions import their own copies, never the test venv's.
"""

from __future__ import annotations

import json
import os
import sysconfig
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kumo_up import KumoUp
from support import wait_until

POWERTOOLS_APP = """
import os
import aws_lambda_powertools
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError

logger = Logger(service="orders")
app = APIGatewayHttpResolver()
ORDERS = {"1": {"id": "1", "item": "hat"}}


@app.get("/orders/<order_id>")
def get_order(order_id: str):
    logger.info("order looked up", extra={"order_id": order_id})
    if order_id not in ORDERS:
        raise NotFoundError(f"no order {order_id}")
    return {"order": ORDERS[order_id], "module": aws_lambda_powertools.__file__,
            "task_root": os.environ["LAMBDA_TASK_ROOT"]}


@app.post("/orders")
def create_order():
    body = app.current_event.json_body
    if not isinstance(body, dict) or "item" not in body:
        raise BadRequestError("item is required")
    order = {"id": str(len(ORDERS) + 1), "item": body["item"]}
    ORDERS[order["id"]] = order
    return {"order": order}, 201


@logger.inject_lambda_context
def handler(event, context):
    return app.resolve(event, context)
"""

FLASK_APP = """
import os
import apig_wsgi
import flask
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/hello/<name>")
def hello(name):
    response = jsonify(name=name, greeting=request.args.get("greeting", "hello"),
                       tags=request.args.getlist("tag"), flask=flask.__file__, adapter=apig_wsgi.__file__,
                       task_root=os.environ["LAMBDA_TASK_ROOT"])
    response.headers["X-Served-By"] = "flask"
    response.set_cookie("seen", name)
    return response


@app.post("/forms")
def form():
    return jsonify(form=request.form.to_dict(flat=False), type=request.mimetype), 201


@app.post("/json")
def post_json():
    data = request.get_json()
    return jsonify(received=data, count=len(data["items"])), 202


handler = apig_wsgi.make_lambda_handler(app)
"""

POWERTOOLS_REQUIREMENTS = "aws-lambda-powertools==3.37.0\n"
FLASK_REQUIREMENTS = "Flask==3.1.3\napig-wsgi==2.20.0\n"


def function(name: str, path: str) -> dict[str, Any]:
    spec = {"runtime": "python3.11", "handler": "app.handler", "code": {"path": path, "requirements": f"{path}.txt"}}
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Function", "metadata": {"name": name}, "spec": spec}


def api(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Api", "metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    workdir = tmp_path_factory.mktemp("apps")
    manifests = workdir / "manifests"
    for folder, source, requirements in [
        ("orders", POWERTOOLS_APP, POWERTOOLS_REQUIREMENTS),
        ("web", FLASK_APP, FLASK_REQUIREMENTS),
    ]:
        (manifests / folder).mkdir(parents=True)
        (manifests / folder / "app.py").write_text(source)
        (manifests / f"{folder}.txt").write_text(requirements)
    up = KumoUp(
        [
            function("orders", "orders"),
            function("web", "web"),
            # a named stage: Powertools strips `/dev` from rawPath itself (APIGatewayProxyEventV2.path)
            api(
                "shop",
                {"routes": [{"method": "ANY", "path": "/{proxy+}", "function": "orders"}], "stages": [{"name": "dev"}]},
            ),
            # the `$default` stage: no prefix in rawPath, which apig-wsgi passes to Flask as PATH_INFO
            api(
                "site", {"payloadFormat": "2.0", "routes": [{"method": "ANY", "path": "/{proxy+}", "function": "web"}]}
            ),
        ],
        workdir,
    )
    try:
        yield up
    finally:
        up.stop()


def assert_from_package(kumo: KumoUp, module_file: str, task_root: str, distribution: str) -> None:
    """The module was imported from the function's own package, built by pip in the state dir."""
    packages = kumo.state_dir.resolve() / "packages"
    assert module_file.startswith(task_root + os.sep), (module_file, task_root)
    for test_venv in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]}:
        assert not module_file.startswith(test_venv), module_file  # not the test venv's copy
    # the package dir as is, or the sandbox's copy of it for the function's uid (local/sandbox.py)
    built = [p for p in packages.iterdir() if p.name in task_root and (p / distribution).is_dir()]
    assert len(built) == 1, (task_root, sorted(p.name for p in packages.iterdir()))


def test_powertools_app(kumo: KumoUp) -> None:
    base = f"{kumo.url}/shop/dev"
    found = httpx.get(f"{base}/orders/1", timeout=60)
    assert found.status_code == 200, found.text
    assert found.headers["content-type"] == "application/json"
    body = found.json()
    assert body["order"] == {"id": "1", "item": "hat"}
    assert_from_package(kumo, body["module"], body["task_root"], "aws_lambda_powertools")

    created = httpx.post(f"{base}/orders", json={"item": "scarf"}, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json() == {"order": {"id": "2", "item": "scarf"}}
    assert httpx.get(f"{base}/orders/2", timeout=30).json()["order"] == {"id": "2", "item": "scarf"}

    bad = httpx.post(f"{base}/orders", json={"name": "x"}, timeout=30)
    assert (bad.status_code, bad.json()) == (400, {"statusCode": 400, "message": "item is required"})
    missing = httpx.get(f"{base}/orders/99", timeout=30)
    assert (missing.status_code, missing.json()) == (404, {"statusCode": 404, "message": "no order 99"})
    # a path the Api routes (ANY /{proxy+}) but the resolver does not: Powertools' own 404, not the gateway's
    unrouted = httpx.get(f"{base}/customers/1", timeout=30)
    assert (unrouted.status_code, unrouted.json()) == (404, {"statusCode": 404, "message": "Not found"})

    def logged() -> list[dict[str, Any]]:
        """Powertools' JSON lines in the function's instance logs (state dir `logs/<function>/`)."""
        lines = [
            line
            for log in sorted((kumo.state_dir / "logs" / "orders").glob("*.log"))
            for line in log.read_text().splitlines()
            if '"order looked up"' in line
        ]
        return [json.loads(line) for line in lines]

    wait_until(lambda: len(logged()) >= 3, timeout=10, what="Powertools Logger lines")
    records = logged()
    assert [r["order_id"] for r in records] == ["1", "2", "99"]
    assert all(r["service"] == "orders" and r["level"] == "INFO" for r in records)
    # inject_lambda_context read Kumo's Lambda context
    assert records[0]["function_name"] == "orders" and records[0]["cold_start"] is True
    assert records[1]["cold_start"] is False
    assert kumo.output().count("installing aws-lambda-powertools==3.37.0") == 1


def test_flask_app_through_apig_wsgi(kumo: KumoUp) -> None:
    base = f"{kumo.url}/site/$default"
    hello = httpx.get(f"{base}/hello/ada", params=[("greeting", "hi there"), ("tag", "a"), ("tag", "b")], timeout=60)
    assert hello.status_code == 200, hello.text
    assert hello.headers["content-type"] == "application/json"
    assert hello.headers["x-served-by"] == "flask"
    assert hello.cookies["seen"] == "ada"
    body = hello.json()
    assert (body["name"], body["greeting"], body["tags"]) == ("ada", "hi there", ["a", "b"])
    assert_from_package(kumo, body["flask"], body["task_root"], "flask")
    assert_from_package(kumo, body["adapter"], body["task_root"], "apig_wsgi")

    form = httpx.post(f"{base}/forms", data={"size": "L", "color": ["red", "blue"]}, timeout=30)
    assert form.status_code == 201, form.text
    assert form.json() == {
        "form": {"size": ["L"], "color": ["red", "blue"]},
        "type": "application/x-www-form-urlencoded",
    }

    posted = httpx.post(f"{base}/json", json={"items": [1, 2, 3]}, timeout=30)
    assert (posted.status_code, posted.json()) == (202, {"received": {"items": [1, 2, 3]}, "count": 3})

    missing = httpx.get(f"{base}/nothing/here", timeout=30)
    assert missing.status_code == 404 and "Not Found" in missing.text  # Flask's own 404 page
    assert missing.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{base}/forms", timeout=30).status_code == 405  # Flask: method not allowed
    assert "installing Flask==3.1.3, apig-wsgi==2.20.0" in kumo.output()

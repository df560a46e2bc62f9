"""What ``kumo up`` prints: URLs and curl lines that work."""

from __future__ import annotations

from types import SimpleNamespace as NS

from kumo_gateway.local.banner import banner, example_path


def test_example_path_fills_parameters():
    assert example_path("/items/{id}") == "/items/1"
    assert example_path("/files/{proxy+}") == "/files/a/b"
    assert example_path("/plain") == "/plain"


def test_banner_lists_functions_apis_and_curl_lines():
    fn = NS(metadata=NS(name="hello"), spec=NS(runtime="python3.12", handler="app.handler"))
    route = NS(method="GET", path="/hello")
    post = NS(method="POST", path="/items")
    api = NS(metadata=NS(name="hello"), spec=NS(stages=[NS(name="dev")], routes=[route, post]))
    text = banner("http://127.0.0.1:8080", [fn], [api])
    assert "curl 'http://127.0.0.1:8080/hello/dev/hello'" in text
    assert "curl -X POST 'http://127.0.0.1:8080/hello/dev/items'" in text
    assert "curl -X POST http://127.0.0.1:8080/2015-03-31/functions/hello/invocations" in text
    assert "hello (python3.12, handler app.handler)" in text


def test_banner_lists_tables_with_a_boto3_line():
    text = banner("http://127.0.0.1:8080", [], [], ["todo"])
    assert "Tables (DynamoDB API at the gateway URL): todo" in text
    assert ".scan(TableName='todo')" in text

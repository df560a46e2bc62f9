"""The todo example end to end: ``kumo up examples/todo``, HTTP calls like curl's, boto3 inside the function."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from tables_support import clients, start_kumo

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "todo"


@pytest.fixture(scope="module")
def todo(tmp_path_factory):
    docs = [doc for path in sorted(EXAMPLE.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    kumo = start_kumo(tmp_path_factory.mktemp("todo"), docs)
    try:
        yield kumo
    finally:
        kumo.stop()


def test_todo_example(todo):
    base = f"{todo.url}/todo/dev/items"
    with httpx.Client(timeout=60) as http:
        created = http.post(base, json={"title": "buy milk"})
        assert created.status_code == 201, created.text
        item = created.json()
        assert item["title"] == "buy milk" and item["id"]
        second = http.post(base, json={"title": "walk"}).json()
        listed = http.get(base)
        assert listed.status_code == 200
        assert {i["id"] for i in listed.json()["items"]} == {item["id"], second["id"]}
        got = http.get(f"{base}/{item['id']}")
        assert got.status_code == 200 and got.json()["title"] == "buy milk"
        bad = http.post(base, content=b"not json")
        assert bad.status_code == 400 and "message" in bad.json()
        assert http.delete(f"{base}/{item['id']}").status_code == 200
        missing = http.get(f"{base}/{item['id']}")
        assert missing.status_code == 404 and "not found" in missing.json()["message"]
        assert http.delete(f"{base}/{item['id']}").status_code == 404
    ddb, _ = clients(todo)
    ids = [i["id"]["S"] for i in ddb.scan(TableName="todo")["Items"]]
    assert ids == [second["id"]]  # the function wrote through the same router boto3 reads from

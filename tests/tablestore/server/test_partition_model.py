"""Property-based: Query, Scan and UpdateItem on a real partition server match a sorted-dict model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from partition_support import N, S, describe

from kumo_tablestore.numbers import format_number
from kumo_tablestore.server import PartitionServer


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A partition server running on its own event loop thread for the whole module."""
    loop = asyncio.new_event_loop()
    server = PartitionServer(data_dir=Path(tmp_path_factory.mktemp("model")) / "p", durability="off")
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=30)
        yield server.url
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def _op(http: httpx.Client, name: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = http.post(f"/op/{name}", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


sort_keys = st.integers(-40, 40).map(lambda i: Decimal(i) / 4)
pks = st.sampled_from(["a", "b", "c"])
writes = st.lists(
    st.one_of(
        st.tuples(st.just("put"), pks, sort_keys, st.integers(-5, 5)),
        st.tuples(st.just("add"), pks, sort_keys, st.integers(-5, 5)),
        st.tuples(st.just("del"), pks, sort_keys, st.just(0)),
    ),
    max_size=25,
)
conditions = st.one_of(
    st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), sort_keys, st.just(Decimal(0))),
    st.tuples(st.just("BETWEEN"), sort_keys, sort_keys),
    st.tuples(st.just("none"), st.just(Decimal(0)), st.just(Decimal(0))),
)


def _matches(op: str, sk: Decimal, a: Decimal, b: Decimal) -> bool:
    return {
        "=": sk == a,
        "<": sk < a,
        "<=": sk <= a,
        ">": sk > a,
        ">=": sk >= a,
        "BETWEEN": a <= sk <= b,
        "none": True,
    }[op]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(writes=writes, pk=pks, cond=conditions, forward=st.booleans(), limit=st.integers(1, 6))
def test_query_scan_update_match_model(
    base_url: str, writes: list[tuple[str, str, Decimal, int]], pk: str, cond: tuple, forward: bool, limit: int
) -> None:
    model: dict[tuple[str, Decimal], int] = {}
    with httpx.Client(base_url=base_url) as http:
        http.delete("/table")
        assert http.put("/table", json=describe(sk_type="N")).status_code == 200
        for kind, p, sk, v in writes:
            key = {"pk": S(p), "sk": N(format_number(sk))}
            if kind == "put":
                _op(http, "PutItem", {"Item": {**key, "v": N(v)}})
                model[(p, sk)] = v
            elif kind == "add":
                out = _op(
                    http,
                    "UpdateItem",
                    {
                        "Key": key,
                        "UpdateExpression": "ADD v :d",
                        "ExpressionAttributeValues": {":d": N(v)},
                        "ReturnValues": "UPDATED_NEW",
                    },
                )
                model[(p, sk)] = model.get((p, sk), 0) + v
                assert out["Attributes"] == {"v": N(model[(p, sk)])}
            else:
                _op(http, "DeleteItem", {"Key": key})
                model.pop((p, sk), None)

        op, a, b = cond
        if op == "BETWEEN" and a > b:
            a, b = b, a
        values: dict[str, Any] = {":p": S(pk)}
        text = "pk = :p"
        if op == "BETWEEN":
            text += " AND sk BETWEEN :a AND :b"
            values |= {":a": N(format_number(a)), ":b": N(format_number(b))}
        elif op != "none":
            text += f" AND sk {op} :a"
            values[":a"] = N(format_number(a))
        got: list[tuple[Decimal, int]] = []
        start = None
        for _ in range(200):
            body = {
                "KeyConditionExpression": text,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": forward,
                "Limit": limit,
            }
            if start:
                body["ExclusiveStartKey"] = start
            out = _op(http, "Query", body)
            assert len(out["Items"]) <= limit
            got += [(Decimal(i["sk"]["N"]), int(i["v"]["N"])) for i in out["Items"]]
            start = out.get("LastEvaluatedKey")
            if not start:
                break
        expected = sorted(
            ((sk, v) for (p, sk), v in model.items() if p == pk and _matches(op, sk, a, b)), reverse=not forward
        )
        assert got == expected

        scanned: list[tuple[str, Decimal, int]] = []
        start = None
        for _ in range(200):
            out = _op(http, "Scan", {"Limit": limit} | ({"ExclusiveStartKey": start} if start else {}))
            scanned += [(i["pk"]["S"], Decimal(i["sk"]["N"]), int(i["v"]["N"])) for i in out["Items"]]
            start = out.get("LastEvaluatedKey")
            if not start:
                break
        assert sorted(scanned) == sorted((p, sk, v) for (p, sk), v in model.items())

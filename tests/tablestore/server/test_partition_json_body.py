"""Answer bodies with stored JSON spliced in, and coroutines run eagerly without a Task."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from support import await_until

from kumo_tablestore.eager import run_eagerly
from kumo_tablestore.server import json_body
from kumo_tablestore.storage import dump_item

ITEM = {"pk": {"S": 'é\u2028"\\'}, "n": {"N": "1"}, "l": {"L": [{"NULL": True}]}}


def test_splice_equals_encoding_the_decoded_item() -> None:
    rest = {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}
    assert json_body.splice("Item", dump_item(ITEM), rest) == json_body.encode({"Item": ITEM, **rest})
    assert json_body.splice("Item", dump_item(ITEM), {}) == json_body.encode({"Item": ITEM})
    items = json_body.json_array([dump_item(ITEM), dump_item({"a": {"S": "b"}})])
    assert json.loads(json_body.splice("Items", items, {"Count": 2})) == {
        "Items": [ITEM, {"a": {"S": "b"}}],
        "Count": 2,
    }
    assert json_body.json_array([]) == b"[]"


def _outcomes() -> tuple[list[Any], Any]:
    seen: list[Any] = []
    return seen, lambda result, error: seen.append((result, error))


async def test_a_coroutine_that_never_waits_finishes_synchronously() -> None:
    async def now() -> int:
        return 7

    seen, done = _outcomes()
    run_eagerly(now(), done)
    assert seen == [(7, None)]


async def test_a_waiting_coroutine_resumes_when_its_future_is_done() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def later() -> int:
        await asyncio.sleep(0)
        return await future + 1

    seen, done = _outcomes()
    run_eagerly(later(), done)
    assert seen == []
    for _ in range(3):
        await asyncio.sleep(0)
    assert seen == []
    future.set_result(41)
    await await_until(lambda: seen, what="the coroutine to finish")
    assert seen == [(42, None)]


async def test_errors_go_to_done() -> None:
    async def fails() -> None:
        await asyncio.to_thread(lambda: None)
        raise ValueError("boom")

    seen, done = _outcomes()
    run_eagerly(fails(), done)
    await await_until(lambda: seen, what="the error to reach done")
    assert len(seen) == 1 and isinstance(seen[0][1], ValueError)


def test_a_foreign_yield_is_an_error() -> None:
    class Odd:
        def __await__(self) -> Any:
            yield "not a future"

    async def odd() -> None:
        await Odd()

    seen, done = _outcomes()
    run_eagerly(odd(), done)
    assert len(seen) == 1 and isinstance(seen[0][1], RuntimeError)

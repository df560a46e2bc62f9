"""Expression benchmark: parse + resolve + evaluate a typical condition, with and without the parse cache.

Run: ``.venv/bin/python bench/expressions.py [seconds-per-case]``. Prints operations per second.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from kumo_tablestore.expressions import (
    clear_cache,
    compile_update,
    evaluate,
    parse_condition,
    parse_update,
    resolve,
)
from kumo_tablestore.expressions.update import apply_update

CONDITION = "attribute_exists(#pk) AND #st = :active AND (size(tags) > :zero OR begins_with(sk, :pre))"
UPDATE = "SET #st = :active, hits = if_not_exists(hits, :zero) + :one REMOVE tmp ADD tags :tag"
NAMES = {"#pk": "pk", "#st": "status"}
VALUES = {
    ":active": {"S": "active"},
    ":zero": {"N": "0"},
    ":pre": {"S": "order#"},
    ":one": {"N": "1"},
    ":tag": {"SS": ["x"]},
}
ITEM = {
    "pk": {"S": "user#1"},
    "sk": {"S": "order#42"},
    "status": {"S": "active"},
    "tags": {"SS": ["a", "b"]},
    "hits": {"N": "41"},
    "tmp": {"S": "gone"},
}


def condition_cached() -> None:
    evaluate(resolve(parse_condition(CONDITION), NAMES, VALUES), ITEM)


def condition_uncached() -> None:
    clear_cache()
    condition_cached()


def update_cached() -> None:
    apply_update(resolve(parse_update(UPDATE), {"#st": "status"}, VALUES), ITEM)


def update_uncached() -> None:
    clear_cache()
    apply_update(compile_update(UPDATE, {"#st": "status"}, VALUES), ITEM)


def rate(fn: Callable[[], None], seconds: float) -> float:
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            fn()
        count += 100
    return count / (time.perf_counter() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    for name, fn in [
        ("condition parse+resolve+evaluate (cached parse)", condition_cached),
        ("condition parse+resolve+evaluate (no cache)", condition_uncached),
        ("update parse+resolve+apply (cached parse)", update_cached),
        ("update parse+resolve+apply (no cache)", update_uncached),
    ]:
        print(f"{name:52s} {rate(fn, seconds):>10,.0f} ops/s")


if __name__ == "__main__":
    main()

"""Pure checks of the combined crash test (test_tables_combined_crash.py) over what it read back: the
stream's records per key, the transactions they show, and the GSI against the base table."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

Item = dict[str, Any]


def by_key(records: Iterable[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """Stream records' ``dynamodb`` parts per item key, in the order the shards returned them."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        body = r["dynamodb"]
        out.setdefault(body["Keys"][key]["S"], []).append({"eventName": r["eventName"], **body})
    return out


def chain_breaks(per_key: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Where a key's records do not chain: the first is not an INSERT, or a record's old image is not the
    previous record's new image (a record missing, duplicated or out of order)."""
    breaks = []
    for k, records in per_key.items():
        if records[0]["eventName"] != "INSERT" or "OldImage" in records[0]:
            breaks.append(f"{k}: starts with {records[0]['eventName']}")
        for prev, cur in itertools.pairwise(records):
            if cur.get("OldImage") != prev.get("NewImage"):
                breaks.append(
                    f"{k} at {cur['SequenceNumber']}: old image {cur.get('OldImage')} != {prev.get('NewImage')}"
                )
    return breaks


def transaction_sides(per_key: dict[str, list[dict[str, Any]]], tx_attr: str, amount_attr: str) -> dict[str, list]:
    """Transaction id -> ``[(key, change of amount_attr)]`` of the records that wrote that id."""
    out: dict[str, list] = {}
    for k, records in per_key.items():
        for r in records:
            new, old = r.get("NewImage") or {}, r.get("OldImage") or {}
            if r["eventName"] != "MODIFY" or new.get(tx_attr) == old.get(tx_attr):
                continue
            delta = int(new[amount_attr]["N"]) - int(old[amount_attr]["N"])
            out.setdefault(new[tx_attr]["S"], []).append((k, delta))
    return out


def partial_transactions(sides: dict[str, list]) -> dict[str, list]:
    """Transactions the stream shows other than as exactly two items whose changes cancel out."""
    return {t: s for t, s in sides.items() if len(s) != 2 or len({k for k, _ in s}) != 2 or sum(d for _, d in s)}


def project(item: Item, keys: Iterable[str], non_key: Iterable[str]) -> Item:
    """An item as a GSI with ``INCLUDE`` projection holds it (keys and the included attributes)."""
    names = {*keys, *non_key}
    return {n: v for n, v in item.items() if n in names}


def canonical(items: Iterable[Item]) -> list[str]:
    """Items as sorted JSON strings: order-free equality with readable differences."""
    return sorted(json.dumps(i, sort_keys=True) for i in items)

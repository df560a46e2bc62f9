"""The GSI feed of one base partition: index operations from its change log (or a backfill scan).

Per GSI the partition keeps ``index_feed/<name>`` in its metadata: ``cursor`` (the change sequence
up to which every target has acknowledged) and ``scan`` (``None``/a key: backfilling from that key;
``"done"``). A feeder (the gateway's :mod:`kumo_gateway.dynamodb.index_feeder`) asks for the next
operations, applies them to the partitions that own the entries (by the GSI partition key's slot)
and then acknowledges, which moves the cursor. Nothing is lost between: until acknowledged the same
operations are produced again, and their targets skip what they already applied.
"""

from __future__ import annotations

import base64
from typing import Any

from kumo_tablestore import keys
from kumo_tablestore.indexes.definitions import IndexDef
from kumo_tablestore.indexes.store import entry_ops
from kumo_tablestore.storage import load_item

DONE = "done"


def state_name(index: str) -> str:
    return f"index_feed/{index}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _target(meta: Any, pk_enc: bytes) -> int:
    return meta.partition_index if meta.slot_map is None else meta.slot_map.partition_of(pk_enc)


def sync_states(part: Any, old: dict[str, IndexDef], new: dict[str, IndexDef]) -> None:
    """After a description change (no write in progress): start feeds of new GSIs, purge removed indexes."""
    engine = part.engine
    for name, index in new.items():
        if index.kind == "GSI" and engine.get_meta(state_name(name)) is None:
            # Everything up to now comes from the scan, everything after from the log.
            engine.set_meta(state_name(name), {"cursor": engine.last_sequence, "scan": None})
    for name in old:
        if name not in new:
            part.indexes.purge(name)
            if engine.get_meta(state_name(name)) is not None:
                engine.delete_meta(state_name(name))


def feed(part: Any, limit: int = 500) -> dict[str, Any]:
    """The next operations of every GSI: ``{name: {"upto", "scan", "backfilling", "ops": {target: [...]}}}``.

    Operations are ``[seq, entry key (base64), projected item | None]``; seq 0 marks a backfill put.
    """
    meta = part.meta
    if meta is None:
        return {}
    out: dict[str, Any] = {}
    records = None
    for name, index in part.indexes.definitions().items():
        if index.kind != "GSI":
            continue
        state = part.engine.get_meta(state_name(name))
        if state is None:
            continue
        ops: dict[int, list[Any]] = {}
        entry: dict[str, Any] = {
            "cursor": state["cursor"],
            "upto": state["cursor"],
            "from_scan": state["scan"],
            "scan": state["scan"],
            "ops": ops,
        }
        if state["scan"] != DONE:
            start = None if state["scan"] is None else unb64(state["scan"])
            last = None
            n = 0
            for key, raw in part.engine.scan(start):
                n += 1
                last = key
                _add(ops, meta, index, 0, key, None, load_item(raw))
                if n >= limit:
                    break
            entry["scan"] = DONE if n < limit or last is None else _b64(last)
            entry["backfilling"] = True
        else:
            if records is None:
                records = part.engine.read_change_log(min_cursor(part), limit)
            for record in records:
                if record.seq is None or record.seq <= state["cursor"]:
                    continue
                base = keys.encode_key(record.keys, meta.pk, meta.sk)
                _add(ops, meta, index, record.seq, base, record.old_image, record.new_image)
                entry["upto"] = record.seq
            entry["backfilling"] = False
        out[name] = {**entry, "ops": {str(t): v for t, v in ops.items()}}
    return out


def min_cursor(part: Any) -> int:
    cursors = [
        s["cursor"]
        for name, index in part.indexes.definitions().items()
        if index.kind == "GSI" and (s := part.engine.get_meta(state_name(name))) is not None and s["scan"] == DONE
    ]
    return min(cursors) if cursors else part.engine.last_sequence


def _add(ops: dict[int, list[Any]], meta: Any, index: IndexDef, seq: int, base: bytes, old: Any, new: Any) -> None:
    for key, value in entry_ops(index, base, old, new):
        pk_enc = keys.unescape(key[len(index.prefix) :])[0]
        ops.setdefault(_target(meta, pk_enc), []).append([seq, _b64(key), value])


def acknowledge(part: Any, acks: dict[str, Any]) -> None:
    """Move cursors (never backwards) and scan positions after the targets applied a feed."""
    for name, ack in acks.items():
        state = part.engine.get_meta(state_name(name))
        if state is None:
            continue
        cursor = max(int(state["cursor"]), int(ack.get("upto", 0)))
        scan = state["scan"]
        new_scan = ack.get("scan", scan)
        if (
            scan != DONE
            and new_scan is not None
            and (new_scan == DONE or scan is None or unb64(new_scan) > unb64(scan))
        ):
            scan = new_scan
        if (cursor, scan) != (state["cursor"], state["scan"]):
            part.engine.set_meta(state_name(name), {"cursor": cursor, "scan": scan})


def backfilling(part: Any, name: str) -> bool:
    state = part.engine.get_meta(state_name(name))
    return state is not None and state["scan"] != DONE


def pending(part: Any) -> bool:
    """Whether the change log holds records some GSI feed has not acknowledged."""
    for name, index in part.indexes.definitions().items():
        if index.kind != "GSI":
            continue
        state = part.engine.get_meta(state_name(name))
        if state is not None and (state["scan"] != DONE or state["cursor"] < part.engine.last_sequence):
            return True
    return False

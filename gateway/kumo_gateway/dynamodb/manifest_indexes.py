"""Secondary indexes declared in Table manifests (pure): the CreateTable fields a spec asks for, and how a
manifest edit changes a served table's indexes.

A manifest edit adds GSIs (built by backfill, ``CREATING`` until done, as UpdateTable's ``Create``),
removes GSIs (as ``Delete``) and re-provisions kept ones (as ``Update``). What DynamoDB cannot change
is refused with a message naming the field, and the table keeps what it has: its LSIs, and the keys or
projection of an existing GSI (rename it to build a new index).
"""

from __future__ import annotations

from typing import Any

from kumo_gateway.dynamodb.index_descriptions import GSI_FIELD, LSI_FIELD


def _manifest_projection(projection: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"ProjectionType": projection.type}
    if projection.non_key_attributes:
        out["NonKeyAttributes"] = list(projection.non_key_attributes)
    return out


def manifest_indexes(spec: Any, defs: list[dict[str, str]]) -> dict[str, Any]:
    """The CreateTable index fields of a Table manifest's spec (``kumo.models.table.TableSpec``).

    Appends the index key attributes to ``defs`` (the request's AttributeDefinitions) in place.
    """
    known = {d["AttributeName"] for d in defs}

    def key(attribute: Any, key_type: str) -> dict[str, str]:
        if attribute.name not in known:
            known.add(attribute.name)
            defs.append({"AttributeName": attribute.name, "AttributeType": attribute.type})
        return {"AttributeName": attribute.name, "KeyType": key_type}

    out: dict[str, Any] = {}
    if spec.global_secondary_indexes:
        gsis = []
        for gsi in spec.global_secondary_indexes:
            schema = [key(gsi.partition_key, "HASH")] + ([key(gsi.sort_key, "RANGE")] if gsi.sort_key else [])
            index: dict[str, Any] = {
                "IndexName": gsi.name,
                "KeySchema": schema,
                "Projection": _manifest_projection(gsi.projection),
            }
            if gsi.provisioned_throughput is not None:
                index["ProvisionedThroughput"] = {
                    "ReadCapacityUnits": gsi.provisioned_throughput.read_capacity_units,
                    "WriteCapacityUnits": gsi.provisioned_throughput.write_capacity_units,
                }
            gsis.append(index)
        out[GSI_FIELD] = gsis
    if spec.local_secondary_indexes:
        out[LSI_FIELD] = [
            {
                "IndexName": lsi.name,
                "KeySchema": [key(spec.partition_key, "HASH"), key(lsi.sort_key, "RANGE")],
                "Projection": _manifest_projection(lsi.projection),
            }
            for lsi in spec.local_secondary_indexes
        ]
    return out


def _typed(index: dict[str, Any], types: dict[str, str]) -> tuple[Any, ...]:
    """An index's definition as compared across edits: typed keys and projection."""
    keys = tuple((e["AttributeName"], e["KeyType"], types.get(e["AttributeName"])) for e in index["KeySchema"])
    projection = index.get("Projection") or {}
    return keys, projection.get("ProjectionType"), tuple(projection.get("NonKeyAttributes") or ())


def _types(description: dict[str, Any]) -> dict[str, str]:
    return {d["AttributeName"]: d["AttributeType"] for d in description.get("AttributeDefinitions") or []}


def _names(indexes: list[dict[str, Any]]) -> str:
    return ", ".join(i["IndexName"] for i in indexes) or "none"


def reconcile(stored: dict[str, Any], wanted: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``stored`` (a served table's description, same table keys as ``wanted``) with the manifest's GSIs;
    plus one problem per change that cannot be made (the stored index is kept)."""
    old_types, new_types = _types(stored), _types(wanted)
    problems: list[str] = []
    old_lsis, new_lsis = stored.get(LSI_FIELD) or [], wanted.get(LSI_FIELD) or []
    if {i["IndexName"]: _typed(i, old_types) for i in old_lsis} != {
        i["IndexName"]: _typed(i, new_types) for i in new_lsis
    }:
        problems.append(
            "spec.localSecondaryIndexes: the local secondary indexes of an existing table cannot change "
            f"(table has {_names(old_lsis)}, manifest asks for {_names(new_lsis)}); the table keeps its own"
        )
    old_gsis = {g["IndexName"]: g for g in stored.get(GSI_FIELD) or []}
    new_gsis = {g["IndexName"]: g for g in wanted.get(GSI_FIELD) or []}
    kept: list[dict[str, Any]] = []
    for name, old in old_gsis.items():
        new = new_gsis.get(name)
        if new is None:
            continue  # removed: Delete
        if _typed(old, old_types) != _typed(new, new_types):
            problems.append(
                f"spec.globalSecondaryIndexes[{name}]: the keys and projection of an existing index cannot change "
                "(give the changed index another name to build it); the table keeps the index as it is"
            )
            kept.append(old)
        else:
            kept.append({**old, "ProvisionedThroughput": dict(new["ProvisionedThroughput"])})
    types = {e["AttributeName"]: old_types[e["AttributeName"]] for e in stored["KeySchema"]}
    for index in kept + list(old_lsis):
        types.update({e["AttributeName"]: old_types[e["AttributeName"]] for e in index["KeySchema"]})
    gsis = list(kept)
    for name, new in new_gsis.items():
        if name in old_gsis:
            continue
        clash = [
            e["AttributeName"]
            for e in new["KeySchema"]
            if types.get(e["AttributeName"], new_types[e["AttributeName"]]) != new_types[e["AttributeName"]]
        ]
        if clash:
            problems.append(
                f"spec.globalSecondaryIndexes[{name}]: attribute {clash[0]} is {types[clash[0]]} in the table's "
                "other keys; the index is not created"
            )
            continue
        types.update({e["AttributeName"]: new_types[e["AttributeName"]] for e in new["KeySchema"]})
        gsis.append({**new, "IndexStatus": "CREATING"})
    out = dict(stored)
    if gsis:
        out[GSI_FIELD] = gsis
    else:
        out.pop(GSI_FIELD, None)
    out["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in types.items()]
    return out, problems

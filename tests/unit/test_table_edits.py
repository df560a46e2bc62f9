"""Table manifest edits against stored tables (pure): key-schema refusals name the field; settings merge."""

from __future__ import annotations

from kumo.models.table import Table
from kumo_gateway.local.table_edits import key_schema_problem, merged, wanted_description


def manifest(**spec) -> Table:
    base = {"partitionKey": {"name": "id", "type": "S"}}
    return Table.model_validate(
        {"apiVersion": "kumo.dev/v1alpha1", "kind": "Table", "metadata": {"name": "tbl"}, "spec": {**base, **spec}}
    )


def test_same_keys_no_problem_and_settings_merge() -> None:
    stored = wanted_description("tbl", manifest(), now=1.0)
    wanted = wanted_description("tbl", manifest(ttlAttribute="exp", partitions=4), now=2.0)
    assert key_schema_problem(stored, wanted) is None
    result = merged(stored, wanted)
    assert result["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert result["CreationDateTime"] == stored["CreationDateTime"]
    assert result["PartitionCount"] == stored["PartitionCount"]  # repartitioning is not an in-place setting


def test_key_changes_name_the_field() -> None:
    stored = wanted_description("tbl", manifest(), now=1.0)
    cases = [
        (manifest(partitionKey={"name": "pk", "type": "S"}), "spec.partitionKey", "id (S)", "pk (S)"),
        (manifest(partitionKey={"name": "id", "type": "N"}), "spec.partitionKey", "id (S)", "id (N)"),
        (manifest(sortKey={"name": "sk", "type": "S"}), "spec.sortKey", "none", "sk (S)"),
    ]
    for changed, field, old, new in cases:
        problem = key_schema_problem(stored, wanted_description("tbl", changed))
        assert problem is not None and problem.startswith(f"{field}: the key schema of an existing table")
        assert f"table has {old}, manifest asks for {new}" in problem


def test_stream_edits_keep_enable_or_disable_the_stream() -> None:
    stored = wanted_description("tbl", manifest(stream={"viewType": "NEW_IMAGE"}), now=1.0)
    same = merged(stored, wanted_description("tbl", manifest(stream={"viewType": "NEW_IMAGE"}), now=2.0))
    assert same["LatestStreamArn"] == stored["LatestStreamArn"]  # a restart or unrelated edit keeps the stream
    changed = merged(stored, wanted_description("tbl", manifest(stream={"viewType": "KEYS_ONLY"}), now=3.0))
    assert changed["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert changed["LatestStreamArn"] != stored["LatestStreamArn"]
    removed = merged(changed, wanted_description("tbl", manifest(), now=4.0))
    assert removed["StreamSpecification"] == {"StreamEnabled": False}
    assert removed["LatestStreamArn"] == changed["LatestStreamArn"]
    again = merged(removed, wanted_description("tbl", manifest(), now=5.0))
    assert {k: v for k, v in again.items() if "Stream" in k} == {k: v for k, v in removed.items() if "Stream" in k}

"""Secondary indexes in Table manifests: model validation, the CreateTable fields a spec asks for, and
manifest edits against a served table (GSIs added, removed, re-provisioned; LSI/key changes refused)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kumo.models import API_VERSION, Table, format_validation_error
from kumo_gateway.dynamodb import descriptions
from kumo_gateway.local.table_edits import manifest_update, wanted_description

GSI = {"name": "by-email", "partitionKey": {"name": "email", "type": "S"}}
LSI = {"name": "by-status", "sortKey": {"name": "status", "type": "S"}}


def doc(**spec: Any) -> dict[str, Any]:
    base = {"partitionKey": {"name": "id", "type": "S"}, "sortKey": {"name": "ts", "type": "N"}}
    return {"apiVersion": API_VERSION, "kind": "Table", "metadata": {"name": "orders"}, "spec": base | spec}


def manifest(**spec: Any) -> Table:
    return Table.model_validate(doc(**spec))


def errors(**spec: Any) -> list[str]:
    with pytest.raises(ValidationError) as info:
        Table.model_validate(doc(**spec))
    return format_validation_error(info.value)


def test_manifest_indexes_become_create_table_fields() -> None:
    table = manifest(
        globalSecondaryIndexes=[
            GSI | {"sortKey": {"name": "ts", "type": "N"}, "projection": {"type": "INCLUDE", "nonKeyAttributes": ["a"]}}
        ],
        localSecondaryIndexes=[LSI | {"projection": {"type": "KEYS_ONLY"}}],
    )
    request = descriptions.manifest_request("orders", table.spec)
    assert request["AttributeDefinitions"] == [
        {"AttributeName": "id", "AttributeType": "S"},
        {"AttributeName": "ts", "AttributeType": "N"},
        {"AttributeName": "email", "AttributeType": "S"},
        {"AttributeName": "status", "AttributeType": "S"},
    ]
    assert request["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by-email",
            "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]},
        }
    ]
    assert request["LocalSecondaryIndexes"][0]["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"},
        {"AttributeName": "status", "KeyType": "RANGE"},
    ]
    described = wanted_description("orders", table, now=1.0)
    assert [g["IndexStatus"] for g in described["GlobalSecondaryIndexes"]] == ["ACTIVE"]
    assert described["GlobalSecondaryIndexes"][0]["IndexArn"].endswith(":table/orders/index/by-email")
    provisioned = manifest(
        billingMode="PROVISIONED",
        provisionedThroughput={"readCapacityUnits": 5, "writeCapacityUnits": 5},
        globalSecondaryIndexes=[GSI | {"provisionedThroughput": {"readCapacityUnits": 2, "writeCapacityUnits": 3}}],
    )
    gsi = wanted_description("orders", provisioned)["GlobalSecondaryIndexes"][0]
    assert gsi["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": 2,
        "WriteCapacityUnits": 3,
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"globalSecondaryIndexes": [GSI | {"name": "x"}]}, "spec.globalSecondaryIndexes[0].name:"),
        ({"globalSecondaryIndexes": [GSI, GSI]}, "spec.globalSecondaryIndexes[1].name: duplicate index name"),
        (
            {"globalSecondaryIndexes": [GSI], "localSecondaryIndexes": [LSI | {"name": "by-email"}]},
            "spec.localSecondaryIndexes[0].name: duplicate index name 'by-email'",
        ),
        (
            {"globalSecondaryIndexes": [GSI | {"partitionKey": {"name": "ts", "type": "S"}}]},
            "spec.globalSecondaryIndexes[0].partitionKey.type: attribute 'ts' is N elsewhere in this table",
        ),
        (
            {"globalSecondaryIndexes": [GSI | {"sortKey": {"name": "email", "type": "S"}}]},
            "spec.globalSecondaryIndexes[0].sortKey.name: must differ from partitionKey.name ('email')",
        ),
        (
            {"globalSecondaryIndexes": [GSI | {"projection": {"type": "INCLUDE"}}]},
            "spec.globalSecondaryIndexes[0].projection.nonKeyAttributes: is required when type is INCLUDE",
        ),
        (
            {"globalSecondaryIndexes": [GSI | {"projection": {"type": "ALL", "nonKeyAttributes": ["a"]}}]},
            "spec.globalSecondaryIndexes[0].projection.nonKeyAttributes: is only allowed when type is INCLUDE",
        ),
        (
            {
                "globalSecondaryIndexes": [
                    GSI | {"provisionedThroughput": {"readCapacityUnits": 1, "writeCapacityUnits": 1}}
                ]
            },
            "spec.globalSecondaryIndexes[0].provisionedThroughput: is only allowed when billingMode is PROVISIONED",
        ),
        (
            {
                "billingMode": "PROVISIONED",
                "provisionedThroughput": {"readCapacityUnits": 1, "writeCapacityUnits": 1},
                "globalSecondaryIndexes": [GSI],
            },
            "spec.globalSecondaryIndexes[0].provisionedThroughput: is required when billingMode is PROVISIONED",
        ),
        (
            {"globalSecondaryIndexes": [GSI | {"name": f"g{i:03}"} for i in range(21)]},
            "spec.globalSecondaryIndexes: must have at most 20",
        ),
        (
            {"localSecondaryIndexes": [LSI | {"name": f"l{i:03}"} for i in range(6)]},
            "spec.localSecondaryIndexes: must have at most 5",
        ),
        (
            {"localSecondaryIndexes": [LSI | {"sortKey": {"name": "id", "type": "S"}}]},
            "spec.localSecondaryIndexes[0].sortKey.name: must differ from the table's partitionKey.name ('id')",
        ),
    ],
)
def test_index_manifest_refusals(spec: dict[str, Any], expected: str) -> None:
    lines = errors(**spec)
    assert any(line.startswith(expected) for line in lines), lines


def test_lsi_needs_a_table_sort_key() -> None:
    bare = doc(localSecondaryIndexes=[LSI])
    del bare["spec"]["sortKey"]
    with pytest.raises(ValidationError) as info:
        Table.model_validate(bare)
    assert format_validation_error(info.value)[0].startswith("spec.localSecondaryIndexes: need a table sortKey")


def test_manifest_edit_adds_removes_and_reprovisions_gsis() -> None:
    prov = {"billingMode": "PROVISIONED", "provisionedThroughput": {"readCapacityUnits": 5, "writeCapacityUnits": 5}}
    units = {"provisionedThroughput": {"readCapacityUnits": 1, "writeCapacityUnits": 1}}
    other = {"name": "by-city", "partitionKey": {"name": "city", "type": "S"}} | units
    stored = wanted_description("orders", manifest(**prov, globalSecondaryIndexes=[GSI | units]), now=1.0)
    more = {"provisionedThroughput": {"readCapacityUnits": 4, "writeCapacityUnits": 2}}
    wanted = wanted_description("orders", manifest(**prov, globalSecondaryIndexes=[GSI | more, other]))
    updated, problems = manifest_update(stored, wanted)
    assert problems == []
    gsis = {g["IndexName"]: g for g in updated["GlobalSecondaryIndexes"]}
    assert gsis["by-email"]["IndexStatus"] == "ACTIVE"
    assert (gsis["by-email"]["ProvisionedThroughput"]["ReadCapacityUnits"], gsis["by-city"]["IndexStatus"]) == (
        4,
        "CREATING",
    )
    assert {d["AttributeName"] for d in updated["AttributeDefinitions"]} == {"id", "ts", "email", "city"}
    assert updated["TableId"] == stored["TableId"]
    # Removing every GSI removes the field and the index key definitions.
    removed, problems = manifest_update(updated, wanted_description("orders", manifest(**prov)))
    assert problems == [] and "GlobalSecondaryIndexes" not in removed
    assert {d["AttributeName"] for d in removed["AttributeDefinitions"]} == {"id", "ts"}
    # Applying the same manifest again changes nothing.
    again, _ = manifest_update(updated, wanted)
    assert again == updated


def test_manifest_edit_refuses_lsi_and_gsi_redefinition() -> None:
    stored = wanted_description("orders", manifest(globalSecondaryIndexes=[GSI], localSecondaryIndexes=[LSI]))
    changed = manifest(
        globalSecondaryIndexes=[GSI | {"projection": {"type": "KEYS_ONLY"}}],
        localSecondaryIndexes=[LSI | {"name": "by-other"}],
    )
    updated, problems = manifest_update(stored, wanted_description("orders", changed))
    assert problems[0].startswith("spec.localSecondaryIndexes: the local secondary indexes of an existing table")
    assert "table has by-status, manifest asks for by-other" in problems[0]
    assert problems[1].startswith("spec.globalSecondaryIndexes[by-email]: the keys and projection")
    assert updated["GlobalSecondaryIndexes"] == stored["GlobalSecondaryIndexes"]
    assert updated["LocalSecondaryIndexes"] == stored["LocalSecondaryIndexes"]
    assert updated["AttributeDefinitions"] == stored["AttributeDefinitions"]

"""Index and transaction capacity: the developer guide's cases, checked directly on the pure rules.

Cases from "Provisioned throughput considerations for Global Secondary Indexes" (write capacity units)
and "Capacity management for transactions"; then the partition's GSI buckets (``Throughput``) with a
clock the test moves.
"""

from __future__ import annotations

import pytest

from kumo_tablestore import capacity
from kumo_tablestore.capacity import Consumption
from kumo_tablestore.errors import GSI_THROUGHPUT_EXCEEDED, ProvisionedThroughputExceededException
from kumo_tablestore.indexes.definitions import parse_indexes
from kumo_tablestore.keys import encode_key
from kumo_tablestore.server.table_meta import TableMeta
from kumo_tablestore.server.throughput import Throughput, refuse_exhausted


def description(mode: str = "PROVISIONED", partitions: int = 1) -> dict:
    gsi_throughput = {"ReadCapacityUnits": 4, "WriteCapacityUnits": 2} if mode == "PROVISIONED" else None
    gsis = [
        {
            "IndexName": "byOwner",
            "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "ProvisionedThroughput": gsi_throughput,
        },
        {
            "IndexName": "byStatus",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": gsi_throughput,
        },
    ]
    return {
        "TableName": "orders",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in (("id", "S"), ("n", "N"), ("owner", "S"))
        ]
        + [{"AttributeName": "status", "AttributeType": "S"}, {"AttributeName": "day", "AttributeType": "S"}],
        "BillingModeSummary": {"BillingMode": mode},
        "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 6} if mode == "PROVISIONED" else {},
        "GlobalSecondaryIndexes": gsis,
        "LocalSecondaryIndexes": [
            {
                "IndexName": "byDay",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "day", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "PartitionCount": partitions,
    }


INDEXES = parse_indexes(description(), ("id", "n"))
KEY = encode_key({"id": {"S": "o1"}, "n": {"N": "1"}}, "id", "n")


def item(**attrs: str) -> dict:
    return {"id": {"S": "o1"}, "n": {"N": "1"}, **{k: {"S": v} for k, v in attrs.items()}}


def writes(old: dict | None, new: dict | None) -> dict[str, float]:
    used = capacity.index_writes(INDEXES.values(), KEY, old, new, Consumption())
    return {**{n: w for n, (_, w) in used.gsi.items()}, **{n: w for n, (_, w) in used.lsi.items()}}


def test_a_new_item_with_the_index_key_is_one_put_into_the_index() -> None:
    assert writes(None, item(owner="ann")) == {"byOwner": 1.0}
    assert writes(item(), item(owner="ann")) == {"byOwner": 1.0}  # an update defining the attribute


def test_changing_the_index_key_is_a_delete_and_a_put() -> None:
    assert writes(item(owner="ann"), item(owner="bob")) == {"byOwner": 2.0}


def test_removing_the_indexed_attribute_is_one_delete() -> None:
    assert writes(item(owner="ann", colour="red"), item(colour="red")) == {"byOwner": 1.0}
    # byStatus projects ALL: its entry changes too when it loses the attribute
    assert writes(item(owner="ann", status="new"), item(status="new")) == {"byOwner": 1.0, "byStatus": 1.0}
    assert writes(item(owner="ann"), None) == {"byOwner": 1.0}  # DeleteItem


def test_an_item_in_the_index_neither_before_nor_after_costs_nothing() -> None:
    assert writes(item(colour="red"), item(colour="blue")) == {}
    assert writes(None, None) == {}


def test_changing_only_projected_attributes_is_one_write_and_unprojected_ones_none() -> None:
    # byStatus projects ALL: another colour rewrites its entry; byOwner is KEYS_ONLY: nothing to write.
    assert writes(item(owner="ann", status="new", colour="red"), item(owner="ann", status="new", colour="blue")) == {
        "byStatus": 1.0
    }
    assert writes(item(status="new"), item(status="new")) == {}  # rewritten unchanged


def test_larger_entries_take_more_units_and_only_what_is_projected_counts() -> None:
    big = "x" * 1500  # an entry of about 1.5 KB: two units per write
    assert writes(None, item(status="new", notes=big)) == {"byStatus": 2.0}
    assert writes(item(status="new", notes=big), item(status="old", notes=big)) == {"byStatus": 4.0}
    assert writes(None, item(owner="ann", notes=big)) == {"byOwner": 1.0}  # KEYS_ONLY: the keys alone
    old, new = item(status="new", notes="x" * 3000), item(status="new", notes="y")
    assert writes(old, new) == {"byStatus": 3.0}  # the larger of the entry before and after


def test_lsi_writes_are_reported_as_the_lsi() -> None:
    assert writes(None, item(day="mon")) == {"byDay": 1.0}
    used = capacity.index_writes(INDEXES.values(), KEY, item(day="mon"), item(day="tue"), Consumption())
    assert used.lsi == {"byDay": (0.0, 2.0)} and used.gsi == {} and used.lsi_write == 2.0


def test_transactions_cost_twice_and_index_writes_do_not() -> None:
    # "3 transactional writes per second of 5 KB items: 3 x 5 x 2 = 30 WCUs"
    assert 3 * capacity.put_units(None, 5 * 1024, transactional=True) == 30.0
    # "5 transactional reads per second of 5 KB items: 5 x 2 (8 KB / 4 KB) x 2 = 20 RCUs"
    assert 5 * capacity.read_units(5 * 1024, consistent=True, transactional=True) == 20.0
    assert capacity.delete_units(None, transactional=True) == 2.0
    assert capacity.index_write_units(None, (b"k", {"a": {"S": "b"}})) == 1.0


def test_consumption_round_trips_through_the_transaction_protocol() -> None:
    used = Consumption(table_read=1.0, table_write=4.0)
    used.add_index("byOwner", write=2.0)
    used.add_index("byDay", write=1.0, local=True)
    back = Consumption.from_dict(used.to_dict())
    assert back == used
    total = Consumption()
    total.add(used)
    total.add(back)
    assert total.table_write == 8.0 and total.gsi == {"byOwner": (0.0, 4.0)} and total.lsi_write == 2.0


def test_table_meta_shares_each_gsi_throughput_over_the_partitions() -> None:
    meta = TableMeta.from_description(description(partitions=2))
    assert meta.provisioned == (5.0, 3.0)
    assert meta.gsi_provisioned == {"byOwner": (2.0, 1.0), "byStatus": (2.0, 1.0)}
    assert TableMeta.from_description(description("PAY_PER_REQUEST")).gsi_provisioned == {}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_gsi_buckets_are_their_own() -> None:
    clock = Clock()
    meta = TableMeta.from_description(description())
    t = Throughput(meta, clock)  # GSIs: 4 RCU / 2 WCU, 300 s of burst
    assert t.exhausted_indexes() == frozenset()
    used = Consumption(table_write=1.0)
    used.add_index("byOwner", write=600.0)
    used.add_index("byDay", write=1.0, local=True)
    t.charge(used)
    assert t.exhausted_indexes() == frozenset({"byOwner"})
    assert t.has_write_capacity()  # the table's bucket: 2 of 1800 units taken (the LSI's is the table's)

    refuse_exhausted(writes_of("byStatus"), t.exhausted_indexes())  # another GSI: allowed
    with pytest.raises(ProvisionedThroughputExceededException) as exc:
        refuse_exhausted(writes_of("byOwner"), t.exhausted_indexes())
    assert exc.value.message == GSI_THROUGHPUT_EXCEEDED

    clock.now = 1.0  # 2 units refilled
    assert t.exhausted_indexes() == frozenset()

    t.charge_index_read("byStatus", 1200.0)
    with pytest.raises(ProvisionedThroughputExceededException):
        t.admit_index_read("byStatus")
    t.admit_index_read("byOwner")
    t.admit_index_read("byDay")  # an LSI reads from the table's bucket
    assert t.has_read_capacity()


def test_on_demand_tables_have_no_buckets() -> None:
    t = Throughput(TableMeta.from_description(description("PAY_PER_REQUEST")), Clock())
    used = writes_of("byOwner", 10_000.0)
    t.charge(used)
    assert t.exhausted_indexes() == frozenset() and t.has_write_capacity()
    t.charge_index_read("byOwner", 10_000.0)
    t.admit_index_read("byOwner")


def test_update_table_keeps_a_gsi_bucket_and_drops_a_removed_one() -> None:
    clock = Clock()
    desc = description()
    t = Throughput(TableMeta.from_description(desc), clock)
    t.charge(writes_of("byOwner", 600.0))
    changed = {**desc, "GlobalSecondaryIndexes": [dict(desc["GlobalSecondaryIndexes"][0])]}
    changed["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] = {"ReadCapacityUnits": 4, "WriteCapacityUnits": 20}
    t.configure(TableMeta.from_description(changed))
    assert t.exhausted_indexes() == frozenset({"byOwner"})  # still in debt at the new rate
    clock.now = 0.5  # 10 units refilled at 20/s
    assert t.exhausted_indexes() == frozenset()


def writes_of(name: str, units: float = 1.0) -> Consumption:
    used = Consumption()
    used.add_index(name, write=units)
    return used

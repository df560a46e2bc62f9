"""TransactWriteItems/TransactGetItems against ``kumo up`` with real boto3 and PynamoDB, on the 3-partition
``items`` table: all or nothing, cancellation reasons in order, DynamoDB's errors, capacity, client
tokens, and concurrent transfers whose total never changes, seen by transactional readers.

Its own ``kumo up`` with one table (``items``, 3 partitions), so the transactions see no other test's load."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite
from tables_support import clients, start_kumo, table_manifest

from kumo_tablestore.keys import encode_value
from kumo_tablestore.partitioning import SlotMap

PARTITIONS = 3


@pytest.fixture(scope="module")
def tables_kumo(tmp_path_factory):
    up = start_kumo(tmp_path_factory.mktemp("kumo-tx"), [table_manifest("items", ("id", "S"), partitions=PARTITIONS)])
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def ddb(tables_kumo):
    return clients(tables_kumo)[0]


def _partition(key: str) -> int:
    return SlotMap.even(PARTITIONS).partition_of(encode_value({"S": key}))


def _keys_on_distinct_partitions(prefix: str, n: int = PARTITIONS) -> list[str]:
    """``n`` keys, one per partition (so a transaction over them spans every partition)."""
    found: dict[int, str] = {}
    i = 0
    while len(found) < n:
        key = f"{prefix}-{i}"
        found.setdefault(_partition(key), key)
        i += 1
    return [found[p] for p in sorted(found)]


def _key(i: str) -> dict:
    return {"id": {"S": i}}


def _get_all(ddb, ids: list[str]) -> list[dict | None]:
    items = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "items", "Key": _key(i)}} for i in ids])
    return [r.get("Item") for r in items["Responses"]]


def _transfer(frm: str, to: str, amount: int, **extra) -> list[dict]:
    return [
        {
            "Update": {
                "TableName": "items",
                "Key": _key(frm),
                "UpdateExpression": "SET bal = bal - :a",
                "ConditionExpression": "bal >= :a",
                "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                **extra,
            }
        },
        {
            "Update": {
                "TableName": "items",
                "Key": _key(to),
                "UpdateExpression": "SET bal = bal + :a",
                "ExpressionAttributeValues": {":a": {"N": str(amount)}},
            }
        },
    ]


def test_all_or_nothing_across_partitions_with_reasons_in_order(ddb):
    a, b, c = _keys_on_distinct_partitions("aon-" + uuid.uuid4().hex[:6])
    out = ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "items", "Item": {"id": {"S": k}, "bal": {"N": "10"}}}} for k in (a, b, c)
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["ConsumedCapacity"] == [{"TableName": "items", "CapacityUnits": 6.0, "WriteCapacityUnits": 6.0}]
    items = [
        {"Put": {"TableName": "items", "Item": {"id": {"S": a}, "bal": {"N": "0"}}}},
        *_transfer(b, c, 50, ReturnValuesOnConditionCheckFailure="ALL_OLD"),
    ]
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=items)
    err = exc.value.response
    assert err["Error"]["Code"] == "TransactionCanceledException"
    reasons = err["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None"]
    assert reasons[1]["Item"] == {"id": {"S": b}, "bal": {"N": "10"}}
    assert [int(i["bal"]["N"]) for i in _get_all(ddb, [a, b, c])] == [10, 10, 10]  # nothing applied

    ddb.transact_write_items(TransactItems=[*_transfer(b, c, 4), {"Delete": {"TableName": "items", "Key": _key(a)}}])
    got = _get_all(ddb, [a, b, c, "absent-" + uuid.uuid4().hex])
    assert got[0] is None and got[3] is None
    assert [int(got[1]["bal"]["N"]), int(got[2]["bal"]["N"])] == [6, 14]


def test_dynamodb_errors(ddb):
    k = "err-" + uuid.uuid4().hex
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "items", "Item": {"id": {"S": k}}}},
                {"Delete": {"TableName": "items", "Key": _key(k)}},
            ]
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "multiple operations on one item" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "no-such-table", "Item": {"id": {"S": k}}}}])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "no-such-table", "Key": _key(k)}}])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "items", "Item": {"id": {"S": f"{k}{i}"}}}} for i in range(101)]
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_client_request_token_is_idempotent(ddb):
    a, b = _keys_on_distinct_partitions("tok-" + uuid.uuid4().hex[:6], 2)
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "items", "Item": {"id": {"S": k}, "bal": {"N": "5"}}}} for k in (a, b)]
    )
    token = uuid.uuid4().hex
    for _ in range(3):  # applied once
        ddb.transact_write_items(TransactItems=_transfer(a, b, 1), ClientRequestToken=token)
    assert [int(i["bal"]["N"]) for i in _get_all(ddb, [a, b])] == [4, 6]
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=_transfer(a, b, 2), ClientRequestToken=token)
    assert exc.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    # A cancelled transaction does not keep its token: the retry runs again.
    token2 = uuid.uuid4().hex
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=_transfer(a, b, 100), ClientRequestToken=token2)
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "items", "Item": {"id": {"S": a}, "bal": {"N": "100"}}}}],
        ClientRequestToken=uuid.uuid4().hex,
    )
    ddb.transact_write_items(TransactItems=_transfer(a, b, 100), ClientRequestToken=token2)
    assert [int(i["bal"]["N"]) for i in _get_all(ddb, [a, b])] == [0, 106]


def test_conflicting_single_item_write_gets_transaction_conflict(ddb):
    """A PutItem while a transaction holds the item (held here by a TransactGetItems' read lock, which
    is taken and released within the call): either it wins the race or it fails with the conflict."""
    keys = _keys_on_distinct_partitions("conf-" + uuid.uuid4().hex[:6])
    for k in keys:
        ddb.put_item(TableName="items", Item={"id": {"S": k}, "bal": {"N": "1"}})
    stop = threading.Event()
    codes: set[str] = set()

    def read() -> None:
        while not stop.is_set():
            _get_all(ddb, keys)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for _ in range(400):
            try:
                ddb.put_item(TableName="items", Item={"id": {"S": keys[0]}, "bal": {"N": "1"}})
            except ClientError as exc:
                codes.add(exc.response["Error"]["Code"])
            if codes:
                break
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert codes == {"TransactionConflictException"}


def test_concurrent_transfers_keep_the_total_and_readers_never_see_part_of_one(ddb):
    accounts = _keys_on_distinct_partitions("acct-" + uuid.uuid4().hex[:6]) + [
        f"acct-x-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)
    ]
    start = 1000
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "items", "Item": {"id": {"S": k}, "bal": {"N": str(start)}}}} for k in accounts
        ]
    )
    total = start * len(accounts)
    errors: list[str] = []
    committed = [0]
    stop = threading.Event()

    def transfer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(60):
            frm, to = rng.sample(accounts, 2)
            try:
                ddb.transact_write_items(TransactItems=_transfer(frm, to, rng.randint(1, 30)))
                committed[0] += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    errors.append(exc.response["Error"]["Code"])

    def read() -> None:
        while not stop.is_set():
            try:
                balances = [int(i["bal"]["N"]) for i in _get_all(ddb, accounts)]
            except ClientError as exc:
                errors.append("reader: " + exc.response["Error"]["Code"])
                continue
            if sum(balances) != total or min(balances) < 0:
                errors.append(f"partial view: {balances}")

    writers = [threading.Thread(target=transfer, args=(s,)) for s in range(4)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert committed[0] > 100
    assert sum(int(i["bal"]["N"]) for i in _get_all(ddb, accounts)) == total


# ---- PynamoDB ---------------------------------------------------------------------------------------


def _pynamo(kumo):
    class Account(Model):
        class Meta:
            table_name = "items"
            host = kumo.url
            region = "us-east-1"
            aws_access_key_id = kumo.key.access_key_id
            aws_secret_access_key = kumo.key.secret_access_key
            max_retry_attempts = 0

        id = UnicodeAttribute(hash_key=True)
        bal = NumberAttribute(default=0)
        version = VersionAttribute()

    connection = Connection(
        host=kumo.url,
        region="us-east-1",
        aws_access_key_id=kumo.key.access_key_id,
        aws_secret_access_key=kumo.key.secret_access_key,
    )
    return Account, connection


def test_pynamodb_transactions_with_version_attributes(tables_kumo):
    Account, connection = _pynamo(tables_kumo)
    a_id, b_id, c_id = _keys_on_distinct_partitions("pyn-" + uuid.uuid4().hex[:6])
    with TransactWrite(connection=connection) as tw:
        for k in (a_id, b_id, c_id):
            tw.save(Account(k, bal=50))
    with TransactGet(connection=connection) as tg:
        fa, fb, fc = (tg.get(Account, k) for k in (a_id, b_id, c_id))
    a, b, c = fa.get(), fb.get(), fc.get()
    assert (a.bal, b.bal, c.bal, a.version) == (50, 50, 50, 1)

    with TransactWrite(connection=connection) as tw:
        tw.update(a, actions=[Account.bal.add(-20)], condition=Account.bal >= 20)
        tw.update(b, actions=[Account.bal.add(20)])
        tw.condition_check(Account, c_id, condition=Account.bal == 50)
    a.refresh(consistent_read=True)
    b.refresh(consistent_read=True)
    assert (a.bal, b.bal, a.version, b.version) == (30, 70, 2, 2)

    stale = Account.get(c_id, consistent_read=True)
    stale.version = 1
    c.bal = 99
    c.save()  # version 2 now: the stale copy's version condition fails
    stale.bal = 0
    with pytest.raises(TransactWriteError) as exc, TransactWrite(connection=connection) as tw:
        tw.update(a, actions=[Account.bal.add(-1)])
        tw.save(stale)
    assert exc.value.cause_response_code == "TransactionCanceledException"
    codes = [r.code if r else None for r in exc.value.cancellation_reasons]  # PynamoDB orders puts first
    assert sorted(codes, key=str) == ["ConditionalCheckFailed", None]
    a.refresh(consistent_read=True)
    assert a.bal == 30 and Account.get(c_id, consistent_read=True).bal == 99

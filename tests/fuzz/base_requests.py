"""Valid requests for the fuzzed ``kumo up`` (tables ``fuzz-items``: ``id`` S; ``fuzz-events``: ``pk`` S,
``sk`` N), and every single-point corruption of them: each JSON node in turn replaced by a value of another
type, by deep nesting or by a huge number, and each member in turn removed. Pure."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from model_requests import Deep

ITEM = {"id": {"S": "a"}, "n": {"N": "1"}, "m": {"M": {"x": {"L": [{"S": "y"}, {"NS": ["1", "2"]}]}}}}
EVENT_KEY = {"pk": {"S": "p"}, "sk": {"N": "5"}}

DYNAMODB: dict[str, dict[str, Any]] = {
    "PutItem": {
        "TableName": "fuzz-items",
        "Item": ITEM,
        "ConditionExpression": "attribute_not_exists(#n) OR #n < :v",
        "ExpressionAttributeNames": {"#n": "n"},
        "ExpressionAttributeValues": {":v": {"N": "10"}},
        "ReturnValues": "ALL_OLD",
    },
    "GetItem": {
        "TableName": "fuzz-items",
        "Key": {"id": {"S": "a"}},
        "ProjectionExpression": "#n, m.x[0]",
        "ExpressionAttributeNames": {"#n": "n"},
        "ConsistentRead": True,
    },
    "UpdateItem": {
        "TableName": "fuzz-events",
        "Key": EVENT_KEY,
        "UpdateExpression": "SET #c = if_not_exists(#c, :z) + :one, tags = list_append(if_not_exists(tags, :e), :t)",
        "ExpressionAttributeNames": {"#c": "count"},
        "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"}, ":e": {"L": []}, ":t": {"L": [{"S": "x"}]}},
        "ReturnValues": "UPDATED_NEW",
    },
    "DeleteItem": {"TableName": "fuzz-items", "Key": {"id": {"S": "zz"}}, "ReturnValues": "ALL_OLD"},
    "Query": {
        "TableName": "fuzz-events",
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "FilterExpression": "attribute_exists(#c)",
        "ExpressionAttributeNames": {"#c": "count"},
        "ExpressionAttributeValues": {":p": {"S": "p"}, ":a": {"N": "1"}, ":b": {"N": "9"}},
        "Limit": 5,
        "ExclusiveStartKey": EVENT_KEY,
        "ScanIndexForward": False,
    },
    "Scan": {
        "TableName": "fuzz-items",
        "Limit": 3,
        "Segment": 0,
        "TotalSegments": 2,
        "ExclusiveStartKey": {"id": {"S": "a"}},
        "ScanFilter": {"n": {"AttributeValueList": [{"N": "1"}], "ComparisonOperator": "EQ"}},
    },
    "BatchGetItem": {
        "RequestItems": {
            "fuzz-items": {"Keys": [{"id": {"S": "a"}}, {"id": {"S": "b"}}], "ProjectionExpression": "id"},
            "fuzz-events": {"Keys": [EVENT_KEY], "ConsistentRead": True},
        },
        "ReturnConsumedCapacity": "TOTAL",
    },
    "BatchWriteItem": {
        "RequestItems": {
            "fuzz-items": [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": {"id": {"S": "b"}}}}],
            "fuzz-events": [{"PutRequest": {"Item": {**EVENT_KEY, "expires": {"N": "1"}}}}],
        },
        "ReturnItemCollectionMetrics": "SIZE",
    },
    "DescribeTable": {"TableName": "fuzz-items"},
    "DescribeTimeToLive": {"TableName": "fuzz-events"},
    "UpdateTimeToLive": {
        "TableName": "fuzz-events",
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires"},
    },
    "UpdateTable": {
        "TableName": "fuzz-items",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    },
    "ListTables": {"Limit": 10, "ExclusiveStartTableName": "fuzz-a"},
    "CreateTable": {
        "TableName": "fuzz-new",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    },
    "DeleteTable": {"TableName": "fuzz-doomed"},
}

LAMBDA_BODIES: dict[str, dict[str, Any]] = {
    "CreateAlias": {
        "Name": "live",
        "FunctionVersion": "$LATEST",
        "Description": "d",
        "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.5}},
    },
    "UpdateAlias": {
        "FunctionVersion": "$LATEST",
        "Description": "d",
        "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.1}},
    },
    "PublishVersion": {"Description": "d", "CodeSha256": "abc", "RevisionId": "r"},
}

#: Replacements for a node: another JSON type each, deep nesting, huge numbers.
WRONG_VALUES: tuple[Any, ...] = ("x", "", 1, -1, 1.5, 10**400, True, None, [], ["x"], {}, {"S": 1}, Deep(100_000, "["))


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, (*path, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any, remove: bool = False) -> Any:
    if not path:
        return new
    out = copy.deepcopy(value)
    node = out
    for step in path[:-1]:
        node = node[step]
    if remove:
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return out


def corruptions(base: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(description, request)`` for each single-point corruption of ``base``."""
    for path in _paths(base):
        for wrong in WRONG_VALUES:
            yield f"{'/'.join(map(str, path))} = {wrong!r:.40}", _replace(base, path, wrong)
        if path:
            yield f"{'/'.join(map(str, path))} removed", _replace(base, path, None, remove=True)

"""POST /items stores the JSON body (it needs an "id"); GET /items/{id} returns the stored item."""

import json
import os
import uuid

import boto3
import six

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    if method == "POST":
        item = json.loads(event.get("body") or "{}")
        item.setdefault("id", str(uuid.uuid4()))
        item["greeting"] = os.environ["GREETING"]
        item["six"] = six.__version__
        TABLE.put_item(Item=item)
        return {"statusCode": 201, "body": json.dumps(item)}
    found = TABLE.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    if found is None:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    return {"statusCode": 200, "body": json.dumps(found)}

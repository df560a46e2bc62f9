"""A plain handler for payload formats 1.0 and 2.0: echoes the event, or answers with a chosen response shape."""

from __future__ import annotations

import base64
import json


def handler(event: dict, context: object) -> object:
    path = event.get("path") or event["rawPath"]  # 1.0 or 2.0
    if path.endswith("/cookies"):
        return {
            "statusCode": 200,
            "headers": {"X-Single": "one", "Set-Cookie": "a=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Multi": ["x", "y"]},
            "body": "",
        }
    if path.endswith("/image"):
        png = bytes(range(256))
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(png).decode(),
            "isBase64Encoded": True,
        }
    if path.endswith("/bare"):
        return {"no": "statusCode"}  # fine for 2.0, malformed for 1.0
    if path.endswith("/malformed"):
        return {"statusCode": 200, "body": {"not": "a string"}}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}

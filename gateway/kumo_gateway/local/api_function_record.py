"""The record of a function created through the Lambda API (``<state-dir>/api-functions/<name>.json``;
the check of an uploaded zip is :func:`kumo_gateway.lambda_.uploaded_zip.read_zip_bytes`, shared with the
cluster's backend)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from typing import Any

from kumo_gateway.lambda_.function_requests import FunctionSettings


@dataclasses.dataclass
class ApiFunction:
    name: str
    settings: FunctionSettings
    address: str
    size: int
    tags: dict[str, str]
    revision_id: str
    last_modified: str
    state: str = "Pending"
    state_reason: str = "The function is being created."
    state_reason_code: str = "Creating"
    last_update: str = "InProgress"
    last_update_reason: str = ""
    last_update_reason_code: str = ""

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "settings": self.settings.to_record(),
            "code": {"address": self.address, "size": self.size},
            "tags": self.tags,
            "revisionId": self.revision_id,
            "lastModified": self.last_modified,
        }

    @staticmethod
    def from_record(record: Mapping[str, Any]) -> ApiFunction:
        return ApiFunction(
            name=record["name"],
            settings=FunctionSettings.from_record(record["settings"]),
            address=record["code"]["address"],
            size=int(record["code"]["size"]),
            tags=dict(record.get("tags") or {}),
            revision_id=record["revisionId"],
            last_modified=record["lastModified"],
        )

    @property
    def code_sha256(self) -> str:
        return base64.b64encode(bytes.fromhex(self.address)).decode()

"""The `Table` resource: a DynamoDB-style table (keys, partitions, TTL, stream, billing)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from kumo.models.base import API_VERSION, ObjectMeta, Spec, invalid

#: DynamoDB's table name length limits (the name is `metadata.name`).
MIN_TABLE_NAME, MAX_TABLE_NAME = 3, 255


class KeyAttribute(Spec):
    """A key attribute: its name and scalar type (S string, N number, B binary)."""

    name: Annotated[str, Field(min_length=1, max_length=255)]
    type: Literal["S", "N", "B"]


class StreamSpec(Spec):
    """Change stream (DynamoDB Streams) and what each record carries."""

    view_type: Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


class ProvisionedThroughput(Spec):
    """Capacity units for `billingMode: PROVISIONED`."""

    read_capacity_units: Annotated[int, Field(ge=1)]
    write_capacity_units: Annotated[int, Field(ge=1)]


class TableSpec(Spec):
    """Key schema and table options."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.sortKey) || self.sortKey.name != self.partitionKey.name",
                    "message": "sortKey.name must differ from partitionKey.name",
                },
                {
                    "rule": "(has(self.billingMode) && self.billingMode == 'PROVISIONED') "
                    "== has(self.provisionedThroughput)",
                    "message": "provisionedThroughput is required with billingMode PROVISIONED "
                    "and not allowed otherwise",
                },
            ]
        }
    )

    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    partitions: Annotated[int, Field(ge=1, le=64, description="Storage partitions.")] = 1
    ttl_attribute: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    stream: StreamSpec | None = None
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    provisioned_throughput: ProvisionedThroughput | None = None

    @model_validator(mode="after")
    def _check(self) -> TableSpec:
        if self.sort_key is not None and self.sort_key.name == self.partition_key.name:
            raise invalid(f"must differ from partitionKey.name ({self.partition_key.name!r})", field="sortKey.name")
        if self.billing_mode == "PROVISIONED" and self.provisioned_throughput is None:
            raise invalid("is required when billingMode is PROVISIONED", field="provisionedThroughput")
        if self.billing_mode != "PROVISIONED" and self.provisioned_throughput is not None:
            raise invalid("is only allowed when billingMode is PROVISIONED", field="provisionedThroughput")
        return self


class Table(BaseModel):
    """A `kumo.dev/v1alpha1` `Table` object (`metadata.name` is the table name)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    api_version: Literal["kumo.dev/v1alpha1"] = API_VERSION
    kind: Literal["Table"] = "Table"
    metadata: ObjectMeta
    spec: TableSpec
    status: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_name(self) -> Table:
        if len(self.metadata.name) < MIN_TABLE_NAME:
            raise invalid(
                f"must be at least {MIN_TABLE_NAME} characters long for a table (DynamoDB's rule)",
                field="metadata.name",
            )
        return self

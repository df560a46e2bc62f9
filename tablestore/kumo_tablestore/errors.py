"""Exceptions shared by the table store, each mapping to one DynamoDB error ``__type``."""

from __future__ import annotations

from typing import Any

ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class DynamoError(Exception):
    """A DynamoDB-shaped error: ``{"__type": ..., "message": ...}`` with an HTTP status."""

    def __init__(self, type_name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.status = status

    @property
    def aws_type(self) -> str:
        """The full ``__type`` value, e.g. ``com.amazonaws.dynamodb.v20120810#ValidationException``."""
        return ERROR_PREFIX + self.type_name

    def to_dict(self) -> dict[str, Any]:
        """The JSON body DynamoDB sends for this error."""
        return {"__type": self.aws_type, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ValidationException(DynamoError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class ResourceNotFoundException(DynamoError):
    def __init__(self, message: str = "Requested resource not found") -> None:
        super().__init__("ResourceNotFoundException", message)


class ResourceInUseException(DynamoError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceInUseException", message)


#: DynamoDB's messages for a provisioned table, and for one of its GSIs, out of capacity (the same
#: text in ``ProvisionedThroughputExceededException`` and in a transaction's cancellation reason).
TABLE_THROUGHPUT_EXCEEDED = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
GSI_THROUGHPUT_EXCEEDED = (
    "The level of configured provisioned throughput for one or more global secondary indexes of the table was "
    "exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes "
    "with the UpdateTable API."
)


class ProvisionedThroughputExceededException(DynamoError):
    def __init__(self, message: str = TABLE_THROUGHPUT_EXCEEDED) -> None:
        super().__init__("ProvisionedThroughputExceededException", message)


class ItemCollectionSizeLimitExceededException(DynamoError):
    def __init__(self, message: str = "Item collection size limit exceeded") -> None:
        super().__init__("ItemCollectionSizeLimitExceededException", message)


class ConditionalCheckFailedException(DynamoError):
    """``item`` is the current item, for ``ReturnValuesOnConditionCheckFailure: ALL_OLD``."""

    def __init__(self, message: str = "The conditional request failed", item: dict[str, Any] | None = None) -> None:
        super().__init__("ConditionalCheckFailedException", message)
        self.item = item

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if self.item is not None:
            body["Item"] = self.item
        return body


class TransactionCanceledException(DynamoError):
    """``reasons`` is the ``CancellationReasons`` list, one entry per action."""

    def __init__(self, reasons: list[dict[str, Any]], message: str | None = None) -> None:
        codes = ", ".join(r.get("Code", "None") for r in reasons)
        text = message or f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
        super().__init__("TransactionCanceledException", text)
        self.reasons = reasons

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["CancellationReasons"] = self.reasons
        return body


class InternalServerError(DynamoError):
    def __init__(self, message: str = "Internal server error") -> None:
        super().__init__("InternalServerError", message, 500)

"""Why a request was refused, as AWS names it; each service renders it in its own shape (pure).

Lambda (REST-JSON) answers 403 with the type in ``x-amzn-ErrorType``; DynamoDB (JSON 1.0) answers
400 with ``{"__type": "com.amazon.coral.service#<Code>", "message": ...}``. botocore raises
``ClientError`` with ``Error.Code == <Code>`` from either.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AuthCode(StrEnum):
    MISSING = "MissingAuthenticationTokenException"
    INCOMPLETE = "IncompleteSignatureException"
    UNRECOGNIZED = "UnrecognizedClientException"
    INVALID_SIGNATURE = "InvalidSignatureException"
    ACCESS_DENIED = "AccessDeniedException"


#: The ``__type`` prefix AWS's front door uses for authentication errors (not the service's own).
CORAL_PREFIX = "com.amazon.coral.service#"

MISSING_MESSAGE = {"lambda": "Missing Authentication Token", "dynamodb": "Request is missing Authentication Token"}
UNRECOGNIZED_MESSAGE = "The security token included in the request is invalid."
BAD_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class AuthFailure:
    """A refused request: the error code and AWS's message for it."""

    code: AuthCode
    message: str

    def status(self, service: str) -> int:
        """403 on Lambda, 400 on DynamoDB (as AWS answers them)."""
        return 400 if service == "dynamodb" else 403


def missing(service: str) -> AuthFailure:
    return AuthFailure(AuthCode.MISSING, MISSING_MESSAGE.get(service, MISSING_MESSAGE["lambda"]))


def incomplete(message: str) -> AuthFailure:
    return AuthFailure(AuthCode.INCOMPLETE, message)


def unrecognized() -> AuthFailure:
    return AuthFailure(AuthCode.UNRECOGNIZED, UNRECOGNIZED_MESSAGE)


def bad_signature(message: str = BAD_SIGNATURE_MESSAGE) -> AuthFailure:
    return AuthFailure(AuthCode.INVALID_SIGNATURE, message)


def access_denied(user_arn: str, action: str, resource_arn: str) -> AuthFailure:
    return AuthFailure(
        AuthCode.ACCESS_DENIED,
        f"User: {user_arn} is not authorized to perform: {action} on resource: {resource_arn} "
        f"because no identity-based policy allows the {action} action",
    )

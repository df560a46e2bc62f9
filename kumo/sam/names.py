"""Kumo names and ARNs for template resources (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kumo.sam.loader import TemplateError

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
REGION, ACCOUNT = "us-east-1", "000000000000"


def kube_name(logical_id: str) -> str:
    """`HelloWorldFunction` -> `hello-world-function` (a DNS label, at most 63 characters)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", logical_id)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", words)
    name = re.sub(r"[^a-z0-9-]+", "-", words.lower()).strip("-")
    return re.sub(r"-{2,}", "-", name)[:63].strip("-") or "resource"


def explicit_name(value: object, what: str, logical_id: str) -> str:
    """A name the template gives (`FunctionName`, `TableName`): used as is if Kumo accepts it."""
    if not isinstance(value, str) or not DNS_LABEL.match(value) or len(value) > 63:
        raise TemplateError(
            f"{logical_id}: {what} {value!r} is not a Kumo name (lower-case letters, digits and '-', "
            "at most 63 characters); leave it out to use a name made from the logical id"
        )
    return value


@dataclass(frozen=True)
class Names:
    """Each mapped resource's name, by logical id, and what `Ref`/`Fn::GetAtt` give for it."""

    names: dict[str, str]
    types: dict[str, str]
    #: Logical ids of the tables with a stream (`StreamSpecification.StreamViewType`).
    streams: frozenset[str] = frozenset()

    def ref(self, logical_id: str) -> str | None:
        name = self.names.get(logical_id)
        if name is None:
            return None
        if self.types[logical_id] == "AWS::Serverless::LayerVersion":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}"
        if self.types[logical_id] == "AWS::SQS::Queue":
            return None  # a queue URL: depends on where Kumo runs
        return name

    def get_att(self, logical_id: str, attribute: str) -> str | None:
        name = self.names.get(logical_id)
        kind = self.types.get(logical_id)
        if name is None:
            return None
        arns = {
            ("AWS::Serverless::Function", "Arn"): f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            ("AWS::Serverless::SimpleTable", "Arn"): f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            ("AWS::DynamoDB::Table", "Arn"): f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            ("AWS::SQS::Queue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            ("AWS::SQS::Queue", "QueueName"): name,
        }
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn" and logical_id in self.streams:
            return stream_arn(name)
        return arns.get((kind or "", attribute))


def stream_arn(table: str) -> str:
    """The Kumo ARN of `table`'s stream, label `*`: the label is the time the stream is enabled (when the
    table is created), read with `aws dynamodb describe-table` (`LatestStreamArn`; docs/streams.md)."""
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/*"


def _lambda_name_from_arn(value: str, kind: str) -> str:
    """`arn:aws:lambda:...:KIND:NAME[:SUFFIX]` or a plain `NAME[:SUFFIX]` -> `NAME[:SUFFIX]`."""
    if value.startswith("arn:"):
        parts = value.split(":")
        if len(parts) >= 7 and parts[5] == kind:
            return ":".join(parts[6:8])
        raise TemplateError(f"{value!r} is not a Lambda {kind} ARN")
    return value


def function_from_arn(value: str) -> str:
    """`arn:aws:lambda:...:function:NAME[:QUALIFIER]` or a plain name -> `NAME[:QUALIFIER]`."""
    return _lambda_name_from_arn(value, "function")


def layer_from_arn(value: str) -> str:
    """`arn:aws:lambda:...:layer:NAME[:VERSION]` or `NAME[:VERSION]` -> `NAME[:VERSION]`."""
    return _lambda_name_from_arn(value, "layer")


def queue_from_arn(value: str) -> str:
    """`arn:aws:sqs:REGION:ACCOUNT:NAME` (or a queue URL, or a name) -> `NAME`."""
    if value.startswith("arn:"):
        return value.rsplit(":", 1)[-1]
    return value.rstrip("/").rsplit("/", 1)[-1]

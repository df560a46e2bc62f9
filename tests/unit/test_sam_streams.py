"""SAM `DynamoDB` events -> stream sources, `StreamSpecification` -> `spec.stream`, `!GetAtt T.StreamArn`
(pure), and `kumo sam convert` output that loads back as manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kumo.manifests import load_manifests, parse_manifest
from kumo.sam import TemplateError, translate
from kumo_cli.main import app

HEAD = "Transform: AWS::Serverless-2016-10-31\n"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/*"


def run(body: str):
    result = translate(HEAD + body, base_dir=Path("/t"), exists=lambda _: False)
    for manifest in result.manifests:
        parse_manifest(manifest)  # every output is a valid Kumo manifest
    return result


def spec_of(result, kind: str, name: str) -> dict[str, Any]:
    return next(m["spec"] for m in result.manifests if m["kind"] == kind and m["metadata"]["name"] == name)


def reasons(result) -> dict[str, tuple[str, str]]:
    return {item.logical_id: (item.type, item.reason) for item in result.unmapped}


def template(events: str, *, stream: str = "StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}") -> str:
    return f"""
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      BillingMode: PAY_PER_REQUEST
      {stream}
  Failed:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: failed-orders}}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.h
      InlineCode: "def h(e, c): return None"
      Events:
{events}
Outputs:
  OrdersStream:
    Value: !GetAtt Orders.StreamArn
"""


FULL = """        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 25
            MaximumRetryAttempts: 2
            BisectBatchOnFunctionError: true
            DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt Failed.Arn}}
            FilterCriteria: {Filters: [{Pattern: '{"eventName": ["INSERT"]}'}]}
            ParallelizationFactor: 2
            TumblingWindowInSeconds: 30
            MaximumBatchingWindowInSeconds: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
"""


def test_dynamodb_event_becomes_a_stream_source() -> None:
    result = run(template(FULL))
    assert spec_of(result, "Table", "orders")["stream"] == {"viewType": "NEW_AND_OLD_IMAGES"}
    assert spec_of(result, "Function", "worker")["events"] == [
        {
            "stream": {
                "table": "orders",
                "startingPosition": "TRIM_HORIZON",
                "batchSize": 25,
                "maximumRetryAttempts": 2,
                "bisectBatchOnFunctionError": True,
                "onFailure": {"queue": "failed-orders"},
            }
        }
    ]
    found = reasons(result)
    assert set(found) == {
        f"Worker.Events.Changes.{key}"
        for key in (
            "FilterCriteria",
            "ParallelizationFactor",
            "TumblingWindowInSeconds",
            "MaximumBatchingWindowInSeconds",
            "FunctionResponseTypes",
        )
    }
    assert "always honours batchItemFailures" in found["Worker.Events.Changes.FunctionResponseTypes"][1]
    assert "no event filtering" in found["Worker.Events.Changes.FilterCriteria"][1]
    assert [(o.logical_id, o.value) for o in result.outputs] == [("OrdersStream", STREAM_ARN)]


def test_minimal_event_defaults_and_disabled() -> None:
    events = """        Changes:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Orders.StreamArn, StartingPosition: LATEST, Enabled: false}
"""
    result = run(template(events))
    assert spec_of(result, "Function", "worker")["events"] == [
        {"stream": {"table": "orders", "startingPosition": "LATEST"}, "enabled": False}
    ]
    assert result.unmapped == []


def test_at_timestamp_and_other_destinations_are_reported() -> None:
    events = """        AtTime:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Orders.StreamArn, StartingPosition: AT_TIMESTAMP,
                       StartingPositionTimestamp: 1700000000}
        ToTopic:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: LATEST
            DestinationConfig: {OnFailure: {Type: SNS, Destination: "arn:aws:sns:us-east-1:000000000000:t"}}
"""
    result = run(template(events))
    found = reasons(result)
    assert found["Worker.Events.AtTime"] == ("DynamoDB event", found["Worker.Events.AtTime"][1])
    assert "AT_TIMESTAMP" in found["Worker.Events.AtTime"][1]
    assert "Kumo queue only" in found["Worker.Events.ToTopic.DestinationConfig.OnFailure"][1]
    assert spec_of(result, "Function", "worker")["events"] == [
        {"stream": {"table": "orders", "startingPosition": "LATEST"}}
    ]


def test_table_without_stream_has_no_stream_arn() -> None:
    events = """        Changes:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Orders.StreamArn, StartingPosition: LATEST}
"""
    result = run(template(events, stream=""))
    assert "stream" not in spec_of(result, "Table", "orders")
    assert "events" not in spec_of(result, "Function", "worker")
    assert "StreamSpecification" in reasons(result)["Worker.Events.Changes"][1]
    assert result.outputs[0].value is None and "StreamArn" in (result.outputs[0].reason or "")


def test_literal_stream_arn_and_bad_values() -> None:
    literal = "arn:aws:dynamodb:us-east-1:000000000000:table/other.table/stream/2026-12-06T00:00:00.000"
    events = f"""        Changes:
          Type: DynamoDB
          Properties: {{Stream: "{literal}", StartingPosition: LATEST, BatchSize: 10}}
"""
    result = run(template(events))
    assert spec_of(result, "Function", "worker")["events"][0]["stream"]["table"] == "other.table"
    bad_arn = """        Changes: {Type: DynamoDB, Properties: {Stream: "arn:aws:sqs:us-east-1:000000000000:q"}}
"""
    with pytest.raises(TemplateError, match="DynamoDB stream ARN"):
        run(template(bad_arn))
    bad_position = """        Changes:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Orders.StreamArn, StartingPosition: NOW}
"""
    with pytest.raises(TemplateError, match="StartingPosition"):
        run(template(bad_position))


def test_sam_convert_output_loads_back(tmp_path: Path) -> None:
    source = tmp_path / "template.yaml"
    source.write_text(HEAD + template(FULL))
    done = CliRunner().invoke(app, ["sam", "convert", str(source)])
    assert done.exit_code == 0, done.stderr
    assert f"# output OrdersStream = {STREAM_ARN}" in done.stderr
    assert "# not mapped: Worker.Events.Changes.FilterCriteria (DynamoDB event)" in done.stderr
    converted = tmp_path / "kumo.yaml"
    converted.write_text(done.stdout)
    loaded = load_manifests([converted])
    assert loaded.tables["orders"].spec.stream is not None
    assert loaded.tables["orders"].spec.stream.view_type == "NEW_AND_OLD_IMAGES"
    (source_event,) = loaded.functions["worker"].spec.events
    assert source_event.stream is not None and source_event.stream.table == "orders"
    assert source_event.stream.starting_position == "TRIM_HORIZON" and source_event.stream.batch_size == 25
    assert source_event.stream.on_failure is not None and source_event.stream.on_failure.queue == "failed-orders"

"""SAM Schedule/ScheduleV2 events, EventInvokeConfig destinations, SQS queues and Outputs (pure),
and `kumo sam convert` printing the Outputs as Kumo URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kumo.manifests import parse_manifest
from kumo.sam import TemplateError, translate
from kumo.sam.outputs import manifest_stages, output_lines, resolve_urls
from kumo_cli.main import app

HEAD = "Transform: AWS::Serverless-2016-10-31\n"
FN = "Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.h\n"


def run(body: str):
    result = translate(HEAD + body, base_dir=Path("/t"), exists=lambda _: False)
    for manifest in result.manifests:
        parse_manifest(manifest)  # every output is a valid Kumo manifest
    return result


def function_spec(result, name: str) -> dict[str, Any]:
    return next(m["spec"] for m in result.manifests if m["kind"] == "Function" and m["metadata"]["name"] == name)


def reasons(result) -> dict[str, tuple[str, str]]:
    return {item.logical_id: (item.type, item.reason) for item in result.unmapped}


SCHEDULES = f"""
Parameters:
  Every: {{Type: String, Default: "rate(5 minutes)"}}
Resources:
  Report:
    {FN}      InlineCode: x
      Events:
        Rate: {{Type: Schedule, Properties: {{Schedule: !Ref Every, Name: report-rule, Description: d}}}}
        Cron: {{Type: Schedule, Properties: {{Schedule: "cron(0 12 * * ? *)", Enabled: false}}}}
        Paused: {{Type: Schedule, Properties: {{Schedule: rate(1 hour), State: DISABLED}}}}
        WithInput:
          Type: Schedule
          Properties: {{Schedule: rate(1 day), Input: '{{"k": 1}}', RetryPolicy: {{MaximumRetryAttempts: 1}}}}
        LastDay: {{Type: Schedule, Properties: {{Schedule: "cron(0 0 L * ? *)"}}}}
        Never: {{Type: Schedule, Properties: {{Schedule: "cron(0 0 30 2 ? *)"}}}}
        V2Utc:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(15 10 ? * MON-FRI *)
            ScheduleExpressionTimezone: Etc/UTC
            FlexibleTimeWindow: {{Mode: "OFF"}}
        V2Paris:
          Type: ScheduleV2
          Properties: {{ScheduleExpression: rate(1 minute), ScheduleExpressionTimezone: Europe/Paris}}
        V2Once: {{Type: ScheduleV2, Properties: {{ScheduleExpression: "at(2030-01-01T00:00:00)"}}}}
        V2Flexible:
          Type: ScheduleV2
          Properties: {{ScheduleExpression: rate(2 days), FlexibleTimeWindow: {{Mode: FLEXIBLE}}, State: ENABLED}}
"""


def test_schedule_events_become_schedule_sources() -> None:
    result = run(SCHEDULES)
    assert function_spec(result, "report")["events"] == [
        {"schedule": "rate(5 minutes)"},
        {"schedule": "cron(0 12 * * ? *)", "enabled": False},
        {"schedule": "rate(1 hour)", "enabled": False},
        {"schedule": "rate(1 day)"},
        {"schedule": "cron(15 10 ? * MON-FRI *)"},
        {"schedule": "rate(2 days)"},
    ]
    found = reasons(result)
    assert found["Report.Events.WithInput.Input"][0] == "Schedule event"
    assert "a constant Input is not supported" in found["Report.Events.WithInput.Input"][1]
    assert "EventInvokeConfig" in found["Report.Events.WithInput.RetryPolicy"][1]
    # Refused expressions: unmapped with kumo/schedules.py's own reason, the rest of the template maps.
    assert found["Report.Events.LastDay"] == (
        "Schedule event",
        "'cron(0 0 L * ? *)': 'L': L, W and # are not supported by Kumo",
    )
    assert found["Report.Events.Never"][1] == "'cron(0 0 30 2 ? *)' never fires"
    assert found["Report.Events.V2Paris"] == (
        "ScheduleV2 event",
        "Kumo schedules run in UTC; time zone 'Europe/Paris' is not supported",
    )
    assert "expected rate(...) or cron(...)" in found["Report.Events.V2Once"][1]
    assert "flexible time window" in found["Report.Events.V2Flexible.FlexibleTimeWindow"][1]
    assert set(found) == {
        "Report.Events.WithInput.Input",
        "Report.Events.WithInput.RetryPolicy",
        "Report.Events.LastDay",
        "Report.Events.Never",
        "Report.Events.V2Paris",
        "Report.Events.V2Once",
        "Report.Events.V2Flexible.FlexibleTimeWindow",
    }


def test_schedule_event_errors() -> None:
    with pytest.raises(TemplateError, match=r"Report.Events.Tick.Schedule must be a rate"):
        run(f"Resources:\n  Report:\n    {FN}      InlineCode: x\n      Events:\n        Tick: {{Type: Schedule}}\n")
    with pytest.raises(TemplateError, match="State must be ENABLED or DISABLED"):
        run(
            f"Resources:\n  Report:\n    {FN}      InlineCode: x\n      Events:\n"
            "        Tick: {Type: Schedule, Properties: {Schedule: rate(1 day), State: PAUSED}}\n"
        )


DESTINATIONS = f"""
Resources:
  Orders:
    {FN}      InlineCode: x
      AutoPublishAlias: live
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        DestinationConfig:
          OnSuccess: {{Type: Lambda, Destination: !GetAtt Audit.Arn}}
          OnFailure: {{Type: SQS, Destination: !GetAtt Failed.Arn}}
  Audit:
    {FN}      InlineCode: x
      EventInvokeConfig:
        DestinationConfig:
          OnFailure: {{Type: SQS}}
          OnSuccess: {{Type: SNS, Destination: !Ref Topic}}
  Other:
    {FN}      InlineCode: x
      EventInvokeConfig:
        DestinationConfig:
          OnSuccess: {{Type: Lambda, Destination: "arn:aws:lambda:us-east-1:000000000000:function:billing:prod"}}
          OnFailure: {{Type: SQS, Destination: !GetAtt Fifo.Arn}}
  Failed:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: failed-orders, VisibilityTimeout: 60, RedrivePolicy: {{maxReceiveCount: 3}}}}
  Fifo:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: jobs.fifo, FifoQueue: true}}
  Topic:
    Type: AWS::SNS::Topic
"""


def test_event_invoke_config_destinations_and_queues() -> None:
    result = run(DESTINATIONS)
    assert function_spec(result, "orders")["async"] == {
        "maxRetryAttempts": 0,
        "onSuccess": {"function": "audit"},
        "onFailure": {"queue": "failed-orders"},
    }
    assert function_spec(result, "audit")["async"] == {"onFailure": {"queue": "audit-on-failure"}}  # SAM's own queue
    assert function_spec(result, "other")["async"] == {"onSuccess": {"function": "billing:prod"}}
    found = reasons(result)
    assert found["Audit.EventInvokeConfig.DestinationConfig.OnSuccess"][1] == (
        "Kumo destinations are functions and queues; 'SNS' is not"
    )
    assert found["Other.EventInvokeConfig.DestinationConfig.OnFailure"][1] == "Kumo has no FIFO queues"
    assert found["Fifo"] == ("AWS::SQS::Queue", "Kumo has no FIFO queues")
    assert "first use" in found["Failed.VisibilityTimeout"][1]
    assert "redrive" in found["Failed.RedrivePolicy"][1]
    assert "Failed" not in found  # a standard queue is a Kumo queue
    assert [(q.logical_id, q.name) for q in result.queues] == [("Failed", "failed-orders")]


def test_a_lambda_destination_needs_its_arn() -> None:
    body = f"""
Resources:
  Fn:
    {FN}      InlineCode: x
      EventInvokeConfig: {{DestinationConfig: {{OnFailure: {{Type: Lambda}}}}}}
"""
    with pytest.raises(TemplateError, match="a Lambda destination needs Destination"):
        run(body)


OUTPUTS = f"""
Conditions:
  Never: !Equals [a, b]
Resources:
  Items:
    {FN}      InlineCode: x
      Events:
        Get: {{Type: HttpApi, Properties: {{Path: /items, Method: get}}}}
        Rest: {{Type: Api, Properties: {{Path: /hello, Method: get}}}}
        Versioned: {{Type: HttpApi, Properties: {{ApiId: !Ref Staged, Path: /v, Method: get}}}}
  Staged:
    Type: AWS::Serverless::HttpApi
    Properties: {{StageName: v1}}
  Jobs:
    Type: AWS::SQS::Queue
Outputs:
  HttpUrl:
    Description: The items endpoint
    Value: !Sub "https://${{ServerlessHttpApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/items"
  RestUrl:
    Value: !Sub "https://${{ServerlessRestApi}}.execute-api.${{AWS::Region}}.amazonaws.com/Prod/hello/"
  StagedUrl:
    Value: !Sub "https://${{Staged}}.execute-api.${{AWS::Region}}.amazonaws.com/v1"
  Endpoint:
    Value: !GetAtt ServerlessHttpApi.ApiEndpoint
  FunctionArn:
    Value: !GetAtt Items.Arn
    Export: {{Name: items-arn}}
  QueueUrl:
    Value: !Ref Jobs
  Role:
    Value: !GetAtt ItemsRole.Arn
  Hidden:
    Condition: Never
    Value: x
  Elsewhere:
    Value: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
"""


def test_outputs_evaluated_and_shown_as_kumo_urls() -> None:
    result = run(OUTPUTS)
    lines = output_lines(result.outputs, "http://127.0.0.1:9000", manifest_stages(result.manifests))
    assert lines == [
        "HttpUrl = http://127.0.0.1:9000/serverless-http-api/$default/items  (The items endpoint)",
        "RestUrl = http://127.0.0.1:9000/serverless-rest-api/Prod/hello/",
        "StagedUrl = http://127.0.0.1:9000/staged/v1",
        "Endpoint = http://127.0.0.1:9000/serverless-http-api/$default",
        "FunctionArn = arn:aws:lambda:us-east-1:000000000000:function:items",
        "QueueUrl = http://127.0.0.1:9000/000000000000/Jobs",
        "Role: not available in Kumo: Fn::GetAtt ItemsRole.Arn: Kumo has no value for this attribute",
        "Elsewhere = https://abc123.execute-api.eu-west-1.amazonaws.com/prod",  # not an Api of this template
    ]
    assert reasons(result)["Outputs.FunctionArn.Export"] == ("Output", "Kumo has no cross-stack exports")
    assert resolve_urls("no urls here", "http://h", {}) == "no urls here"


def test_sam_convert_prints_outputs_queues_and_unmapped_on_stderr(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(HEAD + OUTPUTS)
    done = CliRunner().invoke(app, ["sam", "convert", str(template), "--url", "http://kumo.test:8080"])
    assert done.exit_code == 0, done.stderr
    assert "# output HttpUrl = http://kumo.test:8080/serverless-http-api/$default/items" in done.stderr
    assert "# output QueueUrl = http://kumo.test:8080/000000000000/Jobs" in done.stderr
    assert "# queue Jobs (Jobs): a Kumo queue, created when first used" in done.stderr
    assert "# not mapped: Outputs.FunctionArn.Export (Output)" in done.stderr
    assert "# output" not in done.stdout and "kind: Function" in done.stdout

"""Each SAM resource mapper (pure): Globals, functions, events, Apis, tables, layers, unmapped items."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from kumo.manifests import parse_manifest
from kumo.sam import TemplateError, translate
from kumo.sam.deployment import AliasTarget, first_step_weight, next_alias
from kumo.sam.names import kube_name
from kumo.sam.template import merge_globals

HEAD = "Transform: AWS::Serverless-2016-10-31\n"


def run(body: str, *, files: tuple[str, ...] = (), overrides: dict[str, str] | None = None):
    existing = {Path("/t") / f for f in files}
    result = translate(HEAD + body, base_dir=Path("/t"), overrides=overrides, exists=lambda p: p in existing)
    for manifest in result.manifests:
        parse_manifest(manifest)  # every output is a valid Kumo manifest
    return result


def by_kind(result, kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in result.manifests if m["kind"] == kind}


def unmapped(result) -> set[tuple[str, str]]:
    return {(item.logical_id, item.type) for item in result.unmapped}


def with_function(properties: str, resources: str = "") -> str:
    """A template body whose first resource is ``Fn`` (python3.11, inline code) with more ``properties``,
    then the other ``resources`` (each YAML written from its own left margin)."""

    def block(yaml: str, margin: int) -> str:
        return textwrap.indent(textwrap.dedent(yaml).strip("\n") + "\n", " " * margin) if yaml.strip() else ""

    head = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
    fn = 'Runtime: python3.11\nHandler: index.handler\nInlineCode: "x"\n'
    return head + block(fn, 6) + block(properties, 6) + block(resources, 2)


def test_names_from_logical_ids() -> None:
    assert kube_name("HelloWorldFunction") == "hello-world-function"
    assert kube_name("APIHandler") == "api-handler"
    assert kube_name("Items_Table2") == "items-table2"


def test_globals_merge_rules() -> None:
    merged = merge_globals(
        {"Timeout": 3, "Environment": {"Variables": {"A": "1"}}, "Layers": ["x"]},
        {"Timeout": 9, "Environment": {"Variables": {"B": "2"}}, "Layers": ["y"]},
    )
    assert merged == {"Timeout": 9, "Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["x", "y"]}


FUNCTION = """
Globals:
  Function:
    Runtime: python3.12
    MemorySize: 256
    Environment: {Variables: {SHARED: "1"}}
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: app.handler
      Timeout: 30
      ReservedConcurrentExecutions: 5
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}
      EventInvokeConfig: {MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 120}
      Layers: [!Ref Libs, "arn:aws:lambda:us-east-1:000000000000:layer:other:3"]
      Environment: {Variables: {TABLE: !Ref Items, ARN: !GetAtt Items.Arn, DEBUG: true}}
      Policies: [AWSLambdaBasicExecutionRole]
      Events:
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5, MaximumBatchingWindowInSeconds: 2}}
        Stream: {Type: Kinesis, Properties: {Stream: x, StartingPosition: LATEST}}
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
  Libs:
    Type: AWS::Serverless::LayerVersion
    Metadata: {BuildMethod: python3.12}
    Properties: {ContentUri: libs/}
  Items:
    Type: AWS::Serverless::SimpleTable
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {QueueName: jobs}
"""


def test_function_mapping() -> None:
    result = run(FUNCTION, files=("src/requirements.txt",))
    spec = by_kind(result, "Function")["worker"]["spec"]
    assert spec["code"] == {"path": "src", "requirements": "src/requirements.txt"}
    assert spec["runtime"] == "python3.12" and spec["memory"] == 256 and spec["timeout"] == "30s"
    assert spec["environment"] == {
        "SHARED": "1",
        "TABLE": "items",
        "ARN": "arn:aws:dynamodb:us-east-1:000000000000:table/items",
        "DEBUG": "true",
    }
    assert spec["layers"] == ["Libs", "other:3"]
    assert spec["concurrency"] == {"reserved": 5}
    assert spec["scaling"]["minInstances"] == 2
    assert spec["async"] == {"maxRetryAttempts": 1, "maxEventAge": "120s"}
    assert spec["events"] == [
        {"queue": "jobs", "batchSize": 5, "maximumBatchingWindow": "2s"},
        {"schedule": "rate(1 minute)"},
    ]
    assert result.layers[0].name == "Libs" and result.layers[0].path == Path("/t/libs/")
    assert unmapped(result) == {
        ("Worker.Policies", "AWS::Serverless::Function"),
        ("Worker.Events.Stream", "Kinesis event"),
        ("Libs.Metadata.BuildMethod", "AWS::Serverless::LayerVersion"),
    }
    assert [(queue.logical_id, queue.name) for queue in result.queues] == [("Jobs", "jobs")]


def test_no_requirements_file_means_no_requirements_and_zips_and_inline() -> None:
    body = """
Resources:
  A: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.11, Handler: app.h, CodeUri: pkg.zip}}
  B: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.11, Handler: app.h, CodeUri: src/}}
  C: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.11, Handler: index.h, InlineCode: "x = 1"}}
  D: {Type: AWS::Serverless::Function, Properties: {Runtime: nodejs20.x, Handler: index.h, CodeUri: js/}}
  E: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.11, Handler: a.h, CodeUri: {Bucket: b, Key: k}}}
"""
    result = run(body)
    functions = by_kind(result, "Function")
    assert functions["a"]["spec"]["code"] == {"zip": "pkg.zip"}
    assert functions["b"]["spec"]["code"] == {"path": "src/"}
    assert functions["c"]["spec"]["code"] == {"inline": {"index.py": "x = 1"}}
    assert set(functions) == {"a", "b", "c"}
    assert unmapped(result) == {("D", "AWS::Serverless::Function"), ("E.CodeUri", "AWS::Serverless::Function")}


def test_http_api_events_explicit_api_cors_and_authorizers() -> None:
    body = with_function(
        """
        Events:
          Catch: {Type: HttpApi}
          Get:
            Type: HttpApi
            Properties:
              ApiId: !Ref Shop
              Path: /items/{id}
              Method: GET
              TimeoutInMillis: 5000
              Auth: {Authorizer: Jwt, AuthorizationScopes: [read]}
          Open: {Type: HttpApi, Properties: {ApiId: !Ref Shop, Path: /open, Method: get, Auth: {Authorizer: NONE}}}
        """,
        """
        Authz: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.11, Handler: i.h, InlineCode: "x"}}
        Shop:
          Type: AWS::Serverless::HttpApi
          Properties:
            StageName: prod
            StageVariables: {color: blue}
            CorsConfiguration: {AllowOrigins: ["https://a.example"], AllowMethods: [GET], MaxAge: 60}
            DefaultRouteSettings: {ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20}
            Auth:
              DefaultAuthorizer: Lam
              Authorizers:
                Jwt:
                  JwtConfiguration: {issuer: "https://issuer.example", audience: [shop]}
                  IdentitySource: "$request.header.Authorization"
                Lam:
                  FunctionArn: !GetAtt Authz.Arn
                  AuthorizerPayloadFormatVersion: "2.0"
                  EnableSimpleResponses: true
                  Identity: {Headers: [Authorization], ReauthorizeEvery: 60}
        """,
    )
    result = run(body)
    apis = by_kind(result, "Api")
    implicit = apis["serverless-http-api"]["spec"]
    assert [(r["method"], r["path"]) for r in implicit["routes"]] == [("ANY", "/{proxy+}"), ("ANY", "/")]
    shop = apis["shop"]["spec"]
    assert shop["stages"] == [{"name": "prod", "variables": {"color": "blue"}, "throttle": {"rate": 10.0, "burst": 20}}]
    assert shop["cors"] == {"allowOrigins": ["https://a.example"], "allowMethods": ["GET"], "maxAge": 60}
    assert shop["authorizers"]["Jwt"]["jwks"] == {"uri": "https://issuer.example/.well-known/jwks.json"}
    assert shop["authorizers"]["Lam"] == {
        "type": "function",
        "function": "authz",
        "identitySource": ["$request.header.Authorization"],
        "payloadFormat": "2.0",
        "enableSimpleResponses": True,
        "ttl": "60s",
    }
    get, open_ = shop["routes"]
    assert get == {
        "method": "GET",
        "path": "/items/{id}",
        "function": "fn",
        "authorizer": "Jwt",
        "authorizationScopes": ["read"],
        "timeout": "5000ms",
    }
    assert open_ == {"method": "GET", "path": "/open", "function": "fn"}  # NONE: no default authorizer
    assert result.unmapped == []


def test_rest_api_usage_plan_api_keys_and_cors_strings() -> None:
    body = with_function(
        """
        Events:
          List: {Type: Api, Properties: {RestApiId: !Ref Pets, Path: /pets, Method: get}}
          Free: {Type: Api, Properties: {Path: /free, Method: any}}
        """,
        """
        Pets:
          Type: AWS::Serverless::Api
          Properties:
            StageName: prod
            Cors: "'https://a.example'"
            DefinitionBody: {openapi: "3.0"}
            Auth:
              ApiKeyRequired: true
              UsagePlan:
                CreateUsagePlan: PER_API
                Throttle: {RateLimit: 5, BurstLimit: 10}
                Quota: {Limit: 1000, Period: DAY}
        Unused: {Type: AWS::Serverless::Api, Properties: {StageName: x}}
        """,
    )
    result = run(body)
    apis = by_kind(result, "Api")
    pets = apis["pets"]["spec"]
    assert pets["payloadFormat"] == "1.0"
    assert pets["stages"] == [{"name": "prod"}]
    assert pets["cors"]["allowOrigins"] == ["https://a.example"]
    assert pets["routes"] == [{"method": "GET", "path": "/pets", "function": "fn", "apiKeyRequired": True}]
    assert pets["usagePlans"] == [
        {
            "name": "PetsUsagePlan",
            "stages": ["prod"],
            "throttle": {"rate": 5.0, "burst": 10},
            "quota": {"limit": 1000, "period": "DAY"},
        }
    ]
    assert apis["serverless-rest-api"]["spec"]["stages"] == [{"name": "Prod"}]
    assert unmapped(result) == {("Pets.DefinitionBody", "AWS::Serverless::Api"), ("Unused", "AWS::Serverless::Api")}


def test_tables() -> None:
    body = """
Resources:
  Simple:
    Type: AWS::Serverless::SimpleTable
    Properties:
      TableName: orders
      PrimaryKey: {Name: pk, Type: Number}
      ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
  Full:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: N}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
      GlobalSecondaryIndexes: []
"""
    result = run(body)
    tables = by_kind(result, "Table")
    assert tables["orders"]["spec"] == {
        "partitionKey": {"name": "pk", "type": "N"},
        "billingMode": "PROVISIONED",
        "provisionedThroughput": {"readCapacityUnits": 2, "writeCapacityUnits": 3},
    }
    assert tables["full"]["spec"] == {
        "partitionKey": {"name": "pk", "type": "S"},
        "sortKey": {"name": "sk", "type": "N"},
        "ttlAttribute": "expires",
        "stream": {"viewType": "NEW_IMAGE"},
    }
    assert unmapped(result) == {("Full.GlobalSecondaryIndexes", "AWS::DynamoDB::Table")}


def test_conditions_skip_resources_and_parameters_flow_in() -> None:
    body = """
Parameters:
  Env: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Audit: {Type: AWS::Serverless::SimpleTable, Condition: IsProd}
  Topic: {Type: AWS::SNS::Topic}
"""
    assert by_kind(run(body), "Table") == {}
    prod = run(body, overrides={"Env": "prod"})
    assert set(by_kind(prod, "Table")) == {"audit"}
    reason = {item.logical_id: item.reason for item in prod.unmapped}["Topic"]
    assert reason == "Kumo has no equivalent of AWS::SNS::Topic"


def test_auto_publish_alias_and_deployment_preference() -> None:
    body = with_function(
        """
        AutoPublishAlias: live
        DeploymentPreference: {Type: Linear10PercentEvery1Minute, Hooks: {PreTraffic: !Ref Fn}}
        Events:
          Get: {Type: HttpApi, Properties: {Path: /, Method: get}}
        """,
        """
        Packaged:
          Type: AWS::Serverless::Function
          Properties: {Runtime: python3.11, Handler: app.h, CodeUri: src/, AutoPublishAlias: live}
        """,
    )
    result = run(body)
    fn = by_kind(result, "Function")["fn"]
    assert fn["spec"]["publish"] is True
    assert fn["metadata"]["annotations"] == {
        "sam.kumo.dev/auto-publish-alias": "live",
        "sam.kumo.dev/deployment-preference": "Linear10PercentEvery1Minute",
    }
    assert by_kind(result, "Api")["serverless-http-api"]["spec"]["routes"][0]["function"] == "fn:live"
    packaged = by_kind(result, "Function")["packaged"]  # a CodeUri package publishes its versions too
    assert packaged["spec"]["publish"] is True and packaged["spec"]["code"] == {"path": "src/"}
    assert packaged["metadata"]["annotations"] == {"sam.kumo.dev/auto-publish-alias": "live"}
    assert unmapped(result) == {("Fn.DeploymentPreference.Hooks", "AWS::Serverless::Function")}
    with pytest.raises(TemplateError, match=r"DeploymentPreference\.Type 'Sometimes'"):
        run(body.replace("Linear10PercentEvery1Minute", "Sometimes"))


def test_deployment_weights_and_alias_moves() -> None:
    assert first_step_weight(None) == 1.0
    assert first_step_weight("AllAtOnce") == 1.0
    assert first_step_weight("Canary10Percent5Minutes") == pytest.approx(0.1)
    assert first_step_weight("Linear25PercentEvery2Minutes") == pytest.approx(0.25)
    assert next_alias(None, "1", "Canary10Percent5Minutes") == AliasTarget("1")  # first version: all of it
    assert next_alias(AliasTarget("1"), "2", "Canary10Percent5Minutes") == AliasTarget("1", {"2": 0.1})
    assert next_alias(AliasTarget("1"), "2", "AllAtOnce") == AliasTarget("2")
    assert next_alias(AliasTarget("1", {"2": 0.1}), "2", "Canary10Percent5Minutes") is None  # a restart: as is
    assert next_alias(AliasTarget("2"), "2", None) is None


def test_bad_templates_are_clear_errors() -> None:
    with pytest.raises(TemplateError, match="Transform must be"):
        translate("Resources: {}\n", base_dir=Path("/t"))
    with pytest.raises(TemplateError, match="FunctionName 'Bad_Name' is not a Kumo name"):
        run("Resources:\n  F: {Type: AWS::Serverless::Function, Properties: {FunctionName: Bad_Name}}\n")
    with pytest.raises(TemplateError, match="resource F needs a Type"):
        run("Resources:\n  F: {}\n")

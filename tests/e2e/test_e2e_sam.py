"""SAM templates through a real `kumo up` and the real `kumo sam convert` (docs/sam.md)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
from kumo_up import KUMO, KumoUp
from support import wait_until

from kumo.manifests import load_manifests

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sam-app" / "template.yaml"

MIXED = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Suffix:
    Type: String
Resources:
  Alerts:
    Type: AWS::SNS::Topic
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: shared
      ContentUri: layer/
  UsesLayer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Layers: [!Ref SharedLayer]
      InlineCode: |
        import shared
        def handler(event, context):
            return {"shared": shared.VALUE}
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "hello-${Suffix}"
      Runtime: python3.11
      Handler: index.handler
      AutoPublishAlias: live
      DeploymentPreference:
        Type: Canary10Percent5Minutes
      InlineCode: |
        def handler(event, context):
            return {"version": context.function_version}
      Events:
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
        Local:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 8 * * ? *)
            ScheduleExpressionTimezone: Europe/Paris
        Hi:
          Type: HttpApi
          Properties:
            Path: /hi
            Method: get
Outputs:
  HiUrl:
    Description: The hi endpoint
    Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/hi"
  HelloArn:
    Value: !GetAtt Hello.Arn
"""


def test_sam_app_example_http_api_writes_the_table(tmp_path: Path) -> None:
    kumo = KumoUp([], tmp_path, paths=[EXAMPLE])
    try:
        base = f"{kumo.url}/serverless-http-api/$default"
        created = httpx.post(f"{base}/items", json={"id": "42", "name": "towel"}, timeout=120)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["six"] == "1.16.0"  # from requirements.txt beside CodeUri, installed by pip
        assert body["greeting"] == "hello from us-east-1"  # !Sub of a parameter default and a pseudo parameter
        item = kumo.client("dynamodb").get_item(TableName="items-table", Key={"id": {"S": "42"}})["Item"]
        assert item["name"] == {"S": "towel"}
        assert item["six"] == {"S": "1.16.0"}
        fetched = httpx.get(f"{base}/items/42", timeout=30)
        assert fetched.status_code == 200 and fetched.json()["name"] == "towel"
        assert httpx.get(f"{base}/items/nope", timeout=30).status_code == 404
    finally:
        assert kumo.stop() == 0


def test_unsupported_resources_are_listed_and_the_rest_runs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "layer" / "python").mkdir(parents=True)
    (project / "layer" / "python" / "shared.py").write_text("VALUE = 'from the layer'\n")
    template = project / "template.yaml"
    template.write_text(MIXED)
    kumo = KumoUp([], tmp_path / "run", paths=[template], args=["--parameter-overrides", "Suffix=sam"])
    try:
        lambda_client = kumo.lambda_client()
        result = json.loads(lambda_client.invoke(FunctionName="uses-layer")["Payload"].read())
        assert result == {"shared": "from the layer"}
        alias = lambda_client.get_alias(FunctionName="hello-sam", Name="live")
        assert alias["FunctionVersion"] == "1"  # the first version takes the whole alias
        hi = httpx.get(f"{kumo.url}/serverless-http-api/$default/hi", timeout=30)
        assert hi.status_code == 200 and hi.json() == {"version": "1"}  # routed to the alias
    finally:
        assert kumo.stop() == 0
    log = kumo.log_path.read_text()
    assert "not mapped: Alerts (AWS::SNS::Topic): Kumo has no equivalent of AWS::SNS::Topic" in log
    assert "not mapped: Hello.Events.Nightly" not in log  # a Kumo schedule now
    assert "not mapped: Hello.Events.Local (ScheduleV2 event): Kumo schedules run in UTC" in log
    assert f"SAM template: output HiUrl = {kumo.url}/serverless-http-api/$default/hi  (The hi endpoint)" in log
    assert "SAM template: output HelloArn = arn:aws:lambda:us-east-1:000000000000:function:hello-sam" in log
    assert "layer shared: version 1 published" in log


def test_sam_convert_prints_manifests_that_load_back(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "layer").mkdir(parents=True)
    template = project / "template.yaml"
    template.write_text(MIXED)
    done = subprocess.run(
        [*KUMO, "sam", "convert", str(template), "--parameter-overrides", "Suffix=x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "# not mapped: Alerts (AWS::SNS::Topic)" in done.stderr
    assert "kumo layer publish shared" in done.stderr
    assert "# output HiUrl = http://127.0.0.1:8080/serverless-http-api/$default/hi" in done.stderr
    converted = project / "kumo.yaml"  # beside the template: code paths are relative to it
    converted.write_text(done.stdout)
    manifests = load_manifests([converted])
    assert set(manifests.functions) == {"uses-layer", "hello-x"}
    assert manifests.functions["uses-layer"].spec.layers == ["shared"]
    assert manifests.apis["serverless-http-api"].spec.routes[0].function == "hello-x:live"
    assert [source.schedule for source in manifests.functions["hello-x"].spec.events] == ["rate(1 day)"]

    missing = subprocess.run([*KUMO, "sam", "convert", str(template)], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert "parameter Suffix has no Default" in missing.stderr


PACKAGED = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Words:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: words
      ContentUri: layer/
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: app.handler
      CodeUri: src/
      Layers: [!Ref Words]
      AutoPublishAlias: live
      DeploymentPreference:
        Type: Canary10Percent5Minutes
      Events:
        Hi:
          Type: HttpApi
          Properties:
            Path: /hi
            Method: get
"""
GREETER = """
import words

def handler(event, context):
    return {{"code": {code!r}, "word": words.WORD, "version": context.function_version}}
"""


def test_auto_publish_alias_of_a_code_uri_function_with_a_layer(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "layer" / "python").mkdir(parents=True)
    (project / "src" / "app.py").write_text(GREETER.format(code="one"))
    (project / "layer" / "python" / "words.py").write_text("WORD = 'hello'\n")
    template = project / "template.yaml"
    template.write_text(PACKAGED)
    kumo = KumoUp([], tmp_path / "run", paths=[template], args=["--watch-interval", "0.1"])
    try:
        lambda_client = kumo.lambda_client()
        live = lambda_client.get_alias(FunctionName="greeter", Name="live")
        assert (live["FunctionVersion"], live.get("RoutingConfig")) == ("1", None)
        hi = httpx.get(f"{kumo.url}/serverless-http-api/$default/hi", timeout=60)
        assert hi.status_code == 200 and hi.json() == {"code": "one", "word": "hello", "version": "1"}

        # sam build && sam deploy after an edit of the code and of the layer: a new version, a 10 % canary.
        (project / "src" / "app.py").write_text(GREETER.format(code="two"))
        (project / "layer" / "python" / "words.py").write_text("WORD = 'bonjour'\n")
        template.write_text(PACKAGED + "\n")

        def canary() -> object:
            return lambda_client.get_alias(FunctionName="greeter", Name="live").get("RoutingConfig")

        wait_until(lambda: canary() is not None, timeout=60, what="alias live with a canary")
        assert canary() == {"AdditionalVersionWeights": {"2": 0.1}}
        assert lambda_client.get_alias(FunctionName="greeter", Name="live")["FunctionVersion"] == "1"
        for qualifier, expected in (("1", ("one", "hello")), ("2", ("two", "bonjour"))):
            payload = lambda_client.invoke(FunctionName="greeter", Qualifier=qualifier)["Payload"].read()
            assert json.loads(payload) == {"code": expected[0], "word": expected[1], "version": qualifier}
        versions = lambda_client.list_versions_by_function(FunctionName="greeter")["Versions"]
        assert len({v["CodeSha256"] for v in versions if v["Version"] in ("1", "2")}) == 2
    finally:
        assert kumo.stop() == 0
    log = kumo.log_path.read_text()
    assert "not mapped: Greeter.AutoPublishAlias" not in log
    assert "layer words: version 2 published" in log

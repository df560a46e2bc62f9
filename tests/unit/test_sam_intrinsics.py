"""The SAM template loader (short tags) and intrinsic function evaluation (pure)."""

from __future__ import annotations

import pytest

from kumo.sam import TemplateError, is_sam_template, load_template
from kumo.sam.intrinsics import Context, Unresolved, evaluate
from kumo.sam.template import parameter_values, parse_overrides

TAGS = """
Transform: AWS::Serverless-2016-10-31
Resources:
  R:
    Type: X
    Properties:
      a: !Ref P
      b: !GetAtt Fn.Arn
      c: !Sub "${P}-x"
      d: !Join [",", [a, b]]
      e: !If [C, 1, 2]
      f: !Equals [a, b]
      g: !Not [!Condition C]
      h: !And [!Condition C, true]
      i: !Or [false, !Condition C]
      j: !Select [1, [x, y]]
      k: !Split [",", "a,b"]
      l: !FindInMap [M, k1, k2]
      m: !GetAtt [Fn, Arn]
"""


def test_short_tags_become_long_forms() -> None:
    props = load_template(TAGS)["Resources"]["R"]["Properties"]
    assert props["a"] == {"Ref": "P"}
    assert props["b"] == {"Fn::GetAtt": ["Fn", "Arn"]} == props["m"]
    assert props["c"] == {"Fn::Sub": "${P}-x"}
    assert props["e"] == {"Fn::If": ["C", 1, 2]}
    assert props["g"] == {"Fn::Not": [{"Condition": "C"}]}
    assert props["l"] == {"Fn::FindInMap": ["M", "k1", "k2"]}


def context(**parameters: object) -> Context:
    return Context(
        parameters=parameters,
        conditions={"C": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}, "Loop": {"Condition": "Loop"}},
        mappings={"M": {"k1": {"k2": "found"}}},
        ref=lambda name: {"Table": "my-table"}.get(name),
        get_att=lambda name, att: "arn:fn" if (name, att) == ("Fn", "Arn") else None,
    )


def test_every_intrinsic_evaluates() -> None:
    props = load_template(TAGS)["Resources"]["R"]["Properties"]
    result = evaluate(props, context(P="v", Env="prod"))
    assert result == {
        "a": "v",
        "b": "arn:fn",
        "c": "v-x",
        "d": "a,b",
        "e": 1,
        "f": False,
        "g": False,
        "h": True,
        "i": True,
        "j": "y",
        "k": ["a", "b"],
        "l": "found",
        "m": "arn:fn",
    }
    assert evaluate(props["e"], context(P="v", Env="dev")) == 2


def test_sub_forms_pseudo_parameters_resources_and_literals() -> None:
    ctx = context(Env="dev")
    assert evaluate({"Fn::Sub": "${AWS::Region}:${AWS::AccountId}"}, ctx) == "us-east-1:000000000000"
    assert evaluate({"Fn::Sub": ["${a}/${Table}", {"a": {"Ref": "Env"}}]}, ctx) == "dev/my-table"
    assert evaluate({"Fn::Sub": "${Fn.Arn} ${!Literal}"}, ctx) == "arn:fn ${Literal}"


def test_no_value_removes_the_entry() -> None:
    value = {"keep": 1, "drop": {"Ref": "AWS::NoValue"}, "list": [1, {"Ref": "AWS::NoValue"}]}
    assert evaluate(value, context()) == {"keep": 1, "list": [1]}


def test_unresolvable_and_bad_uses_are_clear_errors() -> None:
    with pytest.raises(Unresolved, match="Ref Missing"):
        evaluate({"Ref": "Missing"}, context())
    with pytest.raises(Unresolved, match=r"Fn::GetAtt Table\.StreamArn"):
        evaluate({"Fn::GetAtt": ["Table", "StreamArn"]}, context())
    with pytest.raises(Unresolved, match="Fn::ImportValue is not supported"):
        evaluate({"Fn::ImportValue": "x"}, context())
    with pytest.raises(TemplateError, match="condition 'Nope' is not defined"):
        evaluate({"Fn::If": ["Nope", 1, 2]}, context())
    with pytest.raises(TemplateError, match="refers to itself"):
        evaluate({"Fn::If": ["Loop", 1, 2]}, context())
    with pytest.raises(TemplateError, match="Fn::Select: no item 5"):
        evaluate({"Fn::Select": [5, ["a"]]}, context())


def test_template_detection_and_bad_yaml() -> None:
    assert is_sam_template(TAGS)
    assert not is_sam_template("apiVersion: kumo.dev/v1alpha1\nkind: Function\n")
    with pytest.raises(TemplateError, match=r"template:3: invalid YAML"):
        load_template("Resources:\n  a: [\n  b: }")
    with pytest.raises(TemplateError, match="Resources mapping"):
        load_template("Transform: AWS::Serverless-2016-10-31\n")


def test_parameters_defaults_overrides_and_checks() -> None:
    declared = {
        "Name": {"Type": "String", "Default": "a"},
        "Size": {"Type": "Number", "Default": 128},
        "Env": {"Type": "String", "AllowedValues": ["dev", "prod"], "Default": "dev"},
        "Subnets": {"Type": "CommaDelimitedList", "Default": "a, b"},
    }
    values = parameter_values(declared, {"Env": "prod"})
    assert values == {"Name": "a", "Size": "128", "Env": "prod", "Subnets": ["a", "b"]}
    with pytest.raises(TemplateError, match="'qa' is not one of dev, prod"):
        parameter_values(declared, {"Env": "qa"})
    with pytest.raises(TemplateError, match="Size: 'big' is not a number"):
        parameter_values(declared, {"Size": "big"})
    with pytest.raises(TemplateError, match="Other: no such parameter"):
        parameter_values(declared, {"Other": "1"})
    with pytest.raises(TemplateError, match="parameter Need has no Default"):
        parameter_values({"Need": {"Type": "String"}}, {})


def test_override_syntaxes() -> None:
    assert parse_overrides(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    assert parse_overrides(["ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue=2"]) == {"A": "1", "B": "2"}
    with pytest.raises(TemplateError, match="not Key=Value"):
        parse_overrides(["oops"])

"""Read a CloudFormation/SAM template: YAML with the short intrinsic tags (`!Ref`, `!GetAtt`, ...).

Each short tag becomes its long form (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` ->
`{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`), as CloudFormation reads it; the
evaluation is :mod:`kumo.sam.intrinsics`.
"""

from __future__ import annotations

from typing import Any

import yaml

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

#: Short tags whose long form is ``Fn::<Name>`` (``!Ref`` and ``!Condition`` are named as they are).
_FN_TAGS = ("GetAtt", "Sub", "Join", "If", "Equals", "Not", "And", "Or", "Select", "Split", "FindInMap")
_FN_TAGS += ("Base64", "GetAZs", "ImportValue", "Cidr", "Length", "ToJsonString")


class TemplateError(ValueError):
    """The template cannot be read or evaluated (the message names where)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short tags."""


def _construct(long_name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if long_name == "Fn::GetAtt" and isinstance(value, str):
                resource, _, attribute = value.partition(".")
                value = [resource, attribute]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {long_name: value}

    return construct


_Loader.add_constructor("!Ref", _construct("Ref"))
_Loader.add_constructor("!Condition", _construct("Condition"))
for _tag in _FN_TAGS:
    _Loader.add_constructor(f"!{_tag}", _construct(f"Fn::{_tag}"))


def load_template(text: str, where: str = "template") -> dict[str, Any]:
    """The template as plain data (short tags in long form); TemplateError if it is not a mapping."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise TemplateError(f"{where}{line}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{where}: a template is a mapping with a Resources mapping")
    return data


def is_sam_template(text: str) -> bool:
    """Whether ``text`` is a SAM template (its ``Transform`` names AWS::Serverless-2016-10-31).

    Checked on the text (a template does not load with a plain YAML loader because of its tags).
    """
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Transform:") and SAM_TRANSFORM in stripped:
            return True
        if stripped.startswith("- ") and SAM_TRANSFORM in stripped and "Transform" in text:
            return True
    return False

"""Evaluate CloudFormation intrinsic functions over template data (pure).

Supported: `Ref`, `Fn::GetAtt`, `Fn::Sub` (both forms), `Fn::Join`, `Fn::If`, `Fn::Equals`,
`Fn::Not`, `Fn::And`, `Fn::Or`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Condition`, and the
pseudo parameters (`AWS::Region`, `AWS::AccountId`, `AWS::StackName`, `AWS::Partition`,
`AWS::URLSuffix`, `AWS::NoValue`). A reference Kumo cannot resolve raises :class:`Unresolved`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kumo.sam.loader import TemplateError

#: Marks a value removed by `Ref: AWS::NoValue` (dropped from the enclosing mapping or list).
NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Unresolved(TemplateError):
    """A reference (`Ref`, `Fn::GetAtt`, `${...}`) Kumo has no value for."""


@dataclass
class Context:
    """What intrinsics see: parameter values, conditions, mappings and the resources' Ref/GetAtt."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    #: Logical id -> the value of `Ref` (None: the resource has no Kumo value).
    ref: Callable[[str], Any] = lambda _: None
    #: (logical id, attribute) -> the value of `Fn::GetAtt` (None: none).
    get_att: Callable[[str, str], Any] = lambda _id, _att: None
    region: str = "us-east-1"
    account_id: str = "000000000000"
    stack_name: str = "kumo"
    _evaluated: dict[str, bool] = field(default_factory=dict)
    _evaluating: set[str] = field(default_factory=set)

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/kumo",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name not in values:
            raise Unresolved(f"pseudo parameter {name!r} is not supported")
        return values[name]

    def condition(self, name: str) -> bool:
        """The value of condition `name` (evaluated once; a cycle or unknown name is a TemplateError)."""
        if name in self._evaluated:
            return self._evaluated[name]
        if name not in self.conditions:
            raise TemplateError(f"condition {name!r} is not defined in Conditions")
        if name in self._evaluating:
            raise TemplateError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            value = evaluate(self.conditions[name], self)
        finally:
            self._evaluating.discard(name)
        if not isinstance(value, bool):
            raise TemplateError(f"condition {name!r} must evaluate to true or false, got {value!r}")
        self._evaluated[name] = value
        return value


def resolve_ref(name: Any, context: Context) -> Any:
    if not isinstance(name, str):
        raise TemplateError(f"Ref takes a name, got {name!r}")
    if name == "AWS::NoValue":
        return NO_VALUE
    if name.startswith("AWS::"):
        return context.pseudo(name)
    if name in context.parameters:
        return context.parameters[name]
    value = context.ref(name)
    if value is None:
        raise Unresolved(f"Ref {name}: no such parameter, or a resource Kumo gives no value")
    return value


def resolve_get_att(args: Any, context: Context) -> Any:
    if isinstance(args, str):
        args = args.split(".", 1)
    if not (isinstance(args, list) and len(args) == 2):
        raise TemplateError(f"Fn::GetAtt takes [resource, attribute], got {args!r}")
    resource, attribute = (evaluate(a, context) for a in args)
    value = context.get_att(str(resource), str(attribute))
    if value is None:
        raise Unresolved(f"Fn::GetAtt {resource}.{attribute}: Kumo has no value for this attribute")
    return value


def _sub(args: Any, context: Context) -> str:
    if isinstance(args, list):
        if len(args) != 2 or not isinstance(args[1], dict):
            raise TemplateError("Fn::Sub takes a string or [string, {variables}]")
        text, variables = args[0], {k: evaluate(v, context) for k, v in args[1].items()}
    else:
        text, variables = args, {}
    text = evaluate(text, context)
    if not isinstance(text, str):
        raise TemplateError(f"Fn::Sub takes a string, got {text!r}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in variables:
            return _text(variables[name])
        if "." in name and not name.startswith("AWS::"):
            resource, attribute = name.split(".", 1)
            return _text(resolve_get_att([resource, attribute], context))
        return _text(resolve_ref(name, context))

    # `${!Literal}` is written as `${Literal}`.
    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TemplateError(f"cannot put {value!r} into a string")


def _args(name: str, args: Any, count: int | None, context: Context) -> list[Any]:
    if not isinstance(args, list) or (count is not None and len(args) != count):
        raise TemplateError(f"{name} takes a list of {count} values, got {args!r}")
    return args


def _if(args: Any, context: Context) -> Any:
    condition, when_true, when_false = _args("Fn::If", args, 3, context)
    return evaluate(when_true if context.condition(condition) else when_false, context)


def _bool(name: str, value: Any, context: Context) -> bool:
    result = evaluate(value, context)
    if isinstance(result, dict) and set(result) == {"Condition"}:
        result = context.condition(result["Condition"])
    if not isinstance(result, bool):
        raise TemplateError(f"{name} takes conditions (true or false), got {result!r}")
    return result


def _equals(args: Any, context: Context) -> bool:
    left, right = (evaluate(a, context) for a in _args("Fn::Equals", args, 2, context))
    return _text(left) == _text(right) if not isinstance(left, list | dict) else left == right


def _select(args: Any, context: Context) -> Any:
    index, values = (evaluate(a, context) for a in _args("Fn::Select", args, 2, context))
    try:
        return values[int(index)]
    except (ValueError, TypeError, IndexError):
        raise TemplateError(f"Fn::Select: no item {index!r} in {values!r}") from None


def _split(args: Any, context: Context) -> list[str]:
    delimiter, text = (evaluate(a, context) for a in _args("Fn::Split", args, 2, context))
    if not isinstance(delimiter, str) or not isinstance(text, str):
        raise TemplateError("Fn::Split takes [delimiter, string]")
    return text.split(delimiter)


def _join(args: Any, context: Context) -> str:
    delimiter, values = (evaluate(a, context) for a in _args("Fn::Join", args, 2, context))
    if not isinstance(delimiter, str) or not isinstance(values, list):
        raise TemplateError("Fn::Join takes [delimiter, [values]]")
    return delimiter.join(_text(v) for v in values if v is not NO_VALUE)


def _find_in_map(args: Any, context: Context) -> Any:
    name, top, second = (evaluate(a, context) for a in _args("Fn::FindInMap", args, 3, context))
    try:
        return context.mappings[name][top][second]
    except (KeyError, TypeError):
        raise TemplateError(f"Fn::FindInMap: no {name}.{top}.{second} in Mappings") from None


_FUNCTIONS: dict[str, Callable[[Any, Context], Any]] = {
    "Ref": resolve_ref,
    "Fn::GetAtt": resolve_get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda a, c: not _bool("Fn::Not", _args("Fn::Not", a, 1, c)[0], c),
    "Fn::And": lambda a, c: all(_bool("Fn::And", v, c) for v in _args("Fn::And", a, None, c)),
    "Fn::Or": lambda a, c: any(_bool("Fn::Or", v, c) for v in _args("Fn::Or", a, None, c)),
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Condition": lambda a, c: c.condition(a),
}


def evaluate(value: Any, context: Context) -> Any:
    """`value` with every intrinsic function replaced by its value (`AWS::NoValue` entries removed)."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, args),) = value.items()
            if key in _FUNCTIONS:
                return _FUNCTIONS[key](args, context)
            if key.startswith("Fn::"):
                raise Unresolved(f"{key} is not supported by Kumo")
        result = {}
        for key, item in value.items():
            evaluated = evaluate(item, context)
            if evaluated is not NO_VALUE:
                result[key] = evaluated
        return result
    if isinstance(value, list):
        return [v for v in (evaluate(item, context) for item in value) if v is not NO_VALUE]
    return value

"""Stages and canaries (pure): which stage variables a request gets, and where its route's target points.

- **Stage selection**: a stage without a canary always serves with its own variables. A stage with a
  canary serves ``canary.percent`` % of its requests (chosen at random, per request) with the
  canary's overrides merged over the stage's variables; :func:`select_side` takes the random draw
  from an injectable ``random.Random`` (tests seed one; production uses :data:`RNG`).
- **Target resolution**: :func:`resolve_target` substitutes ``${stageVariables.name}`` in a route's
  ``function`` (``name`` or ``name:qualifier``, as API Gateway allows in a Lambda ARN) and
  ``qualifier``, and returns ``(function, qualifier)``; the endpoint checks the result against the
  catalog. A variable the stage does not define, or a result that is not a valid name, raises
  :class:`TargetError` (the request is answered 500, as API Gateway does for a bad integration).
- **Promotion**: :func:`promote_canary` is API Gateway's canary promotion as a model transform: the
  canary's overrides are copied into the stage's variables and its traffic share set to 0 (the
  canary settings stay, as in API Gateway, where only deleting them turns the canary off).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kumo.models.api import split_target
from kumo.models.base import DNS_LABEL_PATTERN

if TYPE_CHECKING:
    from kumo.models import Api, Stage

#: The gateway's source of canary draws (a module-level RNG; tests inject their own seeded one).
RNG = random.Random()

STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_FUNCTION_NAME = re.compile(DNS_LABEL_PATTERN)
_QUALIFIER = re.compile(r"^[a-zA-Z0-9$_-]{1,128}$")


class TargetError(ValueError):
    """A route target that does not resolve to a valid function name (and qualifier) in this stage."""


class PromotionError(Exception):
    """Why a stage's canary cannot be promoted; ``status`` is the admin API's answer."""

    status = 400


class StageNotFound(PromotionError):
    status = 404


class NoCanary(PromotionError):
    status = 409


@dataclass(frozen=True)
class Side:
    """The variables one request is served with, and whether it is the canary's share."""

    #: Shared by every request on this side: read it, never change it.
    variables: dict[str, str]
    #: True/False on a stage with a canary, None on a stage without one.
    canary: bool | None


@dataclass(frozen=True)
class CompiledStage:
    name: str
    primary: Side
    #: The canary's side (stage variables with the overrides), None when the stage has no canary.
    canary: Side | None
    percent: float


def compile_stage(stage: Stage) -> CompiledStage:
    """A stage's two sides, built once per Api object."""
    variables = dict(stage.variables)
    canary = getattr(stage, "canary", None)
    if canary is None:
        return CompiledStage(stage.name, Side(variables, None), None, 0.0)
    return CompiledStage(
        stage.name,
        Side(variables, False),
        Side({**variables, **canary.variables}, True),
        float(canary.percent),
    )


def canary_wins(percent: float, draw: float) -> bool:
    """Whether a request with ``draw`` (uniform in [0, 1)) goes to a canary taking ``percent`` %."""
    return draw * 100.0 < percent


def select_side(stage: CompiledStage, rng: random.Random = RNG) -> Side:
    """The side that serves one request: the canary's for ``percent`` % of draws, else the stage's."""
    if stage.canary is None:
        return stage.primary
    return stage.canary if canary_wins(stage.percent, rng.random()) else stage.primary


def substitute(template: str, variables: Mapping[str, str]) -> str:
    """Replace every ``${stageVariables.name}``; a name the stage does not define raises TargetError."""
    if "${" not in template:
        return template

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise TargetError(f"stage variable {name!r} is not defined")
        return variables[name]

    return STAGE_VARIABLE.sub(value, template)


def resolve_target(function: str, qualifier: str | None, variables: Mapping[str, str]) -> tuple[str, str | None]:
    """``(function name, qualifier or None)`` for a route's ``function`` and ``qualifier`` in a stage.

    ``function`` is ``name`` or ``name:qualifier``; stage variables may stand for any part (and a
    variable may hold a whole ``name:qualifier``). Raises :class:`TargetError` with the reason.
    """
    if qualifier is None and "${" not in function and ":" not in function:
        return function, None  # the common case: a plain Function name
    name, own_qualifier = split_target(substitute(function, variables))
    if qualifier is not None:
        if own_qualifier is not None:
            raise TargetError(f"{function!r} has a qualifier and the route gives another ({qualifier!r})")
        own_qualifier = substitute(qualifier, variables)
    if len(name) > 63 or not _FUNCTION_NAME.match(name):
        raise TargetError(f"{name!r} (from {function!r}) is not a valid function name")
    if own_qualifier is not None and not _QUALIFIER.match(own_qualifier):
        raise TargetError(f"{own_qualifier!r} is not a valid version or alias name")
    return name, own_qualifier


def describe_target(function: str, qualifier: str | None) -> str:
    """``name`` or ``name:qualifier``, for log lines."""
    return f"{function}:{qualifier}" if qualifier else function


def promote_stage(stage: Stage) -> Stage:
    """The stage after API Gateway's canary promotion: overrides copied into its variables, canary at 0 %."""
    canary = stage.canary
    if canary is None:
        raise NoCanary(f"stage {stage.name!r} has no canary to promote")
    return stage.model_copy(
        update={
            "variables": {**stage.variables, **canary.variables},
            "canary": canary.model_copy(update={"percent": 0.0}),
        }
    )


def promote_canary(api: Api, stage_name: str) -> Api:
    """A new Api object whose stage ``stage_name`` has its canary promoted (see :func:`promote_stage`)."""
    stages = list(api.spec.stages)
    for index, stage in enumerate(stages):
        if stage.name == stage_name:
            stages[index] = promote_stage(stage)
            break
    else:
        raise StageNotFound(f"Api {api.metadata.name!r} has no stage {stage_name!r}")
    return api.model_copy(update={"spec": api.spec.model_copy(update={"stages": stages})})

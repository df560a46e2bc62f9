"""Property-based checks: evaluator and update engine against tiny reference models; parser fuzzing."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kumo_tablestore.errors import ValidationException
from kumo_tablestore.expressions import (
    KeySchema,
    analyze_key_condition,
    apply_update,
    evaluate,
    parse_condition,
    parse_key_condition,
    parse_projection,
    parse_update,
    project,
    resolve,
    validate_request_placeholders,
)
from kumo_tablestore.values import validate_value

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ATTRS = ["a0", "a1", "a2", "a3"]
VALUE_NAMES = [":v0", ":v1", ":v2", ":v3"]

# ---------------------------------------------------------------- native values <-> AttributeValues
# A native value is (tag, python value): ("N", int) | ("S", str) | ("BOOL", bool).

natives = st.one_of(
    st.tuples(st.just("N"), st.integers(-5, 5)),
    st.tuples(st.just("S"), st.text(alphabet="abc", max_size=3)),
    st.tuples(st.just("BOOL"), st.booleans()),
)


def to_av(native: tuple[str, Any]) -> dict[str, Any]:
    tag, value = native
    if tag == "N":
        return {"N": str(value)}
    return {tag: value}


# ---------------------------------------------------------------- (1) conditions vs a reference interpreter


def ref_eq(x: Any, y: Any) -> bool:
    return x is not None and y is not None and x[0] == y[0] and x[1] == y[1]


def ref_cmp(x: Any, y: Any) -> int | None:
    if x is None or y is None or x[0] != y[0] or x[0] not in ("N", "S"):
        return None
    a, b = (x[1].encode(), y[1].encode()) if x[0] == "S" else (x[1], y[1])
    return (a > b) - (a < b)


def ref_compare(op: str, x: Any, y: Any) -> bool:
    if op == "=":
        return ref_eq(x, y)
    if op == "<>":
        return not ref_eq(x, y)
    c = ref_cmp(x, y)
    if c is None:
        return False
    return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


class InvalidExpression(Exception):
    """The reference model says DynamoDB refuses this expression."""


def ref_eval(node: tuple, item: dict, values: dict) -> bool:
    kind = node[0]
    if kind == "and":
        return ref_eval(node[1], item, values) and ref_eval(node[2], item, values)
    if kind == "or":
        return ref_eval(node[1], item, values) or ref_eval(node[2], item, values)
    if kind == "not":
        return not ref_eval(node[1], item, values)
    if kind == "cmp":
        _, op, operand, value = node
        left = item.get(operand[1])
        if operand[0] == "size":
            left = ("N", len(left[1])) if left is not None and left[0] == "S" else None
        return ref_compare(op, left, values[value])
    if kind == "between":
        _, attr, lo, hi = node
        x = item.get(attr)
        return ref_cmp(x, values[lo]) in (0, 1) and ref_cmp(x, values[hi]) in (-1, 0)
    if kind == "in":
        return any(ref_eq(item.get(node[1]), values[v]) for v in node[2])
    if kind == "exists":
        return (node[1] in item) is node[2]
    x, v = item.get(node[1]), values[node[2]]
    if x is None or x[0] != "S" or v[0] != "S":
        return False
    return x[1].startswith(v[1]) if kind == "begins_with" else v[1] in x[1]


def ref_check_static(node: tuple, values: dict) -> None:
    """Raise InvalidExpression where DynamoDB refuses the expression before evaluating it."""
    kind = node[0]
    if kind in ("and", "or"):
        ref_check_static(node[1], values)
        ref_check_static(node[2], values)
    elif kind == "not":
        ref_check_static(node[1], values)
    elif kind == "between":
        lo, hi = values[node[2]], values[node[3]]
        if lo[0] != hi[0] or (ref_cmp(lo, hi) or 0) > 0:
            raise InvalidExpression
    elif kind == "begins_with" and values[node[2]][0] not in ("S", "B"):
        raise InvalidExpression


def kw(word: str, data: st.DataObject) -> str:
    return data.draw(st.sampled_from([word, word.lower(), word.capitalize()]))


attrs = st.sampled_from(ATTRS)
vnames = st.sampled_from(VALUE_NAMES)
atoms = st.one_of(
    st.tuples(
        st.just("cmp"),
        st.sampled_from(["=", "<>", "<", "<=", ">", ">="]),
        st.tuples(st.sampled_from(["path", "size"]), attrs),
        vnames,
    ),
    st.tuples(st.just("between"), attrs, vnames, vnames),
    st.tuples(st.just("in"), attrs, st.lists(vnames, min_size=1, max_size=3)),
    st.tuples(st.just("exists"), attrs, st.booleans()),
    st.tuples(st.sampled_from(["begins_with", "contains"]), attrs, vnames),
)
conditions = st.recursive(
    atoms,
    lambda sub: st.one_of(
        st.tuples(st.just("and"), sub, sub), st.tuples(st.just("or"), sub, sub), st.tuples(st.just("not"), sub)
    ),
    max_leaves=8,
)
PRECEDENCE = {"or": 1, "and": 2, "not": 3}


def render(node: tuple, data: st.DataObject, parent: int = 0) -> str:
    kind = node[0]
    prec = PRECEDENCE.get(kind, 4)
    if kind in ("and", "or"):
        # Left-associative: a right child of equal precedence needs parentheses to keep the tree shape.
        left = render(node[1], data, prec)
        right = render(node[2], data, prec + 1)
        text = f"{left} {kw(kind.upper(), data)} {right}"
    elif kind == "not":
        text = f"{kw('NOT', data)} {render(node[1], data, prec)}"
    elif kind == "cmp":
        _, op, (form, attr), value = node
        left = attr if form == "path" else f"size({attr})"
        text = f"{left} {op} {value}"
    elif kind == "between":
        text = f"{node[1]} {kw('BETWEEN', data)} {node[2]} {kw('AND', data)} {node[3]}"
    elif kind == "in":
        text = f"{node[1]} {kw('IN', data)} ({', '.join(node[2])})"
    elif kind == "exists":
        text = f"{'attribute_exists' if node[2] else 'attribute_not_exists'}({node[1]})"
    else:
        text = f"{kind}({node[1]}, {node[2]})"
    if prec < parent or data.draw(st.integers(0, 9)) == 0:
        text = f"({text})"
    return text


@SETTINGS
@given(
    tree=conditions,
    item=st.dictionaries(attrs, natives),
    values=st.fixed_dictionaries({v: natives for v in VALUE_NAMES}),
    data=st.data(),
)
def test_evaluate_matches_reference(tree: tuple, item: dict, values: dict, data: st.DataObject) -> None:
    text = render(tree, data)
    av_item = {k: to_av(v) for k, v in item.items()}
    av_values = {k: to_av(v) for k, v in values.items()}
    parsed = parse_condition(text)
    try:
        ref_check_static(tree, values)
    except InvalidExpression:
        try:
            resolve(parsed, None, av_values)
        except ValidationException:
            return
        raise AssertionError(f"expected a ValidationException for {text!r}") from None
    node = resolve(parsed, None, av_values)
    assert evaluate(node, av_item) is ref_eval(tree, item, values), text


# ---------------------------------------------------------------- (2) updates vs a simple model


class ModelError(Exception):
    pass


actions = st.one_of(
    st.tuples(st.just("set_value"), attrs, natives),
    st.tuples(st.just("set_plus"), attrs, attrs, st.integers(-3, 3), st.sampled_from("+-")),
    st.tuples(st.just("set_ine"), attrs, attrs, natives),
    st.tuples(st.just("remove"), attrs),
    st.tuples(st.just("add_n"), attrs, st.integers(-3, 3)),
    st.tuples(st.just("add_ss"), attrs, st.frozensets(st.sampled_from("xyz"), min_size=1)),
)
model_values = st.one_of(natives, st.tuples(st.just("SS"), st.frozensets(st.sampled_from("xyz"), min_size=1)))


def model_apply(item: dict, acts: list[tuple]) -> dict:
    new = dict(item)
    for act in acts:
        kind, target = act[0], act[1]
        if kind == "set_value":
            new[target] = act[2]
        elif kind == "set_plus":
            source = item.get(act[2])
            if source is None or source[0] != "N":
                raise ModelError
            new[target] = ("N", source[1] + act[3] if act[4] == "+" else source[1] - act[3])
        elif kind == "set_ine":
            new[target] = item.get(act[2], act[3])
        elif kind == "remove":
            new.pop(target, None)
        elif kind == "add_n":
            current = item.get(target, ("N", 0))
            if current[0] != "N":
                raise ModelError
            new[target] = ("N", current[1] + act[2])
        else:
            current = item.get(target, ("SS", frozenset()))
            if current[0] != "SS":
                raise ModelError
            new[target] = ("SS", current[1] | act[2])
    return new


def render_update(acts: list[tuple]) -> tuple[str, dict]:
    clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": []}
    values: dict[str, Any] = {}
    for i, act in enumerate(acts):
        v = f":u{i}"
        kind, target = act[0], act[1]
        if kind == "set_value":
            values[v] = to_av(act[2])
            clauses["SET"].append(f"{target} = {v}")
        elif kind == "set_plus":
            values[v] = {"N": str(act[3])}
            clauses["SET"].append(f"{target} = {act[2]} {act[4]} {v}")
        elif kind == "set_ine":
            values[v] = to_av(act[3])
            clauses["SET"].append(f"{target} = if_not_exists({act[2]}, {v})")
        elif kind == "remove":
            clauses["REMOVE"].append(target)
        elif kind == "add_n":
            values[v] = {"N": str(act[2])}
            clauses["ADD"].append(f"{target} {v}")
        else:
            values[v] = {"SS": sorted(act[2])}
            clauses["ADD"].append(f"{target} {v}")
    text = " ".join(f"{k} {', '.join(parts)}" for k, parts in clauses.items() if parts)
    return text, values


def from_av(av: dict) -> tuple:
    if "N" in av:
        return ("N", Decimal(av["N"]))
    if "SS" in av:
        return ("SS", frozenset(av["SS"]))
    return next(iter(av.items()))


@SETTINGS
@given(
    acts=st.lists(actions, min_size=1, max_size=5, unique_by=lambda a: a[1]),
    item=st.dictionaries(attrs, model_values),
)
def test_apply_update_matches_model(acts: list[tuple], item: dict) -> None:
    text, values = render_update(acts)
    av_item = {k: {"SS": sorted(v[1])} if v[0] == "SS" else to_av(v) for k, v in item.items()}
    before = copy.deepcopy(av_item)
    ast = resolve(parse_update(text), None, values)
    try:
        expected = model_apply(item, acts)
    except ModelError:
        try:
            apply_update(ast, av_item)
        except ValidationException:
            assert av_item == before
            return
        raise AssertionError(f"expected a ValidationException for {text!r} on {item!r}") from None
    result = apply_update(ast, av_item)
    assert av_item == before
    got = {k: from_av(v) for k, v in result.item.items()}
    assert got == {k: (v[0], Decimal(v[1])) if v[0] == "N" else v for k, v in expected.items()}, text
    assert result.updated_names == {a[1] for a in acts}


# ---------------------------------------------------------------- (3) parser fuzzing

TOKENS = [
    "a",
    "b",
    "#a",
    "#b",
    "#zz",
    ":s",
    ":n",
    ":l",
    ":ss",
    ":zz",
    "status",
    "(",
    ")",
    "[",
    "]",
    "[0]",
    "[1]",
    ",",
    ".",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "AND",
    "or",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "size",
    "contains",
    "begins_with",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "if_not_exists",
    "list_append",
    "foo",
    "0",
    "\u00e9",
    "$",
    "  ",
]
VALID = [
    "a = :s AND (b < :n OR NOT attribute_exists(#a))",
    "size(a[0]) BETWEEN :n AND :n OR contains(#b, :s)",
    "a IN (:s, :n) AND begins_with(b, :s)",
    "SET a = b + :n, #a = list_append(if_not_exists(#a, :l), :l) REMOVE b[1] ADD c :ss DELETE d :ss",
    "a.b[1], #a, c",
    "a = :s AND b BETWEEN :n AND :n",
]
NAMES = {"#a": "a", "#b": "b"}
VALUES = {":s": {"S": "x"}, ":n": {"N": "1"}, ":l": {"L": [{"N": "1"}]}, ":ss": {"SS": ["x"]}}
FUZZ_ITEM = {
    "a": {"S": "xy"},
    "b": {"L": [{"N": "1"}, {"M": {"c": {"N": "2"}}}]},
    "c": {"SS": ["x", "y"]},
    "d": {"N": "3"},
}


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(TOKENS))
        if op == "insert":
            text = text[:pos] + piece + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)) :]
        else:
            text = text[:pos] + piece + text[pos + len(piece) :]
    return text


fuzz_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join),
    mutated(),
)


def run_all_entry_points(text: str) -> None:
    item = copy.deepcopy(FUZZ_ITEM)
    steps = [
        lambda: evaluate(resolve(parse_condition(text), NAMES, VALUES), item),
        lambda: apply_update(resolve(parse_update(text), NAMES, VALUES), item, ("d",)),
        lambda: project(item, [p.elements for p in resolve(parse_projection(text), NAMES, None)]),
        lambda: analyze_key_condition(resolve(parse_key_condition(text), NAMES, VALUES), KeySchema("a", "S", "d", "N")),
    ]
    for step in steps:
        try:
            step()
        except ValidationException as exc:
            assert exc.message and "Traceback" not in exc.message
    assert item == FUZZ_ITEM


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=fuzz_text)
def test_parsers_only_raise_validation_errors(text: str) -> None:
    run_all_entry_points(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=True),
    lambda sub: (
        st.lists(sub, max_size=3)
        | st.dictionaries(
            st.sampled_from(["S", "N", "B", "SS", "NS", "BS", "L", "M", "BOOL", "NULL", "x"]), sub, max_size=2
        )
    ),
    max_leaves=6,
)


@SETTINGS
@given(value=json_values)
def test_value_validation_only_raises_validation_errors(value: Any) -> None:
    try:
        validate_value(value)
    except ValidationException as exc:
        assert exc.message


@SETTINGS
@given(
    names=st.one_of(st.none(), st.dictionaries(st.sampled_from(["#a", "#b", "#c"]), json_values, max_size=3)),
    values=st.one_of(st.none(), st.dictionaries(st.sampled_from([":s", ":n", ":x"]), json_values, max_size=3)),
)
def test_placeholder_validation_only_raises_validation_errors(names: Any, values: Any) -> None:
    try:
        validate_request_placeholders([parse_condition("#a = :s AND #b = :n")], names, values)
    except ValidationException as exc:
        assert exc.message

"""Condition, projection and key-condition expressions: parsing, placeholders, evaluation, errors."""

from __future__ import annotations

import pytest

from kumo_tablestore.errors import ValidationException
from kumo_tablestore.expressions import (
    RESERVED_WORDS,
    KeySchema,
    compile_condition,
    compile_key_condition,
    compile_projection,
    evaluate,
    parse_condition,
    parse_projection,
    parse_update,
    project,
    validate_request_placeholders,
)

ITEM = {
    "pk": {"S": "user#1"},
    "age": {"N": "42"},
    "nm": {"S": "Ada"},
    "tags": {"SS": ["admin", "dev"]},
    "scores": {"NS": ["1", "2.5"]},
    "bin": {"B": "AQID"},  # bytes 01 02 03
    "active": {"BOOL": True},
    "nothing": {"NULL": True},
    "lst": {"L": [{"N": "1"}, {"L": [{"S": "deep"}]}, {"M": {"x": {"N": "7"}}}]},
    "mp": {"M": {"inr": {"M": {"v": {"S": "yes"}}}, "n": {"N": "3"}}},
}
VALUES = {
    ":n42": {"N": "42"},
    ":n40": {"N": "40"},
    ":n50": {"N": "50"},
    ":n3": {"N": "3"},
    ":ada": {"S": "Ada"},
    ":ad": {"S": "Ad"},
    ":admin": {"S": "admin"},
    ":deep": {"S": "deep"},
    ":seven": {"N": "7"},
    ":t_n": {"S": "N"},
    ":t_ss": {"S": "SS"},
    ":b": {"B": "AQI="},  # bytes 01 02
    ":yes": {"S": "yes"},
    ":one": {"N": "1"},
}


def check(text: str, item: dict | None = None, names: dict | None = None) -> bool:
    return evaluate(compile_condition(text, names, VALUES), ITEM if item is None else item)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age = :n42", True),
        ("age <> :n42", False),
        ("age < :n50", True),
        ("age <= :n42", True),
        ("age > :n40", True),
        ("age >= :n50", False),
        ("nm = :ada", True),
        ("nm > :ad", True),
        ("age BETWEEN :n40 AND :n50", True),
        ("age BETWEEN :n40 AND :n42", True),
        ("age between :n3 and :n40", False),
        ("age IN (:n3, :n42)", True),
        ("age in (:n3, :n40)", False),
        ("attribute_exists(age)", True),
        ("attribute_exists(absent)", False),
        ("attribute_not_exists(absent)", True),
        ("attribute_type(age, :t_n)", True),
        ("attribute_type(tags, :t_ss)", True),
        ("attribute_type(age, :t_ss)", False),
        ("begins_with(nm, :ad)", True),
        ("begins_with(bin, :b)", True),
        ("begins_with(age, :ad)", False),
        ("contains(tags, :admin)", True),
        ("contains(nm, :ad)", True),
        ("contains(lst[1], :deep)", True),
        ("contains(scores, :one)", True),
        ("size(tags) = :one", False),
        ("size(nm) = :n3", True),
        ("size(lst) >= :n3", True),
        ("size(absent) = :n3", False),
        ("lst[0] = :one", True),
        ("lst[1][0] = :deep", True),
        ("lst[2].x = :seven", True),
        ("mp.inr.v = :yes", True),
        ("mp.n = :n3", True),
        ("mp.inr.v = :n3", False),
        ("absent = :n3", False),
        ("absent <> :n3", True),
        ("nm = :n42", False),  # type mismatch is simply false
        ("nm < :n42", False),
        ("NOT age = :n3", True),
        ("(age = :n3)", False),
    ],
)
def test_condition_semantics(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # AND binds tighter than OR: true OR (false AND false)
        ("age = :n42 OR age = :n3 AND age = :n40", True),
        ("(age = :n42 OR age = :n3) AND age = :n40", False),
        # NOT binds tighter than AND: (NOT false) AND true
        ("NOT age = :n3 AND age = :n42", True),
        ("NOT (age = :n3 OR age = :n42)", False),
        ("NOT NOT age = :n42", True),
        ("age = :n3 or age = :n40 or nm = :ada", True),
    ],
)
def test_precedence(text: str, expected: bool) -> None:
    assert check(text) is expected


def test_name_placeholders_and_reserved_words() -> None:
    names = {"#s": "status", "#d": "a.b"}
    item = {"status": {"S": "ok"}, "a.b": {"N": "1"}, "a": {"M": {"b": {"N": "2"}}}}
    values = {":ok": {"S": "ok"}, ":one": {"N": "1"}}
    assert evaluate(compile_condition("#s = :ok AND #d = :one", names, values), item)
    assert evaluate(compile_condition("a.b = :one", None, values), item) is False
    with pytest.raises(ValidationException) as err:
        compile_condition("status = :ok", None, values)
    assert err.value.message == (
        "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    )
    with pytest.raises(ValidationException, match="reserved keyword: Size"):
        parse_condition("a.Size = :v")
    assert len(RESERVED_WORDS) == 573


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age >", 'Syntax error; token: "<EOF>", near: ">"'),
        ("a = = :v", 'Syntax error; token: "=", near: "= = :v"'),
        ("first-name = :v", 'Syntax error; token: "-", near: "first-name"'),
        ("a = :v extra", 'Syntax error; token: "extra", near: ":v extra"'),
        ("a[x] = :v", 'Syntax error; token: "x", near: "[x]"'),
        ("a = :v AND", 'Syntax error; token: "<EOF>", near: "AND"'),
        ("a BETWEEN :v", 'Syntax error; token: "<EOF>"'),
        ("a = $", 'Syntax error; token: "$"'),
        ("a = #", 'Syntax error; token: "#"'),
        ("(a = :v", 'Syntax error; token: "<EOF>"'),
        ("", "The expression can not be empty;"),
        ("   ", "The expression can not be empty;"),
        ("foo(a)", "Invalid function name; function: foo"),
        ("size(a)", "The function is not allowed to be used this way in an expression; function: size"),
        ("attribute_exists(a) = :v", "not allowed to be used this way in an expression; function: attribute_exists"),
        ("list_append(a, :v)", "The function is not allowed in a condition expression; function: list_append"),
        ("begins_with(a)", "Incorrect number of operands for operator or function; operator or function: begins_with"),
        (
            "attribute_exists(:v)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        ("a = " + "b." * 32 + "c", "The document path has too many nesting levels; nesting levels: 33"),
        ("a IN (" + ", ".join([":v"] * 101) + ")", "too many operands for the IN operator; number of operands: 101"),
        ("NOT " * 101 + "a = :v", "The expression has too many nested levels"),
        ("(" * 500 + "a = :v" + ")" * 500, "The expression has too many nested levels"),
        ("size(" * 600 + "a" + ")" * 600 + " = :v", "The expression has too many nested levels"),
        ("a = :v AND a = " + "x" * 4100, "Expression size has exceeded the maximum allowed size"),
    ],
)
def test_condition_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationException) as err:
        compile_condition(text, None, {":v": {"N": "1"}})
    assert err.value.message.startswith("Invalid ConditionExpression: ")
    assert message in err.value.message


def test_limits_that_are_still_accepted() -> None:
    values = {":v": {"N": "1"}}
    assert evaluate(compile_condition("NOT " * 100 + "a = :v", None, values), {"a": {"N": "1"}})
    assert not evaluate(compile_condition("NOT " * 99 + "a = :v", None, values), {"a": {"N": "1"}})
    assert evaluate(compile_condition("(" * 100 + "a = :v" + ")" * 100, None, values), {"a": {"N": "1"}})
    assert evaluate(compile_condition("a IN (" + ", ".join([":v"] * 100) + ")", None, values), {"a": {"N": "1"}})
    long_and = " AND ".join(["a = :v"] * 350)
    assert evaluate(compile_condition(long_and, None, values), {"a": {"N": "1"}})


def test_filter_kind_appears_in_messages() -> None:
    with pytest.raises(ValidationException, match=r"^Invalid FilterExpression: Syntax error"):
        parse_condition("a =", "FilterExpression")


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("a = #x", {}, "An expression attribute name used in the document path is not defined; attribute name: #x"),
        ("a = :zz", {}, "An expression attribute value used in expression is not defined; attribute value: :zz"),
        (
            "a BETWEEN :hi AND :lo",
            {":hi": {"N": "5"}, ":lo": {"N": "1"}},
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
            "lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}",
        ),
        (
            "a BETWEEN :lo AND :s",
            {":lo": {"N": "1"}, ":s": {"S": "x"}},
            "The BETWEEN operator requires same data type for lower and upper bounds; "
            "lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:x}",
        ),
        (
            "attribute_type(a, :t)",
            {":t": {"S": "STRING"}},
            "Invalid attribute type name found; type: STRING, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "begins_with(a, :n)",
            {":n": {"N": "1"}},
            "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "a = a",
            {},
            "The first operand must be distinct from the second operand; operator: =, "
            "first operand: [a], second operand: [a]",
        ),
    ],
)
def test_resolution_errors(text: str, values: dict, message: str) -> None:
    with pytest.raises(ValidationException) as err:
        compile_condition(text, {}, values)
    assert err.value.message == f"Invalid ConditionExpression: {message}"


def test_parse_is_cached_and_case_insensitive() -> None:
    assert parse_condition("a = :v and b = :w") is parse_condition("a = :v and b = :w")
    lower = compile_condition("not a between :v and :w or b in (:v)", None, {":v": {"N": "1"}, ":w": {"N": "2"}})
    upper = compile_condition("NOT a BETWEEN :v AND :w OR b IN (:v)", None, {":v": {"N": "1"}, ":w": {"N": "2"}})
    assert lower == upper


def test_placeholders_across_a_request() -> None:
    cond = parse_condition("#a = :v")
    update = parse_update("SET #b = :w")
    values = validate_request_placeholders(
        [cond, update, None], {"#a": "x", "#b": "y"}, {":v": {"N": "1.0"}, ":w": {"S": "s"}}
    )
    assert values == {":v": {"N": "1"}, ":w": {"S": "s"}}
    with pytest.raises(ValidationException) as err:
        validate_request_placeholders([cond], {"#a": "x", "#zz": "y", "#q": "z"}, {":v": {"N": "1"}})
    assert err.value.message == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#q, #zz}"
    with pytest.raises(ValidationException) as err:
        validate_request_placeholders([cond], {"#a": "x"}, {":v": {"N": "1"}, ":u": {"N": "1"}})
    assert err.value.message == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"
    with pytest.raises(ValidationException, match=r"^ExpressionAttributeNames must not be empty$"):
        validate_request_placeholders([cond], {}, {":v": {"N": "1"}})
    with pytest.raises(ValidationException, match=r"^ExpressionAttributeValues must not be empty$"):
        validate_request_placeholders([cond], {"#a": "x"}, {})
    with pytest.raises(ValidationException, match="can only be specified when using expressions"):
        validate_request_placeholders([None], {"#a": "x"}, None)
    with pytest.raises(ValidationException) as err:
        validate_request_placeholders([cond], {"#a": "x"}, {":v": {"SS": []}})
    assert err.value.message == (
        "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: "
        "An string set  may not be empty for key :v"
    )


def test_projection() -> None:
    paths = compile_projection("#n, lst[2].x, lst[0], mp.inr, absent, mp.nope.deeper", {"#n": "nm"})
    assert project(ITEM, paths) == {
        "nm": {"S": "Ada"},
        "lst": {"L": [{"N": "1"}, {"M": {"x": {"N": "7"}}}]},
        "mp": {"M": {"inr": {"M": {"v": {"S": "yes"}}}}},
    }
    assert project(ITEM, compile_projection("age.x, lst[9]")) == {}
    assert project(None, compile_projection("a")) == {}
    copied = project(ITEM, compile_projection("mp"))
    copied["mp"]["M"]["n"]["N"] = "999"
    assert ITEM["mp"]["M"]["n"] == {"N": "3"}
    with pytest.raises(ValidationException) as err:
        compile_projection("a, a.b")
    assert err.value.message == (
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite "
        "one of these paths; path one: [a], path two: [a, b]"
    )
    with pytest.raises(ValidationException, match="Two document paths conflict"):
        compile_projection("a[0], a.b")
    with pytest.raises(ValidationException, match=r'^Invalid ProjectionExpression: Syntax error; token: ","'):
        parse_projection("a,,b")
    with pytest.raises(ValidationException, match="reserved keyword: name"):
        parse_projection("name")


SCHEMA = KeySchema("pk", "S", "sk", "N")
KEY_VALUES = {":p": {"S": "u1"}, ":a": {"N": "1"}, ":b": {"N": "5"}, ":s": {"S": "x"}}


@pytest.mark.parametrize(
    ("text", "op", "bounds"),
    [
        ("pk = :p", None, None),
        ("pk = :p AND sk = :a", "=", ("1",)),
        ("sk < :a AND pk = :p", "<", ("1",)),
        ("pk = :p AND sk <= :a", "<=", ("1",)),
        ("pk = :p AND :a < sk", ">", ("1",)),
        ("pk = :p AND sk >= :a", ">=", ("1",)),
        ("(pk = :p) AND (sk BETWEEN :a AND :b)", "BETWEEN", ("1", "5")),
    ],
)
def test_key_condition_analysis(text: str, op: str | None, bounds: tuple | None) -> None:
    result = compile_key_condition(text, SCHEMA, None, KEY_VALUES)
    assert result.partition_key == "pk"
    assert result.partition_value == {"S": "u1"}
    if op is None:
        assert result.sort is None
    else:
        assert result.sort is not None
        assert result.sort.op == op
        assert tuple(v["N"] for v in result.sort.values) == bounds


def test_key_condition_begins_with_and_matching() -> None:
    schema = KeySchema("pk", "S", "sk", "S")
    values = {":p": {"S": "u1"}, ":pre": {"S": "order#"}}
    result = compile_key_condition("pk = :p AND begins_with(#s, :pre)", schema, {"#s": "sk"}, values)
    assert result.sort is not None and result.sort.op == "begins_with"
    assert result.sort.matches({"S": "order#1"})
    assert not result.sort.matches({"S": "invoice#1"})
    between = compile_key_condition("pk = :p AND sk BETWEEN :a AND :b", SCHEMA, None, KEY_VALUES).sort
    assert between is not None
    assert between.matches({"N": "3"}) and between.matches({"N": "5"}) and not between.matches({"N": "6"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sk = :a", "Query condition missed key schema element: pk"),
        ("pk < :p", "Query key condition not supported"),
        ("pk = :p OR sk = :a", "Invalid operator used in KeyConditionExpression: OR"),
        ("NOT pk = :p", "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk IN (:p)", "Invalid operator used in KeyConditionExpression: IN"),
        ("pk = :p AND attribute_exists(sk)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("pk = :p AND sk <> :a", "Invalid operator used in KeyConditionExpression: <>"),
        ("pk = :p AND attr2 = :a", "Query condition missed key schema element: sk"),
        ("pk = :p AND sk = :a AND sk = :b", "Conditions can be of length 1 or 2 only"),
        ("pk = :p AND pk = :p", "KeyConditionExpressions must only contain one condition per key"),
        ("pk = :a", "Condition parameter type does not match schema type"),
        ("pk = :p AND sk = :s", "Condition parameter type does not match schema type"),
        ("pk = :p AND begins_with(sk, :a)", "operator or function: begins_with, operand type: N"),
        ("pk = :p AND sk BETWEEN :b AND :a", "requires upper bound to be greater than or equal to lower bound"),
        ("pk = :p AND sk.x = :a", "Nested attributes are not supported"),
        ("pk = :p AND", 'Invalid KeyConditionExpression: Syntax error; token: "<EOF>"'),
    ],
)
def test_key_condition_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationException) as err:
        compile_key_condition(text, SCHEMA, None, KEY_VALUES)
    assert message in err.value.message


def test_key_condition_on_hash_only_table() -> None:
    schema = KeySchema("pk", "S")
    assert compile_key_condition("pk = :p", schema, None, KEY_VALUES).sort is None
    with pytest.raises(ValidationException, match="Query key condition not supported"):
        compile_key_condition("pk = :p AND sk = :a", schema, None, KEY_VALUES)

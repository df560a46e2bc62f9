"""Update expressions: SET/REMOVE/ADD/DELETE semantics, validation and exact numbers."""

from __future__ import annotations

import copy

import pytest

from kumo_tablestore.errors import ValidationException
from kumo_tablestore.expressions import compile_update, parse_update, project, update_item

BASE = {
    "pk": {"S": "k"},
    "n": {"N": "5"},
    "s": {"S": "text"},
    "tags": {"SS": ["a", "b"]},
    "nums": {"NS": ["1", "2"]},
    "lst": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "3"}]},
    "m": {"M": {"a": {"M": {"b": {"N": "1"}}}, "keep": {"S": "x"}}},
}


def run(text: str, values: dict | None = None, names: dict | None = None, item: dict | None = None):
    source = copy.deepcopy(BASE) if item is None else item
    before = copy.deepcopy(source)
    result = update_item(text, source, names, values, key_names=("pk",))
    assert source == before, "the input item must never be modified"
    return result


def test_set_values_paths_and_functions() -> None:
    values = {":v": {"S": "new"}, ":one": {"N": "1"}, ":l": {"L": [{"S": "z"}]}, ":e": {"L": []}}
    result = run(
        "SET a = :v, b = n + :one, c = n - :one, d = list_append(lst, :l), e = list_append(:l, lst), "
        "f = if_not_exists(n, :one), g = if_not_exists(nope, :one), h = list_append(if_not_exists(x, :e), :l), "
        "i = s, m.a.b = :v, m.z = :one",
        values,
    )
    item = result.item
    assert item["a"] == {"S": "new"}
    assert item["b"] == {"N": "6"} and item["c"] == {"N": "4"}
    assert item["d"]["L"][-1] == {"S": "z"} and len(item["d"]["L"]) == 5
    assert item["e"]["L"][0] == {"S": "z"}
    assert item["f"] == {"N": "5"} and item["g"] == {"N": "1"}
    assert item["h"] == {"L": [{"S": "z"}]}
    assert item["i"] == {"S": "text"}
    assert item["m"] == {"M": {"a": {"M": {"b": {"S": "new"}}}, "keep": {"S": "x"}, "z": {"N": "1"}}}
    assert result.updated_names == frozenset("abcdefghim")


def test_all_actions_see_the_item_before_the_update() -> None:
    result = run("SET a = n, n = :ten, b = n + :ten", {":ten": {"N": "10"}})
    assert result.item["a"] == {"N": "5"}
    assert result.item["n"] == {"N": "10"}
    assert result.item["b"] == {"N": "15"}


def test_remove_list_indexes_refer_to_the_old_list() -> None:
    result = run("REMOVE lst[1], lst[3], m.a, absent, lst[9]")
    assert result.item["lst"] == {"L": [{"N": "0"}, {"N": "2"}]}
    assert result.item["m"] == {"M": {"keep": {"S": "x"}}}
    assert "absent" not in result.item


def test_set_list_index_and_append_past_end() -> None:
    result = run("SET lst[0] = :v, lst[10] = :w", {":v": {"S": "first"}, ":w": {"S": "last"}})
    assert result.item["lst"]["L"][0] == {"S": "first"}
    assert result.item["lst"]["L"][-1] == {"S": "last"}
    assert len(result.item["lst"]["L"]) == 5


def test_add_numbers_and_sets() -> None:
    result = run(
        "ADD n :tenth, fresh :tenth, tags :more, nums :nums, newset :more",
        {":tenth": {"N": "0.1"}, ":more": {"SS": ["b", "c"]}, ":nums": {"NS": ["2", "3"]}},
    )
    item = result.item
    assert item["n"] == {"N": "5.1"}
    assert item["fresh"] == {"N": "0.1"}
    assert item["tags"] == {"SS": ["a", "b", "c"]}
    assert item["nums"] == {"NS": ["1", "2", "3"]}
    assert item["newset"] == {"SS": ["b", "c"]}


def test_add_point_one_and_point_two_is_exactly_point_three() -> None:
    item = {"pk": {"S": "k"}, "x": {"N": "0.1"}}
    assert update_item("ADD x :v", item, None, {":v": {"N": "0.2"}}).item["x"] == {"N": "0.3"}
    assert update_item("SET x = x + :v", item, None, {":v": {"N": "0.2"}}).item["x"] == {"N": "0.3"}


def test_38_digit_numbers_round_trip_and_overflow() -> None:
    big = "12345678901234567890123456789012345678"
    item = {"x": {"N": big}}
    assert update_item("ADD x :z", item, None, {":z": {"N": "0"}}).item["x"] == {"N": big}
    assert update_item("SET y = x - :z", item, None, {":z": {"N": "1"}}).item["y"] == {
        "N": "12345678901234567890123456789012345677"
    }
    with pytest.raises(ValidationException, match="38 significant digits"):
        update_item("ADD x :z", item, None, {":z": {"N": "0.1"}})
    top = {"x": {"N": "9.9999999999999999999999999999999999999E+125"}}
    with pytest.raises(ValidationException, match="Number overflow"):
        update_item("SET x = x + :z", top, None, {":z": {"N": "1E+125"}})


def test_delete_from_sets() -> None:
    result = run("DELETE tags :a, nums :all, nope :a", {":a": {"SS": ["a", "zz"]}, ":all": {"NS": ["1.0", "2"]}})
    assert result.item["tags"] == {"SS": ["b"]}
    assert "nums" not in result.item  # an emptied set disappears
    assert "nope" not in result.item


def test_updated_paths_give_updated_old_and_new() -> None:
    source = copy.deepcopy(BASE)
    result = run("SET m.a.b = :v REMOVE s", {":v": {"N": "2"}}, item=source)
    assert project(source, result.updated_paths) == {"m": {"M": {"a": {"M": {"b": {"N": "1"}}}}}, "s": {"S": "text"}}
    assert project(result.item, result.updated_paths) == {"m": {"M": {"a": {"M": {"b": {"N": "2"}}}}}}


def test_update_on_a_new_item() -> None:
    result = update_item("SET a = :v ADD c :n", None, None, {":v": {"S": "x"}, ":n": {"N": "2"}})
    assert result.item == {"a": {"S": "x"}, "c": {"N": "2"}}


def test_clause_keywords_case_insensitive_and_in_any_order() -> None:
    result = run("remove s add n :one set a = :one delete tags :t", {":one": {"N": "1"}, ":t": {"SS": ["a"]}})
    assert "s" not in result.item and result.item["n"] == {"N": "6"} and result.item["tags"] == {"SS": ["b"]}


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        (
            "SET a = :v, a.b = :v",
            {":v": {"N": "1"}},
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of "
            "these paths; path one: [a], path two: [a, b]",
        ),
        ("SET a = :v REMOVE a", {":v": {"N": "1"}}, "Two document paths overlap with each other"),
        ("SET a.b = :v, c = :v, a = :v", {":v": {"N": "1"}}, "path one: [a, b], path two: [a]"),
        ("REMOVE x, lst[1], y, lst[1]", {}, "path one: [lst, [1]], path two: [lst, [1]]"),
        ("SET lst[0] = :v, lst.x = :v", {":v": {"N": "1"}}, "Two document paths conflict with each other"),
        (
            "SET pk = :v",
            {":v": {"N": "1"}},
            "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
        ),
        ("REMOVE pk", {}, "Cannot update attribute pk"),
        (
            "SET nope.x = :v",
            {":v": {"N": "1"}},
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET s.x = :v",
            {":v": {"N": "1"}},
            "The document path provided in the update expression is invalid for update",
        ),
        ("SET lst.x = :v", {":v": {"N": "1"}}, "invalid for update"),
        ("REMOVE s.x", {}, "invalid for update"),
        (
            "SET a = :v SET b = :v",
            {":v": {"N": "1"}},
            'The "SET" section can only be used once in an update expression;',
        ),
        ("REMOVE a REMOVE b", {}, 'The "REMOVE" section can only be used once'),
        (
            "ADD a :v",
            {":v": {"S": "x"}},
            "Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
        ("ADD a :v", {":v": {"L": []}}, "operator: ADD, operand type: LIST"),
        ("DELETE tags :v", {":v": {"N": "1"}}, "operator: DELETE, operand type: NUMBER"),
        ("ADD s :v", {":v": {"N": "1"}}, "An operand in the update expression has an incorrect data type"),
        ("ADD tags :v", {":v": {"NS": ["1"]}}, "An operand in the update expression has an incorrect data type"),
        ("DELETE n :v", {":v": {"SS": ["1"]}}, "An operand in the update expression has an incorrect data type"),
        ("SET a = s + :v", {":v": {"N": "1"}}, "An operand in the update expression has an incorrect data type"),
        ("SET a = n + :v", {":v": {"S": "x"}}, "operator or function: +, operand type: S"),
        (
            "SET a = list_append(s, :v)",
            {":v": {"L": []}},
            "An operand in the update expression has an incorrect data type",
        ),
        ("SET a = list_append(lst, :v)", {":v": {"S": "x"}}, "operator or function: list_append, operand type: S"),
        (
            "SET a = nope + :v",
            {":v": {"N": "1"}},
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        ("SET a = nope", {}, "refers to an attribute that does not exist"),
        ("SET a = :v + :v + :v", {":v": {"N": "1"}}, 'Syntax error; token: "+"'),
        ("SET a = size(b)", {}, "The function is not allowed in an update expression; function: size"),
        ("SET a = if_not_exists(:v, :v)", {":v": {"N": "1"}}, "Operator or function requires a document path"),
        ("SET a = list_append(:v)", {":v": {"L": []}}, "Incorrect number of operands"),
        ("SET a :v", {":v": {"N": "1"}}, 'Syntax error; token: ":v", near: "a :v"'),
        ("SET", {}, 'Syntax error; token: "<EOF>", near: "SET"'),
        ("UPSERT a = :v", {":v": {"N": "1"}}, 'Syntax error; token: "UPSERT"'),
        ("SET a = :v,", {":v": {"N": "1"}}, 'Syntax error; token: "<EOF>"'),
        ("ADD a", {}, 'Syntax error; token: "<EOF>"'),
        ("", {}, "Invalid UpdateExpression: The expression can not be empty;"),
        ("SET #x = :v", {":v": {"N": "1"}}, "An expression attribute name used in the document path is not defined"),
        ("SET a = :zz", {}, "An expression attribute value used in expression is not defined; attribute value: :zz"),
        ("SET status = :v", {":v": {"N": "1"}}, "Attribute name is a reserved keyword; reserved keyword: status"),
    ],
)
def test_update_errors(text: str, values: dict, message: str) -> None:
    before = copy.deepcopy(BASE)
    with pytest.raises(ValidationException) as err:
        update_item(text, before, None, values, key_names=("pk",))
    assert message in err.value.message
    assert before == BASE


def test_parse_update_structure_and_cache() -> None:
    parsed = parse_update("SET #a = :v REMOVE b ADD c :n DELETE d :s")
    assert parsed.names == frozenset({"#a"})
    assert parsed.values == frozenset({":v", ":n", ":s"})
    assert parse_update("SET #a = :v REMOVE b ADD c :n DELETE d :s") is parsed
    ast = compile_update(
        "SET #a = :v REMOVE b ADD c :n DELETE d :s",
        {"#a": "real"},
        {":v": {"S": "x"}, ":n": {"N": "1"}, ":s": {"SS": ["q"]}},
    )
    assert [a.path.elements for a in ast.actions()] == [("real",), ("b",), ("c",), ("d",)]

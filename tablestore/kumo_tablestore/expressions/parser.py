"""Recursive-descent parsers for DynamoDB expressions, cached by expression text.

Precedence, highest first: comparators/BETWEEN/IN/functions, parentheses, NOT, AND, OR.
Keywords are case-insensitive; bare attribute names that are reserved words are refused.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import ValidationException
from . import nodes as n
from .lexer import ATTR_NAME, ATTR_VALUE, EOF, INTEGER, NAME, Token, syntax_error, tokenize
from .reserved import is_reserved

MAX_EXPRESSION_BYTES = 4096
MAX_PATH_DEPTH = 32
MAX_IN_OPERANDS = 100
#: Parentheses and NOTs nest at most this deep (keeps the recursive parser and evaluator bounded).
MAX_NESTING = 100
COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
BOOLEAN_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})
_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")


class _Parser:
    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind
        if not text.strip():
            raise self.error("The expression can not be empty;")
        size = len(text.encode())
        if size > MAX_EXPRESSION_BYTES:
            raise self.error(f"Expression size has exceeded the maximum allowed size; expression size: {size}")
        self.tokens = tokenize(text, kind)
        self.pos = 0
        self.names: set[str] = set()
        self.values: set[str] = set()
        #: First reserved word used as a bare name; reported only once the syntax is known good.
        self.reserved: str | None = None
        self.depth = 0

    # ------------------------------------------------------------ helpers

    def error(self, message: str) -> ValidationException:
        return ValidationException(f"Invalid {self.kind}: {message}")

    def syntax(self) -> ValidationException:
        return syntax_error(self.kind, self.text, self.tokens, self.pos)

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != EOF:
            self.pos += 1
        return token

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.syntax()
        return self.advance()

    def at_keyword(self, word: str) -> bool:
        return self.tok.kind == NAME and self.tok.text.upper() == word

    def finish(self) -> None:
        if self.tok.kind != EOF:
            raise self.syntax()
        if self.reserved is not None:
            raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {self.reserved}")

    def parsed(self, root: object) -> n.Parsed:
        return n.Parsed(self.kind, root, frozenset(self.names), frozenset(self.values))

    # ------------------------------------------------------------ paths and operands

    def path_element(self) -> str:
        token = self.tok
        if token.kind == ATTR_NAME:
            self.names.add(token.text)
        elif token.kind == NAME:
            if token.text.upper() in _KEYWORDS:
                raise self.syntax()
            if self.reserved is None and is_reserved(token.text):
                self.reserved = token.text
        else:
            raise self.syntax()
        self.advance()
        return token.text

    def path(self) -> n.PathNode:
        elements: list[str | int] = [self.path_element()]
        while True:
            if self.tok.kind == ".":
                self.advance()
                elements.append(self.path_element())
            elif self.tok.kind == "[":
                self.advance()
                elements.append(int(self.expect(INTEGER).text))
                self.expect("]")
            else:
                break
        if len(elements) > MAX_PATH_DEPTH:
            raise self.error(f"The document path has too many nesting levels; nesting levels: {len(elements)}")
        return n.PathNode(tuple(elements))

    def value(self) -> n.ValueRef:
        token = self.expect(ATTR_VALUE)
        self.values.add(token.text)
        return n.ValueRef(token.text)

    def is_call(self) -> bool:
        return self.tok.kind == NAME and self.peek().kind == "("

    def call_args(self, name: str, arity: int, parse_arg: object) -> list:
        self.expect("(")
        self.nest()
        args = [parse_arg()]  # type: ignore[operator]
        while self.tok.kind == ",":
            self.advance()
            args.append(parse_arg())  # type: ignore[operator]
        self.expect(")")
        self.depth -= 1
        if len(args) != arity:
            raise self.error(
                "Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}"
            )
        return args

    def require_path(self, name: str, arg: object) -> n.PathNode:
        if not isinstance(arg, n.PathNode):
            raise self.error(f"Operator or function requires a document path; operator or function: {name}")
        return arg

    def function_name(self) -> str:
        name = self.tok.text.lower()
        if name in BOOLEAN_FUNCTIONS or name in UPDATE_FUNCTIONS or name == "size":
            return name
        raise self.error(f"Invalid function name; function: {self.tok.text}")

    def operand(self) -> n.Operand:
        """A comparison operand: path, :value or size(path)."""
        if self.tok.kind == ATTR_VALUE:
            return self.value()
        if self.is_call():
            name = self.function_name()
            if name != "size":
                raise self.error(f"The function is not allowed to be used this way in an expression; function: {name}")
            self.advance()
            (arg,) = self.call_args(name, 1, self.operand)
            return n.Size(self.require_path(name, arg))
        return self.path()

    def function_arg(self) -> n.Operand:
        if self.is_call():
            raise self.error(
                f"The function is not allowed to be used this way in an expression; function: {self.tok.text.lower()}"
            )
        return self.operand()

    # ------------------------------------------------------------ conditions

    def condition(self) -> n.Condition:
        node = self.and_condition()
        while self.at_keyword("OR"):
            self.advance()
            node = n.Or(node, self.and_condition())
        return node

    def and_condition(self) -> n.Condition:
        node = self.not_condition()
        while self.at_keyword("AND"):
            self.advance()
            node = n.And(node, self.not_condition())
        return node

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"The expression has too many nested levels; maximum: {MAX_NESTING}")

    def not_condition(self) -> n.Condition:
        if self.at_keyword("NOT"):
            self.advance()
            self.nest()
            node = n.Not(self.not_condition())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> n.Condition:
        if self.tok.kind == "(":
            self.advance()
            self.nest()
            node = self.condition()
            self.expect(")")
            self.depth -= 1
            return node
        if self.is_call() and self.tok.text.lower() != "size":
            name = self.function_name()
            if name in UPDATE_FUNCTIONS:
                raise self.error(f"The function is not allowed in a condition expression; function: {name}")
            self.advance()
            args = self.call_args(name, BOOLEAN_FUNCTIONS[name], self.function_arg)
            if name != "begins_with":
                self.require_path(name, args[0])
            if self.tok.kind in COMPARATORS:
                raise self.error(f"The function is not allowed to be used this way in an expression; function: {name}")
            return n.Function(name, tuple(args))
        left = self.operand()
        if self.tok.kind in COMPARATORS:
            op = self.advance().kind
            return n.Compare(op, left, self.operand())
        if self.at_keyword("BETWEEN"):
            self.advance()
            low = self.operand()
            if not self.at_keyword("AND"):
                raise self.syntax()
            self.advance()
            return n.Between(left, low, self.operand())
        if self.at_keyword("IN"):
            self.advance()
            self.expect("(")
            options = [self.operand()]
            while self.tok.kind == ",":
                self.advance()
                options.append(self.operand())
            self.expect(")")
            if len(options) > MAX_IN_OPERANDS:
                raise self.error(
                    f"The expression contains too many operands for the IN operator; number of operands: {len(options)}"
                )
            return n.In(left, tuple(options))
        if isinstance(left, n.Size):
            raise self.error("The function is not allowed to be used this way in an expression; function: size")
        raise self.syntax()

    # ------------------------------------------------------------ updates

    def set_operand(self) -> n.SetValue:
        if self.tok.kind == ATTR_VALUE:
            return self.value()
        if self.is_call():
            name = self.function_name()
            if name not in UPDATE_FUNCTIONS:
                raise self.error(f"The function is not allowed in an update expression; function: {name}")
            self.advance()
            first, second = self.call_args(name, 2, self.set_operand)
            if name == "if_not_exists":
                return n.IfNotExists(self.require_path(name, first), second)
            return n.ListAppend(first, second)
        return self.path()

    def set_value(self) -> n.SetValue:
        left = self.set_operand()
        if self.tok.kind in ("+", "-"):
            op = self.advance().kind
            return n.Arithmetic(op, left, self.set_operand())
        return left

    def update(self) -> n.UpdateAst:
        sections: dict[str, list] = {}
        while self.tok.kind != EOF:
            word = self.tok.text.upper() if self.tok.kind == NAME else ""
            if word not in _CLAUSES:
                raise self.syntax()
            if word in sections:
                raise self.error(f'The "{word}" section can only be used once in an update expression;')
            self.advance()
            actions = sections[word] = [self.update_action(word)]
            while self.tok.kind == ",":
                self.advance()
                actions.append(self.update_action(word))
        return n.UpdateAst(
            sets=tuple(sections.get("SET", ())),
            removes=tuple(sections.get("REMOVE", ())),
            adds=tuple(sections.get("ADD", ())),
            deletes=tuple(sections.get("DELETE", ())),
        )

    def update_action(self, word: str) -> object:
        path = self.path()
        if word == "SET":
            self.expect("=")
            return n.SetAction(path, self.set_value())
        if word == "REMOVE":
            return n.RemoveAction(path)
        value = self.value()
        return n.AddAction(path, value) if word == "ADD" else n.DeleteAction(path, value)

    # ------------------------------------------------------------ projections

    def projection(self) -> tuple[n.PathNode, ...]:
        paths = [self.path()]
        while self.tok.kind == ",":
            self.advance()
            paths.append(self.path())
        return tuple(paths)


@lru_cache(maxsize=4096)
def _parse_condition(text: str, kind: str) -> n.Parsed:
    parser = _Parser(text, kind)
    root = parser.condition()
    parser.finish()
    return parser.parsed(root)


@lru_cache(maxsize=4096)
def _parse_update(text: str) -> n.Parsed:
    parser = _Parser(text, "UpdateExpression")
    root = parser.update()
    parser.finish()
    return parser.parsed(root)


@lru_cache(maxsize=4096)
def _parse_projection(text: str) -> n.Parsed:
    parser = _Parser(text, "ProjectionExpression")
    root = parser.projection()
    parser.finish()
    return parser.parsed(root)


def _text(text: object, kind: str) -> str:
    if not isinstance(text, str):
        raise ValidationException(f"Invalid {kind}: The expression must be a string")
    return text


def parse_condition(text: str, kind: str = "ConditionExpression") -> n.Parsed:
    """Parse a condition (``kind`` may be ``"FilterExpression"``, used in messages)."""
    return _parse_condition(_text(text, kind), kind)


def parse_key_condition(text: str) -> n.Parsed:
    """Parse a Query key condition (checked against the key schema by ``analyze_key_condition``)."""
    return _parse_condition(_text(text, "KeyConditionExpression"), "KeyConditionExpression")


def parse_update(text: str) -> n.Parsed:
    """Parse an update expression (SET / REMOVE / ADD / DELETE clauses)."""
    return _parse_update(_text(text, "UpdateExpression"))


def parse_projection(text: str) -> n.Parsed:
    """Parse a projection expression: comma-separated document paths."""
    return _parse_projection(_text(text, "ProjectionExpression"))


def clear_cache() -> None:
    """Forget every cached parse (for benchmarks)."""
    for fn in (_parse_condition, _parse_update, _parse_projection):
        fn.cache_clear()

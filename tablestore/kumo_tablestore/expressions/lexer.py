"""Tokenizer for DynamoDB expressions (a hand-written scanner, no regexes)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationException

NAME = "NAME"  # bare attribute name or keyword/function name
ATTR_NAME = "ATTR_NAME"  # #placeholder
ATTR_VALUE = "ATTR_VALUE"  # :placeholder
INTEGER = "INTEGER"  # list index
EOF = "EOF"

_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD = _WORD_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_SPACE = frozenset(" \t\r\n")
_TWO_CHAR = frozenset({"<>", "<=", ">="})
_ONE_CHAR = frozenset("()[],.=<>+-")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # one of the constants above, or the punctuation itself ("(", "<=", ...)
    text: str
    start: int
    end: int


def syntax_error(kind: str, text: str, tokens: list[Token], index: int) -> ValidationException:
    """DynamoDB's syntax error: the bad token and the text from the token before to the one after."""
    bad = tokens[index]
    shown = "<EOF>" if bad.kind == EOF else bad.text
    first = tokens[max(index - 1, 0)]
    last = tokens[min(index + 1, len(tokens) - 1)]
    near = text[first.start : max(last.end, bad.end)]
    return ValidationException(f'Invalid {kind}: Syntax error; token: "{shown}", near: "{near}"')


def tokenize(text: str, kind: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an EOF token. ``kind`` names the expression in errors."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
            continue
        start = i
        if c in _WORD_START:
            i += 1
            while i < n and text[i] in _WORD:
                i += 1
            tokens.append(Token(NAME, text[start:i], start, i))
        elif c in "#:":
            i += 1
            while i < n and text[i] in _WORD:
                i += 1
            if i == start + 1:
                tokens.append(Token(c, c, start, i))
                tokens.append(Token(EOF, "", n, n))
                raise syntax_error(kind, text, tokens, len(tokens) - 2)
            tokens.append(Token(ATTR_NAME if c == "#" else ATTR_VALUE, text[start:i], start, i))
        elif c in _DIGITS:
            while i < n and text[i] in _DIGITS:
                i += 1
            tokens.append(Token(INTEGER, text[start:i], start, i))
        elif text[i : i + 2] in _TWO_CHAR:
            i += 2
            tokens.append(Token(text[start:i], text[start:i], start, i))
        elif c in _ONE_CHAR:
            i += 1
            tokens.append(Token(c, c, start, i))
        else:
            # DynamoDB reports an unknown character as the offending token.
            i += 1
            tokens.append(Token(c, c, start, i))
            tokens.append(Token(EOF, "", n, n))
            raise syntax_error(kind, text, tokens, len(tokens) - 2)
    tokens.append(Token(EOF, "", n, n))
    return tokens

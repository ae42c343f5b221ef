"""Parse CloudWatch Logs JSON filter patterns and test them on CloudTrail events.

A JSON filter pattern is ``{ ... }`` around conditions such as
``$.userIdentity.type = "Root"`` or ``$.invokedBy NOT EXISTS``, joined by
``&&`` and ``||`` and grouped with parentheses, where ``&&`` binds tighter than
``||``. The grammar follows "Filter and pattern syntax" in the Amazon
CloudWatch Logs User Guide. A selector starts with ``$``. The equality
operators are ``=`` and ``!=``, and numbers also take ``<``, ``>``, ``<=`` and
``>=``. A string value is either double-quoted or a bare word, and a leading
or trailing ``*`` is a wildcard. Spacing between tokens does not matter.

A pattern covers an event class, as :mod:`auditbook.checks.monitored_events`
defines the classes, when it matches every sample event of the class and none
of its unrelated events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditbook.checks.monitored_events import EventClass

STRING_OPERATORS = ("=", "!=")
NUMERIC_OPERATORS = ("<", ">", "<=", ">=")
OPERATORS = STRING_OPERATORS + NUMERIC_OPERATORS

# The checks of a selector that take no value: (keywords, check name).
UNARY_TESTS = {
    ("NOT", "EXISTS"): "NOT EXISTS",
    ("IS", "NULL"): "IS NULL",
    ("IS", "TRUE"): "IS TRUE",
    ("IS", "FALSE"): "IS FALSE",
}

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SELECTOR_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<punct>&&|\|\||[{}()])
    | (?P<operator>==|!=|<=|>=|=|<|>)
    | (?P<selector>\$(?:\.[A-Za-z0-9_-]+|\[\d+\])*)
    | (?P<quoted>"(?:[^"\\]|\\.)*")
    | (?P<single>')
    | (?P<word>[^\s(){}"'&|=!<>]+)
    """,
    re.VERBOSE,
)

_MISSING = object()


class FilterPatternError(ValueError):
    """A filter pattern is invalid or uses syntax this module does not evaluate.

    Attributes:
        pattern: the pattern text.
        position: the 0-based offset of the problem in the pattern.
    """

    def __init__(self, message: str, pattern: str, position: int) -> None:
        self.pattern = pattern
        self.position = position
        super().__init__(f"{message} (at character {position + 1})")


@dataclass(frozen=True)
class Condition:
    """One comparison of a JSON selector, such as ``$.eventName = ConsoleLogin``.

    Attributes:
        selector: the property selector, for example ``$.userIdentity.type``.
        operator: ``=``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``NOT EXISTS``,
            ``IS NULL``, ``IS TRUE`` or ``IS FALSE``.
        value: the value compared against, unquoted; ``None`` for the
            operators that take no value.
    """

    selector: str
    operator: str
    value: str | None = None

    def matches(self, event: dict[str, Any]) -> bool:
        """Return whether a JSON log event satisfies the condition."""
        found = _select(event, self.selector)

        if self.operator == "NOT EXISTS":
            return found is _MISSING
        if self.operator == "IS NULL":
            return found is None
        if self.operator == "IS TRUE":
            return found is True
        if self.operator == "IS FALSE":
            return found is False

        # CloudWatch Logs matches neither = nor != when the selector reaches an
        # object or an array. NOTE: the guide does not say how != treats a
        # missing or null property, and here neither operator matches one.
        if found is _MISSING or isinstance(found, dict | list) or found is None:
            return False
        if self.operator in NUMERIC_OPERATORS:
            return _compare_numbers(found, self.operator, float(self.value))

        equal = _equals(found, self.value)
        return equal if self.operator == "=" else not equal

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.selector} {self.operator}"
        return f"{self.selector} {self.operator} {self.value!r}"


@dataclass(frozen=True)
class AllOf:
    """Terms joined by ``&&``: every term must match."""

    terms: tuple[Expression, ...]

    def matches(self, event: dict[str, Any]) -> bool:
        """Return whether every term matches the event."""
        return all(term.matches(event) for term in self.terms)


@dataclass(frozen=True)
class AnyOf:
    """Terms joined by ``||``: at least one term must match."""

    terms: tuple[Expression, ...]

    def matches(self, event: dict[str, Any]) -> bool:
        """Return whether any term matches the event."""
        return any(term.matches(event) for term in self.terms)


Expression = Condition | AllOf | AnyOf


def parse_filter_pattern(pattern: str) -> Expression:
    """Parse a JSON filter pattern into conditions joined by ``&&`` and ``||``.

    Raises:
        FilterPatternError: the pattern is not a JSON filter pattern, is
            malformed, or uses syntax this module does not evaluate (a
            regular expression between ``%`` signs).
    """
    return _Parser(pattern).parse()


def conditions(expression: Expression) -> list[Condition]:
    """Return every condition of a parsed pattern, in pattern order."""
    if isinstance(expression, Condition):
        return [expression]
    found: list[Condition] = []
    for term in expression.terms:
        found.extend(conditions(term))
    return found


@dataclass(frozen=True)
class Coverage:
    """The result of evaluating a filter pattern against one event class.

    Attributes:
        covered: the pattern matches every event of the class and none of its
            unrelated events.
        missed: labels of the class's events that the pattern does not match.
        matched_unrelated: labels of the unrelated events that the pattern
            matches, which show that it does not single the class out.
        error: why the pattern could not be evaluated, if it could not.
    """

    covered: bool
    missed: tuple[str, ...] = ()
    matched_unrelated: tuple[str, ...] = ()
    error: str | None = None

    @property
    def reason(self) -> str:
        """Return why the pattern does not cover the class, or an empty string."""
        if self.error:
            return self.error
        if self.missed:
            return f"does not match {', '.join(self.missed)}"
        if self.matched_unrelated:
            return f"also matches unrelated events such as {self.matched_unrelated[0]}"
        return ""


def coverage(pattern: str, event_class: EventClass) -> Coverage:
    """Evaluate a filter pattern against every event of a class.

    An invalid or unsupported pattern does not cover the class, and its
    problem is returned in ``error``.
    """
    try:
        expression = parse_filter_pattern(pattern)
    except FilterPatternError as exc:
        return Coverage(covered=False, error=str(exc))

    missed = tuple(
        label for label, event in event_class.events if not expression.matches(event)
    )
    unrelated = tuple(
        label for label, event in event_class.unrelated if expression.matches(event)
    )
    return Coverage(
        covered=not missed and not unrelated,
        missed=missed,
        matched_unrelated=unrelated,
    )


def _select(event: Any, selector: str) -> Any:
    current = event
    for match in _SELECTOR_STEP.finditer(selector):
        key, index = match.groups()
        if key is not None:
            if not isinstance(current, dict) or key not in current:
                return _MISSING
            current = current[key]
        else:
            position = int(index)
            if not isinstance(current, list) or position >= len(current):
                return _MISSING
            current = current[position]
    return current


def _equals(found: Any, expected: str) -> bool:
    if _is_number(found) and _NUMBER.match(expected):
        return float(found) == float(expected)
    text = _json_text(found)

    # NOTE: only a leading or trailing * is a wildcard, as the CloudWatch Logs
    # User Guide describes it. A * inside a value is compared literally.
    if expected == "*":
        return True
    leading = expected.startswith("*")
    trailing = expected.endswith("*")
    core = expected.strip("*")
    if leading and trailing:
        return core in text
    if leading:
        return text.endswith(core)
    if trailing:
        return text.startswith(core)
    return text == expected


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _compare_numbers(found: Any, operator: str, expected: float) -> bool:
    if not _is_number(found):
        return False
    if operator == "<":
        return found < expected
    if operator == ">":
        return found > expected
    if operator == "<=":
        return found <= expected
    return found >= expected


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


class _Parser:
    """A recursive-descent parser over the tokens of one pattern."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.tokens = list(self._tokenize())
        self.index = 0

    def parse(self) -> Expression:
        if not self.tokens:
            raise self._error("the pattern is empty and matches every log event", 0)
        first = self.tokens[0]
        if first.text != "{":
            raise self._error(
                "only JSON filter patterns, enclosed in { }, are evaluated",
                first.position,
            )
        self.index = 1
        expression = self._any_of()
        self._expect("}")
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            raise self._error(f"unexpected {token.text!r} after '}}'", token.position)
        return expression

    def _tokenize(self) -> Iterator[_Token]:
        position = 0
        while position < len(self.pattern):
            match = _TOKEN.match(self.pattern, position)
            if match is None:
                character = self.pattern[position]
                raise self._error(f"unexpected character {character!r}", position)
            kind = match.lastgroup
            text = match.group()
            if kind == "single":
                raise self._error(
                    "single quotes do not delimit strings in filter patterns, "
                    "so use double quotes",
                    position,
                )
            if kind == "operator" and text == "==":
                raise self._error(
                    "'==' is not a filter pattern operator, so use '='", position
                )
            if kind != "space":
                yield _Token(kind, text, position)
            position = match.end()

    def _any_of(self) -> Expression:
        terms = [self._all_of()]
        while self._peek("||"):
            self.index += 1
            terms.append(self._all_of())
        return terms[0] if len(terms) == 1 else AnyOf(tuple(terms))

    def _all_of(self) -> Expression:
        terms = [self._primary()]
        while self._peek("&&"):
            self.index += 1
            terms.append(self._primary())
        return terms[0] if len(terms) == 1 else AllOf(tuple(terms))

    def _primary(self) -> Expression:
        if self._peek("("):
            self.index += 1
            expression = self._any_of()
            self._expect(")")
            return expression
        return self._condition()

    def _condition(self) -> Condition:
        selector = self._next("a selector such as $.eventName")
        if selector.kind != "selector":
            raise self._error(
                f"expected a selector such as $.eventName, found {selector.text!r}",
                selector.position,
            )

        token = self._next("an operator")
        if token.kind == "word":
            return self._unary_test(selector.text, token)
        if token.kind != "operator":
            raise self._error(
                f"expected an operator after {selector.text}, found {token.text!r}",
                token.position,
            )

        value = self._next("a value")
        text = self._value_text(value)
        if token.text in NUMERIC_OPERATORS and not _NUMBER.match(text):
            raise self._error(
                f"{token.text!r} compares numbers, but {value.text} is not a number",
                value.position,
            )
        return Condition(selector.text, token.text, text)

    def _unary_test(self, selector: str, first: _Token) -> Condition:
        second = self._next(f"a keyword after {first.text}")
        test = UNARY_TESTS.get((first.text, second.text))
        if test is None:
            raise self._error(
                f"expected an operator, NOT EXISTS, IS NULL, IS TRUE or IS FALSE "
                f"after {selector}, found {first.text} {second.text}",
                first.position,
            )
        return Condition(selector, test)

    def _value_text(self, token: _Token) -> str:
        if token.kind == "quoted":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind != "word":
            raise self._error(f"expected a value, found {token.text!r}", token.position)
        if (
            len(token.text) > 1
            and token.text.startswith("%")
            and token.text.endswith("%")
        ):
            raise self._error(
                "regular-expression values between % signs are not evaluated",
                token.position,
            )
        return token.text

    def _peek(self, text: str) -> bool:
        return self.index < len(self.tokens) and self.tokens[self.index].text == text

    def _expect(self, text: str) -> None:
        token = self._next(repr(text))
        if token.text != text:
            raise self._error(
                f"expected {text!r}, found {token.text!r}", token.position
            )

    def _next(self, expected: str) -> _Token:
        if self.index >= len(self.tokens):
            raise self._error(
                f"the pattern ends where {expected} was expected", len(self.pattern)
            )
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _error(self, message: str, position: int) -> FilterPatternError:
        return FilterPatternError(message, self.pattern, position)

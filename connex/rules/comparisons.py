"""Rule comparisons: ``fn(field_value, rule_value) -> bool``. Text comparisons work on ``str()`` of both sides;
``more_than``/``less_than`` compare numbers (or ISO dates) and are false when either side is not comparable."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import re2

from connex.rules.money import to_decimal


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def _ordered(a, b):
    """Both sides as comparable values: numbers if both are numbers, else dates, else None."""
    try:
        return to_decimal(a), to_decimal(b)
    except ValueError:
        pass
    try:
        return _as_date(a), _as_date(b)
    except (TypeError, ValueError):
        return None


def _as_date(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)


def equals(value, expected) -> bool:
    if _text(value) == _text(expected):
        return True
    try:
        return to_decimal(value) == to_decimal(expected)
    except ValueError:
        return False


def more_than(value, expected) -> bool:
    pair = _ordered(value, expected)
    return pair is not None and pair[0] > pair[1]


def less_than(value, expected) -> bool:
    pair = _ordered(value, expected)
    return pair is not None and pair[0] < pair[1]


def in_list(value, expected) -> bool:
    options = expected if isinstance(expected, (list, tuple)) else str(expected).split(",")
    return any(equals(value, str(option).strip() if isinstance(option, str) else option) for option in options)


# Rule regexes run on RE2 (google-re2): matching takes time linear in the text, whatever the pattern, so a
# pattern such as ^(a+)+$ cannot hang a run on a 35-character name the way a backtracking engine does. A timeout
# (the ``regex`` package) would make the same order pass or fail with the machine's load; RE2 refuses at load the
# few constructs it cannot run in linear time (backreferences, lookaround), with the rule's file:line:col.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported as the rule's problem, not logged to stderr
RegexError = re2.error


def compile_regex(text: str):
    """A linear-time compiled pattern; ``RegexError`` says why a pattern cannot be one."""
    return re2.compile(text, options=_RE2_OPTIONS)


def is_regex(value) -> bool:
    return isinstance(value, re2._Regexp)


def regex(value, expected) -> bool:
    pattern = expected if is_regex(expected) else compile_regex(str(expected))
    return pattern.search(_text(value)) is not None


BUILTIN_COMPARISONS = {
    "map_all": lambda value, expected: True,
    "equals": equals,
    "is_not": lambda value, expected: not equals(value, expected),
    "contains": lambda value, expected: _text(expected) in _text(value),
    "matches": lambda value, expected: _text(value).casefold() == _text(expected).casefold(),
    "starts_with": lambda value, expected: _text(value).startswith(_text(expected)),
    "ends_with": lambda value, expected: _text(value).endswith(_text(expected)),
    "more_than": more_than,
    "less_than": less_than,
    "in_list": in_list,
    "regex": regex,
}
# comparisons whose rule value is optional (map_all passes the field's own value through)
VALUELESS = {"map_all"}

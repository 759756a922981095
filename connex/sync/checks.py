"""The last look at a mapped document before it is posted: every text field is text without control characters,
every amount a finite number in a sane range, every date a date.

Mappings and rules are user code: a field given the wrong ``type:``, a rule writing a number where a name belongs,
or an order carrying ``1e999999`` must fail that one document with the field named, never the run, and never reach
a target's payload builder as a value it was not written for. Control characters (NUL, terminal escape sequences,
line breaks in one-line fields) are removed here, before the document is hashed, posted or logged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import types
import typing
from decimal import Decimal

from connex import documents as docs

# ESC sequences first (CSI "ESC [ ... final", OSC "ESC ] ... BEL/ST", then any other ESC + one char), then the
# remaining C0 and C1 controls and DEL. Tab, LF and CR are handled per field below.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
                      r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC
                      r"|\x1b[^\[\]]?|\x9b[0-?]*[ -/]*[@-~]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\t\u2028\u2029\x85]")

#: fields where a line break is content (a memo, a line description); everywhere else it becomes a space
MULTILINE_FIELDS = frozenset({"memo", "description"})

#: amounts and quantities outside 1e-20 .. 1e15 (absolute) are not figures any order carries: refusing them here
#: keeps Decimal's Overflow and InvalidOperation (quantize past the context's precision) out of the targets
MAX_ADJUSTED_EXPONENT = 15
MIN_ADJUSTED_EXPONENT = -20


class CheckFailure(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"field {field}: {message}")
        self.field = field
        self.message = message


def clean_text(text: str, *, multiline: bool = False) -> str:
    """``text`` without escape sequences or control characters; line breaks kept only when ``multiline``."""
    text = _ESCAPES.sub("", text)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    else:
        text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


def short(value) -> str:
    """A value for a message: its repr, cleaned and cut (a hostile value must not flood a log line)."""
    text = clean_text(str(value) if isinstance(value, Decimal) else repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def check_number(value, field: str) -> Decimal:
    """A usable Decimal for ``value`` (ints widen; -0 becomes 0), or ``CheckFailure`` saying why not."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise CheckFailure(field, f"expected a number, got {type(value).__name__} {short(value)}")
    number = Decimal(value)
    if number.is_nan():
        raise CheckFailure(field, "NaN is not a number")
    if number.is_infinite():
        raise CheckFailure(field, f"{number} is not a finite number")
    if number.is_zero():
        return Decimal(0).quantize(number) if number.as_tuple().exponent < 0 else Decimal(0)
    if not MIN_ADJUSTED_EXPONENT <= number.adjusted() <= MAX_ADJUSTED_EXPONENT:
        raise CheckFailure(field, f"{short(number)} is out of range for an amount or quantity")
    return number


@functools.cache
def _kinds(cls: type) -> dict[str, str]:
    """Per field of a document dataclass: "text", "number", "date", "lines", "nested" or "other"."""
    hints = typing.get_type_hints(cls, vars(docs))
    out = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
            else (hint,)
        args = tuple(a for a in args if a is not type(None))
        if typing.get_origin(hint) is list or any(typing.get_origin(a) is list for a in args):
            out[f.name] = "lines"
        elif any(a is str or typing.get_origin(a) is typing.Literal for a in args):
            out[f.name] = "text"
        elif any(a is Decimal for a in args):
            out[f.name] = "number"
        elif any(a is dt.date for a in args):
            out[f.name] = "date"
        elif any(dataclasses.is_dataclass(a) for a in args):
            out[f.name] = "nested"
        else:
            out[f.name] = "other"
    return out


def check_document(document, path: str = "") -> None:
    """Clean ``document`` in place (text) and raise ``CheckFailure`` for the first value that cannot be posted."""
    for name, kind in _kinds(type(document)).items():
        value = getattr(document, name)
        field = f"{path}{name}"
        if value is None:
            continue
        if kind == "text":
            if not isinstance(value, str):
                raise CheckFailure(field, f"expected text, got {type(value).__name__} {short(value)} "
                                          "(check the field's type: in the mapping)")
            cleaned = clean_text(value, multiline=name in MULTILINE_FIELDS)
            if cleaned != value:
                setattr(document, name, cleaned)
        elif kind == "number":
            number = check_number(value, field)
            if number is not value:
                setattr(document, name, number)
        elif kind == "date":
            if not isinstance(value, dt.date):
                raise CheckFailure(field, f"expected a date, got {type(value).__name__} {short(value)}")
        elif kind == "nested":
            if not dataclasses.is_dataclass(value):
                raise CheckFailure(field, f"expected a group of fields, got {type(value).__name__} {short(value)}")
            check_document(value, f"{field}.")
        elif kind == "lines":
            if not isinstance(value, list):
                raise CheckFailure(field, f"expected a list of lines, got {type(value).__name__}")
            for index, line in enumerate(value):
                if not dataclasses.is_dataclass(line):
                    raise CheckFailure(f"{field}[{index}]", f"expected a line, got {type(line).__name__}")
                check_document(line, f"{field}[{index}].")


def check_record(record) -> None:
    """Refuse a source record holding a number no order carries (NaN, infinity, 1e999999, 1e-999999) before the
    mapping quantizes or divides by it; ``-0`` becomes ``0``. Raises ``CheckFailure`` naming the source field."""
    stack: list[tuple[object, str]] = [(record, "")]
    while stack:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
            if isinstance(value, (dict, list)):
                stack.append((value, where))
            elif isinstance(value, (Decimal, float)) and not isinstance(value, bool):
                number = Decimal(repr(value)) if isinstance(value, float) else value
                if number.is_zero() and number.is_signed():
                    node[key] = type(value)(0)
                    continue
                try:
                    check_number(number, where)
                except CheckFailure as exc:
                    raise CheckFailure(where, f"{exc.message} (in the order as read from the source)") from None

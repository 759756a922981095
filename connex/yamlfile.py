"""YAML files that remember where every value came from, read with bounds a hostile file cannot get past.

ruamel.yaml's round-trip loader keeps line and column numbers on every mapping and sequence; ``locate`` turns a
JSON-Schema style path (``["sync", "schedule"]``) into a ``Location`` so any problem found later, by the schema, by
a Jinja compile or by a rule, can be reported as ``file:line:col``.

Config and rule files are written by people, but may arrive from anywhere (a pasted example, a shared repository).
Before anything is built from a file, its parse events are checked in one flat pass (no recursion, so depth
cannot overflow the stack): nesting depth, the number of values aliases expand to (a "billion laughs" is a few
hundred bytes that expand to billions of values once anything walks the data), aliases that contain themselves,
and tags that ask for anything but plain values. Every refusal names the file, line and column.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.reader import ReaderError

from connex.errors import ConfigError, ConfigErrors, Location
from connex.redaction import HIDDEN

# Connex's deepest legitimate file (a rule's nested conditions) is about a dozen levels; 64 leaves room and keeps
# every later recursive walk (construction, schema check, rule compile) far inside Python's stack.
MAX_DEPTH = 64
# Values a file may hold once its aliases are expanded. The shipped rules hold about 1,500; a billion laughs
# that passes this bound costs a few seconds and tens of megabytes at most.
MAX_EXPANDED_VALUES = 100_000
MAX_FILE_BYTES = 8 * 1024 * 1024
# Plain JSON-like values and dates; anything else (!!python/object, !!binary, !!set, local tags) is refused.
_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = {None, "!", *(_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp"))}
_NULL_WORDS = {"", "~", "null", "Null", "NULL"}
_QUOTE_LIMIT = 60


@dataclass
class YamlFile:
    path: str
    data: Any  # CommentedMap / CommentedSeq / scalar, positions intact
    # decides whether a value at a path may be quoted in a message (set by whoever knows the secrets)
    hide: Callable[[Sequence[str | int], Any], bool] = field(default=lambda path, value: False, repr=False)

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> Location:
        return locate(self.path, self.data, path, key=key)

    def error(self, path: Sequence[str | int], message: str, *, key: bool = False) -> ConfigError:
        field_name = dotted(path)
        text = f"{field_name}: {message}" if field_name else message
        return ConfigError(text, where=self.locate(path, key=key))

    def quote(self, path: Sequence[str | int], value: Any) -> str:
        """``value`` as a message may show it: quoted and cut short, or not at all when it is a secret."""
        if self.hide(path, value):
            return HIDDEN
        return quote(value)


def quote(value: Any) -> str:
    text = str(value)
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 3] + "..."
    return "'" + printable(text) + "'"  # a value must not break the line or rewrite the terminal


class _Constructor(RoundTripConstructor):
    """Values YAML can spell but Python cannot hold are kept as the text the user typed, so the schema reports
    them with their field (``from_date: 2020-13-01`` is "not a valid date", ``timeout: 1e999999`` is "expected a
    number"), instead of an exception from deep inside the constructor."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except (ValueError, OverflowError):
            return str(node.value)

    def construct_yaml_int(self, node: Any) -> Any:
        try:
            return super().construct_yaml_int(node)
        except (ValueError, OverflowError):  # e.g. more digits than Python converts (sys.get_int_max_str_digits)
            return str(node.value)

    def construct_yaml_float(self, node: Any) -> Any:
        value = super().construct_yaml_float(node)
        return value if math.isfinite(value) else str(node.value)

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        try:
            return super().construct_non_recursive_object(node, tag)
        except (ValueError, OverflowError, TypeError, ArithmeticError) as exc:
            raise ConstructorError(None, None, f"cannot read this value ({exc})", node.start_mark) from None


_Constructor.add_constructor(_CORE + "timestamp", _Constructor.construct_yaml_timestamp)
_Constructor.add_constructor(_CORE + "int", _Constructor.construct_yaml_int)
_Constructor.add_constructor(_CORE + "float", _Constructor.construct_yaml_float)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Constructor = _Constructor
    return yaml


def load_yaml(path: str | Path) -> YamlFile:
    """Read and parse a YAML file; every problem becomes a ``ConfigError`` naming the file (and the line and
    column where there is one)."""
    path = str(path)
    return parse_yaml(_read_text(path), path)


def _read_text(path: str) -> str:
    where = Location(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError("file not found", where=where) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", where=where) from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError("is a folder, not a file", where=where)
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
        raise ConfigError("is not a regular file", where=where)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", where=where) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; refused", where=where)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        before = raw[:offset]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise ConfigErrors([ConfigError(
            f"not UTF-8 text: byte 0x{raw[offset]:02x} cannot be read; save the file as UTF-8",
            where=Location(path, line, col))]) from None


def parse_yaml(text: str, path: str = "<string>") -> YamlFile:
    try:
        _check_events(_yaml(), text, path)
        data = _yaml().load(text)
    except _Refused as exc:
        mark = exc.problem_mark
        field_name = dotted(exc.field_path)
        message = f"{field_name}: {exc.problem}" if field_name else exc.problem
        raise ConfigErrors([ConfigError(message, where=Location(path, mark.line + 1, mark.column + 1))]) from None
    except DuplicateKeyError as exc:
        # ruamel's own message quotes both values, and a duplicated key is often a secret
        raise ConfigErrors([_duplicate_key(exc, path)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise ConfigErrors([ConfigError(f"YAML syntax error: {problem}", where=where)]) from None
    except ReaderError as exc:
        where = _offset_location(text, path, exc.position)
        raise ConfigErrors([ConfigError(
            f"YAML syntax error: character #x{exc.character:04x} is not allowed in YAML"
            if isinstance(exc.character, int) else f"YAML syntax error: {exc.reason}", where=where)]) from None
    except YAMLError as exc:
        raise ConfigErrors([ConfigError(f"YAML error: {exc}", where=Location(path, 1, 1))]) from None
    return YamlFile(path, data)


def _duplicate_key(exc: DuplicateKeyError, path: str) -> ConfigError:
    mark, first = exc.problem_mark, exc.context_mark
    problem = exc.problem or ""
    name = problem.split('"')[1] if problem.count('"') >= 2 else "?"
    where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
    first_line = f" (the mapping starts at line {first.line + 1})" if first else ""
    return ConfigError(f"duplicate key '{name}'{first_line}: a key may appear only once; remove one of them",
                       where=where)


def _offset_location(text: str, path: str, offset: int | None) -> Location:
    if offset is None:
        return Location(path, 1, 1)
    before = text[:offset]
    return Location(path, before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


class _Refused(MarkedYAMLError):
    def __init__(self, message: str, mark: Any, field_path: list):
        super().__init__(None, None, message, mark)
        self.field_path = field_path


class _Frame:
    """One open collection while scanning events."""

    __slots__ = ("size", "anchor", "mapping", "expect_key", "key", "index")

    def __init__(self, anchor: str | None, mapping: bool):
        self.size, self.anchor, self.mapping = 1, anchor, mapping
        self.expect_key, self.key, self.index = True, None, -1

    def step(self) -> str | int | None:
        return self.key if self.mapping else self.index


def _check_events(yaml: YAML, text: str, path: str) -> None:
    """One flat pass over the parse events, before anything is built: nesting depth, alias expansion, aliases
    inside their own anchor, tags, and keys that cannot be names. Raises ``_Refused`` at the offending mark."""
    stack: list[_Frame] = []
    sizes: dict[str, int] = {}  # anchor -> values it expands to
    total = 0

    def refuse(event: Any, message: str, *, at_key: bool = False, field: bool = True) -> None:
        if not field:  # a path as deep as the nesting says nothing the line and column do not
            raise _Refused(message, event.start_mark, [])
        steps = [f.step() for f in stack[:-1]] + ([] if not stack or at_key else [stack[-1].step()])
        raise _Refused(message, event.start_mark, [s for s in steps if s is not None])

    for event in yaml.parse(text):
        if not isinstance(event, (NodeEvent, CollectionEndEvent)):
            continue
        if isinstance(event, CollectionEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                sizes[done.anchor] = done.size
            if stack:
                stack[-1].size += done.size
            continue
        parent = stack[-1] if stack else None
        is_key = parent is not None and parent.mapping and parent.expect_key
        if parent is not None:
            if parent.mapping:
                parent.expect_key = not parent.expect_key
                if is_key:
                    parent.key = str(event.value) if isinstance(event, ScalarEvent) else None
            else:
                parent.index += 1
        if isinstance(event, AliasEvent):
            if any(frame.anchor == event.anchor for frame in stack):
                refuse(event, f"alias *{event.anchor} refers to a value that contains it (an endless value)")
            size = sizes.get(event.anchor, 1)  # an undefined alias is the composer's to report
            total += size
            if total > MAX_EXPANDED_VALUES:
                refuse(event, f"aliases expand this file to more than {MAX_EXPANDED_VALUES:,} values (an alias "
                              f"bomb); write the values out or use fewer nested aliases")
            if parent is not None:
                parent.size += size
            continue
        if event.tag not in ALLOWED_TAGS:
            refuse(event, f"tag {_short_tag(event.tag)} is not allowed: Connex files hold plain text, numbers, "
                          f"true/false, dates, lists and mappings", at_key=is_key)
        total += 1
        if total > MAX_EXPANDED_VALUES:
            refuse(event, f"this file holds more than {MAX_EXPANDED_VALUES:,} values; refused")
        if is_key:
            if isinstance(event, CollectionStartEvent):
                refuse(event, "a key must be a name, not a list or mapping", at_key=True)
            if isinstance(event, ScalarEvent) and event.style is None and event.value in _NULL_WORDS:
                refuse(event, "a key must be a name, not empty or null", at_key=True)
        if isinstance(event, CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                refuse(event, f"nested more than {MAX_DEPTH} levels deep; refused", field=False)
            stack.append(_Frame(event.anchor, isinstance(event, MappingStartEvent)))
            continue
        if parent is not None:
            parent.size += 1
        if event.anchor is not None:
            sizes[event.anchor] = 1


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


def locate(file: str, data: Any, path: Sequence[str | int], *, key: bool = False) -> Location:
    """Position of the value at ``path`` (or of its key with ``key=True``). When the path runs past what the
    file holds (a missing key), the innermost existing container's position is used."""
    node = data
    line = col = None
    if isinstance(node, (CommentedMap, CommentedSeq)):
        line, col = node.lc.line, node.lc.col
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, CommentedMap) and step not in node and isinstance(step, str):
            # a key the file spells as a number or true/false reaches the schema as text
            step = next((k for k in node if not isinstance(k, str) and str(k) == step), step)
        if isinstance(node, CommentedMap) and step in node:
            pos = node.lc.key(step) if (key and last) else node.lc.value(step)
            line, col = pos
            node = node[step]
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
            line, col = node.lc.item(step)
            node = node[step]
        else:
            break
        if isinstance(node, (CommentedMap, CommentedSeq)) and not last and node.lc.line is not None:
            line, col = node.lc.line, node.lc.col
    if line is None:  # an empty file, or one that is a single value
        return Location(file, 1, 1, field=dotted(path) or None)
    return Location(file, line + 1, col + 1, field=dotted(path) or None)


def dotted(path: Sequence[str | int]) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            name = printable(str(step))
            out += f".{name}" if out else name
    return out


def printable(text: str) -> str:
    """``text`` with control characters (a line break, a terminal escape) written as escapes."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def to_plain(data: Any) -> Any:
    """Round-trip types to plain Python: dicts, lists, str, int, float, bool, None; YAML dates become ISO
    strings so JSON Schema ``format: date`` applies to them uniformly."""
    if isinstance(data, dict):
        return {str(k): to_plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [to_plain(v) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    if isinstance(data, (dt.date, dt.datetime)):
        return data.isoformat()
    if isinstance(data, str):
        return str(data)
    return data

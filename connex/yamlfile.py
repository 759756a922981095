"""YAML files that remember where every value came from.

ruamel.yaml's round-trip loader keeps line and column numbers on every mapping and sequence; ``locate`` turns a
JSON-Schema style path (``["sync", "schedule"]``) into a ``Location`` so any problem found later, by the schema, by
a Jinja compile or by a rule, can be reported as ``file:line:col``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from connex.errors import ConfigError, ConfigErrors, Location


@dataclass
class YamlFile:
    path: str
    data: Any  # CommentedMap / CommentedSeq / scalar, positions intact

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> Location:
        return locate(self.path, self.data, path, key=key)

    def error(self, path: Sequence[str | int], message: str, *, key: bool = False) -> ConfigError:
        field = dotted(path)
        text = f"{field}: {message}" if field else message
        return ConfigError(text, where=self.locate(path, key=key))


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def load_yaml(path: str | Path) -> YamlFile:
    """Parse a YAML file; syntax errors become a ``ConfigError`` at the exact line and column."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", where=Location(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {exc}", where=Location(path)) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: str = "<string>") -> YamlFile:
    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise ConfigErrors([ConfigError(f"YAML syntax error: {problem}", where=where)]) from None
    except YAMLError as exc:
        raise ConfigErrors([ConfigError(f"YAML error: {exc}", where=Location(path))]) from None
    return YamlFile(path, data)


def locate(file: str, data: Any, path: Sequence[str | int], *, key: bool = False) -> Location:
    """Position of the value at ``path`` (or of its key with ``key=True``). When the path runs past what the
    file holds (a missing key), the innermost existing container's position is used."""
    node = data
    line = col = None
    if isinstance(node, (CommentedMap, CommentedSeq)):
        line, col = node.lc.line, node.lc.col
    for i, step in enumerate(path):
        last = i == len(path) - 1
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
    if line is None:
        return Location(file, field=dotted(path) or None)
    return Location(file, line + 1, col + 1, field=dotted(path) or None)


def dotted(path: Sequence[str | int]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


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

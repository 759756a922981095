"""JSON Schema validation that reports every problem at once, each at ``file:line:col``, with did-you-mean.

jsonschema's raw messages are written for programmers ("Additional properties are not allowed ('sceduel' was
unexpected)"); these are rewritten for the person editing the YAML file, pointing at the offending key or value.
Schemas that dispatch on a ``type`` discriminator (``oneOf`` branches with ``properties.type.const``) are
descended into, so a rule with a bad field reports that field, not "is not valid under any of the given schemas".
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from connex.errors import ConfigError
from connex.redaction import HIDDEN
from connex.yamlfile import YamlFile, dotted, quote, to_plain


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f" (did you mean '{close[0]}'?)" if close else ""


@functools.cache
def load_schema(path: str) -> dict:
    """One of Connex's own schemas (schemas/). Each is checked against the JSON Schema metaschema by
    tests/core/test_schemas.py, not here: the check cost ~45 ms of every start."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def validate(
    yaml_file: YamlFile, schema: dict, *, data: Any = None, prefix: Sequence[str | int] = ()
) -> list[ConfigError]:
    """Validate ``data`` (default: the whole file) against ``schema``; ``prefix`` is where ``data`` sits in
    the file, for positions."""
    if data is None:
        data = yaml_file.data
    plain = to_plain(data)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: list[ConfigError] = []
    for error in sorted(validator.iter_errors(plain), key=lambda e: list(map(str, e.absolute_path))):
        errors.extend(_explain(yaml_file, error, schema, tuple(prefix)))
    return _dedupe(errors)


def _dedupe(errors: list[ConfigError]) -> list[ConfigError]:
    seen: set[str] = set()
    out = []
    for e in errors:
        if str(e) not in seen:
            seen.add(str(e))
            out.append(e)
    return out


def _deref(branch: dict, root: dict) -> dict:
    ref = branch.get("$ref", "") if isinstance(branch, dict) else ""
    if ref.startswith("#/$defs/") and len(branch) == 1:
        return root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), branch)
    return branch


def _discriminated_branch(error: ValidationError, root: dict) -> dict | None:
    """The branch of a oneOf/anyOf the user evidently meant: the one whose ``type`` const matches the instance's
    ``type``, or else the only one whose required keys the instance all has."""
    if not isinstance(error.instance, dict):
        return None
    branches = [_deref(b, root) for b in error.validator_value or ()]
    if "type" in error.instance:
        for branch in branches:
            const = (branch.get("properties", {}).get("type", {}) or {}).get("const")
            if const is not None and const == error.instance["type"]:
                return branch
    keyed = [b for b in branches if b.get("required") and all(k in error.instance for k in b["required"])]
    return keyed[0] if len(keyed) == 1 else None


def _branch_types(error: ValidationError) -> list[str]:
    return [
        b["properties"]["type"]["const"]
        for b in error.validator_value or ()
        if isinstance(b, dict) and "const" in (b.get("properties", {}).get("type") or {})
    ]


def _explain(yf: YamlFile, error: ValidationError, root: dict, prefix: tuple) -> Iterator[ConfigError]:
    path = prefix + tuple(error.absolute_path)
    kind = error.validator
    if kind in ("oneOf", "anyOf"):
        branch = _discriminated_branch(error, root)
        if branch is not None:
            # the branch is checked on its own, with the root's $defs so its $refs still resolve
            sub = Draft202012Validator({**branch, "$defs": root.get("$defs", {})},
                                       format_checker=Draft202012Validator.FORMAT_CHECKER)
            for inner in sub.iter_errors(error.instance):
                yield from _explain(yf, inner, root, path)
            return
        types = _branch_types(error)
        if types and isinstance(error.instance, dict):
            given = error.instance.get("type")
            if given is None:
                yield yf.error(path, f"missing 'type'; one of: {', '.join(types)}")
            else:
                hint = did_you_mean(str(given), types)
                yield yf.error(path + ("type",), f"unknown type '{given}'{hint}; one of: {', '.join(types)}")
            return
        if error.context:
            yield from _explain(yf, best_match(error.context), root, prefix)
            return
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        for name in error.instance:
            if name in allowed or any(re.search(p, name) for p in patterns):
                continue
            yield yf.error(path + (name,), f"unknown key {quote(name)}{did_you_mean(name, allowed)}", key=True)
        return
    if kind == "required":
        missing = [r for r in error.validator_value if r not in error.instance]
        for name in missing:
            yield yf.error(path + (name,), "missing required key")
        return
    hidden = yf.hide(path, error.instance)
    shown = yf.quote(path, error.instance)
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        if hidden:  # e.g. an unquoted numeric password: say what it is, never what it says
            yield yf.error(path, f"expected {_article(expected)}, got {_describe_kind(error.instance)} (value "
                                 f"hidden: a secret){'; write it in quotes' if expected == 'string' else ''}")
        else:
            yield yf.error(path, f"expected {_article(expected)}, got {_describe(error.instance)}")
        return
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]
        hint = "" if hidden else did_you_mean(str(error.instance), choices)
        yield yf.error(path, f"{shown} is not allowed{hint}; one of: {', '.join(choices)}")
        return
    if kind == "const":
        yield yf.error(path, f"must be {error.validator_value!r}")
        return
    if kind == "format":
        yield yf.error(path, f"{shown} is not a valid {error.validator_value}")
        return
    if kind == "pattern":
        hint = error.schema.get("description") or f"must match {error.validator_value}"
        yield yf.error(path, f"{shown} is not valid: {hint}")
        return
    if kind == "minLength" and error.validator_value == 1:
        yield yf.error(path, "must not be empty")
        return
    if kind in _LIMITS:
        yield yf.error(path, f"{shown} {_LIMITS[kind].format(error.validator_value)}")
        return
    message = error.message
    if hidden:  # jsonschema's own messages quote the value as its repr
        message = message.replace(repr(error.instance), HIDDEN)
        if str(error.instance) in message:
            message = f"does not meet '{kind}: {error.validator_value}'"
    yield yf.error(path, message)


_LIMITS = {
    "minLength": "is too short: at least {} characters",
    "maxLength": "is too long: at most {} characters",
    "minimum": "is too small: at least {}",
    "maximum": "is too large: at most {}",
    "exclusiveMinimum": "is too small: more than {}",
    "exclusiveMaximum": "is too large: less than {}",
}


def _article(type_name: str) -> str:
    words = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
             "number": "a number", "boolean": "true or false", "null": "nothing"}
    return words.get(type_name, type_name)


def _describe_kind(value: Any) -> str:
    """The type of ``value`` in words, without the value."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (dict, list)) or value is None:
        return _describe(value)
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return "text"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value}"
    return quote(value)


__all__ = ["did_you_mean", "load_schema", "validate", "dotted"]

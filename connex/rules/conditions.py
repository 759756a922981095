"""Condition trees (a leaf, ``all:``, ``any:``, ``not:``) compiled once, evaluated with a trace of every leaf:
the field, the value it resolved to, the comparison, the rule value and the outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connex.rules.comparisons import RegexError, compile_regex, is_regex
from connex.rules.fieldpath import FieldPath, parse_field


@dataclass
class LeafTrace:
    field: str
    value: Any
    found: bool
    comparison: str
    expected: Any
    result: bool


class Condition:
    def evaluate(self, context: Mapping[str, Any], trace: list[LeafTrace]) -> bool:
        raise NotImplementedError

    def first_field(self) -> FieldPath | None:
        return None


@dataclass
class Leaf(Condition):
    field: FieldPath
    comparison: str
    fn: Callable[[Any, Any], bool]
    expected: Any

    def evaluate(self, context, trace):
        found, value = self.field.resolve(context)
        # a field the record does not have only satisfies "is_not" (and map_all, which passes None through)
        if not found and self.comparison not in ("is_not", "map_all"):
            result = False
        else:
            result = bool(self.fn(value, self.expected))
        shown = self.expected.pattern if is_regex(self.expected) else self.expected
        trace.append(LeafTrace(self.field.text, value, found, self.comparison, shown, result))
        return result

    def first_field(self):
        return self.field


@dataclass
class AllOf(Condition):
    parts: list[Condition]

    def evaluate(self, context, trace):
        # every leaf is evaluated (no short-circuit) so that explain shows the whole picture
        results = [part.evaluate(context, trace) for part in self.parts]
        return all(results)

    def first_field(self):
        return next((f for f in (p.first_field() for p in self.parts) if f), None)


@dataclass
class AnyOf(AllOf):
    def evaluate(self, context, trace):
        results = [part.evaluate(context, trace) for part in self.parts]
        return any(results)


@dataclass
class Not(Condition):
    part: Condition

    def evaluate(self, context, trace):
        return not self.part.evaluate(context, trace)


class Always(Condition):
    def evaluate(self, context, trace):
        return True


def compile_condition(
    spec: Any, comparisons: Mapping[str, Callable], on_error: Callable[[tuple, str], None], path: tuple = ()
) -> Condition:
    """Build a condition from its (schema-validated) YAML; problems go to ``on_error(path, message)``."""
    if spec is None:
        return Always()
    if "all" in spec:
        parts = spec["all"]
        return AllOf([compile_condition(c, comparisons, on_error, path + ("all", i)) for i, c in enumerate(parts)])
    if "any" in spec:
        parts = spec["any"]
        return AnyOf([compile_condition(c, comparisons, on_error, path + ("any", i)) for i, c in enumerate(parts)])
    if "not" in spec:
        return Not(compile_condition(spec["not"], comparisons, on_error, path + ("not",)))
    try:
        field = parse_field(str(spec["field"]))
    except ValueError as exc:
        on_error(path + ("field",), str(exc))
        return Always()
    name = spec["comparison"]
    fn = comparisons.get(name)
    if fn is None:
        on_error(path + ("comparison",), f"unknown comparison '{name}'")
        return Always()
    expected = spec.get("value")
    if name == "regex":
        try:
            expected = compile_regex(str(expected))
        except RegexError as exc:
            reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            on_error(path + ("value",), f"invalid regular expression (RE2 syntax, matched in linear time: no "
                                        f"backreferences or lookaround): {reason}")
            return Always()
    return Leaf(field, name, fn, expected)

"""Rules applied to a mapped document, top-down in file order, each leaving a trace.

Order: the files in the order the config lists them (shipped defaults first), and within a file, top to bottom.
When two rules write the same field the later one wins; the trace records both writes and which one was
overridden, so ``connex explain`` shows the whole story.

Connection scoping follows the product we match: when no rule names a connection, every rule runs everywhere;
once any rule is associated with a connection, only the rules associated with the current connection run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connex.errors import Location
from connex.rules.actions import Action
from connex.rules.conditions import Condition, LeafTrace
from connex.rules.templates import CompiledTemplate, Missing, SecurityError


@dataclass
class Write:
    field: str
    value: Any
    overrides: str | None = None  # id of the earlier rule whose value this replaced


@dataclass
class RuleTrace:
    rule_id: str
    action: str
    where: Location
    fired: bool
    conditions: list[LeafTrace] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    skipped: str | None = None  # why the rule did not run at all (flow, connection)
    line: int | None = None  # for line-level rules: which line
    error: str | None = None


@dataclass
class Rule:
    id: str
    action: Action
    when: dict[str, Condition]  # per flow: aliases such as "sku" mean different fields in different flows
    value: Any  # literal or CompiledTemplate; None with map_all means "the compared field's value"
    sets: dict[str, Any]  # for map_fields: field path -> literal or CompiledTemplate
    flows: tuple[str, ...]
    connections: tuple[str, ...]
    level: str
    where: Location


class RuleError(Exception):
    pass


def _resolve(value: Any, context: dict) -> Any:
    if isinstance(value, CompiledTemplate):
        try:
            return value(context)
        except (Missing, SecurityError) as exc:
            raise RuleError(str(exc)) from None
        except Exception as exc:  # from the data (a division by zero, a type error): this document fails, not the run
            raise RuleError(f"the template failed: {type(exc).__name__}: {exc}") from None
    return value


def describe(exc: BaseException) -> str:
    """An unexpected template error in words: its kind and message, cut short (a recursion error's can be long)."""
    text = str(exc).strip()
    if isinstance(exc, RecursionError):
        return "the template recursed too deeply"
    if isinstance(exc, TypeError) and "no loader for this environment" in text:
        return "templates cannot include or import other templates"
    kind = {"ZeroDivisionError": "division by zero"}.get(type(exc).__name__)
    if kind:
        return kind
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _set_path(target: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


@dataclass
class RuleSet:
    rules: list[Rule]
    # applicable() per (flow, connection): the rules are fixed once loaded, and every document asks
    _scopes: dict = field(default_factory=dict, repr=False, compare=False)

    def applicable(self, flow: str, connection: str | None) -> tuple[list[Rule], list[tuple[Rule, str]]]:
        """The rules that run for ``flow`` on ``connection``, and those of the flow that do not, with why."""
        known = self._scopes.get((flow, connection))
        if known is not None:
            return known
        scoped = any(rule.connections for rule in self.rules)
        run, skipped = [], []
        for rule in self.rules:
            if flow not in rule.flows:
                continue
            if scoped and (connection is None or connection not in rule.connections):
                skipped.append((rule, f"not associated with connection '{connection}'" if connection
                                else "rules are scoped to connections and sync.connection is not set"))
                continue
            run.append(rule)
        known = self._scopes[(flow, connection)] = (run, skipped)
        return known

    def apply(self, flow: str, document: dict, context: dict, line_items: list[Any], line_alias: str,
              connection: str | None = None) -> tuple[list[RuleTrace], str | None]:
        """Apply the rules to ``document`` in place; return the traces and, if a rule said so, why the document
        is not to be imported. ``line_items`` are the source items behind document lines (None for lines with no
        source item, such as shipping)."""
        traces: list[RuleTrace] = []
        writers: dict[str, str] = {}
        skip_reason: str | None = None
        run, skipped = self.applicable(flow, connection)
        for rule, why in skipped:
            traces.append(RuleTrace(rule.id, rule.action.type, rule.where, False, skipped=why))
        doc_context = {**context, "doc": document}  # rules write into document: every rule sees the writes
        for rule in run:
            if rule.level == "line":
                for index, line in enumerate(document.get("lines") or []):
                    if rule.action.line_filter and line.get("kind") != rule.action.line_filter:
                        continue
                    item = line_items[index] if index < len(line_items) else None
                    local = {**context, line_alias: item, "line": line}
                    trace = self._run(rule, flow, line, local, writers, f"lines[{index}].")
                    trace.line = index
                    traces.append(trace)
                continue
            trace = self._run(rule, flow, document, doc_context, writers, "")
            traces.append(trace)
            if trace.fired and rule.action.type == "do_not_import":
                skip_reason = f"rule {rule.id} ({rule.where}): do not import"
        return traces, skip_reason

    def _run(self, rule: Rule, flow: str, target: dict, context: dict, writers: dict[str, str],
             prefix: str) -> RuleTrace:
        trace = RuleTrace(rule.id, rule.action.type, rule.where, False)
        try:
            fired = rule.when[flow].evaluate(context, trace.conditions)
        except Exception as exc:  # a condition that breaks on this record fails the document, not the run
            trace.error = f"its condition failed: {describe(exc)}"
            return trace
        trace.fired = fired
        if not fired:
            return trace
        try:
            if rule.action.uses_set:
                updates = {path: _resolve(value, context) for path, value in rule.sets.items()}
            elif not rule.action.needs_value:
                updates = {}
            else:
                value = rule.value
                if value is None:  # map_all: the compared field's value passes through
                    passthrough = next((c for c in trace.conditions if c.comparison == "map_all"), None)
                    value = passthrough.value if passthrough else None
                value = _resolve(value, context)
                updates = {rule.action.writes: value} if rule.action.writes else {}
                if rule.action.apply is not None:
                    rule.action.apply(target, value, context)
        except RuleError as exc:
            trace.fired = False
            trace.error = str(exc)
            return trace
        except Exception as exc:  # noqa: BLE001 - any template fault (1/0, a type error, recursion) is this
            # document's problem: it fails with the rule named, and the run goes on with the others
            trace.fired = False
            trace.error = describe(exc)
            return trace
        for path, value in updates.items():
            if isinstance(value, str):
                value = value.strip()
            key = prefix + path
            trace.writes.append(Write(path, value, overrides=writers.get(key)))
            writers[key] = rule.id
            _set_path(target, path, value)
        return trace


__all__ = ["Rule", "RuleSet", "RuleTrace", "Write"]

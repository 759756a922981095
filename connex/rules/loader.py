"""Loading rule and mapping files: every file checked, every problem collected, each at ``file:line:col``.

A folder contributes its ``*.yaml`` files and those of its ``mappings/`` sub-folder, in name order; ``tests/``
(fixtures) and ``examples/`` are not loaded as rules. Each file says what it is with ``kind:`` (``rules``,
``mapping`` or ``fixture``). A later mapping for the same flow replaces an earlier one, so a user's own
``sales_order`` mapping overrides the shipped default.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from connex import lint
from connex.errors import ConfigError, ConfigErrors, Location
from connex.paths import schema_path
from connex.rules.actions import BUILTIN_ACTIONS, Action
from connex.rules.comparisons import BUILTIN_COMPARISONS, VALUELESS
from connex.rules.conditions import compile_condition
from connex.rules.fieldpath import parse_field
from connex.rules.mapping import Mapping, MappingCompiler
from connex.rules.pathcheck import FlowScope, PathChecker
from connex.rules.recordschema import Shape
from connex.rules.ruleset import Rule, RuleSet
from connex.rules.templates import TemplateProblem, compile_template, is_template, make_environment
from connex.yamlfile import YamlFile, load_yaml, to_plain

FILE_KINDS = ("rules", "mapping", "fixture")
FLOW_RECORDS = {"orders": "order", "refunds": "refund", "purchases": "po", "inventory": "level"}
TEMPLATE_GLOBALS = {"sync"}


@dataclass
class Registry:
    actions: dict[str, Action] = field(default_factory=lambda: dict(BUILTIN_ACTIONS))
    comparisons: dict[str, Any] = field(default_factory=lambda: dict(BUILTIN_COMPARISONS))
    filters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_plugins(cls, plugins) -> Registry:
        registry = cls()
        if plugins is not None:
            registry.actions.update({k: v for k, v in plugins.rule_actions().items() if isinstance(v, Action)})
            registry.comparisons.update(plugins.comparisons())
            registry.filters.update(plugins.jinja_filters())
        return registry

    def rules_schema(self) -> dict:
        """The shipped rules schema, with a branch for every plugin action and comparison added (built once)."""
        if getattr(self, "_rules_schema", None) is None:
            self._rules_schema = self._build_rules_schema()
        return self._rules_schema

    def _build_rules_schema(self) -> dict:
        schema = copy.deepcopy(lint.load_schema(str(schema_path("rules.schema.json"))))
        known = {b["properties"]["type"]["const"] for b in schema["$defs"]["rule"]["oneOf"]}
        for name, action in self.actions.items():
            if name in known:
                continue
            props: dict[str, Any] = {
                "type": {"const": name}, "id": {"type": "string"}, "description": {"type": "string"},
                "flows": {"type": "array"}, "connections": {"type": "array"}, "when": {"$ref": "#/$defs/condition"},
            }
            if action.needs_value:
                props["value"] = action.value_schema or {}
            schema["$defs"]["rule"]["oneOf"].append(
                {"type": "object", "additionalProperties": False, "required": ["type"], "properties": props})
        comparisons = schema["$defs"]["comparison"]
        comparisons["enum"] = sorted(set(comparisons["enum"]) | set(self.comparisons))
        return schema


MAX_NESTING = 50  # levels of mappings and lists in a rules, mapping or fixture file


def nested_too_deep(data: Any, limit: int = MAX_NESTING) -> tuple | None:
    """The path of the first value nested more than ``limit`` levels deep, walked without recursion, or None."""
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > limit:
            return path
        if isinstance(node, MappingABC):
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*path, i)) for i, value in enumerate(node))
    return None


def rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            candidates = sorted(path.glob("*.yaml")) + sorted((path / "mappings").glob("*.yaml"))
        else:
            candidates = [path]
        for candidate in candidates:
            if candidate.resolve() not in [f.resolve() for f in files]:
                files.append(candidate)
    return files


@dataclass
class LoadedRules:
    mappings: dict[str, Mapping]
    ruleset: RuleSet
    env: Any
    files: list[str]
    aliases: dict[str, dict[str, str]]
    overridden: list[str] = field(default_factory=list)


class RulesLoader:
    """``record_schemas``: the shape of each flow's record (``connex.rules.recordschema``); when given, every
    field path of every template and condition is checked against it (``connex validate`` does)."""

    def __init__(self, registry: Registry | None = None, record_schemas: dict[str, Shape] | None = None,
                 generate: bool = True):
        self.registry = registry or Registry()
        self.generate = generate  # False: every template on Jinja (tests compare the generated code with it)
        self.env = make_environment(self.registry.filters)
        self.errors: list[ConfigError] = []
        self.record_schemas = dict(record_schemas or {})
        self.flow_scopes: dict[str, FlowScope] = {}

    def _validate(self, yf: YamlFile, kind: str) -> bool:
        if kind == "rules":
            schema = self.registry.rules_schema()
        else:
            schema = lint.load_schema(str(schema_path(f"{kind}.schema.json")))
        problems = lint.validate(yf, schema)
        self.errors.extend(problems)
        return not problems

    def read(self, path: Path) -> tuple[YamlFile, str] | None:
        try:
            yf = load_yaml(path)
        except ConfigErrors as exc:
            self.errors.extend(exc.errors)
            return None
        except ConfigError as exc:
            self.errors.append(exc)
            return None
        except RecursionError:  # the YAML parser recurses per level of nesting
            self.errors.append(ConfigError(f"nested too deeply to read (more than {MAX_NESTING} levels are "
                                           "refused)", where=Location(str(path))))
            return None
        too_deep = nested_too_deep(yf.data)
        if too_deep is not None:
            # refused before anything walks it: the schema check and the compilers recurse once per level
            self.errors.append(yf.error(too_deep, f"nested more than {MAX_NESTING} levels deep (conditions, "
                                                  "fields and records never need that many)"))
            return None
        kind = yf.data.get("kind") if isinstance(yf.data, MappingABC) else None
        if kind not in FILE_KINDS:
            hint = lint.did_you_mean(str(kind), FILE_KINDS) if kind else ""
            self.errors.append(yf.error(("kind",), f"'kind' must be one of: {', '.join(FILE_KINDS)}{hint}"
                                        if kind else f"missing 'kind:' (one of: {', '.join(FILE_KINDS)})",
                                        key=False))
            return None
        return yf, kind

    def load(self, paths: Iterable[Path]) -> LoadedRules:
        files = rule_files(paths)
        mappings: dict[str, Mapping] = {}
        overridden: list[str] = []
        rule_docs: list[tuple[YamlFile, bool]] = []
        for path in files:
            loaded = self.read(path)
            if loaded is None:
                continue
            yf, kind = loaded
            if kind == "fixture":
                continue
            valid = self._validate(yf, kind)
            if kind == "mapping":
                # a mapping becomes generated Python code: only a file its schema found clean is ever compiled; a
                # file with schema problems is only checked (templates parsed, field names looked up), so every
                # problem is still reported in one pass
                if not valid:
                    with contextlib.suppress(KeyError, TypeError, AttributeError, ValueError):  # reported shapes
                        self.compile_mapping(yf, check_only=True)
                    continue
                mapping = self.compile_mapping(yf)
                self.check_mapping_paths(yf, mapping.flow)
                if mapping.flow in mappings:
                    overridden.append(f"{mappings[mapping.flow].source_file} (replaced by {yf.path})")
                mappings[mapping.flow] = mapping
            else:
                rule_docs.append((yf, valid))
        aliases = {flow: dict(m.aliases) for flow, m in mappings.items()}
        line_aliases = {m.flow: m.line_alias for m in mappings.values()}
        rules = [rule for yf, valid in rule_docs for rule in self.compile_rules(yf, aliases, line_aliases, mappings,
                                                                                 strict=valid)]
        for yf, valid in rule_docs:
            if valid:
                self.check_rule_paths(yf)
        return LoadedRules(mappings, RuleSet(rules), self.env, [str(f) for f in files], aliases, overridden)

    def compile_mapping(self, yf: YamlFile, check_only: bool = False) -> Mapping:
        def on_error(path: tuple, message: str) -> None:
            self.errors.append(yf.error(path, message))

        compiler = MappingCompiler(self.env, on_error, check_only=check_only, generate=self.generate)
        return compiler.compile(to_plain(yf.data), yf.path, TEMPLATE_GLOBALS)

    def check_mapping_paths(self, yf: YamlFile, flow: str) -> None:
        """Field paths of a compiled mapping against its flow's record schema; a later mapping for the same flow
        replaces the names rules see, as it replaces the mapping."""
        if flow not in self.record_schemas:
            return
        checker = PathChecker(self.env, yf)
        self.flow_scopes[flow] = checker.mapping(to_plain(yf.data), self.record_schemas[flow])
        self.errors.extend(checker.errors)

    def check_rule_paths(self, yf: YamlFile) -> None:
        """Field paths of a (schema-valid) rules file: conditions' fields and value/set templates, per flow."""
        if not self.record_schemas:
            return
        checker = PathChecker(self.env, yf)
        for index, spec in enumerate(to_plain(yf.data).get("rules") or []):
            action = self.registry.actions.get(spec.get("type"))
            if action is None:
                continue
            for flow in spec.get("flows") or action.flows:
                root = self.record_schemas.get(flow)
                if root is None:
                    continue
                record = FLOW_RECORDS[flow]
                scope = self.flow_scopes.get(flow) or FlowScope(record, {record: root})
                checker.rule(spec, index, scope, spec.get("level", action.level))
        self.errors.extend(checker.errors)

    def compile_rules(self, yf: YamlFile, aliases: dict[str, dict[str, str]], line_aliases: dict[str, str],
                      mappings: dict[str, Mapping], strict: bool = True) -> list[Rule]:
        """Compile every rule of a file. With ``strict=False`` (the file failed its schema) rules the schema
        rejected are skipped rather than compiled, but the others are still checked for deeper problems."""
        data = to_plain(yf.data)
        rules: list[Rule] = []
        seen_ids: dict[str, int] = {}
        for index, spec in enumerate(data.get("rules") or []):
            path = ("rules", index)
            if not strict and (not isinstance(spec, dict) or spec.get("type") not in self.registry.actions
                               or not self._rule_is_valid(spec)):
                continue

            def on_error(sub: tuple, message: str, _path=path) -> None:
                self.errors.append(yf.error(_path + sub, message))

            action = self.registry.actions[spec["type"]]
            rule_id = spec.get("id") or f"{Path(yf.path).stem}.{index + 1}"
            if rule_id in seen_ids:
                on_error(("id",), f"duplicate rule id '{rule_id}' (also rule {seen_ids[rule_id] + 1} of this file)")
            seen_ids[rule_id] = index
            flows = tuple(spec.get("flows") or action.flows)
            level = spec.get("level", action.level)
            allowed = TEMPLATE_GLOBALS | {"doc"}
            when = {}
            reported: set[tuple] = set()

            def once(sub: tuple, message: str, _report=on_error, _seen=reported) -> None:
                # a rule for several flows is compiled once per flow: report each place once
                if sub not in _seen:
                    _seen.add(sub)
                    _report(sub, message)

            for flow in flows:
                names = {FLOW_RECORDS[flow]} | set(mappings[flow].binds if flow in mappings else ())
                if level == "line":
                    names |= {"line", line_aliases.get(flow, "item")}
                allowed |= names
                expanded = self._expand_aliases(spec.get("when"), aliases.get(flow, {}), names | TEMPLATE_GLOBALS
                                                | {"doc"}, once)
                when[flow] = compile_condition(expanded, self.registry.comparisons, once, ("when",))
            if spec.get("value") is None and action.needs_value:
                passthrough = self._has_map_all(spec.get("when"))
                if not passthrough:
                    on_error(("value",) if "value" in spec else (),
                             f"'{action.type}' needs a 'value' (or a condition with comparison map_all, whose "
                             "field's value is then used)")
            value = self._template_or_literal(spec.get("value"), allowed, on_error, ("value",))
            sets = {key: self._template_or_literal(v, allowed, on_error, ("set", key))
                    for key, v in (spec.get("set") or {}).items()}
            rules.append(Rule(
                id=rule_id, action=action, when=when, value=value, sets=sets, flows=flows,
                connections=tuple(spec.get("connections") or ()), level=level,
                where=yf.locate(path),
            ))
        return rules

    def _rule_is_valid(self, spec: dict) -> bool:
        branch = {"$ref": "#/$defs/rule"}
        schema = self.registry.rules_schema()
        return not any(Draft202012Validator({**branch, "$defs": schema["$defs"]}).iter_errors(spec))

    @staticmethod
    def _has_map_all(spec: Any) -> bool:
        if not isinstance(spec, dict):
            return False
        if spec.get("comparison") in VALUELESS:
            return True
        return any(RulesLoader._has_map_all(c) for key in ("all", "any") for c in spec.get(key, ()))

    def _expand_aliases(self, spec: Any, aliases: dict[str, str], allowed: set[str], on_error, path=()) -> Any:
        """Replace alias field names (sub_source) with their paths and check every field's root is in scope."""
        if not isinstance(spec, dict):
            return spec
        if "field" in spec:
            text = str(spec["field"])
            head = text.split(".")[0].split("[")[0]
            if head in aliases:
                text = aliases[head] + text[len(head):]
            try:
                root = parse_field(text).root
            except ValueError as exc:
                on_error(("when", *path, "field"), str(exc))
                return {**spec, "field": text}
            if root not in allowed:
                choices = sorted(allowed | set(aliases))
                on_error(("when", *path, "field"),
                         f"'{spec['field']}' starts with an unknown name '{root}'{lint.did_you_mean(root, choices)};"
                         f" use one of: {', '.join(choices)}")
            return {**spec, "field": text}
        out = dict(spec)
        for key in ("all", "any"):
            if key in spec:
                out[key] = [self._expand_aliases(c, aliases, allowed, on_error, (*path, key, i))
                            for i, c in enumerate(spec[key])]
        if "not" in spec:
            out["not"] = self._expand_aliases(spec["not"], aliases, allowed, on_error, (*path, "not"))
        return out

    def _template_or_literal(self, value: Any, allowed: set[str], on_error, path: tuple) -> Any:
        if not is_template(value):
            return value
        try:
            return compile_template(self.env, str(value), allowed, generate=self.generate)
        except TemplateProblem as problem:
            on_error(path, problem.message)
            return None


def load_rules(paths: Iterable[Path], plugins=None, record_schemas: dict[str, Shape] | None = None,
               generate: bool = True) -> LoadedRules:
    """Load and compile every rule and mapping file; raise ``ConfigErrors`` listing every problem. With
    ``record_schemas`` ({flow: shape}) field paths are checked too; ``generate=False`` evaluates every template
    with Jinja (for the tests that hold the generated code to it)."""
    paths = list(paths)
    loader = RulesLoader(Registry.from_plugins(plugins), record_schemas, generate)
    loaded = loader.load(paths)
    missing = [flow for flow in ("orders",) if flow not in loaded.mappings]
    if missing and not loader.errors:
        loader.errors.append(ConfigError(f"no mapping for the {missing[0]} flow in any rules folder",
                                         where=Location(str(paths[0]) if paths else "rules")))
    if loader.errors:
        raise ConfigErrors(loader.errors)
    return loaded

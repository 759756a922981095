"""Field paths checked against the source's record schema: ``{{ order.GeneralInfo.SubSorce }}`` is reported by
``validate`` at its own line and column with a did-you-mean, instead of failing every order of the next run.

Templates are walked as Jinja parses them, carrying what each name holds: the record, a ``bind``, a line group's
``as`` (an element of its ``each``), a ``{% for %}`` variable, a ``{% set %}`` variable. Attribute and
dict-style access (``order["GeneralInfo"]``), indexing, filters that keep or pick elements (``first``,
``selectattr``, ``sort``, ``default``...) and the ``attribute=`` of ``map``, ``sum``, ``selectattr``... are
followed; anything the walk cannot know (a computed key, a macro, a filter's result) is ``ANY`` and is never
reported. ``a or b`` and ``a if c else b`` are either: a path is reported only when no alternative has it.
Rule conditions' ``field:`` paths (aliases expanded) and the mappings' ``aliases:`` are checked the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from connex.errors import ConfigError, Location
from connex.lint import did_you_mean
from connex.rules.fieldpath import _STEP
from connex.rules.recordschema import ANY, ListOf, MapOf, Obj, Scalar, Shape
from connex.yamlfile import YamlFile, dotted


class _Literal(Shape):
    """A value written in the template (``[]``, ``'Default'``): no record field, and ignored beside one in
    ``a or b`` so that ``(po.AdditionalCosts or []) | sum(attribute='Tax')`` is still checked."""

    describe = "a literal"


LITERAL = _Literal()


@dataclass(eq=False)
class Either(Shape):
    options: tuple[Shape, ...]


def either(*shapes: Shape | None) -> Shape:
    options: list[Shape] = []
    for shape in shapes:
        if shape is None or shape is LITERAL:
            continue
        if shape is ANY:
            return ANY
        for option in shape.options if isinstance(shape, Either) else (shape,):
            if not any(option is known for known in options):
                options.append(option)
    if not options:
        return LITERAL
    return options[0] if len(options) == 1 else Either(tuple(options))


def _public(*types: type) -> frozenset[str]:
    return frozenset(name for t in types for name in dir(t) if not name.startswith("_"))


# what Python lets a template call or read on a scalar, a list or a record (a dict at run time)
SCALAR_ATTRIBUTES = _public(str, Decimal, int, float, bool, dt.datetime, dt.date)
LIST_ATTRIBUTES = _public(list)
DICT_METHODS = _public(dict)
# filters whose result is their input list (narrowed, reordered), or one element of it
KEEPS_LIST = {"select", "reject", "selectattr", "rejectattr", "sort", "unique", "list", "reverse"}
PICKS_ELEMENT = {"first", "last", "random", "min", "max"}
# filters that name a field of each element: by keyword attribute=, or (positional) as their first argument
ATTRIBUTE_KEYWORD = {"map", "sum", "sort", "unique", "min", "max", "join", "groupby", "selectattr", "rejectattr"}
ATTRIBUTE_FIRST_ARG = {"selectattr", "rejectattr", "groupby"}


@dataclass
class Finding:
    """An unknown path: ``message``, and where its name is in the template (1-based line, 0-based column)."""

    message: str
    line: int
    column: int | None = None
    # what to look for among the template's tokens: ("attr", name) after a dot, or ("string", text)
    token: tuple[str, str] | None = None


def element(shape: Shape) -> Shape:
    """What ``for x in shape`` gives."""
    if isinstance(shape, ListOf):
        return shape.item
    if isinstance(shape, Either):
        return either(*(element(o) for o in shape.options))
    if isinstance(shape, MapOf):  # iterating a map gives its keys
        return Scalar("string")
    return ANY


def member(shape: Shape, name: str, text: str, *, called: bool = False) -> tuple[Shape, str | None]:
    """(shape of ``shape.name``, problem or None); ``text`` is how the template wrote ``shape``, for messages."""
    if shape is ANY or shape is LITERAL:
        return ANY, None
    if isinstance(shape, Either):
        found, problems = [], []
        for option in shape.options:
            sub, problem = member(option, name, text, called=called)
            (problems if problem else found).append(problem or sub)
        return (either(*found), None) if found else (ANY, problems[0])
    if isinstance(shape, MapOf):
        return shape.value, None
    if isinstance(shape, Obj):
        if name in shape.fields:
            return shape.fields[name], None
        if called and name in DICT_METHODS:
            return ANY, None
        return ANY, f"unknown field '{name}' of {text}{did_you_mean(name, shape.fields)}"
    if isinstance(shape, ListOf):
        if name.isdigit():
            return shape.item, None
        if name in LIST_ATTRIBUTES:
            return ANY, None
        item = shape.item
        if isinstance(item, Obj) and name in item.fields:
            return ANY, (f"{text} is {shape.describe}: '{name}' is a field of each of its elements; loop over it "
                         f"(each:, for) or take one ({text}[0].{name})")
        return ANY, f"unknown field '{name}' of {text} ({shape.describe})"
    if isinstance(shape, Scalar):
        if name in SCALAR_ATTRIBUTES:
            return ANY, None
        return ANY, f"{text} is {shape.describe}: it has no field '{name}'"
    return ANY, None


def _text(node: nodes.Node) -> str:
    """How the template wrote an expression, for messages (a path where it is one)."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_text(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_text(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Filter):
        return f"{_text(node.node)} | {node.name}" if node.node is not None else node.name
    return "the value"


class _Walker:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def report(self, problem: str | None, node: nodes.Node, token: tuple[str, str]) -> None:
        if problem:
            self.findings.append(Finding(problem, node.lineno or 1, token=token))

    # --- statements ---------------------------------------------------------------------------------------------
    def body(self, statements: Iterable[nodes.Node], scope: dict[str, Shape]) -> None:
        for statement in statements:
            self.statement(statement, scope)

    def statement(self, node: nodes.Node, scope: dict[str, Shape]) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                self.expr(child, scope)
        elif isinstance(node, nodes.For):
            items = self.expr(node.iter, scope)
            inner = {**scope, "loop": ANY}
            self.bind(node.target, element(items), inner)
            if node.test is not None:
                self.expr(node.test, inner)
            self.body(node.body, inner)
            self.body(node.else_, scope)
        elif isinstance(node, nodes.Assign):
            # a {% set %} inside an {% if %} is still set after it: Jinja has no block scope there
            self.bind(node.target, self.expr(node.node, scope), scope)
        elif isinstance(node, nodes.If):
            self.expr(node.test, scope)
            self.body(node.body, scope)
            for branch in node.elif_:
                self.statement(branch, scope)
            self.body(node.else_, scope)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values, strict=False):
                self.bind(target, self.expr(value, scope), inner)
            self.body(node.body, inner)
        else:  # macros, call blocks, filter blocks, {% set %} blocks: their names hold what the walk cannot know
            inner = dict(scope)
            for name in node.find_all(nodes.Name):
                if name.ctx in ("store", "param"):
                    inner[name.name] = ANY
            for child in node.iter_child_nodes():
                if isinstance(child, nodes.Expr):
                    self.expr(child, inner)
                else:
                    self.statement(child, inner)

    def bind(self, target: nodes.Node, shape: Shape, scope: dict[str, Shape]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = shape
        else:  # for a, b in ...: unpacking gives what the walk cannot know
            for name in target.find_all(nodes.Name):
                scope[name.name] = ANY

    # --- expressions --------------------------------------------------------------------------------------------
    def expr(self, node: nodes.Node | None, scope: dict[str, Shape], *, called: bool = False) -> Shape:
        if node is None:
            return ANY
        if isinstance(node, nodes.Name):
            return scope.get(node.name, ANY)
        if isinstance(node, nodes.Getattr):
            base = self.expr(node.node, scope)
            shape, problem = member(base, node.attr, _text(node.node), called=called)
            self.report(problem, node, ("attr", node.attr))
            return shape
        if isinstance(node, nodes.Getitem):
            base = self.expr(node.node, scope)
            arg = node.arg
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                shape, problem = member(base, arg.value, _text(node.node))
                self.report(problem, node, ("string", arg.value))
                return shape
            if isinstance(arg, nodes.Const) and isinstance(arg.value, int) and not isinstance(arg.value, bool):
                return element(base) if isinstance(base, (ListOf, Either)) else ANY
            if isinstance(arg, nodes.Slice):
                self.children(arg, scope)
                return base
            self.expr(arg, scope)
            return base.value if isinstance(base, MapOf) else element(base) if isinstance(base, ListOf) else ANY
        if isinstance(node, nodes.Filter):
            return self.filter(node, scope)
        if isinstance(node, nodes.Call):
            self.expr(node.node, scope, called=True)
            self.arguments(node, scope)
            return ANY
        if isinstance(node, nodes.CondExpr):
            self.expr(node.test, scope)
            return either(self.expr(node.expr1, scope), self.expr(node.expr2, scope) if node.expr2 else LITERAL)
        if isinstance(node, (nodes.Or, nodes.And)):
            return either(self.expr(node.left, scope), self.expr(node.right, scope))
        if isinstance(node, (nodes.Const, nodes.TemplateData)):
            return LITERAL
        if isinstance(node, (nodes.List, nodes.Tuple, nodes.Dict)):
            self.children(node, scope)
            return LITERAL
        self.children(node, scope)  # arithmetic, comparisons, tests, concatenation: their operands are checked
        return ANY

    def children(self, node: nodes.Node, scope: dict[str, Shape]) -> None:
        for child in node.iter_child_nodes():
            self.expr(child, scope)

    def arguments(self, node: nodes.Filter | nodes.Call | nodes.Test, scope: dict[str, Shape]) -> None:
        for arg in node.args:
            self.expr(arg, scope)
        for kwarg in node.kwargs:
            self.expr(kwarg.value, scope)
        for extra in (node.dyn_args, node.dyn_kwargs):
            if extra is not None:
                self.expr(extra, scope)

    def filter(self, node: nodes.Filter, scope: dict[str, Shape]) -> Shape:
        base = self.expr(node.node, scope)
        self.arguments(node, scope)
        name = node.name
        attribute = None
        for kwarg in node.kwargs:
            if kwarg.key == "attribute" and name in ATTRIBUTE_KEYWORD:
                attribute = kwarg.value
        if attribute is None and name in ATTRIBUTE_FIRST_ARG and node.args:
            attribute = node.args[0]
        picked: Shape = ANY
        if isinstance(attribute, nodes.Const) and isinstance(attribute.value, str):
            picked = self.attribute_path(element(base), attribute.value, _text(node.node) if node.node else "",
                                         attribute)
        if name in KEEPS_LIST:
            return base
        if name in PICKS_ELEMENT:
            return element(base)
        if name == "map" and attribute is not None:
            return ListOf(picked) if picked is not ANY else ANY
        if name in ("default", "d"):
            return either(base, self.expr(node.args[0], scope) if node.args else LITERAL)
        return ANY

    def attribute_path(self, shape: Shape, path: str, text: str, node: nodes.Node) -> Shape:
        """A filter's ``attribute='a.b'``: a dotted path into each element (Jinja's own syntax for it)."""
        where = f"each element of {text}" if text else "each element"
        for part in path.split("."):
            shape, problem = member(shape, part, where)
            if problem:
                self.report(problem, node, ("string", path))
                return ANY
            where = f"{where}.{part}"
        return shape


def walk_template(tree: nodes.Template, scope: Mapping[str, Shape]) -> tuple[list[Finding], Shape]:
    """Every unknown path of a parsed template, and the shape of its value when it is one expression."""
    walker = _Walker()
    local = dict(scope)
    result: Shape = ANY
    body = tree.body
    if len(body) == 1 and isinstance(body[0], nodes.Output) and len(body[0].nodes) == 1:
        result = walker.expr(body[0].nodes[0], local)
    else:
        walker.body(body, local)
    return walker.findings, result


def place_findings(env, source: str, findings: list[Finding]) -> None:
    """Fill in each finding's column from the template's tokens (Jinja's nodes carry lines only)."""
    tokens: list[tuple[int, str, str, int]] = []
    offset = 0
    try:
        for lineno, kind, value in env.lexer.tokeniter(source, None):
            found = source.find(value, offset)
            if found < 0:
                break
            tokens.append((lineno, kind, value, found))
            offset = found + len(value)
    except TemplateSyntaxError:
        return
    used: set[int] = set()
    for finding in findings:
        if finding.token is None:
            continue
        kind, name = finding.token
        previous = None
        for index, (lineno, token_kind, value, start) in enumerate(tokens):
            if token_kind == "whitespace":
                continue
            match = (kind == "attr" and token_kind == "name" and value == name and previous == ".") or (
                kind == "string" and token_kind == "string" and value[1:-1] == name)
            previous = value if token_kind == "operator" else None
            if match and lineno == finding.line and index not in used:
                used.add(index)
                column = start + (1 if kind == "string" else 0)
                finding.line = source.count("\n", 0, column) + 1
                finding.column = column - (source.rfind("\n", 0, column) + 1)
                break


def path_findings(text: str, scope: Mapping[str, Shape]) -> list[Finding]:
    """A condition's ``field:`` path (``order.Items[0].SKU``), checked step by step."""
    findings: list[Finding] = []
    steps = [(m.group(1), m.group(2), m.start(1)) for m in _STEP.finditer(text)]
    if not steps or steps[0][0] is None:
        return findings
    shape = scope.get(steps[0][0], ANY)
    written = steps[0][0]
    for name, index, start in steps[1:]:
        if index is not None:
            shape = element(shape) if isinstance(shape, (ListOf, Either)) else ANY
            written += f"[{index}]"
            continue
        shape, problem = member(shape, name, written)
        if problem:
            findings.append(Finding(problem, 1, start, token=("attr", name)))
            return findings
        written += f".{name}"
    return findings


@dataclass
class FlowScope:
    """What the names of one flow's templates and rules hold."""

    record: str
    names: dict[str, Shape]
    line_alias: str = "item"
    line_item: Shape = ANY
    aliases: dict[str, str] = field(default_factory=dict)


class PathChecker:
    """Checks one file's templates and field paths; problems are ``ConfigError``s at ``file:line:col``."""

    def __init__(self, env, yf: YamlFile):
        self.env = env
        self.yf = yf
        self.errors: list[ConfigError] = []
        self._seen: set[str] = set()
        self._lines: list[str] | None = None

    # --- positions ----------------------------------------------------------------------------------------------
    def lines(self) -> list[str]:
        if self._lines is None:
            try:
                self._lines = Path(self.yf.path).read_text(encoding="utf-8-sig").splitlines()
            except (OSError, UnicodeDecodeError):
                self._lines = []
        return self._lines

    def where(self, path: tuple, finding: Finding, prefix: int) -> Location:
        """The file position of ``finding``, a position in the scalar at ``path`` whose text starts ``prefix``
        characters into the template (``each:`` and ``bind:`` are wrapped in ``{{ }}``)."""
        base = self.yf.locate(path)
        if finding.column is None or base.line is None or base.col is None:
            return base
        lines = self.lines()
        if base.line > len(lines):
            return base
        first = lines[base.line - 1]
        column = finding.column - prefix if finding.line == 1 else finding.column
        if base.col - 1 < len(first) and first[base.col - 1] in "|>":  # a block scalar: lines below, indented
            number = base.line + finding.line
            if number > len(lines):
                return base
            # the block's indentation is its first content line's; the template keeps any deeper indentation
            first_content = next((t for t in lines[base.line:number] if t.strip()), lines[number - 1])
            indent = len(first_content) - len(first_content.lstrip(" "))
            return Location(base.file, number, indent + column + 1, field=base.field)
        if finding.line != 1:
            return base  # a multi-line quoted or plain scalar: folded, so only its start is exact
        quoted = base.col - 1 < len(first) and first[base.col - 1] in "\"'"
        return Location(base.file, base.line, base.col + column + (1 if quoted else 0), field=base.field)

    def checked_where(self, path: tuple, finding: Finding, prefix: int) -> Location:
        """``where``, kept only when the file holds the name there: a scalar with escapes or folded lines moves
        text about, and then the value's own start is the honest position."""
        where = self.where(path, finding, prefix)
        base = self.yf.locate(path)
        if finding.token is None or (where.line, where.col) == (base.line, base.col):
            return where
        lines = self.lines()
        text = lines[where.line - 1] if where.line and where.line <= len(lines) else ""
        return where if text[(where.col or 1) - 1:].startswith(finding.token[1]) else base

    def add(self, path: tuple, finding: Finding, prefix: int = 0) -> None:
        where = self.checked_where(path, finding, prefix)
        name = dotted(path)
        error = ConfigError(f"{name}: {finding.message}" if name else finding.message, where=where)
        if str(error) not in self._seen:  # a rule for several flows is checked once per flow
            self._seen.add(str(error))
            self.errors.append(error)

    # --- checks -------------------------------------------------------------------------------------------------
    def template(self, source: Any, scope: Mapping[str, Shape], path: tuple, *, wrap: bool = False) -> Shape:
        """Check a template (``wrap``: an expression, as ``each:`` and ``bind:`` are) and give its value's shape."""
        if not isinstance(source, str) or (not wrap and "{{" not in source and "{%" not in source):
            return ANY
        text = "{{ " + source + " }}" if wrap else source
        try:
            tree = self.env.parse(text)
        except (TemplateSyntaxError, RecursionError):  # reported by the compiler already
            return ANY
        findings, shape = walk_template(tree, scope)
        place_findings(self.env, text, findings)
        for finding in findings:
            self.add(path, finding, 3 if wrap else 0)
        return shape

    def field_path(self, text: Any, scope: Mapping[str, Shape], path: tuple, aliases: Mapping[str, str]) -> None:
        if not isinstance(text, str):
            return
        head = text.split(".")[0].split("[")[0]
        expanded = aliases[head] + text[len(head):] if head in aliases else text
        for finding in path_findings(expanded, scope):
            if head in aliases:  # the position is in the alias's own path, not in what the user wrote here
                finding.column = None
                finding.message = f"'{text}' (= {expanded}): {finding.message}"
            self.add(path, finding)

    def mapping(self, data: Mapping[str, Any], root: Shape) -> FlowScope:
        record = data.get("record", "record")
        names: dict[str, Shape] = {record: root}
        for name, expression in (data.get("bind") or {}).items():
            names[name] = self.template(expression, names, ("bind", name), wrap=True)
        self.object(data.get("fields") or {}, names, ("fields",))
        scope = FlowScope(record, names, aliases=dict(data.get("aliases") or {}))
        line_names = dict(names)
        first_alias = None
        for i, group in enumerate(data.get("lines") or []):
            if not isinstance(group, Mapping):
                continue
            inner = dict(names)
            if "each" in group:
                items = self.template(group["each"], names, ("lines", i, "each"), wrap=True)
                if isinstance(items, (Obj, Scalar)):
                    self.add(("lines", i, "each"), Finding(f"'{group['each']}' is {items.describe}, not a list: "
                                                           "'each' repeats a line per element of a list", 1))
                if group.get("as"):
                    inner[group["as"]] = element(items)
                    line_names.setdefault(group["as"], inner[group["as"]])
                    if first_alias is None:  # line-level rules see the first group's element (Mapping.line_alias)
                        first_alias = group["as"]
                        scope.line_alias, scope.line_item = first_alias, inner[first_alias]
            if "when" in group:
                self.template(group["when"], names, ("lines", i, "when"))
            self.object(group.get("fields") or {}, inner, ("lines", i, "fields"))
        bill = data.get("bill")
        if isinstance(bill, Mapping) and "when" in bill:
            self.template(bill["when"], names, ("bill", "when"))
        for alias, target in scope.aliases.items():
            self.field_path(target, line_names, ("aliases", alias), {})
        return scope

    def object(self, fields: Any, scope: Mapping[str, Shape], path: tuple) -> None:
        if not isinstance(fields, Mapping):
            return
        for key, spec in fields.items():
            if isinstance(spec, Mapping) and "fields" in spec:
                self.object(spec["fields"], scope, (*path, key, "fields"))
            elif isinstance(spec, Mapping) and "value" in spec:
                self.template(spec["value"], scope, (*path, key, "value"))
            else:
                self.template(spec, scope, (*path, key))

    def rule(self, spec: Mapping[str, Any], index: int, scope: FlowScope, level: str) -> None:
        names = dict(scope.names)
        if level == "line":
            names[scope.line_alias] = scope.line_item
        self.condition(spec.get("when"), names, ("rules", index, "when"), scope.aliases)
        self.template(spec.get("value"), names, ("rules", index, "value"))
        for key, value in (spec.get("set") or {}).items():
            self.template(value, names, ("rules", index, "set", key))

    def condition(self, spec: Any, names: Mapping[str, Shape], path: tuple, aliases: Mapping[str, str]) -> None:
        if not isinstance(spec, Mapping):
            return
        if "field" in spec:
            self.field_path(spec["field"], names, (*path, "field"), aliases)
        for key in ("all", "any"):
            for i, part in enumerate(spec.get(key) or ()):
                self.condition(part, names, (*path, key, i), aliases)
        if "not" in spec:
            self.condition(spec["not"], names, (*path, "not"), aliases)

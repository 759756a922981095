"""Templates as generated Python: one function per template, and one per mapping scope (its fields inlined).

Jinja evaluates every template in a fresh runtime ``Context``, about 15 µs of bookkeeping per call: for a mapping
with fifty fields that is most of the time spent per order. The expressions mappings use are simple (attribute
paths, filters, arithmetic, ``or``, ``if``/``else``, comparisons, text with placeholders), so they are written
here as Python source from Jinja's own AST and compiled once, at load time. There are two ways to evaluate a
template, no more: this generated code, and Jinja for whatever this module does not take (loops, calls, blocks,
macros: ``template_function`` returns None and ``templates.compile_template`` keeps Jinja's compiled template).

* Every attribute path a function's templates use is resolved once, prefixes shared, at its top: a plain dict's
  key when it cannot be shadowed by a dict attribute, else the sandbox's own ``getattr``, so nothing reaches
  further than Jinja would. Reading a path has no effect on data records, so reading it early changes no result;
  should a step ever raise (an exotic object in the context), a template's function hands the call to Jinja and
  a scope's raises ``Deopt``, so the document is evaluated template by template, with Jinja's exact timing;
* each node keeps Jinja's semantics: a missing value is a real ``Undefined`` of the environment's class (so
  ``default``, ``or``, ``is defined`` and errors on arithmetic behave as in Jinja), filters are called as
  ``call_filter`` would call them, tests through ``call_test``, text renders through ``finalize`` and ``str``,
  and the operators that can make a value bigger are the sandbox's checked ones (``limits.py``);
* nothing a rules file says becomes source text but checked literals (``source_literal``); every other object
  is bound to a fresh global name;
* in a scope's function, evaluating, coercing, defaulting and truncating a field are inlined with the exact rules
  of ``ValueSpec`` (see ``mapping.py``), including its error messages.

tests/rules/test_codegen.py holds the generated code to Jinja, template by template and document by document, on
the shipped mappings, realistic and broken records and generated templates and records.
"""

from __future__ import annotations

import datetime
import itertools
import keyword
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from jinja2 import Undefined, UndefinedError, nodes
from jinja2.utils import _PassArg

from connex.rules import filters, limits
from connex.rules.money import QUANTA, places_for, round_money, round_places, to_decimal
from connex.rules.templates import CompiledTemplate, Missing, undefined_hint

if TYPE_CHECKING:  # mapping.py imports this module
    from connex.rules.mapping import ObjectSpec, ValueSpec


DICT_ATTRIBUTES = frozenset(dir(dict))


class NotFast(Exception):
    """The template uses something the generator does not take; Jinja evaluates it."""


class Deopt(Exception):
    """A scope's generated code met something only template-by-template evaluation handles with Jinja's timing."""


class UnsafeSource(ValueError):
    """A value that would have to be written into the generated source is not a checked literal. Nothing a rules
    file says may become source text: only the ``repr`` of an int, str, bool or None, checked here, is written;
    every other object is bound to a fresh global name (``Namespace.name_for``)."""


def source_literal(value: Any, what: str, kinds: tuple[type, ...] = (int, str, bool, type(None))) -> str:
    """``repr(value)`` when ``value`` is exactly one of ``kinds`` (no subclass, whose ``__repr__`` could say
    anything), else ``UnsafeSource``: the one way a value of a file reaches the generated source."""
    if type(value) not in kinds:
        raise UnsafeSource(f"{what}: {value!r} is not a {' or '.join(k.__name__ for k in kinds)}")
    return repr(value)


def source_int(value: Any, what: str) -> str:
    return source_literal(value, what, (int,))


_NO_KEY = object()
_FAILED = object()
COMPARE_OPERATORS = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in",
                     "notin": "not in"}
BINARY_OPERATORS = {nodes.Sub: "-", nodes.Div: "/", nodes.FloorDiv: "//"}
# the operators that can make a value bigger: the sandbox's checked functions (limits.py), as Jinja calls them
CHECKED_OPERATORS = {nodes.Add: "_add", nodes.Mul: "_mul", nodes.Mod: "_mod"}
_LITERAL_TYPES = (str, int, bool, type(None))
_IMMUTABLE_TYPES = (*_LITERAL_TYPES, float, Decimal, datetime.date, datetime.datetime)


# the currency's quantum, as round_money takes it; a currency it cannot take fails there too, field by field
QUANTUM = ["try:", "    q = _QUANTA[_places_for(currency)]", "except Exception as e:",
           "    raise _Deopt(str(e)) from e"]


class Namespace:
    """The globals of the generated module: helpers under fixed names, and every other object under a fresh one."""

    def __init__(self, env):
        from connex.rules.mapping import COERCERS, FieldFailure, _text

        self.values: dict[str, Any] = {
            "_NK": _NO_KEY, "_FAILED": _FAILED, "_Deopt": Deopt, "_Undefined": Undefined, "_Missing": Missing,
            "_UndefinedError": UndefinedError, "_hint": undefined_hint, "_FF": FieldFailure, "_text": _text,
            "_fit": filters.fit, "_round_money": round_money, "_round_places": round_places,
            "_to_decimal": to_decimal, "_Decimal": Decimal, "_HALF_UP": ROUND_HALF_UP, "_QUANTA": QUANTA,
            "_places_for": places_for, "_getattr": env.getattr, "_getitem": env.getitem,
            "_attr": _attribute_reader(env.getattr), "_undefined": env.undefined, "_call_test": env.call_test,
            "_finalize": env.finalize or (lambda value: value), "_add": limits.checked_add,
            "_mul": limits.checked_mul, "_mod": limits.checked_mod, "_concat": limits.concat_values,
            "_output": limits.bounded_concat,
            **{f"_as_{name}": fn for name, fn in COERCERS.items()},
        }
        self._ids: dict[int, str] = {}
        self._counter = itertools.count()

    def name_for(self, obj: Any, hint: str = "c") -> str:
        """A global name bound to ``obj`` (the same object always gets the same name)."""
        name = self._ids.get(id(obj))
        if name is None:
            name = self._ids[id(obj)] = f"_{hint}{next(self._counter)}"
            self.values[name] = obj
        return name

    def literal(self, value: Any) -> str:
        return source_literal(value, "literal") if type(value) in _LITERAL_TYPES else self.name_for(value)


class ScopeCompiler:
    """Source for the fields of one scope. ``local_roots`` names the roots bound to function parameters (a line
    group's alias); every other root is read from ``ctx``. ``ctx_expr`` is what a template the generator does not
    take is called with."""

    def __init__(self, env, namespace: Namespace, local_roots: dict[str, str], ctx_expr: str = "ctx"):
        self.env = env
        self.ns = namespace
        self.local_roots = local_roots
        self.ctx_expr = ctx_expr
        self.paths: dict[tuple, str] = {}
        self.path_lines: list[str] = []
        self.is_dict: dict[str, str] = {}  # path variable -> the flag saying it holds a plain dict
        self.uses_quantum = False  # a money field rounds with q, the quantum of the scope's currency
        self.uses_ctx = False

    # --- attribute paths, shared by every template of the scope --------------------------------------------
    def path(self, root: str, attrs: list[str]) -> str:
        key: tuple = (root,)
        var = self.paths.get(key)
        if var is None:
            var = self.paths[key] = f"p{len(self.paths)}"
            if root in self.local_roots:
                self.path_lines.append(f"{var} = {self.local_roots[root]}")
            else:
                self.path_lines.append(f"{var} = ctx.get({root!r}, _NK)")
                self.path_lines.append(f"if {var} is _NK: {var} = _undefined(name={root!r})")
        for attr in attrs:
            key = key + (attr,)
            known = self.paths.get(key)
            if known is not None:
                var = known
                continue
            new = self.paths[key] = f"p{len(self.paths)}"
            if attr in DICT_ATTRIBUTES:  # a dict method shadows the key in Jinja: keep Jinja's answer
                self.path_lines.append(f"{new} = _getattr({var}, {attr!r})")
            else:
                flag = self.is_dict.get(var)
                if flag is None:  # checked once per value, however many of its keys the scope reads
                    flag = self.is_dict[var] = "d" + var[1:]
                    self.path_lines.append(f"{flag} = type({var}) is dict")
                self.path_lines.append(f"{new} = {var}[{attr!r}] if {flag} and {attr!r} in {var} "
                                       f"else _getattr({var}, {attr!r})")
            var = new
        return var

    # --- expressions: each keeps the semantics of the Jinja node it is made from ----------------------------
    def expression(self, node: nodes.Node) -> str:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NotFast(type(node).__name__)
        return method(node)

    def _Const(self, node: nodes.Const) -> str:
        return self.ns.literal(node.value)

    def _Name(self, node: nodes.Name) -> str:
        return self.path(node.name, [])

    def _Getattr(self, node: nodes.Getattr) -> str:
        attrs, base = [], node
        while isinstance(base, nodes.Getattr):
            attrs.append(base.attr)
            base = base.node
        if isinstance(base, nodes.Name):
            return self.path(base.name, attrs[::-1])
        target = self.expression(node.node)
        if node.attr in DICT_ATTRIBUTES:
            return f"_getattr({target}, {node.attr!r})"
        return f"_attr({target}, {node.attr!r})"

    def _Getitem(self, node: nodes.Getitem) -> str:
        if not isinstance(node.arg, nodes.Const):
            raise NotFast("computed subscript")
        return f"_getitem({self.expression(node.node)}, {self.ns.literal(node.arg.value)})"

    def _call_args(self, node) -> str:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise NotFast("dynamic arguments")
        parts = [self.expression(a) for a in node.args]
        for k in node.kwargs:
            if not k.key.isidentifier() or keyword.iskeyword(k.key):  # Jinja's lexer allows no other name
                raise NotFast(f"keyword argument {k.key!r}")
        parts += [f"{k.key}={self.expression(k.value)}" for k in node.kwargs]
        return "".join(", " + p for p in parts)

    def _Filter(self, node: nodes.Filter) -> str:
        func = self.env.filters.get(node.name)
        pass_arg = _PassArg.from_obj(func) if func is not None else None
        if func is None or node.node is None or pass_arg in (_PassArg.context, _PassArg.eval_context):
            raise NotFast(f"filter {node.name}")
        name = self.ns.name_for(func, "f")
        first = f"{self.ns.name_for(self.env, 'env')}, " if pass_arg is _PassArg.environment else ""
        return f"{name}({first}{self.expression(node.node)}{self._call_args(node)})"

    def _Test(self, node: nodes.Test) -> str:
        func = self.env.tests.get(node.name)
        if func is None or _PassArg.from_obj(func) in (_PassArg.context, _PassArg.eval_context):
            raise NotFast(f"test {node.name}")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise NotFast("dynamic arguments")
        args = ", ".join(self.expression(a) for a in node.args)
        kwargs = ", ".join(f"{k.key!r}: {self.expression(k.value)}" for k in node.kwargs)
        return f"_call_test({node.name!r}, {self.expression(node.node)}, [{args}], {{{kwargs}}})"

    def _Or(self, node: nodes.Or) -> str:
        return f"({self.expression(node.left)} or {self.expression(node.right)})"

    def _And(self, node: nodes.And) -> str:
        return f"({self.expression(node.left)} and {self.expression(node.right)})"

    def _Not(self, node: nodes.Not) -> str:
        return f"(not {self.expression(node.node)})"

    def _Neg(self, node: nodes.Neg) -> str:
        return f"(-{self.expression(node.node)})"

    def _Pos(self, node: nodes.Pos) -> str:
        return f"(+{self.expression(node.node)})"

    def _binary(self, node) -> str:
        checked = CHECKED_OPERATORS.get(type(node))
        if checked is not None:
            return f"{checked}({self.expression(node.left)}, {self.expression(node.right)})"
        operator = BINARY_OPERATORS[type(node)]
        return f"({self.expression(node.left)} {operator} {self.expression(node.right)})"

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _binary

    def _Concat(self, node: nodes.Concat) -> str:
        return "_concat((" + "".join(f"{self.expression(n)}, " for n in node.nodes) + "))"

    def _CondExpr(self, node: nodes.CondExpr) -> str:
        test, then = self.expression(node.test), self.expression(node.expr1)
        if node.expr2 is None:
            # as Jinja: the implicit else is the standard Undefined, whatever the environment's class
            otherwise = "_Undefined(\"the inline if-expression's else is missing\")"
        else:
            otherwise = self.expression(node.expr2)
        return f"({then} if {test} else {otherwise})"

    def _Compare(self, node: nodes.Compare) -> str:
        parts = [self.expression(node.expr)]
        for operand in node.ops:
            if operand.op not in COMPARE_OPERATORS:
                raise NotFast(f"comparison {operand.op}")
            parts.append(f"{COMPARE_OPERATORS[operand.op]} {self.expression(operand.expr)}")
        return "(" + " ".join(parts) + ")"

    def _List(self, node: nodes.List) -> str:
        return "[" + "".join(f"{self.expression(i)}, " for i in node.items) + "]"

    def _Tuple(self, node: nodes.Tuple) -> str:
        return "(" + "".join(f"{self.expression(i)}, " for i in node.items) + ")"

    def template(self, template: CompiledTemplate) -> str:
        """Source giving the template's raw value (as ``template._fn`` would) in this scope."""
        if template.node is not None:
            try:
                if template.is_expression:
                    return self.expression(template.node)
                return self._output(template.node)
            except NotFast:
                pass
        self.uses_ctx = True
        return f"{self.ns.name_for(template._fn, 't')}({self.ctx_expr})"

    def _output(self, tree: nodes.Template) -> str:
        """``{{ a }} text {{ b }}``: placeholders and literal text only."""
        if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
            raise NotFast("blocks")
        parts = []
        for node in tree.body[0].nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(repr(node.data))
            else:
                parts.append(f"str(_finalize({self.expression(node)}))")
        return "_output((" + "".join(p + ", " for p in parts) + "))"

    # --- fields ----------------------------------------------------------------------------------------------
    def object_fields(self, spec: ObjectSpec, out: str, skip: tuple = (), depth: int = 0) -> list[str]:
        from connex.rules.mapping import ObjectSpec

        code: list[str] = []
        for key, sub in spec.fields.items():
            if key in skip:
                continue
            if isinstance(sub, ObjectSpec):
                inner = f"o{depth + 1}"
                code.append(f"{out}[{key!r}] = {inner} = {{}}")
                code += self.object_fields(sub, inner, depth=depth + 1)
            else:
                code += self.value_field(sub, f"{out}[{key!r}]")
        return code

    def value_field(self, spec: ValueSpec, target: str, quantum: bool = True) -> list[str]:
        """A field with ``ValueSpec``'s rules: a missing value takes the default or fails the field, a raising
        template fails the field, a value that cannot be coerced fails it with the coercion's message.

        A raw value of the exact type the field wants (a ``str`` for text, a ``Decimal`` for money) takes a branch
        of its own that skips the checks such a value cannot fail; ``quantum`` says whether a money field may use
        the scope's ``q`` (not the currency field itself, which ``q`` is made from)."""
        from connex.rules.mapping import _NO_DEFAULT

        has_default = spec.default is not _NO_DEFAULT
        default = self.ns.literal(spec.default) if has_default else None
        code = [f"# {spec.name!r}"]
        if spec.template is None:  # a literal: never missing
            settled = self._settled_literal(spec)
            if settled is not None:
                return code + [f"{target} = {self.ns.literal(settled[0])}"]
            return code + [f"r = {self.ns.literal(spec.constant)}"] + self._finish(spec, has_default, default, target)
        fail = self.ns.name_for(spec, "spec")
        code += ["try:", f"    r = {self.template(spec.template)}"]
        if has_default:
            code += ["except (_Missing, _UndefinedError):", f"    r = {default}"]
        code += ["except Exception as e:", f"    errors.append({fail}.failure(e))", "    r = _FAILED"]
        fast = self._exact_type_branch(spec, has_default, default, target, quantum)
        if fast:
            code += fast
        if not has_default or spec.default is None:  # an empty value stays empty: nothing to coerce
            code += ["elif r is None:" if fast else "if r is None:", f"    {target} = None"]
            fast = True
        code.append(("elif" if fast else "if") + " r is not _FAILED:")
        finish = self._finish(spec, has_default, default, target)
        if has_default:
            code += [f"    if isinstance(r, _Undefined): r = {default}"] + ["    " + line for line in finish]
        else:
            code += ["    if isinstance(r, _Undefined):", f"        errors.append({fail}.failure(_Missing(_hint(r))))",
                     "    else:"] + ["        " + line for line in finish]
        return code

    @staticmethod
    def _settled_literal(spec: ValueSpec) -> tuple[Any] | None:
        """A literal's field value, worked out once when it cannot differ between documents: not money (rounded to
        each document's currency), coerced without error (an error is reported per document), and immutable
        (every document gets the same object)."""
        from connex.rules.mapping import FieldFailure

        if spec.value_type == "money" and spec.places is None:
            return None
        try:
            value = spec.evaluate({}, None)
        except FieldFailure:
            return None
        return (value,) if type(value) in _IMMUTABLE_TYPES else None

    def _finish(self, spec: ValueSpec, has_default: bool, default: str | None, target: str) -> list[str]:
        """Coerce ``r`` to the field's type, take the default for an empty value, truncate, store in ``target``."""
        empty = "r is None" if spec.value_type == "string" else "r is None or r == ''"
        code = ["try:", f"    v = None if {empty} else {self._coerce(spec, 'r')}"]
        if has_default:
            code.append(f"    if v is None or v == '': v = {self._empty_fallback(spec, default)}")
        return code + self._store(spec, target)

    def _empty_fallback(self, spec: ValueSpec, default: str) -> str:
        """What an empty value becomes in a field with a default: the default, coerced like any value."""
        return "None" if spec.default is None else self._coerce(spec, default)

    def _store(self, spec: ValueSpec, target: str, text: bool = True) -> list[str]:
        code = ["except (ValueError, ArithmeticError) as e:", f"    errors.append(_FF({spec.name!r}, str(e)))", "else:"]
        if spec.max_length is not None and text:
            limit = source_int(spec.max_length, f"{spec.name}.max_length")
            code.append(f"    if type(v) is str and len(v) > {limit}: v = _fit(v, {limit})")
        return code + [f"    {target} = v"]

    def _exact_type_branch(self, spec: ValueSpec, has_default: bool, default: str | None, target: str,
                           quantum: bool) -> list[str]:
        """``if r.__class__ is T:`` and what ``_finish`` comes to for such a value, or nothing."""
        kind, places = spec.value_type, spec.places
        if kind == "string":
            code = ["if r.__class__ is str:", "    try:", "        v = r.strip()"]
            if has_default:
                code.append(f"        if v == '': v = {self._empty_fallback(spec, default)}")
            return code + ["    " + line for line in self._store(spec, target)]
        if kind not in ("money", "decimal") or (kind == "money" and places is None and not quantum):
            return []
        if places is not None:
            exact = f"r.quantize({self.ns.name_for(Decimal(1).scaleb(-places), 'q')}, rounding=_HALF_UP)"
        elif kind == "money":
            self.uses_quantum = True
            exact = "r.quantize(q, rounding=_HALF_UP)"
        else:
            exact = "r"
        # a Decimal is never empty: the default is not wanted; it is not text: nothing to truncate
        return ["if r.__class__ is _Decimal:", "    try:", f"        v = {exact}"] + [
            "    " + line for line in self._store(spec, target, text=False)]

    def _coerce(self, spec: ValueSpec, value: str) -> str:
        from connex.rules.mapping import COERCERS

        kind, places = spec.value_type, spec.places
        if kind == "string":
            return f"({value} if isinstance({value}, str) else _text({value})).strip()"
        if type(kind) is not str or kind not in COERCERS:  # its coercer is called by name: _as_<kind>
            raise UnsafeSource(f"{spec.name}.type: {kind!r} is not a value type")
        digits = "None" if places is None else source_int(places, f"{spec.name}.places")
        if kind == "money":
            return f"_round_money({value}, currency)" if places is None else f"_round_places({value}, {digits})"
        if kind == "decimal":
            return f"_to_decimal({value})" if places is None else f"_round_places({value}, {digits})"
        if kind == "any":
            return value
        return f"_as_{kind}({value}, currency, {digits})"

    def function(self, name: str, params: str, body: list[str], prologue: list[str], result: str) -> str:
        lines = [f"def {name}({params}):", "    errors = []", "    out = {}"]
        lines += ["    " + line for line in prologue]
        if self.path_lines:  # an exotic object whose attribute raises: the document is evaluated template by template
            lines += ["    try:"] + ["        " + line for line in self.path_lines]
            lines += ["    except Exception as e:", "        raise _Deopt(str(e)) from e"]
        lines += ["    " + line for line in body]
        lines.append(f"    return {result}")
        return "\n".join(lines) + "\n"


def _attribute_reader(env_getattr):
    """The step for an attribute of a computed value: a plain dict's key, else the sandbox's getattr."""

    def attr(obj, name):
        if type(obj) is dict:
            try:
                return obj[name]
            except KeyError:
                pass
        return env_getattr(obj, name)

    return attr


def _compile(source: str, namespace: Namespace, name: str, filename: str) -> Callable | None:
    """The generated function, or None when Python cannot compile it (an expression nested deeper than its parser
    takes): the scope is then evaluated template by template, the template by Jinja."""
    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, RecursionError, MemoryError):
        return None
    exec(code, namespace.values)  # noqa: S102 - our own generated source: checked literals and fixed names only
    return namespace.values[name]


def compile_document_fields(env, spec: ObjectSpec, source_file: str) -> Callable[[dict], tuple] | None:
    """``fields(ctx) -> (out, errors, currency)`` for a mapping's top-level fields; the currency first, since
    every money field rounds to its places."""
    from connex.rules.mapping import ValueSpec

    namespace = Namespace(env)
    scope = ScopeCompiler(env, namespace, {})
    body: list[str] = []
    currency_spec = spec.fields.get("currency")
    if isinstance(currency_spec, ValueSpec):
        body += scope.value_field(currency_spec, "currency", quantum=False)
    fields = scope.object_fields(spec, "out", skip=("currency",))
    if scope.uses_quantum:
        body += QUANTUM
    body += fields
    if currency_spec is not None:
        body.append("out['currency'] = currency")
    source = scope.function("fields", "ctx", body, ["currency = None"], "out, errors, currency")
    return _compile(source, namespace, "fields", f"<mapping {source_file}>")


def compile_line_fields(env, spec: ObjectSpec, alias: str | None, source_file: str) -> Callable[..., tuple] | None:
    """``line(ctx, item, currency) -> (out, errors)`` for one line group's fields, ``alias`` bound to ``item``."""
    namespace = Namespace(env)
    local = {alias: "item"} if alias else {}
    scope = ScopeCompiler(env, namespace, local, ctx_expr="lctx")
    body = scope.object_fields(spec, "out")
    name = source_literal(alias, "as", (str,)) if alias else None
    prologue = [f"lctx = {{**ctx, {name}: item}}" if alias else "lctx = ctx"] if scope.uses_ctx else []
    if scope.uses_quantum:
        prologue += QUANTUM
    source = scope.function("line", "ctx, item, currency", body, prologue, "out, errors")
    return _compile(source, namespace, "line", f"<mapping {source_file} line>")


def template_function(env, node: nodes.Node, is_expression: bool, fallback: Callable[[dict], Any]) -> Callable | None:
    """``fn(ctx)`` giving a template's raw value (``node``: its expression, or its whole tree for text), or None
    when the generator does not take it. Should reading a path raise, ``fallback`` (Jinja) evaluates the call."""
    namespace = Namespace(env)
    scope = ScopeCompiler(env, namespace, {})
    try:
        expression = scope.expression(node) if is_expression else scope._output(node)
    except NotFast:
        return None
    lines = ["def template(ctx):"]
    if scope.path_lines:
        lines += ["    try:"] + ["        " + line for line in scope.path_lines]
        lines += ["    except Exception:", f"        return {namespace.name_for(fallback, 'jinja')}(ctx)"]
    lines.append(f"    return {expression}")
    return _compile("\n".join(lines) + "\n", namespace, "template", "<template>")

"""Compiling the common shapes of mapping templates to plain Python closures, with Jinja's exact semantics.

Jinja evaluates every template in a fresh runtime ``Context``, about 15 µs of bookkeeping per call: for a mapping
with fifty fields that is most of the time spent per order. The expressions mappings use are simple (attribute
paths, filters, arithmetic, ``or``, ``if``/``else``, comparisons, text with placeholders), so they are compiled
here from Jinja's own AST into closures, keeping Jinja's semantics:

* attribute and item access go through the sandbox's own ``getattr``/``getitem`` (dict keys are looked up
  directly only when they cannot be shadowed by a dict attribute), so nothing reaches further than Jinja would;
* a missing value is a real ``Undefined`` object of the environment's class, so ``default``, ``or``, ``is defined``
  and errors on arithmetic behave exactly as in Jinja;
* filters are called as ``Environment.call_filter`` would call them (with the environment when they ask for it),
  tests through ``call_test``;
* text output renders through the environment's ``finalize`` and ``str``.

Any node outside the supported set (calls, loops, blocks, macros...) makes ``compile_fast`` return None and the
template runs on Jinja as before. tests/rules/test_fastpath.py checks both paths agree on the shipped mappings and
on generated templates.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.utils import _PassArg

from connex.rules import limits

Fn = Callable[[dict], Any]

# the operators that can make a value bigger are the sandbox's checked ones (limits.py), as in Jinja
BINARY = {
    nodes.Add: limits.checked_add, nodes.Sub: operator.sub, nodes.Mul: limits.checked_mul,
    nodes.Div: operator.truediv, nodes.FloorDiv: operator.floordiv, nodes.Mod: limits.checked_mod,
}
COMPARE = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gteq": operator.ge, "lt": operator.lt,
    "lteq": operator.le, "in": lambda a, b: a in b, "notin": lambda a, b: a not in b,
}
DICT_ATTRIBUTES = frozenset(dir(dict))


class NotFast(Exception):
    """The template uses something the fast path does not compile; Jinja runs it."""


class FastCompiler:
    def __init__(self, env):
        self.env = env
        self.undefined = env.undefined

    def compile_expression(self, node: nodes.Expr) -> Fn:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NotFast(type(node).__name__)
        return method(node)

    def compile_output(self, template: nodes.Template) -> Fn:
        """``{{ a }} text {{ b }}``: placeholders and literal text only."""
        if len(template.body) != 1 or not isinstance(template.body[0], nodes.Output):
            raise NotFast("blocks")
        parts: list[Fn | str] = []
        for node in template.body[0].nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data)
            else:
                parts.append(self.compile_expression(node))
        finalize, concat = self.env.finalize or (lambda value: value), limits.bounded_concat

        def render(ctx: dict) -> str:
            return concat(p if isinstance(p, str) else str(finalize(p(ctx))) for p in parts)

        return render

    # --- leaves --------------------------------------------------------------------------------------------
    def _Const(self, node: nodes.Const) -> Fn:
        value = node.value
        return lambda ctx: value

    def _Name(self, node: nodes.Name) -> Fn:
        name, undefined = node.name, self.undefined

        def load(ctx: dict):
            try:
                return ctx[name]
            except KeyError:
                return undefined(name=name)

        return load

    def _List(self, node: nodes.List) -> Fn:
        items = [self.compile_expression(i) for i in node.items]
        return lambda ctx: [item(ctx) for item in items]

    def _Tuple(self, node: nodes.Tuple) -> Fn:
        items = [self.compile_expression(i) for i in node.items]
        return lambda ctx: tuple(item(ctx) for item in items)

    # --- access --------------------------------------------------------------------------------------------
    def _attribute_path(self, node: nodes.Getattr) -> tuple[str, list[str]] | None:
        """``name.a.b.c`` as (name, [a, b, c]) when no step can be shadowed by a dict attribute."""
        attrs = []
        while isinstance(node, nodes.Getattr):
            if node.attr in DICT_ATTRIBUTES:
                return None
            attrs.append(node.attr)
            node = node.node
        if not isinstance(node, nodes.Name):
            return None
        return node.name, attrs[::-1]

    def _Getattr(self, node: nodes.Getattr) -> Fn:
        path = self._attribute_path(node)
        if path is not None:
            return self._walk(*path)
        target, attr, env_getattr = self.compile_expression(node.node), node.attr, self.env.getattr
        if attr in DICT_ATTRIBUTES:  # dict methods shadow keys in Jinja: keep Jinja's answer
            return lambda ctx: env_getattr(target(ctx), attr)

        def get(ctx: dict):
            obj = target(ctx)
            if type(obj) is dict:
                try:
                    return obj[attr]
                except KeyError:
                    pass
            return env_getattr(obj, attr)

        return get

    def _walk(self, root: str, attrs: list[str]) -> Fn:
        """One closure for a whole attribute path, each step exactly as ``_Getattr`` would take it: the hot case
        of every mapping (``order.CustomerInfo.BillingAddress.Town``), without a call per step."""
        undefined, env_getattr, steps = self.undefined, self.env.getattr, tuple(attrs)

        def walk(ctx: dict):
            try:
                obj = ctx[root]
            except KeyError:
                return undefined(name=root)
            for attr in steps:
                if type(obj) is dict:
                    try:
                        obj = obj[attr]
                        continue
                    except KeyError:
                        pass
                obj = env_getattr(obj, attr)
            return obj

        return walk

    def _Getitem(self, node: nodes.Getitem) -> Fn:
        if not isinstance(node.arg, nodes.Const):
            raise NotFast("computed subscript")
        target, key, env_getitem = self.compile_expression(node.node), node.arg.value, self.env.getitem
        return lambda ctx: env_getitem(target(ctx), key)

    # --- filters and tests ---------------------------------------------------------------------------------
    def _call_args(self, node) -> tuple[list[Fn], dict[str, Fn]]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise NotFast("dynamic arguments")
        return ([self.compile_expression(a) for a in node.args],
                {k.key: self.compile_expression(k.value) for k in node.kwargs})

    def _Filter(self, node: nodes.Filter) -> Fn:
        func = self.env.filters.get(node.name)
        if func is None or _PassArg.from_obj(func) in (_PassArg.context, _PassArg.eval_context):
            raise NotFast(f"filter {node.name}")
        target = self.compile_expression(node.node)
        args, kwargs = self._call_args(node)
        if _PassArg.from_obj(func) is _PassArg.environment:  # what call_filter would do, decided once
            env, plain = self.env, func
            func = lambda value, *a, **k: plain(env, value, *a, **k)  # noqa: E731
        if not args and not kwargs:
            return lambda ctx: func(target(ctx))
        return lambda ctx: func(target(ctx), *[a(ctx) for a in args], **{k: v(ctx) for k, v in kwargs.items()})

    def _Test(self, node: nodes.Test) -> Fn:
        func = self.env.tests.get(node.name)
        if func is None or _PassArg.from_obj(func) in (_PassArg.context, _PassArg.eval_context):
            raise NotFast(f"test {node.name}")
        target = self.compile_expression(node.node)
        args, kwargs = self._call_args(node)
        call, name = self.env.call_test, node.name
        return lambda ctx: call(name, target(ctx), [a(ctx) for a in args], {k: v(ctx) for k, v in kwargs.items()})

    # --- logic and arithmetic ------------------------------------------------------------------------------
    def _Or(self, node: nodes.Or) -> Fn:
        left, right = self.compile_expression(node.left), self.compile_expression(node.right)
        return lambda ctx: left(ctx) or right(ctx)

    def _And(self, node: nodes.And) -> Fn:
        left, right = self.compile_expression(node.left), self.compile_expression(node.right)
        return lambda ctx: left(ctx) and right(ctx)

    def _Not(self, node: nodes.Not) -> Fn:
        inner = self.compile_expression(node.node)
        return lambda ctx: not inner(ctx)

    def _Neg(self, node: nodes.Neg) -> Fn:
        inner = self.compile_expression(node.node)
        return lambda ctx: -inner(ctx)

    def _Pos(self, node: nodes.Pos) -> Fn:
        inner = self.compile_expression(node.node)
        return lambda ctx: +inner(ctx)

    def _binary(self, node) -> Fn:
        op = BINARY[type(node)]
        left, right = self.compile_expression(node.left), self.compile_expression(node.right)
        return lambda ctx: op(left(ctx), right(ctx))

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _binary

    def _Concat(self, node: nodes.Concat) -> Fn:
        parts, concat = [self.compile_expression(n) for n in node.nodes], limits.concat_values
        return lambda ctx: concat([p(ctx) for p in parts])

    def _CondExpr(self, node: nodes.CondExpr) -> Fn:
        test, then = self.compile_expression(node.test), self.compile_expression(node.expr1)
        if node.expr2 is None:
            undefined = self.undefined
            return lambda ctx: then(ctx) if test(ctx) else undefined("the inline if-expression's else is missing")
        otherwise = self.compile_expression(node.expr2)
        return lambda ctx: then(ctx) if test(ctx) else otherwise(ctx)

    def _Compare(self, node: nodes.Compare) -> Fn:
        first = self.compile_expression(node.expr)
        steps = []
        for operand in node.ops:
            if operand.op not in COMPARE:
                raise NotFast(f"comparison {operand.op}")
            steps.append((COMPARE[operand.op], self.compile_expression(operand.expr)))

        def compare(ctx: dict):
            left = first(ctx)
            for op, right_fn in steps:
                right = right_fn(ctx)
                if not op(left, right):
                    return False
                left = right
            return True

        return compare


def compile_fast(env, tree: nodes.Template, expression: nodes.Expr | None) -> Fn | None:
    """A closure for ``expression`` (a single-expression template) or for the whole ``tree`` (text), or None."""
    compiler = FastCompiler(env)
    try:
        return compiler.compile_expression(expression) if expression is not None else compiler.compile_output(tree)
    except NotFast:
        return None

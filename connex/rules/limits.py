"""Resource limits of rule templates: no template, however written, takes unbounded memory or time.

A template can only make a value bigger through a few operations, and each is checked *before* it runs, so a
refused value is never built:

* ``*`` (repetition, big integers), ``**``, ``%`` (printf widths) and ``+`` (``checked_binop``);
* ``~`` and text output (``concat_values``, ``bounded_concat``), which turn values (lists too) into text;
* string methods with a width or a count (``center``, ``ljust``, ``zfill``, ``replace``, ``join``, ``expandtabs``,
  ``translate``, ``format`` widths, ``int.to_bytes``) (``check_call``) and Jinja's filters of the same kind.

Every value so made is at most ``MAX_VALUE`` characters (items, for a list), and an integer at most
``MAX_INT_BITS`` bits. A text template's whole output is bounded the same way as it is produced. Time: a template
evaluated by Jinja (loops, method calls) runs under a ``Budget`` of steps and seconds checked at every loop
iteration, call, operator and output piece; templates of the generated code (``codegen.py``) have
no loops or calls, so their work is bounded by their size. Statements that would build unbounded buffers or recurse
(macros, call and filter blocks, block ``set``, recursive loops, includes) are refused when the template is loaded.

Jinja folds constant expressions when it compiles a template; the intercepted operators are never folded, and a
filter folded at load time is the checked one, so a template cannot hang ``connex validate`` either.

Everything refused raises ``TemplateLimit``, a ``SecurityError``: a field fails its document with the reason, the
run goes on.
"""

from __future__ import annotations

import contextvars
import functools
import operator
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from jinja2 import nodes
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
    SecurityError,
)
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

MAX_VALUE = 50_000  # characters of a text value made by a template, items of a list
MAX_INT_BITS = 4096  # an integer a template computes (a money amount needs 64)
MAX_STEPS = 1_000_000  # loop iterations, calls, operators and output pieces of one evaluation
MAX_SECONDS = 2.0  # wall time of one evaluation by Jinja
MAX_DEPTH = 100  # nesting of a template's expression tree (parentheses, operators, filters)
MAX_TEMPLATE = 10_000  # characters of one template's source


class TemplateLimit(SecurityError):
    """A template went past one of its resource limits."""


def _too_big(what: str, size: int) -> TemplateLimit:
    return TemplateLimit(f"{what} would be {size:,} long, more than the limit of {MAX_VALUE:,}")


# --- sizes -------------------------------------------------------------------------------------------------------
_TEXT = (str, bytes, bytearray)
_CONTAINERS = (list, tuple, dict, set, frozenset)


def weight(value: Any, limit: int = MAX_VALUE) -> int:
    """About the length of ``str(value)``, counted without building it; the count stops once past ``limit``, so
    weighing a huge or self-repeating structure costs at most ``limit`` steps."""
    if isinstance(value, _TEXT):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return 24  # a number, a date, None: short when written out
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _TEXT):
            total += len(item) + 4  # quotes and a separator
        elif isinstance(item, dict):
            total += 2
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            total += 2
            stack.extend(item)
        else:
            total += 24
        if total > limit:
            return total
    return total


def check_size(value: Any, what: str = "a value") -> Any:
    size = weight(value)
    if size > MAX_VALUE:
        raise _too_big(what, size)
    return value


# --- time --------------------------------------------------------------------------------------------------------
class Budget:
    __slots__ = ("steps", "deadline")

    def __init__(self, steps: int = MAX_STEPS, seconds: float = MAX_SECONDS):
        self.steps = steps
        self.deadline = time.monotonic() + seconds


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("template_budget", default=None)


def tick() -> None:
    """One step of the evaluation under way; past the budget the template is stopped. Outside a budget (generated code,
    which cannot loop) nothing is counted."""
    budget = _budget.get()
    if budget is None:
        return
    budget.steps -= 1
    if budget.steps < 0:
        raise TemplateLimit(f"the template took more than {MAX_STEPS:,} steps")
    if time.monotonic() > budget.deadline:
        raise TemplateLimit(f"the template took more than {MAX_SECONDS:g} seconds")


def bounded(fn: Callable[[dict], Any]) -> Callable[[dict], Any]:
    """``fn(ctx)`` evaluated under a fresh budget (an evaluation inside another keeps the outer one)."""

    def run(ctx: dict) -> Any:
        if _budget.get() is not None:
            return fn(ctx)
        token = _budget.set(Budget())
        try:
            return fn(ctx)
        finally:
            _budget.reset(token)

    return run


def ticking(iterable: Iterable) -> Iterator:
    """A loop's iterable, one step per iteration (Jinja's ``for`` loops are given this, see ``TemplateGuard``)."""
    for item in iterable:
        tick()
        yield item


# --- operators ---------------------------------------------------------------------------------------------------
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimit(f"a number of about {bits:,} bits, more than the limit of {MAX_INT_BITS:,}")


def percent_size(fmt: str | bytes, args: Any) -> int:
    """An upper bound of the length of ``fmt % args``, widths and precisions included."""
    text = fmt.decode("latin-1") if isinstance(fmt, (bytes, bytearray)) else fmt
    positional = list(args) if isinstance(args, tuple) else [args]
    size = len(text) + weight(args)
    star = 0
    for match in _PERCENT.finditer(text):
        for number in match.group(1, 2):
            if number == "*":
                given = positional[star] if star < len(positional) else 0
                star += 1
                size += given if _is_int(given) else 0
            elif number:
                if len(number) > 9:
                    raise TemplateLimit(f"a format width of {len(number)} digits")
                size += int(number)
        if size > MAX_VALUE:
            break
    return size


def checked_mul(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right):
        _int_bits(left.bit_length() + right.bit_length())
    elif isinstance(right, int) and isinstance(left, (*_TEXT, list, tuple)):
        size = weight(left) * right
        if size > MAX_VALUE:
            raise _too_big("a repeated value", size)
    elif isinstance(left, int) and isinstance(right, (*_TEXT, list, tuple)):
        size = weight(right) * left
        if size > MAX_VALUE:
            raise _too_big("a repeated value", size)
    return left * right


def checked_add(left: Any, right: Any) -> Any:
    if isinstance(left, (*_TEXT, list, tuple)) and isinstance(right, (*_TEXT, list, tuple)):
        size = weight(left) + weight(right)
        if size > MAX_VALUE:
            raise _too_big("a joined value", size)
    return left + right


def checked_mod(left: Any, right: Any) -> Any:
    if isinstance(left, _TEXT):
        size = percent_size(left, right)
        if size > MAX_VALUE:
            raise _too_big("a formatted text", size)
    return left % right


def checked_pow(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right) and right > 0 and left not in (0, 1, -1):
        _int_bits(left.bit_length() * right if right <= MAX_INT_BITS else MAX_INT_BITS + 1)
    elif isinstance(left, Decimal) or isinstance(right, Decimal):
        # Decimal arithmetic works at the context's precision; only a huge exponent costs (and overflows anyway)
        exponent = right if isinstance(right, (int, Decimal)) else 0
        if abs(exponent) > 10 ** 6:
            raise TemplateLimit(f"an exponent of {exponent}, more than the limit of 1,000,000")
    return left**right


BINARY = {"*": checked_mul, "+": checked_add, "%": checked_mod, "**": checked_pow, "-": operator.sub,
          "/": operator.truediv, "//": operator.floordiv}


def checked_binop(op: str, left: Any, right: Any) -> Any:
    tick()
    return BINARY[op](left, right)


# --- text made of parts ------------------------------------------------------------------------------------------
def concat_values(values: Iterable[Any]) -> str:
    """``~``: every part as text, joined; parts are weighed before they are written out, as lists may be."""
    parts = []
    total = 0
    for value in values:
        total += value.__len__() if type(value) is str else weight(value)
        if total > MAX_VALUE:
            raise _too_big("a joined text", total)
        parts.append(str(value))
    return "".join(parts)


def bounded_concat(pieces: Iterable[str]) -> str:
    """A template's output (and Jinja's ``environment.concat``): the pieces joined as they come, stopped once the
    text would pass the limit."""
    parts = []
    total = 0
    for piece in pieces:
        tick()
        total += len(piece)
        if total > MAX_VALUE:
            raise _too_big("the template's output", total)
        parts.append(piece)
    return "".join(parts)


def finalize(value: Any) -> Any:
    """What is written out for ``{{ value }}`` in text: None as nothing, anything too big to write out refused."""
    if value is None:
        return ""
    if type(value) is not str:
        check_size(value, "a value written out")
    return value


# --- calls -------------------------------------------------------------------------------------------------------
def _int_arg(args: tuple, kwargs: dict, index: int, name: str, default: int = 0) -> int:
    value = args[index] if len(args) > index else kwargs.get(name, default)
    return value if _is_int(value) else 0


def _replace_size(text, old, new, count: int = -1) -> int:
    if not isinstance(old, _TEXT) or not isinstance(new, _TEXT):
        return len(text)
    found = len(text) + 1 if not old else text.count(old)
    if _is_int(count) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def _join_size(separator, items) -> int:
    items = list(items) if not isinstance(items, (list, tuple)) else items
    if len(items) > MAX_VALUE:
        return len(items)
    return sum(weight(item) for item in items) + len(separator) * max(0, len(items) - 1)


def _translate_size(text, table) -> int:
    if isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, _TEXT)), default=1)
        return len(text) * max(1, longest)
    return len(text) * MAX_VALUE  # a table that is not a dict cannot be weighed: refused


# method name -> the size its result can reach, from (self, args, kwargs)
METHOD_SIZES: dict[str, Callable[[Any, tuple, dict], int]] = {
    "center": lambda s, a, k: max(len(s), _int_arg(a, k, 0, "width")),
    "ljust": lambda s, a, k: max(len(s), _int_arg(a, k, 0, "width")),
    "rjust": lambda s, a, k: max(len(s), _int_arg(a, k, 0, "width")),
    "zfill": lambda s, a, k: max(len(s), _int_arg(a, k, 0, "width")),
    "expandtabs": lambda s, a, k: len(s) + s.count("\t" if isinstance(s, str) else b"\t") * _int_arg(
        a, k, 0, "tabsize", 8),
    "replace": lambda s, a, k: _replace_size(s, *a[:3]) if len(a) >= 2 else len(s),
    "join": lambda s, a, k: _join_size(s, a[0]) if a else 0,
    "translate": lambda s, a, k: _translate_size(s, a[0]) if a else len(s),
    "to_bytes": lambda s, a, k: _int_arg(a, k, 0, "length", 1),
}


def check_call(obj: Any, args: tuple, kwargs: dict) -> None:
    """Before a method of a text or a number runs: refuse it if its result would pass the limit."""
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, (*_TEXT, int)):
        return
    sizer = METHOD_SIZES.get(getattr(obj, "__name__", ""))
    if sizer is not None:
        size = sizer(owner, args, kwargs)
        if size > MAX_VALUE:
            raise _too_big(f"the result of {obj.__name__}()", size)


def check_format_spec(spec: str) -> None:
    """A ``str.format`` field's width and precision, before the field is formatted."""
    for number in re.findall(r"\d+", spec):
        if len(number) > 9 or int(number) > MAX_VALUE:
            raise TemplateLimit(f"a format width or precision of {number[:12]}, more than the limit of "
                                f"{MAX_VALUE:,}")


# --- Jinja's filters ---------------------------------------------------------------------------------------------
def _text_of(value: Any) -> Any:
    return check_size(value, "a filter's value")


# filter -> a check of (value, args, kwargs) before it runs; every one of these also weighs its value first,
# since it writes the value out as text
FILTER_SIZES: dict[str, Callable[[Any, tuple, dict], int]] = {
    "center": lambda v, a, k: weight(v) + _int_arg(a, k, 0, "width", 80),
    "indent": lambda v, a, k: weight(v) + (str(v).count("\n") + 1) * (
        _int_arg(a, k, 0, "width", 4) or len(str(a[0] if a else k.get("width", "")))),
    "replace": lambda v, a, k: _replace_size(str(v), *a[:3]) if len(a) >= 2 else weight(v),
    "format": lambda v, a, k: percent_size(str(v), k or a),
    "join": lambda v, a, k: _join_size(str(a[0]) if a else "", v) if isinstance(v, (list, tuple)) else weight(v),
    "batch": lambda v, a, k: max(weight(v), _int_arg(a, k, 0, "linecount")),
    "slice": lambda v, a, k: max(weight(v), _int_arg(a, k, 0, "slices")),
    "wordwrap": lambda v, a, k: 2 * weight(v) + _int_arg(a, k, 0, "width", 79),
    "truncate": lambda v, a, k: weight(v) + _int_arg(a, k, 0, "length", 255),
    "tojson": lambda v, a, k: weight(v) * (1 + _int_arg(a, k, 0, "indent")),
    "urlize": lambda v, a, k: 3 * weight(v),
}
TEXT_FILTERS = ("string", "pprint", "urlencode", "escape", "e", "forceescape", "safe", "striptags", "title", "upper",
                "lower", "capitalize", "trim", "wordcount", "xmlattr", "list", "reverse")


def bounded_filter(name: str, fn: Callable) -> Callable:
    """Jinja's filter ``name``, refused before it runs when its result would pass the limit; its arguments
    passed through (``functools.wraps`` keeps Jinja's ``pass_environment`` marks)."""
    sizer = FILTER_SIZES.get(name)
    skip = 0 if _PassArg.from_obj(fn) is None else 1  # the environment or the eval context comes first

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        tick()
        value, rest = args[skip], args[skip + 1:]
        if name == "join" and not isinstance(value, (*_TEXT, list, tuple, dict)) and hasattr(value, "__iter__"):
            value = list(value)  # a generator (map, select) is weighed and then joined: taken once
            args = (*args[:skip], value, *rest)
        if sizer is None:
            check_size(value, f"the value of the {name} filter")
        else:
            size = sizer(value, rest, kwargs)
            if size > MAX_VALUE:
                raise _too_big(f"the result of the {name} filter", size)
        return fn(*args, **kwargs)

    return checked


def bound_filters(filters: dict[str, Callable]) -> None:
    """Jinja's own filters that write text or take a size, replaced in ``filters`` by their checked versions."""
    for name in (*FILTER_SIZES, *TEXT_FILTERS):
        if filters.get(name) is JINJA_FILTERS.get(name) is not None:
            filters[name] = bounded_filter(name, filters[name])


# --- the sandbox -------------------------------------------------------------------------------------------------
class BoundedFormatter(SandboxedFormatter):
    """``str.format`` in templates: every field's width checked before it is formatted, the whole text counted."""

    def __init__(self, env, **kwargs):
        super().__init__(env, **kwargs)
        self.total = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        tick()
        check_format_spec(format_spec)
        check_size(value, "a formatted value")
        text = super().format_field(value, format_spec)
        self.total += len(text)
        if self.total > MAX_VALUE:
            raise _too_big("a formatted text", self.total)
        return text


class BoundedEscapeFormatter(BoundedFormatter, SandboxedEscapeFormatter):
    pass


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no attribute walks, no ``list.append`` growing a value in a loop) with every
    operator, call, loop and output that can grow a value or take time checked."""

    intercepted_binops = frozenset(("*", "**", "%", "+"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.concat = bounded_concat  # the output of every template and block Jinja renders
        bound_filters(self.filters)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        return checked_binop(operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature
        tick()
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        check_call(__obj, args, kwargs)
        return __context.call(__obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's own wrapper of ``str.format``/``format_map``, with a formatter that checks every field."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or value.__name__ not in (
                "format", "format_map"):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        is_format_map = value.__name__ == "format_map"
        env = self

        def wrapper(*args: Any, **kwargs: Any) -> str:
            formatter = (BoundedEscapeFormatter(env, escape=text.escape) if isinstance(text, Markup)
                         else BoundedFormatter(env))
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            return type(text)(formatter.vformat(text, args, kwargs))

        return functools.update_wrapper(wrapper, value)

    def _generate(self, source: nodes.Template, name, filename, defer_init: bool = False) -> str:
        return super()._generate(_Guard().visit(source), name, filename, defer_init)


class _Guard(NodeTransformer):
    """The tree Jinja compiles, with every loop's iterable counted (``ticking``) and every ``~`` weighed
    (``concat_values``) before Jinja writes the parts out."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _call("ticking", [node.iter], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call("concat_values", [nodes.List(node.nodes, lineno=node.lineno)], node.lineno)


def _call(helper: str, args: list, lineno: int) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(helper, lineno=lineno), args, [], None, None, lineno=lineno)


BoundedSandbox.ticking = staticmethod(ticking)
BoundedSandbox.concat_values = staticmethod(concat_values)


# --- load time ---------------------------------------------------------------------------------------------------
REFUSED_STATEMENTS = {
    nodes.Macro: "macro", nodes.CallBlock: "call", nodes.FilterBlock: "filter", nodes.AssignBlock: "set ... endset",
    nodes.Block: "block", nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


def check_tree(env, tree: nodes.Template) -> tuple[str, int | None] | None:
    """(why, line) when the template cannot be given bounds, else None: too deep, a refused statement, or a
    constant part that already breaks a limit (it would fail every document)."""
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        return f"nested {depth} levels deep, more than the limit of {MAX_DEPTH}", None
    for node in tree.find_all((*REFUSED_STATEMENTS, nodes.For)):
        if isinstance(node, nodes.For):
            if node.recursive:
                return "a recursive loop is not allowed in rule templates", node.lineno
            continue
        return (f"'{{% {REFUSED_STATEMENTS[type(node)]} %}}' is not allowed in rule templates (each template "
                "stands alone, and must have a bounded cost)"), node.lineno
    return _constant_problem(env, tree)


def _depth(tree: nodes.Node) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


class _NotConstant(Exception):
    pass


_FOLDED = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//", nodes.Mod: "%",
           nodes.Pow: "**"}


def _constant_problem(env, tree: nodes.Template) -> tuple[str, int | None] | None:
    """Evaluate the template's constant parts with the checked operators (each node once, in a bounded time)."""
    known: dict[int, Any] = {}

    def value(node: nodes.Node) -> Any:
        key = id(node)
        if key in known:
            if known[key] is _NotConstant:
                raise _NotConstant
            return known[key]
        try:
            result = evaluate(node)
        except TemplateLimit:
            raise
        except Exception:
            known[key] = _NotConstant
            raise _NotConstant from None
        known[key] = result
        return result

    def evaluate(node: nodes.Node) -> Any:
        if isinstance(node, nodes.Const):
            return node.value
        if isinstance(node, (nodes.List, nodes.Tuple)):
            items = [value(item) for item in node.items]
            return items if isinstance(node, nodes.List) else tuple(items)
        if type(node) in _FOLDED:
            return checked_binop(_FOLDED[type(node)], value(node.left), value(node.right))
        if isinstance(node, nodes.Concat):
            return concat_values([value(part) for part in node.nodes])
        if isinstance(node, nodes.Filter) and node.node is not None and not node.dyn_args and not node.dyn_kwargs:
            fn = env.filters.get(node.name)
            if fn is None or _PassArg.from_obj(fn) is not None:
                raise _NotConstant
            return fn(value(node.node), *[value(a) for a in node.args], **{k.key: value(k.value)
                                                                              for k in node.kwargs})
        raise _NotConstant

    nodes_bottom_up = list(tree.find_all(nodes.Expr))[::-1]
    token = _budget.set(Budget())
    try:
        for node in nodes_bottom_up:
            try:
                value(node)
            except _NotConstant:
                pass
            except TemplateLimit as exc:
                return f"refused: {exc}", node.lineno
    finally:
        _budget.reset(token)
    return None

"""Sandboxed, strict Jinja templates compiled once at load time.

* ``SandboxedEnvironment`` with a ``StrictUndefined`` (falsy, so ``or`` fallbacks work) and no globals (no
  ``range``, ``lipsum``, ``cycler``...).
* A template that is one expression (``"{{ order.TotalsInfo.Tax }}"``) is compiled as a Jinja *expression* and
  yields the native value (a Decimal stays a Decimal); anything else renders to text.
* A template is evaluated by generated Python (``codegen.py``) when the generator takes it, else by Jinja.
* At load time every template is parsed: syntax errors, names outside the allowed variables, and any reach for a
  private attribute (``__class__``, ``__globals__``, ``_anything``) are reported with the file position. The
  sandbox refuses such access at render time too, as a second line of defence.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from connex.lint import did_you_mean
from connex.rules import limits
from connex.rules.filters import BUILTIN_FILTERS
from connex.rules.limits import BoundedSandbox

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)


class TemplateProblem(Exception):
    """A template that cannot be compiled; ``line`` is relative to the template text (1-based)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


class Missing(Exception):
    """The template reached a value the record does not have (an undefined name, key or attribute)."""


class FallbackStrictUndefined(StrictUndefined):
    """StrictUndefined that is falsy and chains through attribute access, so ``a.b or c.d`` and ``x is defined``
    work as fallbacks; rendering, iterating, comparing or calculating with it still raises, so a missing value
    can never turn silently into an empty string or a zero."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str):
        if name[:2] == "__":
            raise AttributeError(name)
        return self

    def __getitem__(self, key):
        return self


def make_environment(extra_filters: Mapping[str, Callable] | None = None) -> SandboxedEnvironment:
    # finalize: a None inside text renders as nothing, not as the word "None"; a value too big to write is refused
    env = BoundedSandbox(undefined=FallbackStrictUndefined, autoescape=False, keep_trailing_newline=False,
                         finalize=limits.finalize)
    env.globals.clear()
    env.filters.update(BUILTIN_FILTERS)
    if extra_filters:
        env.filters.update(extra_filters)
    return env


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@dataclass
class CompiledTemplate:
    source: str
    _fn: Callable[[dict], Any]
    is_expression: bool
    # the expression (or, for text, the whole template) generated code evaluates: a mapping scope's generated
    # function inlines it; None when Jinja evaluates the template
    node: nodes.Node | None = None

    def __call__(self, context: dict) -> Any:
        """Evaluate; raise ``Missing`` for undefined values, ``SecurityError`` for sandbox violations."""
        try:
            result = self._fn(context)
        except UndefinedError as exc:
            raise Missing(exc.message or "undefined value") from None
        if isinstance(result, Undefined):
            raise Missing(undefined_hint(result))
        return result


def undefined_hint(value: Undefined) -> str:
    try:
        str(value)
    except UndefinedError as exc:
        return exc.message or "undefined value"
    return "undefined value"


def _private_access(tree: nodes.Node) -> list[str]:
    found = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            found.append(name)
    return found


def _single_expression(tree: nodes.Template) -> nodes.Expr | None:
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    exprs = [n for n in tree.body[0].nodes if not (isinstance(n, nodes.TemplateData) and not n.data.strip())]
    return exprs[0] if len(exprs) == 1 and not isinstance(exprs[0], nodes.TemplateData) else None


def check_template(env: SandboxedEnvironment, source: str, allowed: Iterable[str]) -> nodes.Template:
    """Parse ``source`` and check it, compiling nothing; raise ``TemplateProblem`` for syntax errors, unknown
    variables, filters and tests, and unsafe access."""
    if len(source) > limits.MAX_TEMPLATE:
        raise TemplateProblem(f"refused: the template is {len(source):,} characters long, more than the limit of "
                              f"{limits.MAX_TEMPLATE:,}")
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Jinja syntax error: {exc.message}", exc.lineno) from None
    except RecursionError:  # Jinja's parser recurses a few frames per level of nesting
        raise TemplateProblem("refused: the template is nested too deeply") from None
    bounds = limits.check_tree(env, tree)
    if bounds is not None:
        raise TemplateProblem(bounds[0] if bounds[0].startswith("refused") else f"refused: {bounds[0]}", bounds[1])
    unsafe = _private_access(tree)
    if unsafe:
        names = ", ".join(f"'{name}'" for name in sorted(set(unsafe)))
        raise TemplateProblem(f"refused: access to private attribute {names} is not allowed in templates")
    for node in tree.find_all(nodes.Filter):
        if node.name not in env.filters:
            raise TemplateProblem(f"unknown filter '{node.name}'{did_you_mean(node.name, env.filters)}")
    for node in tree.find_all(nodes.Test):
        if node.name not in env.tests:
            raise TemplateProblem(f"unknown test '{node.name}'{did_you_mean(node.name, env.tests)}")
    allowed = set(allowed)
    try:
        unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
    except TemplateSyntaxError as exc:  # the code generator's own checks (TemplateAssertionError)
        raise TemplateProblem(f"Jinja error: {exc.message}", exc.lineno) from None
    if unknown:
        raise TemplateProblem(
            f"unknown variable '{unknown[0]}'; the variables here are: {', '.join(sorted(allowed))}"
        )
    return tree


def compile_template(
    env: SandboxedEnvironment, source: str, allowed: Iterable[str], *, generate: bool = True
) -> CompiledTemplate:
    """Compile ``source``; raise ``TemplateProblem`` for syntax errors, unknown variables and unsafe access.
    ``generate=False``: Jinja evaluates it whatever it is (the tests compare the two)."""
    match = _SINGLE_EXPRESSION.match(source)
    expression = match.group("expr") if match and "{{" not in match.group("expr") and "{%" not in source else None
    tree = check_template(env, source, allowed)
    node = _single_expression(tree) if expression is not None else tree
    if generate:
        from connex.rules import codegen  # codegen builds on this module's types

        # Jinja's own compilation (Python source, then bytecode) is the slow part of loading rules: for a template
        # the generator takes it is done only if ever needed (an object whose attribute raises, see codegen)
        fallback = _LazyJinja(env, source, expression)
        generated = codegen.template_function(env, node, expression is not None, fallback)
        if generated is not None:
            return CompiledTemplate(source, generated, expression is not None, node)
    return CompiledTemplate(source, _jinja_function(env, source, expression), expression is not None)


def _jinja_function(env: SandboxedEnvironment, source: str, expression: str | None) -> Callable[[dict], Any]:
    with _compiling():
        if expression is not None:
            fn = env.compile_expression(expression, undefined_to_none=False)
            return limits.bounded(lambda ctx: fn(**ctx))
        template = env.from_string(source)
    return limits.bounded(lambda ctx: template.render(ctx))


class _LazyJinja:
    """Jinja's evaluation of a template the generated code hands a call to, compiled on first use."""

    def __init__(self, env: SandboxedEnvironment, source: str, expression: str | None):
        self.args = (env, source, expression)
        self.fn: Callable[[dict], Any] | None = None

    def __call__(self, ctx: dict) -> Any:
        if self.fn is None:
            self.fn = _jinja_function(*self.args)
        return self.fn(ctx)


@contextlib.contextmanager
def _compiling():
    """Jinja compiles a template to Python: what Python cannot compile is the template's problem, at its place."""
    try:
        yield
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Jinja syntax error: {exc.message}", exc.lineno) from None
    except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. "too many statically nested blocks"
        raise TemplateProblem(f"refused: the template is nested too deeply ({type(exc).__name__}: "
                              f"{getattr(exc, 'msg', exc)})") from None


__all__ = ["CompiledTemplate", "Missing", "SecurityError", "TemplateProblem", "check_template", "compile_template",
           "is_template", "make_environment"]

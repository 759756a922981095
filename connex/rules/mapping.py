"""Mappings: YAML field specs whose values are Jinja templates over the source record, compiled once.

A field spec is one of:

* a template string (``"{{ order.TotalsInfo.Currency }}"``) or a literal;
* ``{value: TEMPLATE, type: T, default: V, max_length: N, places: N}``: ``type`` is one of string, decimal,
  money, date, datetime, int, bool; without it the type declared by the document contract
  (``connex/documents.py``) applies. A value the record lacks takes ``default`` when one is given; otherwise the
  document fails with a message naming the field;
* ``{fields: {...}}`` for a nested object (customer, vendor, addresses).

``lines:`` is a list of line groups: ``{each: EXPRESSION, as: NAME, when: TEMPLATE, fields: {...}}``; ``each``
repeats the group per element (order items), ``when`` keeps a one-off line (shipping, discount) only when true.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from jinja2 import Undefined, UndefinedError

from connex import documents as docs
from connex.lint import did_you_mean
from connex.rules import codegen, filters
from connex.rules.codegen import Deopt
from connex.rules.money import round_money, round_places, to_decimal
from connex.rules.templates import (
    CompiledTemplate,
    Missing,
    SecurityError,
    TemplateProblem,
    check_template,
    compile_template,
    is_template,
    undefined_hint,
)

DOCUMENT_TYPES: dict[str, type] = {
    "sales": docs.SalesDocument,
    "purchase": docs.PurchaseDocument,
    "refund": docs.RefundDocument,
    "stock": docs.StockLevel,
}
NESTED_TYPES: dict[str, type] = {
    "customer": docs.Party,
    "vendor": docs.Party,
    "billing_address": docs.Address,
    "shipping_address": docs.Address,
}
MONEY_FIELDS = {"total", "total_tax", "amount", "tax_amount"}
VALUE_TYPES = ("string", "decimal", "money", "date", "datetime", "int", "bool", "any")
MAX_PLACES = 6  # as schemas/mapping.schema.json says


class FieldFailure(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@functools.cache
def _hints(owner: type) -> dict:
    return typing.get_type_hints(owner, vars(docs))


def contract_type(owner: type, name: str) -> str:
    """The value type the document contract declares for ``owner.name``."""
    if name in MONEY_FIELDS:
        return "money"
    hints = _hints(owner)
    hint = str(hints.get(name, Any))
    if "Decimal" in hint:
        return "decimal"
    if "datetime.date" in hint:
        return "date"
    if "int" in hint and "str" not in hint:
        return "int"
    if "str" in hint:
        return "string"
    return "any"


def _as_string(value, currency, places):
    return (value if isinstance(value, str) else _text(value)).strip()


def _as_money(value, currency, places):
    return round_money(value, currency) if places is None else round_places(value, places)


def _as_decimal(value, currency, places):
    return to_decimal(value) if places is None else round_places(value, places)


def _as_int(value, currency, places):
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def _as_bool(value, currency, places):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0", "none"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _as_date(value, currency, places):
    try:
        return filters.to_date(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a date, got {value!r}") from None


def _as_datetime(value, currency, places):
    try:
        return filters.to_datetime(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a date and time, got {value!r}") from None


COERCERS = {"string": _as_string, "money": _as_money, "decimal": _as_decimal, "int": _as_int, "bool": _as_bool,
            "date": _as_date, "datetime": _as_datetime, "any": lambda value, currency, places: value}


def coerce(value: Any, value_type: str, *, currency: str | None, places: int | None) -> Any:
    """Turn a template result into the declared type, or raise ValueError saying why it cannot."""
    if value is None or (value == "" and value_type != "string" and value_type != "any"):
        return None
    return COERCERS[value_type](value, currency, places)


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


_NO_DEFAULT = object()
SOURCE_ITEM = "_item"


@dataclasses.dataclass
class ValueSpec:
    name: str
    template: CompiledTemplate | None
    constant: Any
    value_type: str
    default: Any = _NO_DEFAULT
    max_length: int | None = None
    places: int | None = None

    def __post_init__(self) -> None:
        self.evaluate = self._compile()

    def _compile(self) -> Callable[[dict, str | None], Any]:
        """One function per field doing evaluate, coerce, default and truncate, for a document the scope's generated
        code hands over (``Deopt``): nothing here is decided per call that can be decided once."""
        name, default, max_length, places = self.name, self.default, self.max_length, self.places
        convert = COERCERS[self.value_type]
        has_default = default is not _NO_DEFAULT
        template = self.template
        failure = self.failure
        raw_fn = template._fn if template is not None else None
        constant = self.constant

        def finish(raw, currency):
            try:
                value = None if raw is None or (raw == "" and convert is not _as_string) else convert(raw, currency,
                                                                                                     places)
                if has_default and (value is None or value == ""):
                    # an optional field the record leaves empty takes its default: targets see "absent", not ""
                    value = None if default is None else convert(default, currency, places)
            except (ValueError, ArithmeticError) as exc:
                raise FieldFailure(name, str(exc)) from None
            if max_length is not None and type(value) is str and len(value) > max_length:
                value = filters.fit(value, max_length)
            return value

        if raw_fn is None:
            return lambda context, currency: finish(constant, currency)

        def run(context: dict, currency: str | None) -> Any:
            try:
                raw = raw_fn(context)
                if isinstance(raw, Undefined):
                    raise Missing(undefined_hint(raw))
            except (Missing, UndefinedError) as exc:
                if not has_default:
                    raise failure(exc) from None
                raw = default
            except Exception as exc:
                raise failure(exc) from None
            return finish(raw, currency)

        if not has_default and max_length is None:
            # the common required field: the same steps as run + finish, without the second call
            def run_required(context: dict, currency: str | None) -> Any:
                try:
                    raw = raw_fn(context)
                    if isinstance(raw, Undefined):
                        raise Missing(undefined_hint(raw))
                except Exception as exc:
                    raise failure(exc) from None
                if raw is None or (raw == "" and convert is not _as_string):
                    return None
                try:
                    return convert(raw, currency, places)
                except (ValueError, ArithmeticError) as exc:
                    raise FieldFailure(name, str(exc)) from None

            return run_required
        return run

    def failure(self, exc: Exception) -> FieldFailure:
        """Why the template could not give this field a value, for the document's error."""
        source = self.template.source.strip() if self.template is not None else ""
        if isinstance(exc, (Missing, UndefinedError)):
            message = exc.message if isinstance(exc, UndefinedError) else str(exc)
            return FieldFailure(self.name, f"{message or 'undefined value'} (in {source})")
        if isinstance(exc, SecurityError):
            return FieldFailure(self.name, f"refused by the template sandbox: {exc}")
        # a filter or an operator failing on odd data fails this document only
        return FieldFailure(self.name, f"{type(exc).__name__}: {exc} (in {source})")


@dataclasses.dataclass
class ObjectSpec:
    name: str
    fields: dict[str, Any]  # name -> ValueSpec | ObjectSpec

    def __post_init__(self) -> None:
        self._items = tuple((key, spec, isinstance(spec, ObjectSpec)) for key, spec in self.fields.items())

    def evaluate(self, context: dict, currency: str | None, errors: list[FieldFailure], skip: tuple = ()) -> dict:
        out: dict[str, Any] = {}
        for key, spec, nested in self._items:
            if skip and key in skip:
                continue
            try:
                out[key] = spec.evaluate(context, currency, errors) if nested else spec.evaluate(context, currency)
            except FieldFailure as failure:
                errors.append(failure)
        return out


@dataclasses.dataclass
class LineGroup:
    each: CompiledTemplate | None
    alias: str | None
    when: CompiledTemplate | None
    fields: ObjectSpec
    # the fields as one generated function (codegen.py): (context, item, currency) -> (line, failures)
    generated: Callable[..., tuple[dict, list[FieldFailure]]] | None = None

    def evaluate(self, context: dict, currency: str | None, errors: list[FieldFailure], start: int,
                 generated: bool = False) -> list[dict]:
        if self.when is not None:
            try:
                if not self.when(context):
                    return []
            except Missing:
                return []
            except Exception as exc:  # odd data fails this document, never the run
                errors.append(FieldFailure(f"lines[{start}].when", f"{type(exc).__name__}: {exc} "
                                                                   f"(in {self.when.source.strip()})"))
                return []
        line = self._generated_line if generated and self.generated is not None else self._line
        if self.each is None:
            return [line(context, currency, errors, start)]
        try:
            items = self.each(context)
        except Missing:
            items = []
        except Exception as exc:
            errors.append(FieldFailure(f"lines[{start}].each", f"{type(exc).__name__}: {exc}"))
            return []
        if items is None:
            items = []
        if not isinstance(items, (list, tuple)):
            errors.append(FieldFailure(f"lines[{start}]", f"'each' must give a list, got {type(items).__name__}"))
            return []
        return [line(context, currency, errors, start + i, item) for i, item in enumerate(items)]

    def _line(self, context, currency, errors, index, item=None) -> dict:
        scope = {**context, self.alias: item} if self.each is not None else context
        local: list[FieldFailure] = []
        return self._finish_line(self.fields.evaluate(scope, currency, local), local, errors, index, item)

    def _generated_line(self, context, currency, errors, index, item=None) -> dict:
        line, local = self.generated(context, item, currency)
        return self._finish_line(line, local, errors, index, item)

    @staticmethod
    def _finish_line(line: dict, local: list[FieldFailure], errors: list[FieldFailure], index: int, item) -> dict:
        errors.extend(FieldFailure(f"lines[{index}].{f.field}", f.message) for f in local)
        line[SOURCE_ITEM] = item  # the source item behind the line, for line-level rules; removed before building
        return line


@dataclasses.dataclass
class Mapping:
    name: str
    flow: str
    record: str
    document: str
    fields: ObjectSpec
    lines: list[LineGroup]
    bill_when: CompiledTemplate | None
    aliases: dict[str, str]
    source_file: str
    binds: dict[str, CompiledTemplate] = dataclasses.field(default_factory=dict)
    # the top-level fields as one generated function (codegen.py): context -> (fields, failures, currency)
    generated: Callable[[dict], tuple[dict, list[FieldFailure], str | None]] | None = None

    @functools.cached_property
    def line_alias(self) -> str:
        """The name line-level rules see the source item under: the first line group's ``as``, else ``item``."""
        return next((group.alias for group in self.lines if group.alias), "item")

    def context_for(self, record: dict, extra_context: dict) -> dict:
        """The names templates (and rules) see for ``record``: the record, the globals and the binds."""
        context = {**extra_context, self.record: record}
        for name, template in self.binds.items():
            try:
                context[name] = template(context)
            except Missing:
                context[name] = None
        return context

    def evaluate(self, context: dict) -> tuple[dict, list[FieldFailure]]:
        """The mapped document as a plain dict (before rules), and every field that failed."""
        if self.generated is not None:
            try:
                return self._evaluate(context, generated=True)
            except Deopt:
                pass  # an object in the context the scope's generated code does not read exactly: field by field
        return self._evaluate(context, generated=False)

    def _evaluate(self, context: dict, generated: bool) -> tuple[dict, list[FieldFailure]]:
        if generated:
            out, errors, currency = self.generated(context)
        else:
            out, errors, currency = self._evaluate_fields(context)
        lines: list[dict] = []
        for group in self.lines:
            lines.extend(group.evaluate(context, currency, errors, len(lines), generated))
        if self.lines:
            out["lines"] = lines
        if self.bill_when is not None:
            try:
                out["_bill"] = bool(self.bill_when(context))
            except Exception as exc:
                errors.append(FieldFailure("bill.when", f"{type(exc).__name__}: {exc}"))
        return out, errors

    def _evaluate_fields(self, context: dict) -> tuple[dict, list[FieldFailure], str | None]:
        errors: list[FieldFailure] = []
        # the currency comes first: every money field rounds to its places
        currency = None
        currency_spec = self.fields.fields.get("currency")
        if isinstance(currency_spec, ValueSpec):
            try:
                currency = currency_spec.evaluate(context, None)
            except FieldFailure as failure:
                errors.append(failure)
        out = self.fields.evaluate(context, currency, errors, skip=("currency",))
        if currency_spec is not None:
            out["currency"] = currency
        return out, errors, currency


class MappingCompiler:
    """Compiles mapping YAML (already schema-validated) into a ``Mapping``; problems go to ``on_error``.

    ``check_only``: the file failed its schema, so nothing of it is compiled (no template, no generated code);
    its templates are only parsed and checked, for problems the schema cannot see. ``generate=False``: no
    generated code, every template evaluated by Jinja (the tests hold the generated code to it)."""

    def __init__(self, env, on_error: Callable[[tuple, str], None], check_only: bool = False, generate: bool = True):
        self.env = env
        self.on_error = on_error
        self.check_only = check_only
        self.generate = generate and not check_only

    def template(self, source: str, allowed: set[str], path: tuple) -> CompiledTemplate | None:
        try:
            if self.check_only:
                check_template(self.env, source, allowed)
                return None
            return compile_template(self.env, source, allowed, generate=self.generate)
        except TemplateProblem as problem:
            self.on_error(path, problem.message)
            return None

    def value(self, name: str, spec: Any, owner: type, allowed: set[str], path: tuple) -> ValueSpec:
        declared = contract_type(owner, name.split(".")[-1]) if owner is not None else "any"
        if isinstance(spec, dict) and "value" in spec:
            source = spec["value"]
            value_type = self.checked(spec, "type", path, declared, lambda v: type(v) is str and v in VALUE_TYPES,
                                      f"one of {', '.join(VALUE_TYPES)}")
            default = spec.get("default", _NO_DEFAULT)
            max_length = self.checked(spec, "max_length", path, None, lambda v: type(v) is int and v >= 1,
                                      "a whole number of at least 1")
            places = self.checked(spec, "places", path, None, lambda v: type(v) is int and 0 <= v <= MAX_PLACES,
                                  f"a whole number from 0 to {MAX_PLACES}")
            value_path = path + ("value",)
        else:
            source, value_type, default, max_length, places, value_path = spec, declared, _NO_DEFAULT, None, None, path
        if is_template(source):
            template = self.template(str(source), allowed, value_path)
            return ValueSpec(name, template, None, value_type, default, max_length, places)
        return ValueSpec(name, None, source, value_type, default, max_length, places)

    def checked(self, spec: dict, key: str, path: tuple, fallback: Any, valid: Callable[[Any], bool],
                expected: str) -> Any:
        """``spec[key]`` when ``valid`` says so, else ``fallback`` and a problem: the code generator writes these
        options into Python source, so each is checked here for its exact type, whatever the schema said."""
        if key not in spec:
            return fallback
        value = spec[key]
        if not valid(value):
            self.on_error(path + (key,), f"expected {expected}, got {value!r}"[:200])
            return fallback
        return value

    def object(self, name: str, spec: dict, owner: type, allowed: set[str], path: tuple) -> ObjectSpec:
        known = {f.name for f in dataclasses.fields(owner)}
        fields: dict[str, Any] = {}
        for key, sub in (spec or {}).items():
            sub_path = path + (key,)
            if key not in known or key == "lines":
                self.on_error(sub_path, f"'{key}' is not a field of {owner.__name__}{did_you_mean(key, known)}")
                continue
            if key in NESTED_TYPES:
                inner = sub.get("fields") if isinstance(sub, dict) else None
                if inner is None:
                    self.on_error(sub_path, f"'{key}' is an object: give its fields under 'fields:'")
                    continue
                fields[key] = self.object(f"{name}.{key}" if name else key, inner, NESTED_TYPES[key], allowed,
                                          sub_path + ("fields",))
            else:
                fields[key] = self.value(f"{name}.{key}" if name else key, sub, owner, allowed, sub_path)
        return ObjectSpec(name, fields)

    def compile(self, data: dict, source_file: str, allowed_globals: set[str]) -> Mapping:
        document = data["document"]
        owner = DOCUMENT_TYPES[document]
        record = data.get("record", "record")
        allowed = allowed_globals | {record}
        binds = {}
        for name, expression in (data.get("bind") or {}).items():
            template = self.template("{{ " + expression + " }}", allowed, ("bind", name))
            if template is not None:
                binds[name] = template
        allowed = allowed | set(binds)
        fields = self.object("", data.get("fields") or {}, owner, allowed, ("fields",))
        lines = []
        for i, group in enumerate(data.get("lines") or []):
            path = ("lines", i)
            alias = group.get("as")
            each = self.template("{{ " + group["each"] + " }}", allowed, path + ("each",)) if "each" in group else None
            when = self.template(group["when"], allowed, path + ("when",)) if "when" in group else None
            inner_allowed = allowed | ({alias} if alias else set())
            line_fields = self.object("", group.get("fields") or {}, docs.Line, inner_allowed, path + ("fields",))
            generated = (codegen.compile_line_fields(self.env, line_fields, alias, source_file) if self.generate
                         else None)
            lines.append(LineGroup(each, alias, when, line_fields, generated))
        bill = (data.get("bill") or {}).get("when")
        bill_when = self.template(bill, allowed, ("bill", "when")) if bill else None
        return Mapping(
            name=data.get("name", document), flow=data["flow"], record=record, document=document, fields=fields,
            lines=lines, bill_when=bill_when, aliases=dict(data.get("aliases") or {}), source_file=source_file,
            binds=binds,
            generated=codegen.compile_document_fields(self.env, fields, source_file) if self.generate else None,
        )

"""Generated code and Jinja agree, template by template: the same value, or both say the value is missing, or both
fail the same way, on every template shipped, on tricky ones and on generated ones, over realistic records,
records with fields removed and generated records."""

import copy
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connex.rules.loader import load_rules
from connex.rules.mapping import ObjectSpec
from connex.rules.templates import Missing, compile_template, make_environment
from tests.rules.conftest import RULES, sample_order

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from workload import realistic_orders  # noqa: E402

TRICKY = [
    "{{ order.items }}", "{{ order.Items | length }}",
    "{{ order.GeneralInfo.Source | lower ~ '-' ~ order.NumOrderId }}",
    "{{ order.TotalsInfo.Tax * 2 - 1 }}", "{{ -order.TotalsInfo.Tax }}", "{{ order.Missing.Deeper or 'fallback' }}",
    "{{ order.Missing is defined }}", "{{ order.GeneralInfo.Source in ['EBAY', 'AMAZON'] }}",
    "{{ 'yes' if order.TotalsInfo.Tax > 5 else 'no' }}", "{{ 'only-if' if order.NumOrderId > 5 }}",
    "{{ order.Missing | default('d') }}", "{{ order.Items[0].SKU }}", "{{ order['NumOrderId'] }}",
    "{{ order.Items | sum(attribute='Cost') }}", "{{ order.TotalsInfo.Tax | round(1) }}", "{{ order.Missing + 1 }}",
    "{{ order.TotalsInfo.Tax / 0 }}", "{{ 1 < order.NumOrderId <= 999999999 }}", "{{ not order.Missing }}",
    "Order {{ order.NumOrderId }} from {{ order.GeneralInfo.Source | channel_name }}", "Ref {{ order.Missing }}",
    "{{ order.get('NumOrderId') }}", "{{ order.TotalsInfo.Currency | upper | country_code }}",
    "{{ ('n', order.NumOrderId) }}", "{{ order.GeneralInfo.Source in ('EBAY', 'AMAZON') }}",
    "{{ order.items.x }}", "{{ (order.GeneralInfo or {}).Source }}",
    "{{ order.TotalsInfo.Tax | money(order.TotalsInfo.Currency) }}", "{{ order.Items[0]['SKU'] is string }}",
    "{{ order.Items | map(attribute='SKU') | join(',') }}",
]


def shipped_templates() -> list[str]:
    rules = load_rules([RULES])
    found = []

    def walk(spec):
        for value in spec.fields.values():
            if isinstance(value, ObjectSpec):
                walk(value)
            elif value.template is not None:
                found.append(value.template.source)

    for mapping in rules.mappings.values():
        if mapping.flow == "orders":
            walk(mapping.fields)
            for group in mapping.lines:
                walk(group.fields)
    return found


def outcome(template, context):
    try:
        value = template(context)
    except Missing:
        return ("missing", None)
    except Exception as exc:
        return ("error", type(exc).__name__)
    # compared by repr: a list may hold Undefined objects, which refuse ==
    return ("value", type(value).__name__, repr(value))


SOURCES = sorted(set(shipped_templates() + TRICKY))


ENV = make_environment()
ALLOWED = {"order", "item", "sync"}


@pytest.fixture(scope="module")
def pairs():
    return [(source, compile_template(ENV, source, ALLOWED), compile_template(ENV, source, ALLOWED, generate=False))
            for source in SOURCES]


def contexts():
    orders = realistic_orders(40) + [sample_order()]
    broken = copy.deepcopy(orders[0])
    broken.pop("CustomerInfo")
    broken["TotalsInfo"] = {"Tax": None, "Currency": "gbp"}
    return [{"order": o, "item": (o.get("Items") or [{}])[0], "sync": {"document": "invoice"}}
            for o in [*orders, broken]]


def test_every_shipped_template_is_generated(pairs):
    shipped = set(shipped_templates())
    on_jinja = [source for source, generated, _ in pairs if source in shipped and generated.node is None]
    assert on_jinja == []


def test_loops_calls_and_blocks_stay_on_jinja():
    for source in ("{% for i in order.Items %}{{ i.SKU }}{% endfor %}", "{{ order.get('x') }}",
                   "{% if order.NumOrderId %}a{% endif %}", "{% set x = 1 %}{{ x }}"):
        assert compile_template(ENV, source, ALLOWED).node is None, source


def test_generated_and_jinja_agree_on_realistic_and_broken_records(pairs):
    for context in contexts():
        for source, generated, jinja in pairs:
            assert outcome(generated, context) == outcome(jinja, context), (source, context["order"].get("NumOrderId"))


_data = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.text(max_size=5),
              st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False)),
    lambda inner: st.dictionaries(st.sampled_from(["Tax", "Source", "Items", "items", "SKU", "Cost", "Currency"]),
                                  inner, max_size=4) | st.lists(inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_data)
def test_generated_and_jinja_agree_on_arbitrary_shapes(pairs, data):
    context = {"order": {"TotalsInfo": data, "GeneralInfo": data, "Items": data, "NumOrderId": 7},
               "item": data, "sync": {}}
    for source, generated, jinja in pairs:
        assert outcome(generated, context) == outcome(jinja, context), source


# --- generated templates over generated records ----------------------------------------------------------------------
_path = st.builds(lambda root, steps: root + "".join(steps), st.sampled_from(["order", "item"]), st.lists(
    st.sampled_from([".Tax", ".Source", ".Items", ".SKU", ".Cost", ".Missing", "[0]", "['SKU']", ".items"]),
    max_size=3))
_literal = st.sampled_from(["1", "0", "2.5", "'x'", "''", "none", "true", "[]", "[1, 2]", "('a', 'b')"])


def _expressions():
    leaf = st.one_of(_path, _literal)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.builds("({} {} {})".format, inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "~", "or", "and",
                                                               "==", "!=", "<", ">=", "in", "not in"]), inner),
        st.builds("({} if {} else {})".format, inner, inner, inner),
        st.builds("({} if {})".format, inner, inner),
        st.builds("(not {})".format, inner),
        st.builds("(-{})".format, inner),
        st.builds("({} | {})".format, inner, st.sampled_from(
            ["length", "lower", "upper", "default('d')", "first", "string", "trim", "abs", "round(1)",
             "join(',')", "sum(attribute='Cost')", "map(attribute='SKU') | list", "country_code",
             "channel_name"])),
        st.builds("({} is {})".format, inner, st.sampled_from(["defined", "none", "string", "number"])),
    ), max_leaves=5)


_templates = st.one_of(
    st.builds("{{{{ {} }}}}".format, _expressions()),
    st.builds("A {{{{ {} }}}} b {{{{ {} }}}}".format, _expressions(), _expressions()),
)


@settings(max_examples=300, deadline=None)
@given(_templates, _data, _data)
def test_generated_equals_jinja_on_generated_templates_and_records(source, totals, item):
    try:
        jinja = compile_template(ENV, source, ALLOWED, generate=False)
    except Exception as exc:  # refused at load (a limit, a constant that cannot be folded): both must refuse
        with pytest.raises(type(exc)):
            compile_template(ENV, source, ALLOWED)
        return
    generated = compile_template(ENV, source, ALLOWED)
    context = {"order": {"Tax": totals, "Items": [item, totals], "Source": "EBAY", "SKU": item}, "item": item,
               "sync": {}}
    assert outcome(generated, context) == outcome(jinja, context), source


class Exploding(dict):
    """A record whose attribute read raises: the generated code reads paths first, so Jinja takes the call."""

    def __getattribute__(self, name):
        if name == "Source":
            raise RuntimeError("boom")
        return super().__getattribute__(name)


def test_an_attribute_that_raises_hands_the_template_to_jinja():
    source = "{{ 'none' if not order.Flag else order.Source.lower }}"
    generated = compile_template(ENV, source, ALLOWED)
    assert generated.node is not None
    context = {"order": Exploding(Flag=False)}
    assert generated(context) == "none" == compile_template(ENV, source, ALLOWED, generate=False)(context)

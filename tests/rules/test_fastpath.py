"""The fast path and Jinja agree: same value, or both say the value is missing, on every template shipped and on
tricky ones, over realistic records and records with fields removed."""

import copy
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connex.rules.codegen import compile_template_function
from connex.rules.loader import load_rules
from connex.rules.mapping import ObjectSpec
from connex.rules.templates import CompiledTemplate, Missing, compile_template, make_environment
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
        return ("value", template(context))
    except Missing:
        return ("missing", None)
    except Exception as exc:
        return ("error", type(exc).__name__)


SOURCES = sorted(set(shipped_templates() + TRICKY))


@pytest.fixture(scope="module")
def pairs():
    env = make_environment()
    allowed = {"order", "item", "sync"}
    found = []
    for source in SOURCES:
        fast, jinja = compile_template(env, source, allowed), compile_template(env, source, allowed, fast=False)
        # the generated function (codegen.py) behind the same undefined-to-Missing translation as the others
        generated = CompiledTemplate(source, compile_template_function(env, fast), fast.is_expression)
        found.append((source, fast, jinja, generated))
    return found


def contexts():
    orders = realistic_orders(40) + [sample_order()]
    broken = copy.deepcopy(orders[0])
    broken.pop("CustomerInfo")
    broken["TotalsInfo"] = {"Tax": None, "Currency": "gbp"}
    return [{"order": o, "item": (o.get("Items") or [{}])[0], "sync": {"document": "invoice"}}
            for o in [*orders, broken]]


def test_fast_path_is_used_for_the_shipped_mappings(pairs):
    shipped = set(shipped_templates())
    slow = [s for s, fast, *_ in pairs if s in shipped and fast._fn.__module__ != "connex.rules.fastpath"]
    assert slow == []


def test_both_paths_agree_on_realistic_and_broken_records(pairs):
    for context in contexts():
        for source, fast, jinja, generated in pairs:
            expected = outcome(jinja, context)
            assert outcome(fast, context) == expected, (source, context["order"].get("NumOrderId"))
            assert outcome(generated, context) == expected, (source, context["order"].get("NumOrderId"))


@settings(max_examples=150, deadline=None)
@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.text(max_size=5),
              st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False)),
    lambda inner: st.dictionaries(st.sampled_from(["Tax", "Source", "Items", "items", "SKU", "Cost", "Currency"]),
                                  inner, max_size=4) | st.lists(inner, max_size=3),
    max_leaves=12,
))
def test_both_paths_agree_on_arbitrary_shapes(pairs, data):
    context = {"order": {"TotalsInfo": data, "GeneralInfo": data, "Items": data, "NumOrderId": 7},
               "item": data, "sync": {}}
    for source, fast, jinja, generated in pairs:
        expected = outcome(jinja, context)
        assert outcome(fast, context) == expected, source
        assert outcome(generated, context) == expected, source

"""The generated mapping functions give exactly what Jinja gives (tests/rules/test_generated_templates.py does the
same template by template): the same fields and the same failures with the same messages, on every shipped
mapping, over realistic, fixture, systematically broken and generated records. The reference is the same mapping
loaded with ``generate=False``: every template evaluated by Jinja, field by field."""

import copy
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connex.rules.codegen import Deopt
from connex.rules.loader import load_rules
from tests.rules.conftest import RULES, fixture_records, sample_order, write_yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from workload import realistic_orders  # noqa: E402

FLOW_RECORDS = {"orders": "order", "purchases": "po", "refunds": "refund", "inventory": "level"}
# "long" is longer than every max_length the shipped mappings set (21 for numbers, 4,000 for memos)
ODD_VALUES = [None, "", "  text  ", 0, Decimal("-1.005"), [], {}, True, "not a number", "long words " * 410]


def outcome(mapping, context, generated=True):
    out, errors = mapping._evaluate(context, generated=generated)
    return out, [(f.field, f.message) for f in errors]


def assert_same(mapping, context, reference=None):
    expected = outcome(reference or JINJA[mapping.flow], context, generated=False)
    assert outcome(mapping, context) == expected
    assert mapping.evaluate(context)[0] == expected[0]
    # a document the scope's code hands over (Deopt) is evaluated field by field: the same again
    assert outcome(mapping, context, generated=False) == expected


def context_for(mapping, record):
    return mapping.context_for(record, {"sync": {"document": "sales_receipt", "exchange_rates": "quickbooks"}})


def broken_variants(record: dict, depth: int = 3):
    """The record with one key, at any depth, removed or replaced by each odd value in turn."""
    def paths(node, prefix=()):
        if isinstance(node, dict) and len(prefix) < depth:
            for key, value in node.items():
                yield prefix + (key,)
                yield from paths(value, prefix + (key,))
        elif isinstance(node, list) and node and len(prefix) < depth:
            yield from paths(node[0], prefix + (0,))

    for path in paths(record):
        for replacement in ["<removed>", *ODD_VALUES]:
            variant = copy.deepcopy(record)
            parent = variant
            for step in path[:-1]:
                parent = parent[step]
            if replacement == "<removed>":
                parent.pop(path[-1])
            else:
                parent[path[-1]] = replacement
            yield variant


JINJA = {}


@pytest.fixture(scope="module")
def mappings():
    JINJA.update(load_rules([RULES], generate=False).mappings)
    assert all(m.generated is None for m in JINJA.values())
    return load_rules([RULES]).mappings


def test_every_shipped_mapping_is_generated(mappings):
    assert set(mappings) == set(FLOW_RECORDS)
    for mapping in mappings.values():
        assert mapping.generated is not None
        assert all(group.generated is not None for group in mapping.lines)


def test_generated_equals_jinja_on_realistic_orders(mappings):
    mapping = mappings["orders"]
    for order in realistic_orders(300) + [sample_order()]:
        assert_same(mapping, context_for(mapping, order))


@pytest.mark.parametrize("flow", sorted(FLOW_RECORDS))
def test_generated_equals_jinja_on_fixtures_and_broken_records(mappings, flow):
    mapping = mappings[flow]
    records = fixture_records()[flow] + ([sample_order()] if flow == "orders" else [])
    checked = 0
    for record in records:
        assert_same(mapping, context_for(mapping, record))
        for variant in broken_variants(record):
            assert_same(mapping, context_for(mapping, variant))
            checked += 1
    assert checked >= 50  # a stock level has the fewest keys: 6 paths x 10 variants


def test_failures_name_the_field_and_the_template(mappings):
    mapping = mappings["orders"]
    order = sample_order()
    order["TotalsInfo"].pop("TotalCharge")
    order["Items"][1]["Cost"] = "twelve"
    _, errors = outcome(mapping, context_for(mapping, order))
    assert ("total", "'dict object' has no attribute 'TotalCharge' (in {{ order.TotalsInfo.TotalCharge }})") in errors
    assert ("lines[1].amount", "expected a number, got 'twelve'") in errors


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=6),
                  st.decimals(min_value=-100, max_value=100, places=3, allow_nan=False))
_shape = st.recursive(_leaf, lambda inner: st.dictionaries(
    st.sampled_from(["FullName", "Country", "Company", "Currency", "Tax", "Cost", "SKU", "Quantity", "Source",
                     "PostageCost", "PostageCostExTax", "TotalDiscount", "TotalCharge", "Address", "BillingAddress"]),
    inner, max_size=5) | st.lists(inner, max_size=3), max_leaves=15)


@settings(max_examples=200, deadline=None)
@given(totals=_shape, customer=_shape, general=_shape, items=_shape)
def test_generated_equals_jinja_on_arbitrary_shapes(mappings, totals, customer, general, items):
    order = {**sample_order(), "TotalsInfo": totals, "CustomerInfo": customer, "GeneralInfo": general,
             "Items": items}
    mapping = mappings["orders"]
    assert_same(mapping, context_for(mapping, order))


class Exploding(dict):
    """A record object whose attribute read raises: Jinja raises only in the fields that read it."""

    def __getattribute__(self, name):
        if name == "GeneralInfo":
            raise RuntimeError("boom")
        return super().__getattribute__(name)


def test_an_attribute_that_raises_hands_the_document_over_field_by_field(mappings):
    mapping = mappings["orders"]
    context = context_for(mapping, Exploding(sample_order()))
    with pytest.raises(Deopt):
        mapping._evaluate(context, generated=True)
    out, errors = mapping.evaluate(context)
    assert (out, [(f.field, f.message) for f in errors]) == outcome(JINJA["orders"], context, generated=False)
    assert any(f.field == "memo" and "RuntimeError: boom" in f.message for f in errors)
    assert out["total"] == Decimal("46.80")  # the fields that do not read GeneralInfo are unaffected


def test_templates_the_generator_does_not_take_are_called_as_compiled(tmp_path):
    write_yaml(tmp_path, "mine.yaml", """
        kind: mapping
        flow: orders
        document: sales
        record: order
        fields:
          kind: sales_receipt
          source_id: "{{ order.get('OrderId') }}"
          doc_number: "{% if order.NumOrderId %}N{{ order.NumOrderId }}{% else %}none{% endif %}"
          txn_date: "{{ order.GeneralInfo.ReceivedDate }}"
          currency: "{{ order.TotalsInfo.Currency }}"
          total: "{{ order.TotalsInfo.TotalCharge }}"
        lines:
          - each: order.Items
            as: order
            fields:
              sku: "{{ order.get('SKU') }}"
              description: "{{ order.Title ~ '/' ~ order.SKU }}"
              amount: "{{ order.Cost }}"
    """)
    mapping = load_rules([tmp_path]).mappings["orders"]
    reference = load_rules([tmp_path], generate=False).mappings["orders"]
    context = context_for(mapping, sample_order())
    out, errors = outcome(mapping, context)
    assert errors == [] and out["source_id"] == sample_order()["OrderId"] and out["doc_number"] == "N104512"
    # the alias shadows the record's own name inside the line, as it does in Jinja
    assert [(line["sku"], line["description"]) for line in out["lines"]] == [
        ("MUG-BLU-01", "Blue Mug/MUG-BLU-01"), ("TEA-EARL-250", "Earl Grey/TEA-EARL-250")]
    assert_same(mapping, context, reference)

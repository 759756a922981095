"""Rule semantics: comparisons, all/any/not, top-down order with later-wins, scoping, line rules, traces."""

from decimal import Decimal

import pytest

from connex.rules.comparisons import BUILTIN_COMPARISONS as C
from connex.rules.loader import load_rules
from tests.conftest import run_connex
from tests.rules.conftest import RULES, engine, sample_order, write_yaml


def rules_with(tmp_path, text):
    return load_rules([RULES, write_yaml(tmp_path, "extra.yaml", text)])


@pytest.mark.parametrize(("name", "value", "expected", "result"), [
    ("equals", "EBAY", "EBAY", True), ("equals", "EBAY", "ebay", False), ("equals", Decimal("5.0"), 5, True),
    ("is_not", "EBAY", "AMAZON", True), ("is_not", None, "x", True),
    ("contains", "Amazon US", "US", True), ("contains", "Amazon US", "us", False),
    ("matches", "Amazon US", "amazon us", True), ("matches", "Amazon US", "amazon", False),
    ("starts_with", "SKU-123", "SKU-", True), ("ends_with", "SKU-123", "123", True),
    ("more_than", Decimal("10.01"), "10", True), ("more_than", "abc", "10", False),
    ("less_than", "2025-01-01T00:00:00Z", "2025-02-01", True),
    ("in_list", "GBP", ["USD", "GBP"], True), ("in_list", "EUR", "USD, GBP", False),
    ("regex", "113-5550001-0000001", r"^\d{3}-\d{7}-\d{7}$", True), ("map_all", None, None, True),
])
def test_comparisons(name, value, expected, result):
    assert C[name](value, expected) is result


def test_all_any_not_blocks(tmp_path, default_rules):
    rules = rules_with(tmp_path, """
        kind: rules
        rules:
          - id: uk-ebay-retail
            type: map_class
            when:
              all:
                - {field: source, comparison: equals, value: SHOPIFY}
                - any:
                    - {field: currency, comparison: equals, value: USD}
                    - {field: currency, comparison: equals, value: GBP}
                - not: {field: sub_source, comparison: contains, value: Wholesale}
            value: Retail UK
    """)
    result = engine(rules).map("orders", sample_order())
    assert result.documents[0].class_name == "Retail UK"
    trace = next(t for t in result.traces if t.rule_id == "uk-ebay-retail")
    assert trace.fired and [c.field for c in trace.conditions] == [
        "order.GeneralInfo.Source", "order.TotalsInfo.Currency", "order.TotalsInfo.Currency",
        "order.GeneralInfo.SubSource"]
    assert [c.result for c in trace.conditions] == [True, False, True, False]


def test_later_rule_wins_and_the_trace_shows_both(tmp_path):
    rules = rules_with(tmp_path, """
        kind: rules
        rules:
          - {id: first, type: map_class, value: Online}
          - {id: second, type: map_class, when: {field: currency, comparison: equals, value: GBP}, value: UK Online}
    """)
    result = engine(rules).map("orders", sample_order())
    assert result.documents[0].class_name == "UK Online"
    first = next(t for t in result.traces if t.rule_id == "first")
    second = next(t for t in result.traces if t.rule_id == "second")
    assert first.writes[0].value == "Online" and first.writes[0].overrides is None
    assert second.writes[0].value == "UK Online" and second.writes[0].overrides == "first"


def test_explain_cli_shows_both_writes(tmp_path):
    (tmp_path / "order.json").write_text(_order_json())
    write_yaml(tmp_path, "extra.yaml", """
        kind: rules
        rules:
          - {id: first, type: map_class, value: Online}
          - {id: second, type: map_class, value: UK Online}
    """)
    write_yaml(tmp_path, "connex.yaml", """
        source: {plugin: linnworks, application_id: 00000000-0000-0000-0000-000000000001,
                 application_secret: 00000000-0000-0000-0000-000000000002, token: 00000000-0000-0000-0000-000000000003}
        target: {plugin: quickbooks_desktop, username: u, password: p}
        rules: [extra.yaml]
    """)
    result = run_connex("explain", "--input", "order.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "first [map_class]" in out and "sets class_name = 'Online'" in out
    assert "sets class_name = 'UK Online' (overrides rule first)" in out
    assert "display_name: Shopify GBP" in out


def _order_json():
    import json

    return json.dumps(sample_order(), default=float)  # Decimals as JSON numbers, as Linnworks sends them


def test_line_level_rules_see_the_source_item(tmp_path):
    rules = rules_with(tmp_path, """
        kind: rules
        rules:
          - id: old-sku
            type: map_sku
            when: {field: item.SKU, comparison: equals, value: MUG-BLU-01}
            value: MUG-BLUE
          - id: ship-item
            type: map_shipping_item
            value: Postage
    """)
    doc = engine(rules).map("orders", sample_order(ShippingInfo={"PostalServiceName": "Tracked 48"})).documents[0]
    assert [line.sku for line in doc.lines] == ["MUG-BLUE", "TEA-EARL-250", None]
    assert doc.lines[2].kind == "shipping" and doc.lines[2].item_name == "Postage"


def test_transaction_type_rule_and_do_not_import(tmp_path):
    rules = rules_with(tmp_path, """
        kind: rules
        rules:
          - type: map_transaction_type
            when: {field: payment_method, comparison: equals, value: Invoice}
            value: invoice
          - {id: no-amazon, type: do_not_import, when: {field: source, comparison: equals, value: AMAZON}}
    """)
    order = sample_order()
    order["TotalsInfo"] = {**order["TotalsInfo"], "PaymentMethod": "Invoice"}
    assert engine(rules).map("orders", order).documents[0].kind == "invoice"
    skipped = engine(rules).map("orders", sample_order(GeneralInfo={"Source": "AMAZON"}))
    assert skipped.skipped and "rule no-amazon" in skipped.skipped and not skipped.documents


def test_connection_scoping_follows_the_association_rule(tmp_path):
    rules = rules_with(tmp_path, """
        kind: rules
        rules:
          - {id: uk, type: map_class, connections: [linnworks-uk], value: UK}
          - {id: everywhere, type: map_deposit_account, value: Undeposited Funds}
    """)
    uk = engine(rules, connection="linnworks-uk").map("orders", sample_order()).documents[0]
    assert uk.class_name == "UK" and uk.deposit_account is None  # once any rule is associated, only those run
    us = engine(rules, connection="linnworks-us").map("orders", sample_order())
    assert us.documents[0].class_name is None
    assert any(t.rule_id == "uk" and "not associated" in t.skipped for t in us.traces)


def test_customer_matching_modes(default_rules):
    order = sample_order()
    names = {
        mode: engine(default_rules, customer_matching=mode, single_customer_name="Web Store")
        .map("orders", order).documents[0].customer.display_name
        for mode in ("store_name", "store_name_currency", "single_customer", "company_else_full_name",
                     "last_first", "first_last", "billing_email", "order_number")
    }
    assert names == {"store_name": "Shopify", "store_name_currency": "Shopify GBP", "single_customer": "Web Store",
                     "company_else_full_name": "Jane Smith", "last_first": "Smith, Jane",
                     "first_last": "Jane Smith", "billing_email": "jane@example.com", "order_number": "104512"}


def test_empty_customer_name_fails_the_order_naming_the_mode(default_rules):
    order = sample_order()
    order["CustomerInfo"] = {"BillingAddress": {"FullName": ""}, "Address": {}}
    result = engine(default_rules, customer_matching="billing_email").map("orders", order)
    assert result.error is not None
    assert str(result.error) == ("order 104512 field customer: customer matching 'billing_email' found no name: "
                                 "the billing email is empty")


def test_a_template_value_that_breaks_fails_only_that_order(tmp_path):
    rules = rules_with(tmp_path, """
        kind: rules
        rules:
          - {id: ratio, type: map_class, value: "{{ order.TotalsInfo.Tax / order.TotalsInfo.Subtotal }}"}
    """)
    result = engine(rules).map("orders", sample_order())
    assert result.error is not None and "rule ratio" in str(result.error)


def test_sandbox_refuses_private_access_at_run_time_too():
    from connex.rules.templates import SecurityError, make_environment

    env = make_environment()
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__ }}").render(x="")
    assert "range" not in env.globals

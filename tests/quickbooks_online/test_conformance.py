"""Every body the connector sends stays inside Intuit's own QuickBooks Online schemas.

The ``sim`` fixture checks what each test sent when it tears down; this module adds one run that exercises
every kind of payload the connector can produce, proves the walk covered them, and proves the walk can fail.
"""

from __future__ import annotations

from decimal import Decimal

import jsonschema
import pytest
from connex_quickbooks_online import connex_simulators, connex_targets
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.schema import FieldTree, batch_violations, default_xsd_dir, entity_violations

from connex.documents import Address, Line
from tests.conftest import reference

from .qbo_factories import line, party, purchase, random_sales, refund, sale
from .qbo_support import SHIPPED_XSD, body_violations


def test_xsds_load_from_the_copy_the_plugin_ships():
    assert default_xsd_dir() == SHIPPED_XSD
    tree = FieldTree(SHIPPED_XSD)
    assert tree.element_type("SalesReceipt") == "SalesReceipt"
    receipt = tree.info("SalesReceipt")
    assert {"Line", "CustomerRef", "ExchangeRate", "PrivateNote", "TxnTaxDetail"} <= set(receipt.fields)
    assert "Line" in receipt.repeated and "CustomerRef" not in receipt.repeated
    assert set(tree.info("ReferenceType").fields) == {"value", "name", "type"}
    assert "LinkedTxn" in tree.info("Line").fields


def test_the_shipped_xsds_are_byte_identical_to_the_reference_copies():
    folder = reference("qbo-xsd/IntuitRestServiceDef.xsd").parent
    for path in sorted(folder.glob("*.xsd")):
        assert (SHIPPED_XSD / path.name).read_bytes() == path.read_bytes(), path.name
    assert {p.name for p in SHIPPED_XSD.glob("*.xsd")} == {p.name for p in folder.glob("*.xsd")}


def test_the_walk_catches_unknown_fields_and_bad_nesting():
    assert entity_violations("Bill", {"VendorRef": {"value": "1", "Extra": 1}}) == ["Bill.VendorRef.Extra"]
    assert entity_violations("Invoice", {"DocNumber": {"value": "1"}}) == [
        "Invoice.DocNumber: nesting under a simple field"
    ]
    assert entity_violations("Invoice", {"CustomerRef": [{"value": "1"}]}) == [
        "Invoice.CustomerRef: not a repeated element"
    ]
    assert batch_violations(
        {
            "BatchItemRequest": [{"bId": "1", "operation": "create", "Item": {"Name": "x", "Colour": "red"}}],
            "Extra": 1,
        }
    ) == ["BatchItemRequest[0].Item.Colour", "Extra"]


def test_every_payload_kind_conforms(sim, make_target):
    strict = make_target()
    creating = make_target(missing_items="create_inventory", deposit_account="Checking")
    odd = Line(
        kind="item",
        sku="SOCKS-3PK",
        quantity=Decimal(3),
        unit_price=Decimal("3.33"),
        amount=Decimal("10.00"),
        tax_code="TAX",
    )
    new_sku = Line(
        kind="item",
        sku="NEW-SKU-1",
        description="Brand new",
        quantity=Decimal(1),
        unit_price=Decimal("5.00"),
        amount=Decimal("5.00"),
    )
    shipped = sale(
        "CF-2",
        lines=[line("MUG-BLU-01", 1)],
        shipping="3.99",
        discount="1.00",
        tax="0.70",
        total=Decimal("15.71"),  # two cents of rounding
    )
    shipped.shipping_address = Address(
        line1="9 High St", city="Leeds", postal_code="LS1 1AA", country="UK", country_code="GB"
    )
    shipped.ship_date = shipped.txn_date
    docs = [
        sale("CF-1", lines=[odd]),
        shipped,
        *random_sales(5, seed=5, prefix="CF-R"),
        sale("CF-3", currency="EUR", kind="invoice"),
        purchase("CF-PO"),
        purchase("CF-PO", kind="bill", linked="CF-PO"),
        purchase(
            "CF-PO2",
            lines=[line("TSHIRT-M-RED", 2, Decimal("5.00")), Line(kind="discount", amount=Decimal("-1.00"))],
        ),
        refund("CF-RF", "CF-1"),
    ]
    assert {r.status for r in strict.post_documents(docs)} == {"posted"}
    assert [r.status for r in creating.post_documents([sale("CF-4", lines=[new_sku])])] == ["posted"]
    strict.find_or_create_customer(party("Direct Buyer", "USD"))
    sent = {endpoint for endpoint, _ in sim.received}
    entities = {
        key
        for _, body in sim.received
        if isinstance(body, dict)
        for item in body.get("BatchItemRequest", [])
        for key in item
        if key[0].isupper()
    }
    assert "batch" in sent
    assert {
        "Customer",
        "Vendor",
        "Item",
        "SalesReceipt",
        "Invoice",
        "PurchaseOrder",
        "Bill",
        "RefundReceipt",
    } <= entities
    assert body_violations(sim) == []


def test_config_schema_accepts_exactly_the_documented_keys(sim):
    schema = QuickBooksOnlineTarget.config_schema
    validator = jsonschema.Draft202012Validator(schema)
    full = {
        **sim.connector_config(),
        "missing_items": "create_non_inventory",
        "income_account": "Sales",
        "expense_account": "COGS",
        "asset_account": "Inventory",
        "deposit_account": "Checking",
        "shipping_item": "Shipping",
        "discount_account": "Discounts",
        "rounding_item": "Rounding",
        "rounding_tolerance": 0.02,
        "timeout": 30,
    }
    assert list(validator.iter_errors(full)) == []
    assert [e.validator for e in validator.iter_errors({**full, "sandbox": True})] == ["additionalProperties"]
    assert [e.validator for e in validator.iter_errors({**full, "missing_items": "ignore"})] == ["enum"]
    assert {"client_id", "client_secret", "refresh_token"} == set(QuickBooksOnlineTarget.secret_keys)


def test_plugin_hooks_register_target_and_simulator():
    assert connex_targets() == {"quickbooks_online": QuickBooksOnlineTarget}
    factory = connex_simulators()["quickbooks_online"]
    with factory() as sim:
        config = sim.connector_config()
        assert config["api_url"] == sim.url and config["token_url"].startswith(sim.url)
        with QuickBooksOnlineTarget(config) as target:
            assert target.find_or_create_item("MUG-BLU-01")
            assert target.post_documents([sale("HOOK-1")])[0].status == "posted"
        assert body_violations(sim) == []


@pytest.mark.parametrize("missing", ["client_id", "realm_id"])
def test_missing_credentials_are_config_errors(sim, missing):
    from connex.errors import ConfigError

    config = {k: v for k, v in sim.connector_config().items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        QuickBooksOnlineTarget(config)

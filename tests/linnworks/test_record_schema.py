"""The Linnworks record schema shipped for `connex validate` is Linnworks' published definitions, field for field,
plus what the connector itself adds; it cannot drift from either."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from connex_linnworks import record_schema
from connex_linnworks.connector import LinnworksSource
from connex_linnworks.refunds import refund_record

from connex.connectors import InventoryLevel, WindowQuery
from connex.rules.recordschema import Obj, flow_schemas, inventory_schema
from tests.conftest import reference

SPECS = ("orders.json", "purchaseorder.json", "inventory.json", "returnsrefunds.json")


def test_the_shipped_schema_is_what_the_reference_gives():
    folder = reference(*(f"linnworks-specs/{name}" for name in SPECS)).parent
    derived = record_schema.derive(folder)
    assert record_schema.shipped() == json.loads(record_schema.dumps(derived)), (
        "regenerate: python -m connex_linnworks.record_schema ../shared/reference/linnworks-specs")
    assert record_schema.SCHEMA_FILE.read_text(encoding="utf-8") == record_schema.dumps(derived)


def test_the_refund_record_fields_are_the_source_fields_of_the_reference():
    """refund_record reads Linnworks' refund header and lines (returnsrefunds.json): every field it reads is
    one the reference defines."""
    folder = reference("linnworks-specs/returnsrefunds.json").parent
    definitions = json.loads((folder / "returnsrefunds.json").read_text(encoding="utf-8"))["definitions"]
    header = set(definitions["OrderRefundHeader"]["properties"])
    assert {"RefundHeaderId", "OrderId", "NumOrderId", "ExternalReference", "OrderSource", "OrderSubSource",
            "Currency", "LastActionDate", "CreatedDate", "RefundLines", "Status", "Actioned"} <= header


def test_the_refund_record_the_connector_builds_has_exactly_the_declared_fields():
    header = {"Status": {"StatusHeader": "PROCESSED"}, "Actioned": True, "RefundHeaderId": 7,
              "RefundLines": [{"Actioned": True, "Amount": Decimal("1.50"), "RefundedItem": {"ItemSKU": "A"}}]}
    record = refund_record(header, {"TotalsInfo": {"Currency": "GBP"}})
    types = record_schema.shipped()["types"]
    assert set(record) == set(types["RefundRecord"])
    assert set(record["Lines"][0]) == set(types["RefundRecordLine"])


def test_the_purchase_order_records_the_connector_builds_carry_only_declared_fields(sim, make_source):
    """The joins purchases.py adds (supplier, location name and country) are declared, or validate would refuse a
    shipped mapping that reads them."""
    types = record_schema.shipped()["types"]
    records = [r for page in make_source(sim).read_purchase_orders(WindowQuery()) for r in page.records]
    assert records
    for record in records:
        assert set(record) <= set(types["PurchaseOrderRecord"]), set(record) - set(types["PurchaseOrderRecord"])
    assert types["PurchaseOrderRecord"]["Supplier"] == "Supplier"


def test_the_connector_declares_every_source_flow():
    schemas, notes = flow_schemas(LinnworksSource)
    assert notes == []
    assert isinstance(schemas["orders"], Obj) and schemas["orders"].name == "OrderDetails"
    assert "SubSource" in schemas["orders"].fields["GeneralInfo"].fields
    assert schemas["refunds"].fields["Order"].name == "OrderDetails"  # the refund carries its order
    assert LinnworksSource.record_schema("inventory") is None  # made by Connex from the target's levels


def test_the_inventory_record_is_the_inventory_level_field_for_field():
    level = InventoryLevel("SKU-1", 3, "Mug")
    assert set(inventory_schema()["types"]["InventoryLevel"]) == set(dataclasses.asdict(level))
